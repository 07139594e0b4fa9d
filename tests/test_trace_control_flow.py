"""FULL_TRACE step stats of partitions with control flow (worker/frame_tracing.py): one NodeExecStats per node
per iteration, only for what ran (a cond's untaken side records nothing), embedded and on a real cluster
whose loop body is spread over two tasks (the transfers of each iteration recorded on both sides)."""
import collections

import numpy as np
import pytest

import tfmini as tf
from test_distributed import ProcessCluster

PS, WORKER = "/job:ps/task:0", "/job:worker/task:0"


def _traced_run(sess, fetch, feed=None):
    meta = tf.RunMetadata()
    out = sess.run(fetch, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
    return out, meta


def _runs(meta):
    """{node name: how many NodeExecStats it has}, and {node name: its device}."""
    counts, devices = collections.Counter(), {}
    for d in meta.step_stats.dev_stats:
        for s in d.node_stats:
            counts[s.node_name] += 1
            devices[s.node_name] = d.device
    return counts, devices


def test_a_loop_records_each_node_once_per_iteration_and_only_the_taken_side_of_a_cond():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        _, y = tf.while_loop(lambda i, v: i < 5, lambda i, v: (i + 1, tf.cond(
            i % 2 > 0, lambda: tf.multiply(v, 2.0, name="twice"), lambda: tf.add(v, 1.0, name="plus_one"))),
            [tf.constant(0), x])
        g = tf.gradients(tf.reduce_sum(y), x)[0]
        with tf.Session() as sess:
            (got_y, got_g), meta = _traced_run(sess, [y, g], {x: [1.0, 2.0]})
            plain = sess.run([y, g], {x: [1.0, 2.0]})  # the compiled, untraced step: the same numbers
    np.testing.assert_allclose(got_y, [11.0, 15.0])
    np.testing.assert_allclose(got_g, [4.0, 4.0])
    for a, b in zip(plain, (got_y, got_g)):
        np.testing.assert_array_equal(a, b)
    counts, _ = _runs(meta)
    assert counts["while/LoopCond"] == 6  # five iterations, and the condition that ends the loop
    assert counts["while/Identity_1"] == 5
    assert counts["while/cond/plus_one"] == 3 and counts["while/cond/twice"] == 2  # i = 0, 2, 4 and i = 1, 3
    assert counts["gradients/while_grad/LoopCond"] == 6  # the backward loop runs as many times
    assert counts["gradients/Sum_grad/Tile"] == 1  # outside the loops: once
    stats = [s for d in meta.step_stats.dev_stats for s in d.node_stats]
    for s in stats:
        assert s.all_start_micros > 0 and 0 <= s.op_start_rel_micros <= s.op_end_rel_micros <= s.all_end_rel_micros
        assert s.timeline_label.startswith(s.node_name + " = ")
    plus = [s for s in stats if s.node_name == "while/cond/plus_one"]
    assert plus[0].timeline_label == "while/cond/plus_one = Add(while/cond/plus_one/Switch, while/cond/plus_one/y)"
    assert all(s.output[0].tensor_description.allocation_description.requested_bytes == 8 for s in plus)
    starts = [s.all_start_micros for s in plus]
    assert starts == sorted(starts)  # iterations in order


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = ProcessCluster(str(tmp_path_factory.mktemp("trace_control_flow")), num_ps=1, num_workers=1)
    yield c
    c.stop()


def test_a_loop_spread_over_two_tasks_is_traced_on_both(cluster):
    with tf.Graph().as_default():
        with tf.device(PS):
            v = tf.Variable(2.0, name="v")
        with tf.device(WORKER):
            def body(i, h):
                with tf.device(PS):
                    on_ps = tf.multiply(tf.add(v, tf.cast(i, tf.float32)), h, name="on_ps")
                return i + 1, tf.add(tf.tanh(on_ps), h, name="on_worker")
            _, h = tf.while_loop(lambda i, h: i < 4, body, [tf.constant(0), tf.constant(0.3)])
        with tf.Session(cluster.target()) as sess:
            sess.run(tf.global_variables_initializer())
            got, meta = _traced_run(sess, h)
    x = 0.3
    for i in range(4):
        x = np.tanh((2.0 + i) * x) + x
    assert np.isclose(got, x, rtol=1e-5)
    counts, devices = _runs(meta)
    assert counts["while/on_ps"] == 4 and "job:ps" in devices["while/on_ps"]
    assert counts["while/on_worker"] == 4 and "job:worker" in devices["while/on_worker"]
    by_op = collections.Counter()
    for d in meta.step_stats.dev_stats:
        for s in d.node_stats:
            op = s.timeline_label.split(" = ", 1)[1].split("(", 1)[0]
            by_op[op, d.device.split("/")[1]] += 1
    # Each iteration moves h to the ps and the product back, and the worker sends the predicate to the ps's
    # control loop (five times: the last one ends it there): both sides record every transfer.
    assert by_op["_Send", "job:worker"] >= 4 + 5 and by_op["_Recv", "job:ps"] >= 4 + 5
    assert by_op["_Send", "job:ps"] >= 4 and by_op["_Recv", "job:worker"] >= 4
