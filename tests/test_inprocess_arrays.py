"""In process, feeds and fetches pass as arrays (core.interfaces run_step_arrays / run_graph_arrays): no
TensorProto is made or read on the embedded session's step, results are those of the gRPC path, and neither
the user nor the graph can change the other's arrays afterwards."""
import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tensor_util
from test_threads import start_server


@pytest.fixture
def no_tensor_protos(monkeypatch):
    """Fails any TensorProto conversion made while the fixture is active."""
    def refuse(*args, **kwargs):
        raise AssertionError("a TensorProto was made or read on an in-process step")
    yield lambda: (monkeypatch.setattr(tensor_util, "make_tensor_proto", refuse),
                   monkeypatch.setattr(tensor_util, "make_ndarray", refuse),
                   monkeypatch.setattr(tensor_util, "parse_tensor", refuse))


def mlp_graph():
    x = tf.placeholder(tf.float32, [None, 8], name="x")
    w = tf.Variable(tf.random_normal([8, 4], seed=3), name="w")
    y = tf.nn.relu(tf.matmul(x, w))
    loss = tf.reduce_sum(y * y)
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    return x, w, y, loss, train


def test_embedded_step_makes_no_tensor_proto(no_tensor_protos):
    x_data = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    with tf.Graph().as_default():
        x, w, y, loss, train = mlp_graph()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run([y, loss, train], {x: x_data})  # the plan is built (its constants are read from protos)
            no_tensor_protos()
            out, value, _ = sess.run([y, loss, train], {x: x_data})
    assert out.shape == (16, 4) and out.dtype == np.float32 and isinstance(value, np.float32)


def test_embedded_callable_makes_no_tensor_proto(no_tensor_protos):
    x_data = np.ones((2, 8), np.float32)
    with tf.Graph().as_default():
        x, w, y, loss, train = mlp_graph()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            call = sess.make_callable([y, loss], [x])
            expected = call(x_data)
            no_tensor_protos()
            got = call(x_data)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]


def test_embedded_and_grpc_paths_give_the_same_numbers(tmp_path):
    """The embedded session beside a tfmini-server process (RunStep over gRPC: TensorProtos all the way)."""
    x_data = np.random.default_rng(1).standard_normal((16, 8)).astype(np.float32)
    server, target = start_server(tmp_path, 1)
    results = []
    try:
        for target in ("", target):
            with tf.Graph().as_default():
                tf.set_random_seed(7)
                x, w, y, loss, train = mlp_graph()
                with tf.Session(target) as sess:
                    sess.run(tf.global_variables_initializer())
                    for _ in range(3):
                        sess.run(train, {x: x_data})
                    results.append(sess.run([y, loss, w, tf.shape(x), x], {x: x_data}))
    finally:
        server.terminate()
        server.wait(10)
    for a, b in zip(*results):
        assert type(a) is type(b) and np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)


def test_fetches_and_feeds_are_copies():
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(4, np.float32))
        fed = tf.placeholder(tf.float32, [4])
        queue = tf.FIFOQueue(2, tf.float32, shapes=[[4]])
        enqueue = queue.enqueue(fed)
        with tf.Session() as sess:
            sess.run(v.initializer)
            got = sess.run(v)
            got[:] = 5  # the user's own array: writable, and not the variable's storage
            np.testing.assert_array_equal(sess.run(v), np.zeros(4))
            mine = np.ones(4, np.float32)
            sess.run(enqueue, {fed: mine})
            mine[:] = 9  # changing the fed array afterwards does not change what the step took
            np.testing.assert_array_equal(sess.run(queue.dequeue()), np.ones(4))
            echoed = sess.run(fed, {fed: mine})
            assert echoed is not mine and echoed.flags.writeable
            np.testing.assert_array_equal(echoed, mine)


def test_string_and_scalar_feeds_keep_their_types():
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [])
        n = tf.placeholder(tf.int64, [])
        with tf.Session() as sess:
            text, number = sess.run([s, n + 1], {s: "hello", n: 41})
    assert text == b"hello" and number == 42 and isinstance(number, np.int64)
