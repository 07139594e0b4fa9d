"""What a MonitoredTrainingSession costs per step: the median step time of a small MLP's train op through a
plain tf.Session (the baseline, same run), a MonitoredSession without hooks, and a MonitoredTrainingSession with
the chief's standard hooks (step counter, summaries every 100 steps, checkpoints every 600 s) plus a
StopAtStepHook; embedded session, so the figure is the Python overhead of the layers and hooks.

Run: .venv/bin/python bench/bench_monitored.py [--steps 300]
"""
import argparse
import tempfile

import numpy as np

import tfmini as tf
from timing import median_seconds


def build():
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    h = tf.layers.dense(x, 32, activation=tf.nn.relu)
    logits = tf.layers.dense(h, 10)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    tf.summary.scalar("loss", loss)
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=tf.train.get_or_create_global_step())
    rng = np.random.RandomState(0)
    feed = {x: rng.rand(64, 64).astype(np.float32), labels: rng.randint(0, 10, 64)}
    return train_op, feed


def per_step(sess, train_op, feed, steps):
    return median_seconds(lambda: sess.run(train_op, feed), steps, warmup=20)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    steps = parser.parse_args().steps
    results = {}
    with tf.Graph().as_default():
        train_op, feed = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            results["tf.Session"] = per_step(sess, train_op, feed, steps)
    with tf.Graph().as_default():
        train_op, feed = build()
        with tf.train.MonitoredSession() as sess:
            results["MonitoredSession, no hooks"] = per_step(sess, train_op, feed, steps)
    with tf.Graph().as_default(), tempfile.TemporaryDirectory() as ckpt:
        train_op, feed = build()
        hooks = [tf.train.StopAtStepHook(last_step=10 ** 9)]
        with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt, hooks=hooks) as sess:
            results["MonitoredTrainingSession, chief hooks"] = per_step(sess, train_op, feed, steps)
        tf.train.SummaryWriterCache.clear()
    base = results["tf.Session"]
    for name, seconds in results.items():
        print(f"{name:40s} {seconds * 1e6:8.0f} us/step  {seconds / base:5.2f} x tf.Session")


if __name__ == "__main__":
    main()
