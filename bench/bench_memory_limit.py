"""What the process memory limit (--max-memory-bytes, core/process_memory.py) costs a step.

1. The per-kernel check: the executor's generated step puts `o[0] and m(); ` before each kernel call. Timed on
   a straight line of 40 scalar numpy multiplies (the seed's kernels are this small, so this is the worst case
   for the relative cost), the same function with and without the check, in alternating turns.
2. The watchdog: the seed's train_step in an embedded session with no limit (no thread) and with a limit the
   process never reaches (the watchdog reading /proc/self/statm every 5 ms), in shuffled turns.

Medians; ratios near 1.00 mean no measurable cost.

    .venv/bin/python bench/bench_memory_limit.py [--rounds 20]
"""
import argparse
import random
import statistics
import time

import numpy as np

import tfmini as tf
from tfmini.core import process_memory

NODES = 40


def straight_line(checked):
    prefix = "o[0] and m(); " if checked else ""
    lines = ["def step(f, x):", "    o, m = memory_over, memory_check", "    v0 = x"]
    lines += [f"    {prefix}v{i + 1} = f(v{i}, x)" for i in range(NODES)]
    namespace = {"memory_over": process_memory.OVER, "memory_check": process_memory.check}
    exec(compile("\n".join(lines + [f"    return v{NODES}"]) + "\n", "<bench>", "exec"), namespace)
    return namespace["step"]


def per_call_us(fn, calls):
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()

    x = np.float32(1.0001)
    plain, checked = straight_line(False), straight_line(True)
    times = {"plain": [], "checked": []}
    for _ in range(args.rounds):
        for name, fn in random.sample([("plain", plain), ("checked", checked)], 2):
            times[name].append(per_call_us(lambda fn=fn: fn(np.multiply, x), 2000))
    p, c = statistics.median(times["plain"]), statistics.median(times["checked"])
    print(f"{NODES} scalar multiplies, straight line: plain {p:.2f} us, checked {c:.2f} us, "
          f"x{c / p:.3f}  ({(c - p) / NODES * 1000:.0f} ns a kernel)")

    with tf.Graph().as_default():
        w = tf.Variable(0.8, name="weight")
        loss = tf.pow(tf.mul(w, tf.constant(1.0)) - tf.constant(0.0), 2)
        train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            limit = process_memory.resident_bytes() + (8 << 30)
            steps = {"no limit": [], "watchdog on": []}
            for _ in range(args.rounds):
                for name in random.sample(list(steps), 2):
                    if name == "no limit":
                        process_memory.turn_off()
                    else:
                        process_memory.configure(limit)
                    steps[name].append(per_call_us(lambda: sess.run(train_step), 200))
            process_memory.turn_off()
    off, on = statistics.median(steps["no limit"]), statistics.median(steps["watchdog on"])
    print(f"seed train_step, embedded: no limit {off:.1f} us, watchdog on {on:.1f} us, x{on / off:.3f}")


if __name__ == "__main__":
    main()
