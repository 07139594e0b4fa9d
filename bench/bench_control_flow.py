"""tf.while_loop overhead, embedded, beside TensorFlow 2.21's v1 session (control flow v1) in the same run.

Run: .venv/bin/python bench/bench_control_flow.py      (TensorFlow from .venv-tf, in a subprocess, when present)

Per-iteration overhead = (step time of a 100-iteration loop - step time of a 0-iteration loop) / 100, medians.
Loops: `scalar` (k + 1, x * 0.5 + 1.0: the compiled fast path, worker/loop_compiler.py), `with cond` (a tf.cond
in the body: the general frame interpreter, worker/frames.py), and `gradient` (the scalar loop's tf.gradients:
the forward loop pushes on a stack, a backward loop pops). Goal: scalar overhead <= 0.5x TensorFlow's.
Both sides run the graph as built (TensorFlow's Grappler off).
"""
import json
import os
import pathlib
import subprocess
import sys

ITERATIONS, REPEAT = 100, 31
HERE = pathlib.Path(__file__).resolve().parent
TF_PYTHON = HERE.parent / ".venv-tf" / "bin" / "python"

# The same program for both libraries: `lib` is tfmini or tf.compat.v1, `session(graph)` a session on it.
PROGRAM = r'''
def loops(lib):
    n = lib.placeholder(lib.int32, [], name="n")
    x0 = lib.constant(0.0)
    scalar = lib.while_loop(lambda k, x: k < n, lambda k, x: (k + 1, x * 0.5 + 1.0), [lib.constant(0), x0])
    with_cond = lib.while_loop(lambda k, x: k < n, lambda k, x: (k + 1, lib.cond(x < 5.0, lambda: x + 1.0,
                                                                                 lambda: x * 0.5)),
                               [lib.constant(0), x0])
    x1 = lib.placeholder(lib.float32, [], name="x1")
    _, out = lib.while_loop(lambda k, x: k < n, lambda k, x: (k + 1, x * 0.999 + 0.01), [lib.constant(0), x1])
    gradient = lib.gradients(out, x1)[0]
    return n, x1, {"scalar": scalar, "with cond": with_cond, "gradient": gradient}


def measure(lib, session, median_seconds, iterations, repeat):
    graph = lib.Graph()
    with graph.as_default():
        n, x1, fetches = loops(lib)
    sess = session(graph)
    result = {}
    for name, fetch in fetches.items():
        times = [median_seconds(lambda: sess.run(fetch, {n: count, x1: 1.0}), repeat, warmup=2)
                 for count in (0, iterations)]
        result[name] = [times[1], (times[1] - times[0]) / iterations]
    return result
'''

# The TF child's preamble: TF 1.x graphs with control flow v1, Grappler off, the same timing rule as ours.
TF_PREAMBLE = r'''
import json, statistics, sys, time
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
tf1.disable_control_flow_v2()
from tensorflow.core.protobuf import rewriter_config_pb2

def median_seconds(fn, repeat, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)

def session(graph):
    off = rewriter_config_pb2.RewriterConfig(disable_meta_optimizer=True)
    return tf1.Session(graph=graph, config=tf1.ConfigProto(graph_options=tf1.GraphOptions(rewrite_options=off)))
'''
TF_MAIN = TF_PREAMBLE + PROGRAM + r'''
print(json.dumps(measure(tf1, session, median_seconds, int(sys.argv[1]), int(sys.argv[2]))))
'''


def tensorflow_figures(source, *args):
    """What `source` (a TF child program: TF_PREAMBLE + a program) prints last, as JSON, run by TF 2.21 with
    `args`; None without .venv-tf or if the run fails."""
    if not TF_PYTHON.exists():
        return None
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([str(TF_PYTHON), "-c", source, *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode != 0:
        print("TensorFlow run failed:", proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    sys.path.insert(0, str(HERE))
    import tfmini as tf
    from timing import median_seconds
    namespace = {}
    exec(PROGRAM, namespace)  # our own benchmark program, shared with the TensorFlow run
    ours = namespace["measure"](tf, lambda graph: tf.Session(graph=graph), median_seconds, ITERATIONS, REPEAT)
    theirs = tensorflow_figures(TF_MAIN, ITERATIONS, REPEAT)
    print(f"while_loop, {ITERATIONS} iterations, embedded; medians of {REPEAT}")
    print(f"{'loop':<12}{'tfmini step':>14}{'per iter':>12}{'TF step':>12}{'per iter':>12}{'ratio':>8}")
    for name, (step, per_iter) in ours.items():
        line = f"{name:<12}{step * 1e6:>11.0f} us{per_iter * 1e6:>9.2f} us"
        if theirs is not None:
            tf_step, tf_iter = theirs[name]
            line += f"{tf_step * 1e6:>9.0f} us{tf_iter * 1e6:>9.2f} us{per_iter / tf_iter:>7.2f}x"
        print(line)
    if theirs is None:
        print("(TensorFlow not found at .venv-tf: no baseline)")


if __name__ == "__main__":
    main()
