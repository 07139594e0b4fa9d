"""Core benchmarks: session overhead, per-op executor cost, first-run plan time, and no re-planning.

Run: .venv/bin/python bench/bench_core.py   (or /work/tfvenv/bin/python to time TF 2.21 tf.compat.v1 beside us)
Every figure is a median; numpy (called directly) and TensorFlow (when importable) are measured in the same run.
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


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def us(seconds):
    return f"{seconds * 1e6:10.1f} us"


def one_op(lib, repeat):
    """sess.run of `a + b` on two scalar constants (after a warm-up run)."""
    g = lib.Graph()
    with g.as_default():
        y = lib.add(lib.constant(1.0), lib.constant(2.0))
    sess = lib.Session(graph=g)
    sess.run(y)
    t = median_time(lambda: sess.run(y), repeat)
    sess.close()
    return t


def chain(lib, n):
    g = lib.Graph()
    with g.as_default():
        x = one = lib.constant(1.0)
        for _ in range(n):
            x = lib.add(x, one) if lib is not tf1 else real_tf.add(x, one)
    return g, x  # n + 1 nodes


def chain_run(lib, n, repeat):
    g, x = chain(lib, n)
    sess = lib.Session(graph=g)
    first = median_time(lambda: sess.run(x), 1)
    later = median_time(lambda: sess.run(x), repeat)
    sess.close()
    return first, later


def plan_counter(sess):
    """How many plans the embedded master session has built (tfmini only)."""
    master = sess._master.master
    return sum(len(ms._plans) for ms in master._sessions.values())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--chain", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10000)
    args = parser.parse_args()
    libs = [("tfmini", tf)] + ([("tf 2.21", tf1)] if tf1 is not None else [])
    print(f"tfmini core benchmarks (median of {args.repeat}); TensorFlow: "
          f"{real_tf.__version__ if tf1 is not None else 'not importable'}")

    # 1. one-op graph
    a, b = np.float32(1.0), np.float32(2.0)
    np_one = median_time(lambda: np.add(a, b), args.repeat * 10)
    print("\n1-op graph: sess.run(a + b)")
    print(f"  numpy np.add            {us(np_one)}")
    one = {}
    for name, lib in libs:
        one[name] = one_op(lib, args.repeat)
        print(f"  {name:8s} sess.run       {us(one[name])}   x{one[name] / np_one:,.0f} numpy")
    if tf1 is not None:
        print(f"  tfmini / tf = {one['tfmini'] / one['tf 2.21']:.2f}")

    # 2. chain of scalar adds: per-op cost = (run(chain n) - run(1 op)) / n
    n = args.chain
    x = np.float32(1.0)

    def np_chain():
        v = x
        for _ in range(n):
            v = np.add(v, np.float32(1.0))
        return v
    np_chain_t = median_time(np_chain, max(args.repeat // 10, 5))
    print(f"\nchain of {n} scalar Add ops")
    print(f"  numpy loop              {us(np_chain_t)}   ({np_chain_t / n * 1e6:.2f} us/op)")
    for name, lib in libs:
        first, later = chain_run(lib, n, max(args.repeat // 10, 5))
        per_op = (later - one[name]) / n
        print(f"  {name:8s} first run      {us(first)}")
        print(f"  {name:8s} later runs     {us(later)}   ({per_op * 1e6:.2f} us/op executor cost, "
              f"x{later / np_chain_t:.2f} numpy)" + ("   goal <= 5 us/op: " + ("met" if per_op <= 5e-6 else "MISSED")
                                                     if name == "tfmini" else ""))

    # 3. 10,000-node graph: first-run plan time and no re-planning afterwards
    m = args.big
    print(f"\n{m}-node graph (a Const and a chain of {m - 1} Add ops)")
    for name, lib in libs:
        g, y = chain(lib, m - 1)
        sess = lib.Session(graph=g)
        first = median_time(lambda: sess.run(y), 1)
        later = median_time(lambda: sess.run(y), 5)
        line = f"  {name:8s} first run {us(first)}  later {us(later)}  plan ~{us(first - later)}"
        if lib is tf:
            plans = plan_counter(sess)
            for _ in range(5):
                sess.run(y)
            again = plan_counter(sess)
            line += f"   goal <= 0.5 s: {'met' if first - later <= 0.5 else 'MISSED'}; plans built: {plans} then " \
                    f"{again} after 5 more runs ({'no re-plan' if again == plans else 'RE-PLANNED'})"
        print(line)
        sess.close()


if __name__ == "__main__":
    main()
