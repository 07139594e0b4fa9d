"""The gradient of a loop nested in a loop, embedded, beside TensorFlow 2.21's v1 session in the same run; and
what FULL_TRACE costs a step with loops (it runs in the uncompiled interpreter, every kernel timed).

Run: .venv/bin/python bench/bench_nested_loop_grad.py      (TensorFlow from .venv-tf, in a subprocess)

The loop: 10 outer iterations, each running an inner loop of 10 iterations of h = tanh(h @ w) on a [4, 8] state
(w [8, 8]); fetched: d sum(h^2) / d w (the forward loops push on stacks, the backward loops pop). Medians of
21 steps after 2 warm-ups; Grappler off on the TensorFlow side; ratio = tfmini / TF.
"""
import pathlib
import sys

from bench_control_flow import TF_PREAMBLE, tensorflow_figures  # bench/ is the script's directory, so on sys.path

REPEAT = 21
HERE = pathlib.Path(__file__).resolve().parent

PROGRAM = r'''
import numpy as np

def build(lib):
    rng = np.random.RandomState(0)
    w = lib.constant(rng.randn(8, 8).astype(np.float32) * 0.3)
    x = lib.constant(rng.randn(4, 8).astype(np.float32))
    def outer(i, h):
        _, h = lib.while_loop(lambda j, g: j < 10, lambda j, g: (j + 1, lib.tanh(lib.matmul(g, w))), [0, h])
        return i + 1, h
    _, h = lib.while_loop(lambda i, h: i < 10, outer, [0, x])
    return lib.gradients(lib.reduce_sum(h * h), w)[0]


def measure(lib, session, median_seconds, repeat, traced_options=None):
    graph = lib.Graph()
    with graph.as_default():
        grad = build(lib)
    sess = session(graph)
    result = {"gradient": median_seconds(lambda: sess.run(grad), repeat, warmup=2)}
    if traced_options is not None:
        options, meta = traced_options()
        result["traced"] = median_seconds(lambda: sess.run(grad, options=options, run_metadata=meta), repeat,
                                          warmup=2)
    return result
'''

TF_MAIN = TF_PREAMBLE + PROGRAM + r'''
print(json.dumps(measure(tf1, session, median_seconds, int(sys.argv[1]),
                         lambda: (tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE), tf1.RunMetadata()))))
'''


def main():
    sys.path.insert(0, str(HERE))
    import tfmini as tf
    from timing import median_seconds
    namespace = {}
    exec(PROGRAM, namespace)  # the same program for both libraries
    ours = namespace["measure"](tf, lambda graph: tf.Session(graph=graph), median_seconds, REPEAT,
                                lambda: (tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), tf.RunMetadata()))
    theirs = tensorflow_figures(TF_MAIN, REPEAT)
    print(f"nested while_loop gradient (10 x 10 iterations of tanh(matmul)), embedded; medians of {REPEAT}")
    for name, seconds in ours.items():
        line = f"{name:<10} tfmini {seconds * 1e3:8.2f} ms"
        if theirs is not None:
            line += f"   TF {theirs[name] * 1e3:8.2f} ms   ratio {seconds / theirs[name]:5.2f}x"
        print(line)
    print(f"FULL_TRACE / untraced: tfmini {ours['traced'] / ours['gradient']:.1f}x" +
          (f", TF {theirs['traced'] / theirs['gradient']:.1f}x" if theirs else ""))
    if theirs is None:
        print("(TensorFlow not found at .venv-tf: no baseline)")


if __name__ == "__main__":
    main()
