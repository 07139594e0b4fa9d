"""Loops on a real cluster (1 ps + 1 worker, `tfmini.server.cli` processes): a body that reads a variable on the
ps, a body spread over both tasks (TF's control loop on the ps, driven by the predicate the worker sends each
iteration; rendezvous keys carry frame:iteration, dead tensors cross as dead), gradients, the deadline."""
import threading
import time

import numpy as np
import pytest

import tfmini as tf
from test_distributed import ProcessCluster

PS, WORKER = "/job:ps/task:0", "/job:worker/task:0"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = ProcessCluster(str(tmp_path_factory.mktemp("control_flow_cluster")), num_ps=1, num_workers=1)
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_a_loop_on_the_worker_reads_a_variable_on_the_ps(cluster):
    with tf.device(PS):
        w = tf.Variable(np.full([3], 0.5, np.float32), name="w")
    with tf.device(WORKER):
        _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h * w + 2.0),
                             [tf.constant(0), tf.constant(np.ones(3, np.float32))])
        g = tf.gradients(tf.reduce_sum(h * h), w)[0]
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        metadata = tf.RunMetadata()
        got_h, got_g = sess.run([h, g], options=tf.RunOptions(output_partition_graphs=True), run_metadata=metadata)
    np.testing.assert_allclose(got_h, [3.625] * 3)          # ((1 * .5 + 2) * .5 + 2) * .5 + 2
    np.testing.assert_allclose(got_g, [2 * 3.625 * 4.75] * 3)  # d h3 / d w = h2 + w (h1 + w) = 4.75
    loop_tasks = {n.device.split("/")[1] for p in metadata.partition_graphs for n in p.node if n.op == "LoopCond"}
    assert loop_tasks == {"job:worker"}
    assert any(n.op == "VariableV2" and "job:ps" in n.device for p in metadata.partition_graphs for n in p.node)


def test_a_loop_body_spread_over_the_ps_and_the_worker(cluster):
    with tf.device(PS):
        v = tf.Variable(2.0, name="v")
    with tf.device(WORKER):
        def body(i, h):
            with tf.device(PS):  # this part of the body runs on the ps, in the loop's frame there
                on_ps = tf.add(v, tf.cast(i, tf.float32)) * h
            return i + 1, tf.tanh(on_ps) + h
        _, h = tf.while_loop(lambda i, h: i < 4, body, [tf.constant(0), tf.constant(0.3)])
        g = tf.gradients(h, v)[0]
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        metadata = tf.RunMetadata()
        got_h, got_g = sess.run([h, g], options=tf.RunOptions(output_partition_graphs=True), run_metadata=metadata)

    def forward(vv):
        x = 0.3
        for i in range(4):
            x = np.tanh((vv + i) * x) + x
        return x
    assert np.isclose(got_h, forward(2.0), rtol=1e-5)
    assert np.isclose(got_g, (forward(2.0 + 1e-4) - forward(2.0 - 1e-4)) / 2e-4, rtol=1e-3)
    ps_graph = [p for p in metadata.partition_graphs if any("job:ps" in n.device for n in p.node)]
    ops = [n.op for p in ps_graph for n in p.node]
    assert "LoopCond" not in ops and {"Enter", "Merge", "Switch", "NextIteration"} <= set(ops)  # the control loop


def test_a_loop_that_never_ends_on_a_cluster_stops_at_the_deadline(cluster):
    with tf.device(PS):
        v = tf.Variable(1.0, name="v")
    with tf.device(WORKER):
        def body(k):
            with tf.device(PS):
                step = tf.cast(v, tf.int32) + 0
            return k + step
        forever = tf.while_loop(lambda k: k > -1, body, [tf.constant(0)])
        local_forever = tf.while_loop(lambda k: k > -1, lambda k: k + 1, [tf.constant(0)])
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        for fetch in (forever, local_forever):
            start = time.monotonic()
            with pytest.raises(tf.errors.DeadlineExceededError):
                sess.run(fetch, options=tf.RunOptions(timeout_in_ms=1500))
            assert time.monotonic() - start < 30
        assert sess.run(v) == 1.0  # the cluster still serves


def test_steps_of_one_loop_that_pulls_from_the_ps_run_at_once_from_several_threads(cluster):
    # The loop's partition pulls from a peer, so it runs in the frame interpreter: each step keeps its own queue
    # and pulls (they once lived on the shared plan, and concurrent steps broke each other).
    with tf.device(PS):
        w = tf.Variable(np.full([3], 0.5, np.float32), name="w")
    with tf.device(WORKER):
        x = tf.placeholder(tf.float32, [])
        _, h = tf.while_loop(lambda i, h: i < 30, lambda i, h: (i + 1, h * 0.5 + w + x),
                             [tf.constant(0), tf.constant(np.zeros(3, np.float32))])
    expected = {}
    for v in (1.0, 2.0, 3.0, 4.0):
        acc = np.zeros(3, np.float32)
        for _ in range(30):
            acc = acc * np.float32(0.5) + np.float32(0.5) + np.float32(v)
        expected[v] = acc
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        problems = []

        def run(v):
            try:
                for _ in range(15):
                    got = sess.run(h, {x: v})
                    if not np.allclose(got, expected[v]):
                        problems.append((v, got))
            except tf.errors.OpError as e:
                problems.append((v, e))
        threads = [threading.Thread(target=run, args=(v,)) for v in expected]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
    assert problems == []
