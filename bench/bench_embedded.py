"""Embedded session, large ops: a chain of eight 1024x1024 float32 matmuls fed from numpy (a 4 MB feed, a 4 MB
fetch), against the same chain in numpy called directly, and TensorFlow 2.21's session when importable. The
issue's goal: tfmini <= 1.05x numpy (feeds and fetches pass by reference in process, no TensorProto).

Run: .venv/bin/python bench/bench_embedded.py [--repeat 15]
     (.venv-tf/bin/python bench/bench_embedded.py runs TF beside it, when tfmini is installed there)
Medians; numpy and tfmini alternate run by run, so machine load hits both alike.
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
except ImportError:
    tf1 = None

N, LINKS = 1024, 8


def chain_graph(lib, w):
    g = lib.Graph()
    with g.as_default():
        x = lib.placeholder(lib.float32, [N, N], name="x")
        weight = lib.constant(w)
        y = x
        for _ in range(LINKS):
            y = lib.matmul(y, weight)
    return g, x, y


def numpy_chain(x, w):
    y = x
    for _ in range(LINKS):
        y = y @ w
    return y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, N)).astype(np.float32)
    w = (rng.standard_normal((N, N)) / np.sqrt(N)).astype(np.float32)
    runs = {"numpy": lambda: numpy_chain(x, w)}
    sessions = []
    for name, lib in [("tfmini", tf)] + ([("tf 2.21", tf1)] if tf1 is not None else []):
        g, xt, yt = chain_graph(lib, w)
        sess = lib.Session(graph=g)
        sessions.append(sess)
        runs[name] = (lambda s, xt, yt: lambda: s.run(yt, {xt: x}))(sess, xt, yt)
        if lib is tf:  # RunCallable: the same arrays path
            runs["tfmini make_callable"] = (lambda call: lambda: call(x))(sess.make_callable(yt, [xt]))
    expected = runs["numpy"]()
    np.testing.assert_allclose(runs["tfmini"](), expected, rtol=1e-4, atol=1e-3)  # the same numbers
    times = {name: [] for name in runs}
    for _ in range(args.repeat):  # alternate, so load hits every contender alike
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"chain of {LINKS} {N}x{N} float32 matmuls fed from numpy (median of {args.repeat})")
    for name, t in med.items():
        print(f"  {name:22s} {t * 1e3:8.1f} ms   x{t / med['numpy']:.3f} numpy")
    ratio = med["tfmini"] / med["numpy"]
    print(f"  goal tfmini <= 1.05x numpy: {'met' if ratio <= 1.05 else 'MISSED'} ({ratio:.3f})")
    for sess in sessions:
        sess.close()


if __name__ == "__main__":
    main()
