"""Conv-net benchmark: one training step of TF's classic MNIST conv net (batch 64, 28x28x1, conv 5x5x32 SAME,
max_pool 2x2, conv 5x5x64 SAME, max_pool, dense 1024, dense 10, softmax cross entropy, GradientDescent) in an
embedded session, median of N steps; beside TensorFlow 2.21 (tf.compat.v1 graph mode, same graph and data)
and beside plain NumPy running the same forward pass (im2col + one matmul per conv).

Run: .venv/bin/python bench/bench_conv.py [--steps 20]
TensorFlow is timed in this process when importable, else with .venv-tf/bin/python in a child process.
Goal: a tfmini step <= 2 x TF's on CPU.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BATCH = 64


def data(seed=0):
    rng = np.random.RandomState(seed)
    return rng.rand(BATCH, 28, 28, 1).astype(np.float32), rng.randint(0, 10, BATCH).astype(np.int64)


def params(seed=0):
    rng = np.random.RandomState(seed)
    shapes = {"w1": (5, 5, 1, 32), "w2": (5, 5, 32, 64), "w3": (7 * 7 * 64, 1024), "w4": (1024, 10)}
    out = {k: (rng.randn(*s) * 0.05).astype(np.float32) for k, s in shapes.items()}
    out.update(b1=np.zeros(32, np.float32), b2=np.zeros(64, np.float32), b3=np.zeros(1024, np.float32),
               b4=np.zeros(10, np.float32))
    return out


def train_step_seconds(lib, steps):
    """Median seconds of one sess.run(train_op) of the conv net built with `lib` (tfmini or tf.compat.v1)."""
    x_val, y_val = data()
    p = params()
    g = lib.Graph()
    with g.as_default():
        x = lib.placeholder(lib.float32, [None, 28, 28, 1])
        labels = lib.placeholder(lib.int64, [None])
        v = {k: lib.Variable(val, name=k) for k, val in p.items()}
        h = lib.nn.relu(lib.nn.conv2d(x, v["w1"], strides=[1, 1, 1, 1], padding="SAME") + v["b1"])
        h = lib.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        h = lib.nn.relu(lib.nn.conv2d(h, v["w2"], strides=[1, 1, 1, 1], padding="SAME") + v["b2"])
        h = lib.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        h = lib.nn.relu(lib.matmul(lib.reshape(h, [-1, 7 * 7 * 64]), v["w3"]) + v["b3"])
        logits = lib.matmul(h, v["w4"]) + v["b4"]
        loss = lib.reduce_mean(lib.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train_op = lib.train.GradientDescentOptimizer(0.01).minimize(loss)
        init = lib.global_variables_initializer()
    sess = lib.Session(graph=g)
    sess.run(init)
    feed = {x: x_val, labels: y_val}
    seconds = median_seconds(lambda: sess.run(train_op, feed), steps, warmup=3)
    sess.close()
    return seconds


def numpy_forward_seconds(steps):
    """Median seconds of the same forward pass (to the loss) in plain NumPy: im2col + matmul per conv."""
    from numpy.lib.stride_tricks import sliding_window_view
    x, y = data()
    p = params()

    def conv_same(a, w):
        k = w.shape[0]
        a = np.pad(a, ((0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)))
        cols = sliding_window_view(a, (k, k), axis=(1, 2))  # [n, h, w, c, kh, kw]
        n, h, wd = cols.shape[:3]
        cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, -1)
        return (cols @ w.reshape(-1, w.shape[3])).reshape(n, h, wd, -1)

    def pool(a):
        n, h, w, c = a.shape
        return a.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    def forward():
        h = pool(np.maximum(conv_same(x, p["w1"]) + p["b1"], 0))
        h = pool(np.maximum(conv_same(h, p["w2"]) + p["b2"], 0))
        h = np.maximum(h.reshape(BATCH, -1) @ p["w3"] + p["b3"], 0)
        logits = h @ p["w4"] + p["b4"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_p[np.arange(BATCH), y].mean()
    return median_seconds(forward, steps, warmup=2)


def tensorflow_seconds(steps):
    """TF's step time: here when TensorFlow imports, else from .venv-tf in a child process; None if neither."""
    try:
        import tensorflow as real_tf
    except ImportError:
        python = os.environ.get("TFMINI_TF_PYTHON") or str(ROOT / ".venv-tf" / "bin" / "python")
        if not os.path.exists(python):
            return None, None
        out = subprocess.run([python, __file__, "--tf-only", "--steps", str(steps)], capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
            return None, None
        result = json.loads(out.stdout.strip().splitlines()[-1])
        return result["seconds"], result["version"]
    tf1 = real_tf.compat.v1
    tf1.disable_eager_execution()
    tf1.disable_resource_variables()  # ref variables, as tfmini builds them
    return train_step_seconds(tf1, steps), real_tf.__version__


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tf-only", action="store_true", help="time TensorFlow only; print JSON (child mode)")
    args = parser.parse_args()
    if args.tf_only:
        seconds, version = tensorflow_seconds(args.steps)
        print(json.dumps({"seconds": seconds, "version": version}))
        return
    import tfmini as tf
    ours = train_step_seconds(tf, args.steps)
    theirs, version = tensorflow_seconds(args.steps)
    forward = numpy_forward_seconds(args.steps)
    print(f"conv net train step, batch {BATCH} (median of {args.steps}); TensorFlow: {version or 'not importable'}")
    print(f"  tfmini            {ours * 1e3:8.1f} ms/step")
    if theirs:
        ratio = ours / theirs
        print(f"  TensorFlow        {theirs * 1e3:8.1f} ms/step   ratio tfmini/TF = {ratio:.2f}   goal <= 2: "
              f"{'met' if ratio <= 2 else 'NOT met'}")
    print(f"  NumPy forward     {forward * 1e3:8.1f} ms        ratio tfmini step / NumPy forward = "
          f"{ours / forward:.2f}")


if __name__ == "__main__":
    main()
