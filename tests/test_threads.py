"""The runtime owns its threads: ConfigProto.intra_op_parallelism_threads (tfmini-server --intra-op-threads)
limits the BLAS pools of the process that runs the kernels (server/threads.py).

What is observed is the process's threads' CPU time (/proc/PID/task/*/stat) while a chain of big matmuls
runs in a real step: with one intra-op thread one thread does all the work; with two, two threads share it."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tfmini as tf
from tfmini.server import threads
from test_distributed import free_ports, wait_serving

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="per-thread CPU times need /proc")


def thread_cpu_ticks(pid):
    """{thread id: user + system CPU ticks} of every thread of process `pid`."""
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()  # after "tid (comm)": state is fields[0]
        except OSError:
            continue  # the thread ended
        ticks[tid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def busy_threads(pid, run):
    """How many of `pid`'s threads did a real share (a quarter of the busiest's) of the CPU work `run()` caused."""
    before = thread_cpu_ticks(pid)
    run()
    after = thread_cpu_ticks(pid)
    used = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)
    assert used[0] >= 20, f"the matmuls took too little CPU to tell threads apart: {used[:4]} ticks"
    return sum(1 for u in used if u >= used[0] / 4)


def matmul_chain():
    """Thirty-two 1024x1024 matmuls of a random matrix made on the task itself, reduced to a scalar fetch (16 gave
    the busiest of 2 BLAS threads under 20 ticks on a quiet box: too little to tell the threads apart)."""
    m = tf.random_normal([1024, 1024], stddev=1.0 / 32)
    x = m
    for _ in range(32):
        x = tf.matmul(x, m)
    return tf.reduce_sum(x)


def one_step(sess, fetch):
    """One step: one RunGraph, on one thread of the server's (another step may run on another)."""
    return lambda: sess.run(fetch)


@pytest.fixture
def restore_pools():
    """Puts this process's BLAS pools back as they were (a test here changes them)."""
    original = max(n for _, n in threads.pool_threads())
    yield
    threads.set_intra_op_threads(original)


def start_server(tmp_path, intra_op_threads):
    port = free_ports(1)[0]
    log = open(tmp_path / f"server{intra_op_threads}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "--port", str(port), "--host", "127.0.0.1",
                             "--insecure", "--intra-op-threads", str(intra_op_threads)],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_serving(f"127.0.0.1:{port}")
    return proc, f"grpc://127.0.0.1:{port}"


@pytest.mark.parametrize("intra_op_threads", [1, 2])
def test_server_runs_blas_on_its_intra_op_threads(tmp_path, intra_op_threads):
    if intra_op_threads > threads.available_cores():
        pytest.skip(f"needs {intra_op_threads} cores")
    proc, target = start_server(tmp_path, intra_op_threads)
    try:
        with tf.Graph().as_default():
            fetch = matmul_chain()
            with tf.Session(target) as sess:
                sess.run(fetch)  # the plan, and the server's BLAS warmed up
                busy = busy_threads(proc.pid, one_step(sess, fetch))
        assert busy == intra_op_threads, (busy, (tmp_path / f"server{intra_op_threads}.log").read_text()[-2000:])
    finally:
        proc.terminate()
        proc.wait(10)


def test_embedded_session_runs_blas_on_one_thread(restore_pools):
    with tf.Graph().as_default():
        fetch = matmul_chain()
        with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1)) as sess:
            assert {n for _, n in threads.pool_threads()} == {1}
            sess.run(fetch)
            assert busy_threads(os.getpid(), one_step(sess, fetch)) == 1


def test_embedded_session_without_setting_leaves_the_pools(restore_pools):
    threads.set_intra_op_threads(2)
    with tf.Graph().as_default():
        with tf.Session() as sess:
            assert sess.run(tf.constant(1.0)) == 1.0
    assert max(n for _, n in threads.pool_threads()) == 2


def test_server_default_is_its_share_of_the_host(restore_pools):
    """No setting: the cores divided by the cluster's tasks on this host (here all three, on loopback)."""
    ports = free_ports(3)
    spec = tf.train.ClusterSpec({"ps": [f"127.0.0.1:{ports[0]}"],
                                 "worker": [f"127.0.0.1:{ports[1]}", f"localhost:{ports[2]}"]})
    server = tf.train.Server(spec, "worker", 0, start=False)
    expected = max(1, threads.available_cores() // 3)
    assert server.intra_op_threads == expected
    assert max(n for _, n in threads.pool_threads()) == expected
    explicit = tf.train.Server(tf.train.ClusterSpec({"worker": [f"127.0.0.1:{free_ports(1)[0]}"]}), start=False,
                               config=tf.ConfigProto(intra_op_parallelism_threads=1))
    assert explicit.intra_op_threads == 1 and {n for _, n in threads.pool_threads()} == {1}


def test_tasks_on_host_counts_this_machine_only():
    assert threads.tasks_on_host(["127.0.0.1:1", "localhost:2", "ps0:3"], "127.0.0.1:1") == 2
    assert threads.tasks_on_host(["ps0:2222", "worker0:2222", "worker1:2222"], "worker0:2222") == 1
    assert threads.divided_cores(10 ** 6) == 1
    assert threads.divided_cores(1) == threads.available_cores()


def test_matmul_chain_result_is_numpy_s(restore_pools):
    """The limit changes who computes, not what: the chain's value is numpy's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 256)).astype(np.float32) / 16
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [256, 256])
        y = x
        for _ in range(4):
            y = tf.matmul(y, x)
        with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1)) as sess:
            got = sess.run(y, {x: a})
    expected = a
    for _ in range(4):
        expected = expected @ a
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
