"""Input-pipeline benchmark: the 64-256-10 MLP of bench_train.py trained from
`Dataset.from_tensor_slices((x, y)).shuffle(1000).repeat().batch(128)` (embedded session), beside the same
training fed batch by batch through feed_dict, and beside TensorFlow 2.21 (tf.compat.v1 graph mode) doing the
dataset version: here when TensorFlow imports, else with .venv-tf/bin/python in a child process.

Run: .venv/bin/python bench/bench_data.py
Goal: dataset samples/s >= the feed_dict loop's.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
BATCH, HIDDEN = 128, 256


def data():
    rng = np.random.RandomState(0)
    return rng.rand(1797, 64).astype(np.float32), rng.randint(0, 10, 1797).astype(np.int64)


def _mlp(lib, x, labels):
    lib.set_random_seed(0)
    w1 = lib.Variable(lib.random_normal([64, HIDDEN], stddev=0.1, seed=1))
    b1 = lib.Variable(lib.zeros([HIDDEN]))
    w2 = lib.Variable(lib.random_normal([HIDDEN, 10], stddev=0.1, seed=2))
    b2 = lib.Variable(lib.zeros([10]))
    logits = lib.matmul(lib.nn.relu(lib.matmul(x, w1) + b1), w2) + b2
    loss = lib.reduce_mean(lib.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return lib.train.AdamOptimizer(0.01).minimize(loss)


def _rate(step, steps, rounds):
    """Median samples/s over `rounds` runs of `steps` steps, after one warm-up round."""
    rates = []
    for r in range(rounds + 1):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        if r:
            rates.append(steps * BATCH / (time.perf_counter() - t0))
    return statistics.median(rates)


def dataset_rate(lib, steps, rounds):
    x_data, y_data = data()
    g = lib.Graph()
    with g.as_default():
        dataset = lib.data.Dataset.from_tensor_slices((x_data, y_data)).shuffle(1000).repeat().batch(BATCH)
        x, labels = lib.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        train_op = _mlp(lib, x, labels)
        init = lib.global_variables_initializer()
    with lib.Session(graph=g) as sess:
        sess.run(init)
        return _rate(lambda: sess.run(train_op), steps, rounds)


def feed_dict_rate(lib, steps, rounds):
    x_data, y_data = data()
    g = lib.Graph()
    with g.as_default():
        x = lib.placeholder(lib.float32, [None, 64])
        labels = lib.placeholder(lib.int64, [None])
        train_op = _mlp(lib, x, labels)
        init = lib.global_variables_initializer()
    rng = np.random.RandomState(1)
    order, pos = rng.permutation(len(x_data)), [0]

    def step():
        if pos[0] + BATCH > len(order):
            order[:] = rng.permutation(len(x_data))
            pos[0] = 0
        idx = order[pos[0]:pos[0] + BATCH]
        pos[0] += BATCH
        sess.run(train_op, {x: x_data[idx], labels: y_data[idx]})
    with lib.Session(graph=g) as sess:
        sess.run(init)
        return _rate(step, steps, rounds)


def tensorflow_rate(steps, rounds):
    try:
        import tensorflow as real_tf
    except ImportError:
        python = os.environ.get("TFMINI_TF_PYTHON") or str(ROOT / ".venv-tf" / "bin" / "python")
        if not os.path.exists(python):
            return None, None
        out = subprocess.run([python, __file__, "--tf-only", "--steps", str(steps), "--rounds", str(rounds)],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
            return None, None
        result = json.loads(out.stdout.strip().splitlines()[-1])
        return result["rate"], result["version"]
    tf1 = real_tf.compat.v1
    tf1.disable_eager_execution()
    tf1.disable_resource_variables()
    return dataset_rate(tf1, steps, rounds), real_tf.__version__


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tf-only", action="store_true", help="time TensorFlow only; print JSON (child mode)")
    args = parser.parse_args()
    if args.tf_only:
        rate, version = tensorflow_rate(args.steps, args.rounds)
        print(json.dumps({"rate": rate, "version": version}))
        return
    import tfmini as tf
    ours = dataset_rate(tf, args.steps, args.rounds)
    fed = feed_dict_rate(tf, args.steps, args.rounds)
    theirs, version = tensorflow_rate(args.steps, args.rounds)
    print(f"MLP 64-{HIDDEN}-10, Adam, batch {BATCH}, {args.steps} steps (median of {args.rounds}); "
          f"TensorFlow: {version or 'not importable'}")
    print(f"  tfmini tf.data     {ours:10.0f} samples/s")
    print(f"  tfmini feed_dict   {fed:10.0f} samples/s   ratio data/feed = {ours / fed:.2f}   goal >= 1: "
          f"{'met' if ours >= fed else 'NOT met'}")
    if theirs:
        print(f"  TensorFlow tf.data {theirs:10.0f} samples/s   ratio tfmini/TF = {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
