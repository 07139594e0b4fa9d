"""Graph API: TF's names, scopes, devices, control dependencies, colocation, lookups and operator overloads."""
import numpy as np
import pytest

import tfmini as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def names(graph=None):
    return [op.name for op in (graph or tf.get_default_graph()).get_operations()]


def test_unique_names_are_case_insensitive():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    assert (a * b).op.name == "mul"
    assert (a * b).op.name == "mul_1"
    assert tf.multiply(a, b).op.name == "Mul_2"  # "Mul" collides with "mul" case-insensitively
    assert tf.constant(3.0, name="mul_1").op.name == "mul_1_1"
    assert (a * b).op.name == "mul_3"
    assert tf.constant(0.0, name="x").op.name == "x" and tf.constant(0.0, name="x").op.name == "x_1"


def test_name_scopes():
    with tf.name_scope("outer") as outer:
        assert outer == "outer/"
        c = tf.constant(1.0)
        with tf.name_scope("inner") as inner:
            assert inner == "outer/inner/"
            d = tf.constant(1.0, name="d")
        with tf.name_scope("inner") as inner2:
            assert inner2 == "outer/inner_1/"
        with tf.name_scope("/abs/"[1:]) as absolute:  # "abs/" re-enters an absolute scope
            assert absolute == "abs/"
            e = tf.constant(1.0, name="e")
        with tf.name_scope(None) as root:
            assert root == ""
            f = tf.constant(1.0, name="f")
    with tf.name_scope("outer") as again:
        assert again == "outer_1/"
    assert (c.op.name, d.op.name, e.op.name, f.op.name) == ("outer/Const", "outer/inner/d", "abs/e", "f")
    with tf.name_scope("outer/") as reentered:
        assert reentered == "outer/"
        assert tf.constant(1.0).op.name == "outer/Const_1"


def test_op_wrapper_scopes_name_converted_inputs():
    x = tf.constant(1.0)
    y = x + 2.0
    assert y.op.name == "add" and y.op.inputs[1].op.name == "add/y"
    z = tf.pow(x, 2.0, name="p")
    assert z.op.name == "p" and z.op.inputs[1].op.name == "p/y"


def test_variable_scope_and_get_variable():
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", shape=[2, 3], initializer=tf.zeros_initializer())
        assert w.op.name == "layer/w" and w.shape.as_list() == [2, 3]
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("w", shape=[2, 3])
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("w") is w
        with pytest.raises(ValueError):
            tf.get_variable("missing", shape=[1])
    with tf.variable_scope("layer") as scope:
        scope.reuse_variables()
        assert tf.get_variable("w", shape=[2, 3]) is w
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w), np.zeros([2, 3], np.float32))


def test_device_scopes():
    with tf.device("/job:ps/task:1"):
        a = tf.constant(1.0)
        with tf.device("/device:CPU:0"):
            b = tf.constant(1.0)  # inner strings merge with the outer ones
        with tf.device("/job:worker"):
            c = tf.constant(1.0)
        with tf.device(None):
            d = tf.constant(1.0)
        with tf.device(lambda op: "/job:fn" if op.type == "Const" else ""):
            e = tf.constant(1.0)
            f = tf.identity(e)
    assert a.device == "/job:ps/task:1"
    assert b.device == "/job:ps/task:1/device:CPU:0"
    assert c.device == "/job:worker/task:1"
    assert d.device == ""
    assert e.device == "/job:fn/task:1" and f.device == "/job:ps/task:1"  # outer strings fill what fn left
    assert tf.constant(1.0).device == ""
    assert a.op.node_def.device == "/job:ps/task:1"


def test_control_dependencies():
    a = tf.constant(1.0, name="a")
    b = tf.constant(2.0, name="b")
    with tf.control_dependencies([a]):
        c = tf.identity(b, name="c")
        with tf.control_dependencies([b.op]):
            d = tf.identity(b, name="d")
            with tf.control_dependencies(None):
                e = tf.identity(b, name="e")
        f = tf.identity(c, name="f")  # c already runs after a: no repeated edge
    assert c.op.control_inputs == [a.op]
    assert d.op.control_inputs == [a.op]  # b is a data input already
    assert e.op.control_inputs == []
    assert f.op.control_inputs == []
    assert list(c.op.node_def.input) == ["b", "^a"]
    with pytest.raises(TypeError):
        with tf.control_dependencies([1.0]):
            pass


def test_colocation_of_variable_with_assign_and_read():
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(1.0, name="v")
    assign, read = (tf.get_default_graph().get_operation_by_name(n) for n in ("v/Assign", "v/read"))
    assert assign.get_attr("_class") == [b"loc:@v"] and read.get_attr("_class") == [b"loc:@v"]
    assert assign.device == read.device == v.device == "/job:ps/task:0"
    upd = tf.assign_add(v, 1.0)
    assert upd.op.get_attr("_class") == [b"loc:@v"]
    with tf.colocate_with(v.op):
        x = tf.constant(2.0)
    assert x.op.get_attr("_class") == [b"loc:@v"]


def test_lookups_and_graph_def():
    a = tf.constant([1.0, 2.0], name="a")
    s = tf.reduce_sum(a, name="s")
    g = tf.get_default_graph()
    assert g.get_operation_by_name("s") is s.op
    assert g.get_tensor_by_name("s:0") is s
    with pytest.raises(KeyError):
        g.get_operation_by_name("nope")
    with pytest.raises(KeyError):
        g.get_tensor_by_name("s:1")
    with pytest.raises(ValueError):
        g.get_tensor_by_name("s")
    with pytest.raises(ValueError):
        g.get_operation_by_name("s:0")
    gd = g.as_graph_def()
    assert [n.name for n in gd.node] == names() == ["a", "Const", "s"]  # TF makes the axes outside the scope
    assert list(gd.node[2].input) == ["a", "Const"]
    assert s.op.get_attr("T") == tf.float32 and s.op.get_attr("keep_dims") is False
    assert s.op.outputs == [s] and s.op.inputs[0] is a and a.consumers() == [s.op]
    with pytest.raises(ValueError):
        s.op.get_attr("nope")


def test_default_graph_stack():
    g0 = tf.get_default_graph()
    g1 = tf.Graph()
    with g1.as_default() as entered:
        assert entered is g1 and tf.get_default_graph() is g1
        c = tf.constant(1.0)
        with tf.Graph().as_default():
            assert tf.get_default_graph() not in (g0, g1)
        assert tf.get_default_graph() is g1
        with pytest.raises(AssertionError):
            tf.reset_default_graph()
    assert tf.get_default_graph() is g0 and c.graph is g1 and names(g0) == []
    tf.constant(1.0)
    tf.reset_default_graph()
    assert tf.get_default_graph() is not g0 and names() == []
    g2 = tf.Graph()
    with g2.as_default():
        other = tf.constant(2.0)
    with pytest.raises(ValueError):
        tf.add(c, other)  # tensors of two graphs cannot meet in one op


def test_operator_overloads():
    a = tf.constant([6.0, 7.0])
    b = tf.constant([2.0, 3.0])
    i = tf.constant([7, 8])
    m = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    cases = [
        (a + b, "Add", "add"), (a - b, "Sub", "sub"), (a * b, "Mul", "mul"), (a / b, "RealDiv", "truediv"),
        (a // b, "FloorDiv", "floordiv"), (a % b, "FloorMod", "mod"), (a ** b, "Pow", "pow"),
        (m @ m, "MatMul", "matmul"), (-a, "Neg", "Neg"), (abs(a), "Abs", "Abs"), (a < b, "Less", "Less"),
        (a <= b, "LessEqual", "LessEqual"), (a > b, "Greater", "Greater"), (a >= b, "GreaterEqual", "GreaterEqual"),
        (2.0 - a, "Sub", "sub_1"), (2.0 * a, "Mul", "mul_1"), (1 + i, "Add", "add_1"),
        (a[1:], "StridedSlice", "strided_slice"),
    ]
    for t, op_type, name in cases:
        assert (t.op.type, t.op.name) == (op_type, name)
    assert (2.0 - a).op.inputs[0].op.name == "sub_2/x"
    assert (i / 2).dtype == tf.float64  # Python 3 division of int32 is float64, as TF's truediv
    with tf.Session() as sess:
        values = sess.run([t for t, _, _ in cases])
    expected = [a_ + b_ for a_, b_ in [(np.float32([6, 7]), np.float32([2, 3]))]]
    np.testing.assert_array_equal(values[0], expected[0])
    np.testing.assert_array_equal(values[3], np.float32([3, 7 / 3]))
    np.testing.assert_array_equal(values[5], np.float32([0, 1]))
    np.testing.assert_array_equal(values[7], np.float32([[7, 10], [15, 22]]))
    np.testing.assert_array_equal(values[14], np.float32([-4, -5]))
    np.testing.assert_array_equal(values[16], np.int32([8, 9]))
    np.testing.assert_array_equal(values[-1], np.float32([7]))
    with pytest.raises(TypeError):
        bool(a)
    assert a != b  # == and != stay Python identity (TF 1.x), so tensors work as dict keys
    assert {a: 1}[a] == 1


def test_static_shapes_and_set_shape():
    p = tf.placeholder(tf.float32, [None, 3])
    assert p.shape.as_list() == [None, 3] and str(p.shape) == "(?, 3)"
    p.set_shape([4, 3])
    assert p.get_shape().as_list() == [4, 3]
    with pytest.raises(ValueError):
        p.set_shape([5, 3])
    u = tf.placeholder(tf.float32)
    assert u.shape.ndims is None and (u + 1.0).shape.ndims is None


def test_finalized_graph_rejects_ops():
    g = tf.Graph()
    g.finalize()
    with g.as_default():
        with pytest.raises(RuntimeError):
            tf.constant(1.0)
