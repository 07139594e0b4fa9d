"""Every core op against numpy: values, dtypes and static shapes, on random (small) shapes with broadcasting."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tfmini as tf
from tfmini.ops import math_ops

SETTINGS = settings(max_examples=12, deadline=None)
FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]


def run(fetches, feed_dict=None, graph=None):
    """Runs `fetches` of the default graph (or `graph`) in a fresh session."""
    with tf.Session(graph=graph or tf.get_default_graph()) as sess:
        return sess.run(fetches, feed_dict)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def arrays(dtype, shape, low=-10, high=10):
    if np.dtype(dtype).kind == "f":
        elements = st.floats(low, high, width=np.dtype(dtype).itemsize * 8)
    elif np.dtype(dtype).kind == "b":
        elements = st.booleans()
    else:
        elements = st.integers(low, high)
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def broadcast_pair(draw, dtypes, low=-10, high=10):
    dtype = draw(st.sampled_from(dtypes))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    return (draw(arrays(dtype, shapes.input_shapes[0], low, high)),
            draw(arrays(dtype, shapes.input_shapes[1], low, high)))


def check(t, expected, feed_dict=None, rtol=1e-5):
    """Runs `t`, compares value and dtype with numpy's, and the static shape with the runtime shape."""
    got = run(t, feed_dict)
    expected = np.asarray(expected)
    got_arr = np.asarray(got)
    assert got_arr.dtype == expected.dtype, (t, got_arr.dtype, expected.dtype)
    assert t.dtype.as_numpy_dtype == expected.dtype
    assert got_arr.shape == expected.shape
    assert t.shape.is_compatible_with(got_arr.shape), (t.shape, got_arr.shape)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got_arr, expected, rtol=rtol, atol=1e-6)
    else:
        np.testing.assert_array_equal(got_arr, expected)
    return got


# -- element-wise binary ops ----------------------------------------------------------------------------------
BINARY = [
    ("Add", tf.add, np.add, FLOATS + INTS), ("AddV2", math_ops.add_v2, np.add, FLOATS + INTS),
    ("Sub", tf.subtract, np.subtract, FLOATS + INTS), ("Mul", tf.multiply, np.multiply, FLOATS + INTS),
    ("Maximum", tf.maximum, np.maximum, FLOATS + INTS), ("Minimum", tf.minimum, np.minimum, FLOATS + INTS),
    ("Equal", tf.equal, np.equal, FLOATS + INTS), ("NotEqual", tf.not_equal, np.not_equal, FLOATS + INTS),
    ("Less", tf.less, np.less, FLOATS + INTS), ("LessEqual", tf.less_equal, np.less_equal, FLOATS + INTS),
    ("Greater", tf.greater, np.greater, FLOATS + INTS),
    ("GreaterEqual", tf.greater_equal, np.greater_equal, FLOATS + INTS),
]


@pytest.mark.parametrize("op_type,fn,np_fn,dtypes", BINARY, ids=[b[0] for b in BINARY])
def test_binary(op_type, fn, np_fn, dtypes):
    @SETTINGS
    @given(broadcast_pair(dtypes))
    def inner(pair):
        tf.reset_default_graph()
        x, y = pair
        t = fn(tf.constant(x), tf.constant(y))
        assert t.op.type == op_type
        check(t, np_fn(x, y))
    inner()


@SETTINGS
@given(broadcast_pair(FLOATS), st.booleans())
def test_division_family(pair, integer):
    tf.reset_default_graph()
    x, y = pair
    if integer:
        x, y = (x * 3).astype(np.int32), (y * 2).astype(np.int32)
        y = np.where(y == 0, 3, y).astype(np.int32)
    else:
        y = np.where(np.abs(y) < 0.5, 1.5, y).astype(y.dtype)
    cx, cy = tf.constant(x), tf.constant(y)
    check(tf.floordiv(cx, cy), np.floor_divide(x, y))
    check(tf.floormod(cx, cy), np.mod(x, y), rtol=1e-4)
    if integer:
        t = tf.divide(cx, cy)  # Python 3 division casts int32 to float64, as TF's truediv
        assert t.op.type == "RealDiv" and t.dtype == tf.float64
        check(t, x.astype(np.float64) / y)
        check(tf.div(cx, cy), np.floor_divide(x, y))
    else:
        t = tf.realdiv(cx, cy)
        assert t.op.type == "RealDiv"
        check(t, np.true_divide(x, y))
        check(tf.div(cx, cy), np.true_divide(x, y))


@SETTINGS
@given(broadcast_pair(FLOATS, low=0.5, high=3), st.sampled_from(INTS))
def test_pow(pair, int_dtype):
    tf.reset_default_graph()
    x, y = pair
    t = tf.pow(tf.constant(x), tf.constant(y))
    assert t.op.type == "Pow"
    check(t, np.power(x, y), rtol=1e-4)
    xi, yi = x.astype(int_dtype), np.abs(y).astype(int_dtype)
    check(tf.pow(tf.constant(xi), tf.constant(yi)), np.power(xi, yi))


@SETTINGS
@given(broadcast_pair([np.bool_]))
def test_logical(pair):
    tf.reset_default_graph()
    x, y = pair
    cx, cy = tf.constant(x), tf.constant(y)
    check(tf.logical_and(cx, cy), np.logical_and(x, y))
    check(tf.logical_or(cx, cy), np.logical_or(x, y))
    check(tf.logical_not(cx), np.logical_not(x))
    assert (cx & cy).op.type == "LogicalAnd" and (cx | cy).op.type == "LogicalOr" and (~cx).op.type == "LogicalNot"


# -- unary ops --------------------------------------------------------------------------------------------------
def _sigmoid(x):
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


UNARY = [
    ("Neg", tf.negative, np.negative, FLOATS + INTS, -10), ("Square", tf.square, np.square, FLOATS + INTS, -10),
    ("Sqrt", tf.sqrt, np.sqrt, FLOATS, 0), ("Rsqrt", tf.rsqrt, lambda x: (1 / np.sqrt(x)).astype(x.dtype), FLOATS, 0.25),
    ("Exp", tf.exp, np.exp, FLOATS, -10), ("Log", tf.log, np.log, FLOATS, 0.25),
    ("Abs", tf.abs, np.abs, FLOATS + INTS, -10), ("Sign", tf.sign, np.sign, FLOATS + INTS, -10),
    ("Relu", tf.nn.relu, lambda x: np.maximum(x, 0).astype(x.dtype), FLOATS + INTS, -10),
    ("Sigmoid", tf.nn.sigmoid, _sigmoid, FLOATS, -10), ("Tanh", tf.nn.tanh, np.tanh, FLOATS, -10),
    ("Identity", tf.identity, lambda x: x, FLOATS + INTS, -10),
]


@pytest.mark.parametrize("op_type,fn,np_fn,dtypes,low", UNARY, ids=[u[0] for u in UNARY])
def test_unary(op_type, fn, np_fn, dtypes, low):
    @SETTINGS
    @given(st.sampled_from(dtypes).flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=0, max_dims=3,
                                                                                  max_side=4), low, 10)))
    def inner(x):
        tf.reset_default_graph()
        t = fn(tf.constant(x))
        assert t.op.type == op_type
        check(t, np_fn(x), rtol=1e-4)
    inner()


@SETTINGS
@given(st.sampled_from(FLOATS + INTS).flatmap(lambda d: arrays(d, hnp.array_shapes(max_dims=3, max_side=4))),
       st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.bool_]))
def test_cast(x, dst):
    tf.reset_default_graph()
    t = tf.cast(tf.constant(x), dst)
    if np.dtype(dst) == x.dtype:
        assert t.op.type == "Const"  # tf.cast to the same dtype is the tensor itself
    else:
        assert t.op.type == "Cast" and t.op.get_attr("DstT") == tf.as_dtype(dst)
    check(t, x.astype(dst))


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(arrays(np.bool_, s), arrays(np.float32, s), arrays(np.float32, s))))
def test_select_where(args):
    tf.reset_default_graph()
    c, x, y = args
    t = tf.where(tf.constant(c), tf.constant(x), tf.constant(y))
    assert t.op.type == "Select"
    check(t, np.where(c, x, y))
    rows = c.reshape(-1)[:x.shape[0]] if c.size >= x.shape[0] else np.ones(x.shape[0], bool)
    check(tf.select(tf.constant(rows), tf.constant(x), tf.constant(y)),
          np.where(rows.reshape((-1,) + (1,) * (x.ndim - 1)), x, y))


# -- matmul and reductions -------------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(), st.booleans(),
       st.sampled_from(FLOATS + [np.int32]), st.data())
def test_matmul(m, k, n, ta, tb, dtype, data):
    tf.reset_default_graph()
    a = data.draw(arrays(dtype, (k, m) if ta else (m, k)))
    b = data.draw(arrays(dtype, (n, k) if tb else (k, n)))
    t = tf.matmul(tf.constant(a), tf.constant(b), transpose_a=ta, transpose_b=tb)
    assert t.op.type == "MatMul" and t.op.get_attr("transpose_a") == ta and t.shape.as_list() == [m, n]
    check(t, np.matmul(a.T if ta else a, b.T if tb else b), rtol=1e-4)


REDUCERS = [("Sum", tf.reduce_sum, np.sum), ("Mean", tf.reduce_mean, np.mean), ("Max", tf.reduce_max, np.max),
            ("Min", tf.reduce_min, np.min), ("Prod", tf.reduce_prod, np.prod)]


@pytest.mark.parametrize("op_type,fn,np_fn", REDUCERS, ids=[r[0] for r in REDUCERS])
def test_reductions(op_type, fn, np_fn):
    @SETTINGS
    @given(st.sampled_from(FLOATS + INTS).flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3,
                                                                                       max_side=3), -3, 3)),
           st.data(), st.booleans())
    def inner(x, data, keep):
        tf.reset_default_graph()
        axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1),
                                   st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True)))
        t = fn(tf.constant(x), axis=axis, keepdims=keep)
        assert t.op.type == op_type
        np_axis = tuple(axis) if isinstance(axis, list) else axis
        if op_type == "Mean" and x.dtype.kind == "i":  # integer mean truncates toward zero, as in TF
            expected = np.trunc(np.mean(x, axis=np_axis, keepdims=keep)).astype(x.dtype)
        else:
            expected = np.asarray(np_fn(x, axis=np_axis, keepdims=keep)).astype(x.dtype)
        check(t, expected, rtol=1e-4)
    inner()


@SETTINGS
@given(st.sampled_from(FLOATS + INTS).flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3,
                                                                                   max_side=4))), st.data())
def test_argmax_argmin(x, data):
    tf.reset_default_graph()
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check(tf.argmax(tf.constant(x), axis), np.argmax(x, axis).astype(np.int64))
    check(tf.argmin(tf.constant(x), axis, output_type=tf.int32), np.argmin(x, axis).astype(np.int32))


# -- shapes and layout ------------------------------------------------------------------------------------------
@SETTINGS
@given(arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)), st.randoms())
def test_reshape_transpose_expand_squeeze(x, rnd):
    tf.reset_default_graph()
    c = tf.constant(x)
    check(tf.reshape(c, [-1]), x.reshape(-1))
    check(tf.reshape(c, [1, -1, 1]), x.reshape(1, -1, 1))
    perm = list(range(x.ndim))
    rnd.shuffle(perm)
    check(tf.transpose(c, perm), np.transpose(x, perm))
    check(tf.transpose(c), np.transpose(x))
    axis = rnd.randint(-x.ndim - 1, x.ndim)
    e = tf.expand_dims(c, axis)
    check(e, np.expand_dims(x, axis))
    check(tf.squeeze(e, [axis]), x)
    check(tf.squeeze(c), np.squeeze(x))
    check(tf.shape(c), np.array(x.shape, np.int32))
    check(tf.size(c), np.array(x.size, np.int32))
    check(tf.rank(c), np.array(x.ndim, np.int32))
    check(tf.zeros_like(c), np.zeros_like(x))
    check(tf.ones_like(c), np.ones_like(x))
    check(tf.tile(c, [2] * x.ndim), np.tile(x, [2] * x.ndim))


def test_shapes_through_placeholders_are_partial_and_match_at_run_time():
    p = tf.placeholder(tf.float32, [None, 3])
    r = tf.reshape(p, [-1])
    s = tf.reduce_sum(p, axis=0)
    t = tf.transpose(p)
    assert (r.shape.as_list(), s.shape.as_list(), t.shape.as_list()) == ([None], [3], [3, None])
    x = np.ones([5, 3], np.float32)
    out = run([r, s, t, tf.shape(p)], {p: x})
    assert [o.shape for o in out[:3]] == [(15,), (3,), (3, 5)]
    assert out[3].tolist() == [5, 3]


@SETTINGS
@given(st.integers(1, 3), st.integers(2, 4), st.sampled_from(FLOATS + INTS), st.data())
def test_concat_and_stack(ndim, n, dtype, data):
    tf.reset_default_graph()
    shape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=3))
    axis = data.draw(st.integers(-ndim, ndim - 1))
    xs = []
    for _ in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3))
        xs.append(data.draw(arrays(dtype, s)))
    t = tf.concat([tf.constant(x) for x in xs], axis)
    assert t.op.type == "ConcataV2"[:0] + "ConcatV2"
    check(t, np.concatenate(xs, axis))
    same = [data.draw(arrays(dtype, shape)) for _ in range(n)]
    axis = data.draw(st.integers(-ndim - 1, ndim))
    t = tf.stack([tf.constant(x) for x in same], axis)
    assert t.op.type == "Pack"
    check(t, np.stack(same, axis))


@SETTINGS
@given(arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)), st.data())
def test_slice_and_strided_slice(x, data):
    tf.reset_default_graph()
    begin = [data.draw(st.integers(0, d - 1)) for d in x.shape]
    size = [data.draw(st.one_of(st.just(-1), st.integers(0, d - b))) for d, b in zip(x.shape, begin)]
    idx = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    c = tf.constant(x)
    check(tf.slice(c, begin, size), x[idx])
    a = data.draw(st.integers(-x.shape[0], x.shape[0]))
    b = data.draw(st.integers(-x.shape[0], x.shape[0]))
    check(c[a:b], x[a:b])
    check(c[::-1], x[::-1])
    check(c[..., None], x[..., None])
    check(c[1:], x[1:])
    if x.ndim > 1:
        i = data.draw(st.integers(-x.shape[1], x.shape[1] - 1))
        t = c[:, i]
        assert t.op.type == "StridedSlice" and t.op.name == "strided_slice" or t.op.name.startswith("strided_slice")
        check(t, x[:, i])
    check(c[0], x[0])


def test_fill_and_helpers():
    check(tf.fill([2, 3], 7), np.full([2, 3], 7, np.int32))
    check(tf.fill(tf.constant([2]), 1.5), np.full([2], 1.5, np.float32))
    check(tf.zeros([2, 3]), np.zeros([2, 3], np.float32))
    check(tf.ones([4], dtype=tf.int64), np.ones([4], np.int64))
    big = tf.zeros([100, 20])
    assert big.op.type == "Fill" and big.shape.as_list() == [100, 20]
    check(big, np.zeros([100, 20], np.float32))
    check(tf.subtract(5, 2), np.int32(3))
    check(tf.sub(5.0, 2.0), np.float32(3))
    check(tf.mul(2, 3), np.int32(6))
    check(tf.square(3.0), np.float32(9))
    check(tf.add(1, 2), np.int32(3))


# -- nn ops ------------------------------------------------------------------------------------------------------
def _np_log_softmax(x):
    s = x - x.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


@SETTINGS
@given(st.sampled_from(FLOATS).flatmap(lambda d: arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))))
def test_softmax_log_softmax(x):
    tf.reset_default_graph()
    c = tf.constant(x)
    assert tf.nn.softmax(c).op.type == "Softmax" and tf.nn.log_softmax(c).op.type == "LogSoftmax"
    check(tf.nn.softmax(c), np.exp(_np_log_softmax(x)).astype(x.dtype), rtol=1e-4)
    check(tf.nn.log_softmax(c), _np_log_softmax(x).astype(x.dtype), rtol=1e-4)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 5), st.sampled_from(FLOATS), st.data())
def test_cross_entropies(n, k, dtype, data):
    tf.reset_default_graph()
    logits = data.draw(arrays(dtype, (n, k)))
    classes = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), np.int32)
    labels = np.eye(k, dtype=dtype)[classes]
    expected = -(labels * _np_log_softmax(logits)).sum(-1)
    t = tf.nn.softmax_cross_entropy_with_logits(labels=tf.constant(labels), logits=tf.constant(logits))
    assert t.op.type == "SoftmaxCrossEntropyWithLogits"
    check(t, expected.astype(dtype), rtol=1e-4)
    t = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(classes), logits=tf.constant(logits))
    assert t.op.type == "SparseSoftmaxCrossEntropyWithLogits"
    check(t, expected.astype(dtype), rtol=1e-4)


@SETTINGS
@given(arrays(np.int32, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4), 0, 4), st.integers(1, 5),
       st.sampled_from([-1, 0]))
def test_one_hot(indices, depth, axis):
    tf.reset_default_graph()
    t = tf.one_hot(tf.constant(indices), depth, axis=axis)
    expected = (indices[..., None] == np.arange(depth)).astype(np.float32)
    if axis == 0:
        expected = np.moveaxis(expected, -1, 0)
    assert t.op.type == "OneHot"
    check(t, expected)
    check(tf.one_hot(tf.constant(indices), depth, on_value=5, off_value=-1, dtype=tf.int32),
          np.where(indices[..., None] == np.arange(depth), 5, -1).astype(np.int32))


# -- random ops ---------------------------------------------------------------------------------------------------
def test_random_ops_shapes_dtypes_and_ranges():
    u = tf.random_uniform([200], minval=2, maxval=3, dtype=tf.float64)
    n = tf.random_normal([2, 100], mean=1.0, stddev=2.0)
    t = tf.truncated_normal([1000], stddev=0.5)
    assert {o.type for o in tf.get_default_graph().get_operations()} >= {
        "RandomUniform", "RandomStandardNormal", "TruncatedNormal"}
    uv, nv, tv = run([u, n, t])
    assert uv.dtype == np.float64 and nv.dtype == np.float32 and tv.dtype == np.float32
    assert nv.shape == (2, 100) and u.shape.as_list() == [200]
    assert 2 <= uv.min() and uv.max() < 3
    assert abs(nv.mean() - 1) < 0.6 and 1.5 < nv.std() < 2.5
    assert np.abs(tv).max() <= 1.0  # truncated at two standard deviations


def test_random_seeds_are_reproducible():
    def values(graph_seed, op_seed):
        g = tf.Graph()
        with g.as_default():
            if graph_seed is not None:
                tf.set_random_seed(graph_seed)
            a = tf.random_normal([5], seed=op_seed)
            b = tf.random_uniform([5])
        with tf.Session(graph=g) as sess:
            return sess.run([a, b]), sess.run([a, b])
    (a1, b1), (a2, b2) = values(1, 7)
    (a3, b3), _ = values(1, 7)
    np.testing.assert_array_equal(a1, a3)
    np.testing.assert_array_equal(b1, b3)  # a graph seed alone makes every op reproducible
    assert not np.array_equal(a1, a2)  # ... and each run draws new numbers
    (a4, _), _ = values(None, 7)
    (a5, _), _ = values(None, 7)
    np.testing.assert_array_equal(a4, a5)  # an op seed alone too
    (a6, _), _ = values(2, 7)
    assert not np.array_equal(a1, a6)
    (a7, _), _ = values(None, None)
    (a8, _), _ = values(None, None)
    assert not np.array_equal(a7, a8)


def test_random_seed_attrs():
    tf.set_random_seed(5)
    r = tf.random_uniform([2], seed=9)
    op = r.op.inputs[0].op.inputs[0].op if r.op.type != "RandomUniform" else r.op
    rnd = [o for o in tf.get_default_graph().get_operations() if o.type == "RandomUniform"][0]
    assert (rnd.get_attr("seed"), rnd.get_attr("seed2")) == (5, 9)
    assert op is not None


# -- state ops ---------------------------------------------------------------------------------------------------
def test_variables_assign_family():
    v = tf.Variable([1.0, 2.0], name="v")
    w = tf.Variable(tf.zeros([2], dtype=tf.int32), trainable=False)
    assert v.op.type == "VariableV2" and v.dtype == tf.float32._as_ref if hasattr(tf.float32, "_as_ref") else True
    add = tf.assign_add(v, [1.0, 1.0])
    sub = v.assign_sub([0.5, 0.5])
    setv = tf.assign(v, [10.0, 20.0])
    assert (add.op.type, sub.op.type, setv.op.type) == ("AssignAdd", "AssignSub", "Assign")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
        assert sess.run(add).dtype == np.float32
        np.testing.assert_array_equal(sess.run(v), [2.0, 3.0])
        np.testing.assert_array_equal(sess.run(sub), [1.5, 2.5])
        np.testing.assert_array_equal(sess.run(setv), [10.0, 20.0])
        np.testing.assert_array_equal(sess.run(v.value()), [10.0, 20.0])
        assert sess.run(w).dtype == np.int32
        assert sess.run(tf.group(add, sub)) is None
        np.testing.assert_array_equal(sess.run(v), [10.5, 20.5])
    assert tf.global_variables() == [v, w] and tf.trainable_variables() == [v]
    assert tf.group(add, sub).type == "NoOp" and tf.no_op().type == "NoOp"


def test_variables_initializer_only_initializes_its_list():
    a = tf.Variable(1.0)
    b = tf.Variable(2.0)
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([a]))
        assert sess.run(a) == 1.0
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(b)
        sess.run(tf.initialize_all_variables())
        assert sess.run(b) == 2.0


def test_assign_shape_validation():
    v = tf.Variable(tf.zeros([2, 3]))
    with pytest.raises(ValueError):
        tf.assign(v, tf.zeros([3, 2]))
    with pytest.raises((TypeError, ValueError)):
        tf.assign(v, tf.zeros([2, 3], dtype=tf.int32))


# -- placeholders ------------------------------------------------------------------------------------------------
def test_placeholder_feed_checks():
    p = tf.placeholder(tf.float32, [None, 2], name="p")
    y = p * 2
    assert run(y, {p: [[1, 2]]}).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        run(y, {p: [1.0, 2.0]})
    with pytest.raises((ValueError, TypeError)):
        run(y, {p: [["a", "b"]]})
    q = tf.placeholder(tf.int32, [])
    assert run(q, {q: 1.5}) == 1  # numpy's conversion truncates, as in TF
    assert run(q * 2, {q: 3}).dtype == np.int32


# -- build-time errors ---------------------------------------------------------------------------------------------
def test_build_time_errors():
    f = tf.constant([1.0, 2.0])
    i = tf.constant([1, 2])
    with pytest.raises(TypeError):
        tf.add(f, i)
    with pytest.raises((TypeError, ValueError)):
        f + i
    with pytest.raises(ValueError):
        tf.matmul(tf.zeros([2, 3]), tf.zeros([2, 3]))
    with pytest.raises(ValueError):
        tf.matmul(tf.zeros([2]), tf.zeros([2, 3]))
    with pytest.raises(ValueError):
        tf.add(tf.zeros([2, 3]), tf.zeros([4]))
    with pytest.raises(ValueError):
        tf.reshape(tf.zeros([2, 3]), [4])
    with pytest.raises(ValueError):
        tf.reshape(tf.zeros([2, 3]), [-1, -1])
    with pytest.raises(ValueError):
        tf.reshape(tf.zeros([2, 3]), [4, -1])
    with pytest.raises(ValueError):
        tf.concat([tf.zeros([2, 3]), tf.zeros([3, 2])], 0)
    with pytest.raises(ValueError):
        tf.reduce_sum(tf.zeros([2, 3]), axis=2)
    with pytest.raises(ValueError):
        tf.squeeze(tf.zeros([2, 3]), [0])
    with pytest.raises(TypeError):
        tf.constant([1.5], dtype=tf.int32)
    with pytest.raises(ValueError):
        tf.transpose(tf.zeros([2, 3]), [0])


def test_run_time_errors_name_the_node():
    p = tf.placeholder(tf.int32, [None])
    r = tf.reshape(p, [2, 2], name="bad_reshape")
    with pytest.raises(tf.errors.InvalidArgumentError, match="bad_reshape"):
        run(r, {p: [1, 2, 3]})
