"""What tracing costs: the seed's train_step with its variable on a ps and compute on a worker (real
tfmini-server processes on 127.0.0.1, this process the client talking to worker0's master), run

  plain      sess.run(step)                                    the step as it was, no RunOptions at all
  off        options=RunOptions(trace_level=NO_TRACE), run_metadata=RunMetadata()
  software   trace_level=SOFTWARE_TRACE  (step stats from every task, merged on the master's clock)
  full       trace_level=FULL_TRACE      (the same in tfmini: there is no hardware tracer)

step by step in shuffled turns (so a slow spell of the shared machine hits every variant alike), medians of
each variant's steps. Goals: off/plain within the noise (1.00 +- a few %), full/plain <= 2.

    .venv/bin/python bench/bench_trace.py [--steps 200] [--rounds 5] [--baseline DIR]

`--baseline DIR` also times `plain` with the tfmini found in DIR (a tree laid out as the installed package,
DIR/tfmini = client/, DIR/tfmini/core = core/, ...; e.g. the commit before tracing landed), in processes of
its own before and after the main run: the step as it was before the tracing code existed.

    git archive 0496c51^ | tar -x -C /tmp/old && mkdir -p /tmp/old_pkg && cp -r /tmp/old/client /tmp/old_pkg/tfmini \
      && for d in core server worker protos; do cp -r /tmp/old/$d /tmp/old_pkg/tfmini/; done
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import tfmini as tf
import tfmini.train  # noqa: F401
from bench_distributed import start_cluster, stop

train = sys.modules["tfmini.train"]


def seed_step(spec):
    with tf.device(train.replica_device_setter(cluster=spec)):
        x = tf.constant(1.0, name="input")
        w = tf.Variable(0.8, name="weight")
        y = tf.mul(w, x, name="output")
        loss = tf.pow(y - tf.constant(0.0), 2, name="loss")
        return train.GradientDescentOptimizer(0.025).minimize(loss)


def variants(sess, step):
    def traced(level):
        options = tf.RunOptions(trace_level=level)

        def run():
            meta = tf.RunMetadata()
            sess.run(step, options=options, run_metadata=meta)
            return meta
        return run
    return {"plain": lambda: sess.run(step), "off": traced(tf.RunOptions.NO_TRACE),
            "software": traced(tf.RunOptions.SOFTWARE_TRACE), "full": traced(tf.RunOptions.FULL_TRACE)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200, help="steps per variant per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", help="a tfmini tree to time the plain step with (see above)")
    ap.add_argument("--plain-only", action="store_true", help=argparse.SUPPRESS)  # one baseline run
    args = ap.parse_args()
    if args.plain_only:
        print(json.dumps(time_steps(("plain",), args.rounds * args.steps)[1]["plain"]))
        return
    baseline = [run_baseline(args)] if args.baseline else []
    devices, ms = time_steps(None, args.rounds * args.steps)
    if args.baseline:
        baseline.append(run_baseline(args))
    print(f"seed train_step, client -> worker0's master, ps + worker processes; {args.rounds * args.steps} "
          f"steps per variant, in shuffled turns")
    print(f"traced devices: {', '.join(devices)}")
    goals = {"plain": "", "off": "  (goal: 1.00, within the noise)", "software": "  (goal <= 2)",
             "full": "  (goal <= 2)"}
    if baseline:
        before = statistics.mean(baseline)
        print(f"  baseline  {before:7.3f} ms   x{before / ms['plain']:.2f} of plain  (plain with {args.baseline}: "
              f"{', '.join(f'{b:.3f}' for b in baseline)} ms before and after)")
    for name, value in ms.items():
        print(f"  {name:9s} {value:7.3f} ms   x{value / ms['plain']:.2f} of plain{goals[name]}")


def run_baseline(args):
    out = subprocess.run([sys.executable, __file__, "--plain-only", "--rounds", str(args.rounds), "--steps",
                          str(args.steps)], env={**os.environ, "PYTHONPATH": args.baseline},
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"baseline run failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_steps(only, steps):
    """(traced devices, {variant: median ms}) of `steps` steps of each variant (of those in `only`, if given)."""
    spec, procs = start_cluster(sys.executable)
    try:
        with tf.Graph().as_default():
            step = seed_step(spec)
            with tf.Session(f"grpc://{spec['worker'][0]}") as sess:
                sess.run(tf.global_variables_initializer())
                runs = variants(sess, step)
                if only is not None:
                    runs = {name: runs[name] for name in only}
                    devices = []
                else:
                    devices = sorted(d.device for d in runs["full"]().step_stats.dev_stats)
                times = {name: [] for name in runs}
                for name, run in runs.items():  # warm up: plans, the clock estimates, caches
                    for _ in range(20):
                        run()
                order = list(runs.items())
                for _ in range(steps):
                    random.shuffle(order)  # each variant's steps spread over the whole run, in no fixed order
                    for name, run in order:
                        t0 = time.perf_counter()
                        run()
                        times[name].append(time.perf_counter() - t0)
    finally:
        stop(procs)
    return devices, {name: statistics.median(ts) * 1e3 for name, ts in times.items()}


if __name__ == "__main__":
    main()
