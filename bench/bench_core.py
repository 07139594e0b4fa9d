"""Core benchmarks: session overhead, per-op executor cost, first-run plan time, and no re-planning.

Run: .venv/bin/python bench/bench_core.py
     .venv-tf/bin/pip install -q -e . && .venv-tf/bin/python bench/bench_core.py   (TF 2.21 beside us)
Every figure is a median; numpy (called directly) and TensorFlow (when importable) are measured in the same run.
"""
import argparse

import numpy as np

import tfmini as tf
from timing import median_seconds

try:
    import tensorflow as real_tf
    tf1 = real_tf.compat.v1
    tf1.disable_eager_execution()
except ImportError:
    tf1 = None


def median_time(fn, repeat):
    return median_seconds(fn, repeat, warmup=0)


def us(seconds):
    return f"{seconds * 1e6:10.1f} us"


def session(lib, graph):
    """A session; TensorFlow's with Grappler off, so it runs the graph as built (no constant folding)."""
    if lib is tf1:
        from tensorflow.core.protobuf import rewriter_config_pb2
        off = rewriter_config_pb2.RewriterConfig(disable_meta_optimizer=True)
        return lib.Session(graph=graph, config=lib.ConfigProto(graph_options=lib.GraphOptions(rewrite_options=off)))
    return lib.Session(graph=graph)


def one_op(lib, repeat):
    """sess.run of `a + b` on two scalar constants (after a warm-up run)."""
    g = lib.Graph()
    with g.as_default():
        y = lib.add(lib.constant(1.0), lib.constant(2.0))
    sess = session(lib, g)
    sess.run(y)
    t = median_time(lambda: sess.run(y), repeat)
    sess.close()
    return t


def chain(lib, n):
    g = lib.Graph()
    with g.as_default():
        x = start = lib.placeholder(lib.float32, [], name="start")  # fed, so nothing can be folded away
        one = lib.constant(1.0)
        for _ in range(n):
            x = lib.add(x, one) if lib is not tf1 else real_tf.add(x, one)
    return g, x, {start: 1.0}  # n + 2 nodes


def chain_run(lib, n, repeat):
    g, x, feed = chain(lib, n)
    sess = session(lib, g)
    first = median_time(lambda: sess.run(x, feed), 1)
    later = median_time(lambda: sess.run(x, feed), repeat)
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
    print(f"\nchain of {n} scalar Add ops on a fed scalar")
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
    print(f"\n{m}-node graph (a Placeholder, a Const and a chain of {m - 2} Add ops)")
    for name, lib in libs:
        g, y, feed = chain(lib, m - 2)
        one = g.get_operations()[1].outputs[0]
        sess = session(lib, g)
        send = median_time(lambda: sess.run(one), 1)  # sends the whole graph (ExtendSession), plans 1 node
        first = median_time(lambda: sess.run(y, feed), 1)  # prune, place, partition, register: the plan
        later = median_time(lambda: sess.run(y, feed), 5)
        plan = first - later
        line = f"  {name:8s} graph send {us(send)}  first run {us(first)}  later {us(later)}  plan {us(plan)}"
        if lib is tf:
            plans = plan_counter(sess)
            for _ in range(5):
                sess.run(y, feed)
            again = plan_counter(sess)
            line += f"\n           goal plan <= 0.5 s: {'met' if plan <= 0.5 else 'MISSED'} (send + plan " \
                    f"{send + plan:.3f} s); plans built: {plans}, after 5 more runs: {again} " \
                    f"({'no re-plan' if again == plans else 'RE-PLANNED'})"
        print(line)
        sess.close()


if __name__ == "__main__":
    main()
