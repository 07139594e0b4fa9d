"""Saving and restoring a 64 MB variable in TF's V2 format: tfmini's Saver (embedded, and sharded on a 2-ps cluster
of in-process servers), against numpy writing/reading the same bytes with fsync, and TensorFlow 2.21's Saver
(via .venv-tf, when present). Medians of a few runs; ratios against numpy measured in the same run.

    .venv/bin/python bench/bench_checkpoint.py
"""
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

import tfmini as tf
from timing import free_ports, median_seconds

N = 16 * 1024 * 1024  # float32: 64 MB
REPS = 5
TF_PYTHON = pathlib.Path(__file__).resolve().parent.parent / ".venv-tf" / "bin" / "python"


def numpy_baseline(directory):
    data = np.full(N, 0.5, np.float32)
    path = os.path.join(directory, "np.bin")

    def save():
        with open(path, "wb") as f:
            f.write(memoryview(data).cast("B"))
            f.flush()
            os.fsync(f.fileno())

    def restore():
        with open(path, "rb") as f:
            np.frombuffer(f.read(), np.float32)
    return median_seconds(save, REPS, 0), median_seconds(restore, REPS, 0)


def tfmini_times(target, directory, sharded, device_fn=None):
    with tf.Graph().as_default():
        with tf.device(device_fn):
            big = tf.Variable(tf.fill([N], 0.5), name="big")
            small = tf.Variable(tf.zeros([1000]), name="small")
        saver = tf.train.Saver(sharded=sharded)
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            prefix = os.path.join(directory, f"tfmini{int(sharded)}")
            save = median_seconds(lambda: saver.save(sess, prefix, write_state=False), REPS, 0)
            restore = median_seconds(lambda: saver.restore(sess, prefix), REPS, 0)
            del big, small
    return save, restore


_TF_SCRIPT = r"""
import os, statistics, sys, time
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
tf.disable_resource_variables()
big = tf.Variable(tf.fill([%d], 0.5), name="big")
saver = tf.train.Saver()
def med(fn):
    t = []
    for _ in range(%d):
        s = time.perf_counter(); fn(); t.append(time.perf_counter() - s)
    return statistics.median(t)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    prefix = os.path.join(sys.argv[1], "tf")
    print(med(lambda: saver.save(sess, prefix, write_state=False)), med(lambda: saver.restore(sess, prefix)))
""" % (N, REPS)


def tf_times(directory):
    if not TF_PYTHON.exists():
        return None
    out = subprocess.run([str(TF_PYTHON), "-c", _TF_SCRIPT, directory], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        print("TensorFlow run failed:", out.stderr[-500:], file=sys.stderr)
        return None
    return tuple(float(x) for x in out.stdout.split()[-2:])


def main():
    with tempfile.TemporaryDirectory() as d:
        base = numpy_baseline(d)
        rows = [("numpy write+fsync / read", base)]
        rows.append(("tfmini Saver, embedded", tfmini_times("", d, sharded=False)))
        ports = free_ports(3)  # every task must know every address before the servers start
        spec = {"ps": [f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"], "worker": [f"127.0.0.1:{ports[2]}"]}
        servers = [tf.train.Server(spec, job, i, checkpoint_dir=d) for job, i in (("ps", 0), ("ps", 1), ("worker", 0))]
        try:
            rows.append(("tfmini Saver(sharded), 2 ps", tfmini_times(
                servers[2].target, d, sharded=True, device_fn=tf.train.replica_device_setter(ps_tasks=2))))
        finally:
            for s in servers:
                s.stop()
        theirs = tf_times(d)
        if theirs is not None:
            rows.append(("TensorFlow 2.21 Saver", theirs))
    print(f"64 MB variable, median of {REPS} (seconds; ratio to numpy)")
    for label, (save, restore) in rows:
        print(f"  {label:32s} save {save:7.3f} ({save / base[0]:5.2f}x)   restore {restore:7.3f} "
              f"({restore / base[1]:5.2f}x)")


if __name__ == "__main__":
    main()
