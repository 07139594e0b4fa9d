"""Training benchmarks: the seed's train_step (median us/step, embedded session) and MLP training
throughput (samples/s) on scikit-learn's digits, each beside TensorFlow 2.21 tf.compat.v1 graph mode
(same graph, same batch) when TensorFlow is importable.

Run: .venv/bin/python bench/bench_train.py            (tfmini only)
     .venv-tf/bin/pip install -q -e . && .venv-tf/bin/python bench/bench_train.py   (TF beside it)
Goals: train_step <= 0.25 x TF's time; MLP samples/s >= TF's.
"""
import argparse
import statistics
import time

import numpy as np

import tfmini as tf

try:
    import tensorflow as real_tf
    tf1 = real_tf.compat.v1
    tf1.disable_eager_execution()
    tf1.disable_resource_variables()  # ref variables, as tfmini and the seed use
except ImportError:
    tf1 = None


def seed_step(lib, steps):
    """Median seconds of sess.run(train_step) for the seed's one-weight neuron."""
    g = lib.Graph()
    with g.as_default():
        x = lib.constant(1.0, name="input")
        w = lib.Variable(0.8, name="weight")
        y = lib.multiply(w, x, name="output")
        loss = lib.pow(y - lib.constant(0.0), 2, name="loss")
        train_step = lib.train.GradientDescentOptimizer(0.025).minimize(loss)
        init = lib.global_variables_initializer()
    sess = lib.Session(graph=g)
    sess.run(init)
    for _ in range(20):
        sess.run(train_step)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        sess.run(train_step)
        times.append(time.perf_counter() - t0)
    sess.close()
    return statistics.median(times)


def mlp_throughput(lib, x_train, y_train, batch, epochs, hidden=64):
    """Training samples per second of an Adam-trained 64-hidden MLP (median over epochs)."""
    g = lib.Graph()
    with g.as_default():
        lib.set_random_seed(0)
        x = lib.placeholder(lib.float32, [None, 64])
        labels = lib.placeholder(lib.int64, [None])
        w1 = lib.Variable(lib.random_normal([64, hidden], stddev=0.1, seed=1))
        b1 = lib.Variable(lib.zeros([hidden]))
        w2 = lib.Variable(lib.random_normal([hidden, 10], stddev=0.1, seed=2))
        b2 = lib.Variable(lib.zeros([10]))
        logits = lib.matmul(lib.nn.relu(lib.matmul(x, w1) + b1), w2) + b2
        loss = lib.reduce_mean(lib.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = lib.train.AdamOptimizer(0.01).minimize(loss)
        init = lib.global_variables_initializer()
    sess = lib.Session(graph=g)
    sess.run(init)
    rates = []
    for epoch in range(epochs + 1):
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(x_train) - batch + 1, batch):
            sess.run(train_op, {x: x_train[i:i + batch], labels: y_train[i:i + batch]})
            n += batch
        if epoch:  # the first epoch warms up (plans, caches)
            rates.append(n / (time.perf_counter() - t0))
    sess.close()
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    try:
        from sklearn.datasets import load_digits
        digits = load_digits()
        xd, yd = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    except ImportError:  # throughput does not depend on the values: same-shaped random data
        rng = np.random.RandomState(0)
        xd, yd = rng.rand(1797, 64).astype(np.float32), rng.randint(0, 10, 1797).astype(np.int64)

    print(f"tfmini training benchmarks; TensorFlow: {real_tf.__version__ if tf1 else 'not importable'}\n")
    ours = seed_step(tf, args.steps)
    print(f"seed train_step (median of {args.steps})")
    print(f"  tfmini      {ours * 1e6:8.1f} us/step")
    if tf1:
        theirs = seed_step(tf1, args.steps)
        ratio = ours / theirs
        print(f"  TensorFlow  {theirs * 1e6:8.1f} us/step   ratio tfmini/TF = {ratio:.2f}   goal <= 0.25: "
              f"{'met' if ratio <= 0.25 else 'NOT met'}")
    ours = mlp_throughput(tf, xd, yd, args.batch, args.epochs)
    print(f"\nMLP 64-64-10, Adam, batch {args.batch} (median of {args.epochs} epochs)")
    print(f"  tfmini      {ours:10.0f} samples/s")
    if tf1:
        theirs = mlp_throughput(tf1, xd, yd, args.batch, args.epochs)
        print(f"  TensorFlow  {theirs:10.0f} samples/s   ratio tfmini/TF = {ours / theirs:.2f}   goal >= 1: "
              f"{'met' if ours >= theirs else 'NOT met'}")


if __name__ == "__main__":
    main()
