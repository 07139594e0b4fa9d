"""Session: fetch structures, feeds, graph deltas, default sessions, lifetime, and TF's errors (which never
leave the session unusable)."""
import collections

import numpy as np
import pytest

import tfmini as tf
from tfmini.protos import master_pb2 as tf_master_pb2
from tfmini.protos import graph_pb2, master_pb2


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_fetch_structures():
    a = tf.constant(1.0, name="a")
    b = tf.constant([2, 3], name="b")
    noop = tf.no_op()
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        assert sess.run(a) == 1.0
        out = sess.run([a, (b, noop), {"k": a, "n": [b]}, Pair(a, "b:0"), "a:0", "a"])
        assert out[0] == 1.0
        assert isinstance(out[1], tuple) and out[1][1] is None
        np.testing.assert_array_equal(out[1][0], [2, 3])
        assert out[2]["k"] == 1.0 and out[2]["n"][0].tolist() == [2, 3]
        assert isinstance(out[3], Pair) and out[3].x == 1.0 and out[3].y.tolist() == [2, 3]
        assert out[4] == 1.0 and out[5] is None  # "a" names the op: run it, return None
        assert sess.run(noop) is None
        assert sess.run([]) == []
        with pytest.raises(TypeError):
            sess.run(None)
        with pytest.raises((TypeError, ValueError)):
            sess.run(3)


def test_feeds_by_tensor_or_name_of_any_feedable_tensor():
    p = tf.placeholder(tf.float32, [2], name="p")
    c = tf.constant([1.0, 1.0], name="c")
    y = p + c
    z = y * 2
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {p: [1, 2]}), [2, 3])
        np.testing.assert_array_equal(sess.run(y, {"p:0": np.array([3, 4], np.float32)}), [4, 5])
        np.testing.assert_array_equal(sess.run(z, {y: [10, 10]}), [20, 20])  # feed an intermediate tensor
        np.testing.assert_array_equal(sess.run(y, {c: [0, 0], p: [5, 6]}), [5, 6])  # feed a constant
        np.testing.assert_array_equal(sess.run(p, {p: [7, 8]}), [7, 8])  # fetch what is fed
        with pytest.raises(TypeError):
            sess.run(y, {p: c})  # a Tensor is not a feed value


def test_ops_created_after_the_session_starts():
    a = tf.constant(2.0)
    sess = tf.Session()
    assert sess.run(a) == 2.0
    b = a * 3.0
    assert sess.run(b) == 6.0
    v = tf.Variable(5.0)
    sess.run(tf.global_variables_initializer())
    c = v + b
    assert sess.run(c) == 11.0
    assert sess.run(a) == 2.0  # cached plan still good
    sess.close()


def test_variables_persist_across_runs():
    v = tf.Variable(0, name="counter")
    inc = tf.assign_add(v, 1)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for _ in range(3):
            sess.run(inc)
        assert sess.run(v) == 3


def test_interactive_session_eval_and_run():
    v = tf.Variable(3.0)
    sess = tf.InteractiveSession()
    try:
        tf.global_variables_initializer().run()
        assert (v * 2.0).eval() == 6.0
        p = tf.placeholder(tf.int32)
        assert (p + 1).eval(feed_dict={p: 4}) == 5
        assert tf.get_default_session() is sess
    finally:
        sess.close()
    assert tf.get_default_session() is None
    with pytest.raises(ValueError):
        tf.constant(1.0).eval()


def test_context_manager_and_as_default():
    a = tf.constant(4.0)
    with tf.Session() as sess:
        assert tf.get_default_session() is sess and a.eval() == 4.0
        assert sess.graph is tf.get_default_graph()
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError):
        sess.run(a)
    sess2 = tf.Session()
    with sess2.as_default():
        assert a.eval() == 4.0
    sess2.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess2.run(a)


def test_session_on_explicit_graph():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.5)
    other = tf.constant(2.0)
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 1.5
        with pytest.raises(ValueError):
            sess.run(other)  # from another graph
        with pytest.raises(ValueError):
            other.eval(session=sess)
        assert sess.run(c) == 1.5


def test_errors_leave_the_session_usable():
    v = tf.Variable(1.0, name="weights")
    p = tf.placeholder(tf.float32, [2], name="images")
    y = v * 2.0
    s = tf.reduce_sum(p)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="weights"):
            sess.run(y)
        with pytest.raises(tf.errors.InvalidArgumentError, match="images"):
            sess.run(s)
        with pytest.raises(ValueError, match="shape"):
            sess.run(s, {p: [1.0, 2.0, 3.0]})
        with pytest.raises(ValueError):
            sess.run(s, {p: ["a", "b"]})
        with pytest.raises((TypeError, KeyError, ValueError)):
            sess.run(s, {"nope:0": [1.0, 2.0]})
        with pytest.raises((KeyError, ValueError)):
            sess.run("nope:0")
        assert sess.run(s, {p: [1.0, 2.0]}) == 3.0
        sess.run(v.initializer)
        assert sess.run(y) == 2.0
    assert issubclass(tf.errors.FailedPreconditionError, tf.errors.OpError)


def test_unknown_op_type_in_graph_def_is_not_found():
    from tfmini.server.local import local_master
    master = local_master(None)
    gd = graph_pb2.GraphDef()
    gd.node.add(name="x", op="NoSuchOp")
    with pytest.raises(tf.errors.NotFoundError, match="NoSuchOp"):
        master.create_session(master_pb2.CreateSessionRequest(graph_def=gd))
    ok = graph_pb2.GraphDef()
    ok.node.add(name="n", op="NoOp")
    handle = master.create_session(master_pb2.CreateSessionRequest(graph_def=ok)).session_handle
    with pytest.raises(tf.errors.NotFoundError):
        master.extend_session(master_pb2.ExtendSessionRequest(session_handle=handle, graph_def=gd,
                                                              current_graph_version=0))
    master.run_step(master_pb2.RunStepRequest(session_handle=handle, target=["n"]))  # still serves
    master.close()


def test_unknown_op_type_from_a_python_graph():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.0)
        bad = g.create_op("NoSuchOp", [c], output_types=[tf.float32], name="bad")
    with tf.Session(graph=g) as sess:
        with pytest.raises(tf.errors.NotFoundError, match="NoSuchOp"):
            sess.run(bad.outputs[0])
        with g.as_default():
            d = c + 1.0
        with pytest.raises(tf.errors.NotFoundError):
            sess.run(d)  # the rejected node is resent with the next delta: the graph stays rejected


def test_run_metadata_and_options():
    a = tf.constant(1.0)
    meta = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(a, options=tf.RunOptions(output_partition_graphs=True), run_metadata=meta)
    assert len(meta.partition_graphs) == 1
    assert any(n.op == "_Send" for n in meta.partition_graphs[0].node)


def test_results_are_writable_numpy_values():
    a = tf.constant([1.0, 2.0])
    with tf.Session() as sess:
        out = sess.run(a)
        out[0] = 5.0
        assert sess.run(a)[0] == 1.0
        assert isinstance(sess.run(tf.constant(3)), np.int32)


def test_make_callable_runs_by_handle_with_positional_feeds():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [2], name="a")
        b = tf.placeholder(tf.int32, [], name="b")
        out = {"sum": tf.reduce_sum(a) * tf.cast(b, tf.float32), "a": a}
        with tf.Session() as sess:
            call = sess.make_callable(out, [a, "b:0"])
            got = call([1.0, 2.0], 3)
            assert got["sum"] == np.float32(9.0)
            np.testing.assert_array_equal(got["a"], [1.0, 2.0])
            assert call([0.5, 0.5], 2)["sum"] == np.float32(2.0)
            with pytest.raises(ValueError, match="Cannot feed value of shape"):
                call([1.0, 2.0, 3.0], 1)
            with pytest.raises(TypeError, match="Expected 2 feed values"):
                call([1.0, 2.0])
            target = sess.make_callable(tf.no_op(name="nothing"))
            assert target() is None
            master = sess._master
            with pytest.raises(tf.errors.InvalidArgumentError, match="No such callable"):
                master.run_callable(tf_master_pb2.RunCallableRequest(session_handle=sess._handle, handle=999))


def test_an_interpreted_partition_names_the_node_that_failed(monkeypatch):
    # Partitions past CODEGEN_LIMIT nodes are walked by a loop instead of compiled; its errors name their node
    # as the compiled code's do (the node travels on the error, not on the plan concurrent steps share).
    from tfmini.worker import executor
    monkeypatch.setattr(executor, "CODEGEN_LIMIT", 0)
    x = tf.placeholder(tf.float32, [None])
    bad = tf.reshape(x, [3], name="the_reshape")
    with tf.Session() as sess:
        assert sess.run(bad, {x: [1.0, 2.0, 3.0]}).tolist() == [1.0, 2.0, 3.0]
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"\{\{node the_reshape\}\}"):
            sess.run(bad, {x: [1.0, 2.0]})
