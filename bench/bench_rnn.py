"""One training step of a dynamic_rnn LSTM (batch 32, 20 time steps, 128 units, 64 input features, plain SGD
on a softmax over 50 classes per step), embedded session, beside TensorFlow 2.21's tf.compat.v1 session (v1
control flow, ref variables) running the same graph in a subprocess of .venv-tf in the same run.
Prints the median ms per step of each and tfmini's time as a multiple of TensorFlow's.

Run: .venv/bin/python bench/bench_rnn.py [--repeat 20]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_seconds  # noqa: E402

BATCH, TIME, DEPTH, UNITS, CLASSES = 32, 20, 64, 128, 50
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_and_time(tf, rnn_cell, repeat):
    rng = np.random.RandomState(0)
    x_value = rng.uniform(-1, 1, (BATCH, TIME, DEPTH)).astype(np.float32)
    y_value = rng.randint(0, CLASSES, (BATCH, TIME)).astype(np.int32)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, [BATCH, TIME, DEPTH])
        y = tf.placeholder(tf.int32, [BATCH, TIME])
        outputs, _ = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(UNITS), x, dtype=tf.float32)
        w = tf.get_variable("softmax_w", [UNITS, CLASSES])
        logits = tf.matmul(tf.reshape(outputs, [-1, UNITS]), w)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(y, [-1]),
                                                                             logits=logits))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        sess = tf.Session(graph=graph)
        sess.run(tf.global_variables_initializer())
        feed = {x: x_value, y: y_value}
        first = float(sess.run(loss, feed))
        seconds = median_seconds(lambda: sess.run(train, feed), repeat, warmup=3)
        sess.close()
    return seconds, first


def tensorflow_side(repeat):
    import tensorflow as real_tf
    from tensorflow.python.keras.layers.legacy_rnn import rnn_cell_impl
    v1 = real_tf.compat.v1
    v1.disable_eager_execution()
    v1.disable_control_flow_v2()
    v1.disable_resource_variables()
    return build_and_time(v1, rnn_cell_impl, repeat)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tensorflow", action="store_true", help="(internal) time TensorFlow's side only")
    args = parser.parse_args()
    if args.tensorflow:
        import warnings
        warnings.simplefilter("ignore")
        print(json.dumps(tensorflow_side(args.repeat)))
        return
    import tfmini as tf
    ours, our_loss = build_and_time(tf, tf.nn.rnn_cell, args.repeat)
    print(f"dynamic_rnn LSTM train step (batch {BATCH}, {TIME} steps, {UNITS} units): tfmini {ours * 1e3:.1f} ms "
          f"(median of {args.repeat}; first loss {our_loss:.4f})")
    tf_python = os.path.join(ROOT, ".venv-tf", "bin", "python")
    if not os.path.exists(tf_python):
        print("TensorFlow: .venv-tf not found, no baseline")
        return
    proc = subprocess.run([tf_python, os.path.abspath(__file__), "--tensorflow", f"--repeat={args.repeat}"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if proc.returncode != 0:
        print("TensorFlow side failed:", proc.stderr[-2000:])
        return
    theirs, their_loss = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  TensorFlow 2.21 v1 session {theirs * 1e3:.1f} ms (first loss {their_loss:.4f}); "
          f"tfmini / TF = {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
