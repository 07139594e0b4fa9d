"""GPU vs CPU on one worker: a chain of 4096x4096 matmuls and the MLP training step.

    python bench/bench_gpu.py            (needs CuPy and a CUDA GPU; prints "skipped" otherwise)
Medians of repeated runs; each figure beside the same graph on the CPU measured in the same run.
"""
import argparse
import sys

import numpy as np

import tfmini as tf
from timing import median_seconds
from tfmini.worker import devices


def matmul_chain(device, n, length, repeat):
    with tf.Graph().as_default():
        with tf.device(device):
            a = tf.random_normal([n, n], seed=1) / float(n) ** 0.5
            x = a
            for _ in range(length):
                x = tf.matmul(x, a)
            total = tf.reduce_sum(x)  # one scalar back: the chain stays on the device
        with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:  # random ops: CPU only
            return median_seconds(lambda: sess.run(total), repeat)


def mlp_step(device, batch, repeat):
    rng = np.random.RandomState(0)
    data, labels = rng.rand(batch, 784).astype(np.float32), rng.randint(0, 10, batch)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 784])
        y = tf.placeholder(tf.int64, [None])
        with tf.device(device):
            h = tf.nn.relu(tf.matmul(x, tf.Variable(tf.random_normal([784, 1024], stddev=0.03, seed=1))))
            logits = tf.matmul(h, tf.Variable(tf.random_normal([1024, 10], stddev=0.03, seed=2)))
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
            sess.run(tf.global_variables_initializer())
            return median_seconds(lambda: sess.run(train, {x: data, y: labels}), repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--length", type=int, default=8)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if devices._cupy() is None:
        print("skipped: CuPy cannot see a CUDA GPU on this host")
        return 0
    cpu = matmul_chain("/cpu:0", args.n, args.length, args.repeat)
    gpu = matmul_chain("/gpu:0", args.n, args.length, args.repeat)
    flops = 2 * args.n ** 3 * args.length
    print(f"{args.length} chained {args.n}x{args.n} matmuls: CPU {cpu * 1e3:.1f} ms ({flops / cpu / 1e9:.0f} GFLOP/s), "
          f"GPU {gpu * 1e3:.1f} ms ({flops / gpu / 1e9:.0f} GFLOP/s): GPU/CPU time {gpu / cpu:.3f}")
    cpu = mlp_step("/cpu:0", args.batch, args.repeat * 4)
    gpu = mlp_step("/gpu:0", args.batch, args.repeat * 4)
    print(f"MLP 784-1024-10 SGD step, batch {args.batch}: CPU {cpu * 1e3:.2f} ms, GPU {gpu * 1e3:.2f} ms: "
          f"GPU/CPU time {gpu / cpu:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
