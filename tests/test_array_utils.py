"""Array and utility ops: split, gather_nd/scatter_nd, boolean_mask, top_k, cumsum/cumprod, einsum, reverse,
sequence_mask, where_v2; tf.Print/tf.print; tf.Assert and tf.assert_*; tf.summary.text.

Values are checked against NumPy (hypothesis shapes), gradients against central differences, messages and
printed text against what TensorFlow 2.21 writes (recorded from real TF runs), graphs by TF's op types."""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tfmini as tf
from test_gradients import numeric_check

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield


def run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def dyn(value, dtype=None):
    """A tensor whose value is only known when it runs (no static shape, nothing folded at build time)."""
    value = np.asarray(value, dtype=dtype)
    return tf.placeholder_with_default(value, None)


def rand(seed, shape):
    return np.random.RandomState(seed).uniform(-2, 2, shape)


# -- values against NumPy ------------------------------------------------------------------------------
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_split_matches_numpy(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(0, shape).astype(np.float32)
    n = shape[axis]
    sizes = data.draw(st.lists(st.integers(0, n), min_size=1, max_size=3).filter(lambda s: sum(s) <= n))
    sizes = sizes + [n - sum(sizes)]
    equal = tf.split(x, n, axis=axis)
    pieces = tf.split(tf.constant(x), sizes, axis=axis)
    with_unknown = tf.split(dyn(x), sizes[:-1] + [-1], axis=axis)
    got_equal, got, got_unknown = run([equal, pieces, with_unknown])
    for g, want in zip(got_equal, np.split(x, n, axis=axis)):
        np.testing.assert_array_equal(g, want)
    for g, u, want in zip(got, got_unknown, np.split(x, np.cumsum(sizes)[:-1], axis=axis)):
        np.testing.assert_array_equal(g, want)
        np.testing.assert_array_equal(u, want)
    assert [p.shape.as_list() for p in pieces] == [list(w.shape) for w in np.split(x, np.cumsum(sizes)[:-1], axis)]
    assert pieces[0].op.type == "SplitV" and equal[0].op.type == "Split"


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_gather_nd_and_scatter_nd_match_numpy(shape, data):
    m = data.draw(st.integers(1, len(shape)))
    rows = data.draw(st.integers(1, 5))
    rng = np.random.RandomState(1)
    indices = np.stack([rng.randint(0, d, size=rows) for d in shape[:m]], axis=-1).astype(np.int32)
    params = rand(2, shape).astype(np.float32)
    want = params[tuple(indices.T)]
    updates = rand(3, want.shape).astype(np.float32)
    scattered = np.zeros(shape, np.float32)
    np.add.at(scattered, tuple(indices.T), updates)  # duplicate indices add up
    g, s = tf.gather_nd(params, indices), tf.scatter_nd(indices, updates, list(shape))
    assert g.shape.as_list() == list(want.shape) and s.shape.as_list() == list(shape)
    got_g, got_s = run([g, s])
    np.testing.assert_array_equal(got_g, want)
    np.testing.assert_allclose(got_s, scattered, rtol=1e-6)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_boolean_mask_matches_numpy(shape, data):
    k = data.draw(st.integers(1, len(shape)))
    axis = data.draw(st.integers(0, len(shape) - k))
    mask = np.random.RandomState(4).rand(*shape[axis:axis + k]) > 0.4
    x = rand(5, shape).astype(np.float32)
    want = x[(slice(None),) * axis + (mask,)]
    static = tf.boolean_mask(x, mask, axis=axis)
    ph = tf.placeholder(tf.float32, [None] * len(shape))
    dynamic = tf.boolean_mask(ph, tf.placeholder_with_default(mask, [None] * k), axis=axis)
    got, got_dynamic = run([static, dynamic], {ph: x})
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_dynamic, want)


def test_boolean_mask_builds_tfs_ops():
    out = tf.boolean_mask(tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.bool, [None]))
    types = [op.type for op in tf.get_default_graph().get_operations()]
    assert out.op.type == "GatherV2" and out.op.inputs[1].op.type == "Squeeze"
    assert {"Prod", "ConcatV2", "Reshape", "Where", "Squeeze"} <= set(types)
    assert out.shape.as_list() == [None, 4]
    with pytest.raises(ValueError, match="mask cannot be scalar"):
        tf.boolean_mask([1, 2], True)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=6), data=st.data())
def test_top_k_sorted_with_ties_by_lower_index(shape, data):
    k = data.draw(st.integers(0, shape[-1]))
    x = np.random.RandomState(6).randint(-2, 3, size=shape).astype(np.float32)  # many ties
    values, indices = tf.nn.top_k(x, k)
    got_v, got_i = run([values, indices])
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]  # numpy: descending, ties by lower index
    np.testing.assert_array_equal(got_i, order)
    np.testing.assert_array_equal(got_v, np.take_along_axis(x, order, axis=-1))
    assert got_i.dtype == np.int32 and values.shape.as_list() == list(shape[:-1]) + [k]
    assert tf.math.top_k is tf.nn.top_k


def _np_scan(x, axis, exclusive, reverse, op):
    y = np.flip(x, axis) if reverse else x
    out = (np.cumsum if op == "sum" else np.cumprod)(y, axis=axis)
    if exclusive:
        ident = np.zeros_like if op == "sum" else np.ones_like
        out = np.concatenate([ident(np.take(out, [0], axis)), np.take(out, np.arange(y.shape[axis] - 1), axis)],
                             axis)
    return np.flip(out, axis) if reverse else out


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data(),
       exclusive=st.booleans(), reverse=st.booleans())
def test_cumsum_and_cumprod_match_numpy(shape, data, exclusive, reverse):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(7, shape)
    s = tf.cumsum(x, axis=axis, exclusive=exclusive, reverse=reverse)
    p = tf.cumprod(x, axis=axis, exclusive=exclusive, reverse=reverse)
    got_s, got_p = run([s, p])
    np.testing.assert_allclose(got_s, _np_scan(x, axis, exclusive, reverse, "sum"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_p, _np_scan(x, axis, exclusive, reverse, "prod"), rtol=1e-12, atol=1e-12)
    assert (s.op.type, s.op.get_attr("exclusive"), s.op.get_attr("reverse")) == ("Cumsum", exclusive, reverse)


EQUATIONS = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 4)]),
             ("ij->", [(3, 4)]), ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("ij,j->i", [(3, 4), (4,)]),
             ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("abc,cd->abd", [(2, 3, 4), (4, 2)]),
             ("ij,jk", [(3, 4), (4, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ijk->ik", [(2, 3, 4)]),
             ("ij,kj->ik", [(2, 3), (4, 3)]), ("bi,bi->b", [(3, 4), (3, 4)])]


@pytest.mark.parametrize("equation,shapes", EQUATIONS)
def test_einsum_matches_numpy(equation, shapes):
    xs = [rand(i, s) for i, s in enumerate(shapes)]
    out = tf.einsum(equation, *xs)
    want = np.einsum(equation, *xs)
    assert out.shape.as_list() == list(want.shape)
    np.testing.assert_allclose(run(out), want, rtol=1e-10, atol=1e-12)
    assert out.op.type == "Einsum" and "->" in out.op.get_attr("equation").decode()


def test_reverse_sequence_mask_where_v2():
    x = np.arange(24).reshape(2, 3, 4)
    lengths = np.array([0, 2, 4])
    got = run([tf.reverse(x, [0, -1]), tf.reverse_v2(x, [1]), tf.sequence_mask(lengths, 5),
               tf.sequence_mask(dyn(lengths)), tf.sequence_mask(lengths, 3, dtype=tf.float32),
               tf.where_v2([[True], [False]], np.ones((2, 3)), -np.arange(3.0)), tf.where_v2([True, False])])
    np.testing.assert_array_equal(got[0], x[::-1, :, ::-1])
    np.testing.assert_array_equal(got[1], x[:, ::-1])
    np.testing.assert_array_equal(got[2], np.arange(5) < lengths[:, None])
    np.testing.assert_array_equal(got[3], np.arange(4) < lengths[:, None])
    np.testing.assert_array_equal(got[4], (np.arange(3) < lengths[:, None]).astype(np.float32))
    np.testing.assert_array_equal(got[5], np.where([[True], [False]], np.ones((2, 3)), -np.arange(3.0)))
    np.testing.assert_array_equal(got[6], [[0]])


def test_report_uninitialized_variables_is_a_boolean_mask():
    v, u = tf.Variable(1.0, name="v"), tf.Variable(2.0, name="u")
    report = tf.report_uninitialized_variables()
    assert report.op.type == "GatherV2" and report.op.name == "report_uninitialized_variables/boolean_mask/GatherV2"
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert list(sess.run(report)) == [b"u"]
        sess.run(u.initializer)
        assert list(sess.run(report)) == []


def test_clip_by_value_exists():
    np.testing.assert_array_equal(run(tf.clip_by_value([-3.0, 0.5, 3.0], -1.0, 1.0)), [-1.0, 0.5, 1.0])


# -- errors: TF's messages ------------------------------------------------------------------------------
@pytest.mark.parametrize("build,message", [
    (lambda: tf.split(dyn(np.zeros((3, 4))), 3, axis=1)[0],
     "Number of ways to split should evenly divide the split dimension, but got split_dim 1 (size = 4) and "
     "num_split 3"),
    (lambda: tf.split(dyn(np.zeros((3, 4))), dyn([1, 2], np.int32), axis=1, num=2)[0],
     "Determined shape must either match input shape along split_dim exactly if fully specified, or be less "
     "than the size of the input along split_dim if not fully specified.  Got: 3"),
    (lambda: tf.nn.top_k(dyn(np.zeros((3, 4))), dyn(5, np.int32)).values,
     "input must have at least k columns. Had 4, needed 5"),
    (lambda: tf.gather_nd(dyn(np.zeros((3, 3))), dyn([[0, 1], [2, 3]], np.int32), name="GatherNd"),
     "indices[1] = [2, 3] does not index into param shape [3,3], node name: GatherNd"),
    (lambda: tf.gather_nd(dyn(np.zeros((3, 3, 2))), dyn([[[0, 1], [2, 3]]], np.int32), name="g"),
     "indices[0,1] = [2, 3] does not index into param shape [3,3,2], node name: g"),
    (lambda: tf.scatter_nd(dyn([[0], [5]], np.int32), dyn([1.0, 2.0]), dyn([4], np.int32)),
     "indices[1] = [5] does not index into shape [4]"),
    (lambda: tf.cumsum(dyn(np.zeros((3, 4))), dyn(3, np.int32)),
     "ScanOp: Expected scan axis in the range [-2, 2), but got 3"),
    (lambda: tf.reverse(dyn(np.zeros((3, 4))), dyn([2], np.int32)), "'axis'[0] = 2 is out of valid range [0, 1"),
    (lambda: tf.einsum("ij,jk->ik", dyn(np.zeros((3, 4))), dyn(np.zeros((5, 2)))),
     "Expected dimension 4 at axis 0 of the input shaped [5,2] but got dimension 5"),
    (lambda: tf.where_v2(dyn([True, False, True]), dyn([1.0, 2.0]), 0.0),
     "condition [3], then [2], and else [] must be broadcastable"),
])
def test_kernel_errors_carry_tfs_messages(build, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        run(build())
    assert e.value.message.startswith(message)


def test_static_shape_errors():
    with pytest.raises(ValueError, match="Dimension size must be evenly divisible by 3 but is 4"):
        tf.split(tf.zeros([3, 4]), 3, axis=1)
    with pytest.raises(ValueError, match="last dimension >= k = 5"):
        tf.nn.top_k(tf.zeros([3, 4]), 5)


# -- asserts ---------------------------------------------------------------------------------------------
def _failure(op):
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        run(op)
    return e.value.message


def test_assert_failures_carry_tfs_message_and_data():
    x = tf.constant([1, 2, 3], name="x")
    y = tf.placeholder_with_default([1, 2, 4], [3], name="y")
    message = _failure(tf.assert_equal(x, y, message="custom"))
    assert message.startswith("assertion failed: [custom] [Condition x == y did not hold element-wise:] "
                              "[x (x:0) = ] [1 2 3] [y (y:0) = ] [1 2 4]")
    p = tf.placeholder_with_default(np.array([1.0, -2.0, 3.0, 4.0], np.float32), None, name="p")
    assert _failure(tf.assert_positive(p, message="pos")).startswith(
        "assertion failed: [pos.  ] [Condition x > 0 did not hold element-wise:] [x (p:0) = ] [1 -2 3...]")
    n = tf.placeholder_with_default([1, -2], None, name="n")
    assert _failure(tf.assert_non_positive(n)).startswith(  # TF's missing comma joins two of its strings
        "assertion failed: [] [Condition x <= 0 did not hold element-wise:x (n:0) = ] [1 -2]")
    a, b = (tf.placeholder_with_default(v, None, name=k) for k, v in (("a", [1, 5]), ("b", [2, 3])))
    assert _failure(tf.assert_less(a, b, summarize=1)).startswith(
        "assertion failed: [Condition x < y did not hold element-wise:] [x (a:0) = ] [1...] [y (b:0) = ] [2...]")
    r = tf.placeholder_with_default(np.zeros((3, 4), np.float32), None, name="r")
    assert _failure(tf.assert_rank(r, 1, message="ranks")).startswith(
        "assertion failed: [ranks.  ] [Tensor r:0 must have rank] [1] [Received shape: ] [3 4]")


def test_assert_op_fails_the_step_and_passes_when_true():
    cond = tf.placeholder(tf.bool, [])
    check = tf.Assert(cond, ["oops", tf.constant([1, 2, 3, 4]), tf.constant(["ab", "cd"]),
                             tf.constant(np.arange(12.0).reshape(3, 4))])
    assert check.type == "Assert" and check.name == "Assert/Assert"
    with tf.control_dependencies([check]):
        out = tf.identity(tf.constant(1.0))
    with tf.Session() as sess:
        assert sess.run(out, {cond: True}) == 1.0
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(out, {cond: False})
    assert e.value.message.startswith("assertion failed: [oops] [1 2 3...] [ab cd] [[0 1 2...]...]")


def test_the_other_asserts_and_the_debugging_names():
    assert tf.debugging.assert_equal is tf.assert_equal and tf.debugging.Assert is tf.Assert
    for name in ("assert_none_equal", "assert_less_equal", "assert_greater", "assert_greater_equal",
                 "assert_negative", "assert_non_negative", "assert_rank", "assert_type"):
        assert getattr(tf.debugging, name) is getattr(tf, name)
    v = tf.placeholder_with_default([1, 2], None)
    with tf.control_dependencies([tf.assert_none_equal(v, [3, 4]), tf.assert_greater(v, 0),
                                  tf.assert_greater_equal(v, 1), tf.assert_negative(-v),
                                  tf.assert_non_negative(v), tf.assert_less_equal(v, [1, 2])]):
        out = tf.identity(v)
    np.testing.assert_array_equal(run(out), [1, 2])
    assert "Condition x != y" in _failure(tf.assert_none_equal(v, [1, 5]))
    assert "Condition x > y" in _failure(tf.assert_greater(v, 1))
    assert "Condition x < 0" in _failure(tf.assert_negative(v))


def test_static_checks_raise_at_once_or_fold_to_no_op():
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        tf.assert_equal(tf.constant([1, 2], name="c"), tf.constant([1, 3], name="d"), message="static")
    assert e.value.message == ("static\nCondition x == y did not hold element-wise:\nx (c:0) = \n[1 2]\n"
                               "y (d:0) = \n[1 3]")
    with pytest.raises(ValueError, match=r"^Tensor e:0 must have rank 2.  Received rank 1, shape \(2,\)$"):
        tf.assert_rank(tf.constant([1, 2], name="e"), 2)
    with pytest.raises(TypeError, match=r"^f:0 must be of type tf.float32; got tf.int32$"):
        tf.assert_type(tf.constant([1, 2], name="f"), tf.float32)
    ok = tf.assert_rank(tf.placeholder(tf.float32, [2, None]), 2, name="ranked")
    assert (ok.type, ok.name) == ("NoOp", "ranked/static_checks_determined_all_ok")
    typed = tf.assert_type(tf.constant(1.0), tf.float32, name="typed")
    assert (typed.type, typed.name) == ("NoOp", "typed/statically_determined_correct_type")
    x = tf.constant([1, 2])
    assert tf.assert_equal(x, x).type == "NoOp"
    passing = tf.assert_equal(tf.constant([1, 2]), [1, 2])  # statically true: TF still builds its Assert
    assert passing.type == "Assert"
    run(passing)


def test_assert_rank_at_least_and_assert_integer():
    with pytest.raises(ValueError, match=r"^Tensor g:0 must have rank at least 2.  Received rank 1, shape"):
        tf.assert_rank_at_least(tf.constant([1.0], name="g"), 2)
    assert tf.assert_rank_at_least(tf.zeros([2, 3, 4]), 2).type == "NoOp"
    x = tf.placeholder(tf.float32)
    with tf.Session() as sess:
        sess.run(tf.assert_rank_at_least(x, 2), {x: np.ones((2, 3, 1))})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"must have rank at least\] \[2\]"):
            sess.run(tf.assert_rank_at_least(x, 2), {x: np.ones(3)})
    assert tf.assert_integer(tf.constant([1, 2])).name.endswith("statically_determined_was_integer")
    with pytest.raises(TypeError, match='Expected "x" to be integer type.  Found: h:0 of dtype tf.float32'):
        tf.assert_integer(tf.constant(1.0, name="h"))
    assert tf.debugging.assert_rank_at_least is tf.assert_rank_at_least


def test_assert_rank_of_unknown_rank_checks_when_it_runs():
    x = tf.placeholder(tf.float32)
    with tf.control_dependencies([tf.assert_rank(x, 2)]):
        out = tf.reduce_sum(x)
    with tf.Session() as sess:
        assert sess.run(out, {x: np.ones((2, 3))}) == 6.0
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have rank"):
            sess.run(out, {x: np.ones(3)})


# -- printing ----------------------------------------------------------------------------------------------
def test_print_writes_tfs_summaries_to_stderr(capfd):
    x = tf.placeholder_with_default([1.0, 2.0], None)
    p = tf.Print(x, [tf.constant(np.arange(12.0, dtype=np.float32).reshape(3, 4)), tf.constant([1, 2, 3, 4, 5]),
                     tf.constant(["ab", "cd"]), tf.constant(2.5), tf.constant(True)], "msg: ")
    first = tf.Print(x, [tf.constant([1.5, 1e10, 1 / 3.0], tf.float64), tf.constant([[True, False]]),
                         tf.constant(-7, tf.int64), tf.constant(0.1, tf.float32)], "first: ", first_n=2)
    assert p.op.type == "Print" and p.op.get_attr("summarize") == 3 and first.op.get_attr("first_n") == 2
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(p), [1.0, 2.0])
        for _ in range(3):
            sess.run(first)
        sess.run([first, p])  # another plan, the same session: first_n still counts
    err = capfd.readouterr().err.splitlines()
    assert err == ["msg: [[0 1 2...]...][1 2 3...][ab cd][2.5][1]",
                   "first: [1.5 10000000000 0.33333333333333331][[1 0]][-7][0.1]",
                   "first: [1.5 10000000000 0.33333333333333331][[1 0]][-7][0.1]",
                   "msg: [[0 1 2...]...][1 2 3...][ab cd][2.5][1]"]


def test_tf_print_builds_string_format_and_print_v2(capfd):
    x = tf.constant(np.arange(12, dtype=np.float32).reshape(3, 4))
    i = tf.constant([1, 2, 3, 4, 5])
    out = tf.print("hello", x, i, tf.constant(["ab", "cd"]), tf.constant(2.5), {"a": i}, output_stream=sys.stdout)
    assert out.type == "PrintV2" and out.inputs[0].op.type == "StringFormat"
    fmt = out.inputs[0].op
    assert fmt.get_attr("template") == b"hello {} {} {} {} {'a': {}}" and fmt.get_attr("placeholder") == b"{}"
    assert out.get_attr("output_stream") == b"stdout"
    run(out)
    run(tf.print(tf.constant(np.arange(10)), "x", [1, tf.constant("s")], output_stream=sys.stdout, sep="|",
                 end="$\n"))
    run(tf.print(x, summarize=-1, sep=",", end="!\n"))
    captured = capfd.readouterr()
    assert captured.out == ("hello [[0 1 2 3]\n [4 5 6 7]\n [8 9 10 11]] [1 2 3 4 5] [\"ab\" \"cd\"] 2.5 "
                            "{'a': [1 2 3 4 5]}\n[0 1 2 ... 7 8 9]|x|[1, \"s\"]$\n")
    assert captured.err == "[[0 1 2 3]\n [4 5 6 7]\n [8 9 10 11]]!\n"


def test_tf_print_of_one_string_needs_no_format_and_bad_streams_fail():
    out = tf.print(tf.constant("just this"))
    assert out.inputs[0].op.type == "Const"
    with pytest.raises(ValueError, match="Unsupported output stream"):
        tf.print("x", output_stream="nowhere")


# -- gradients: numeric checks and TF's gradient op types ----------------------------------------------------
def test_split_gradients():
    x = rand(8, (3, 4))
    numeric_check(lambda t: tf.concat([p * (i + 1.0) for i, p in enumerate(tf.split(t, 2, axis=1))], 0), [x])
    numeric_check(lambda t: tf.split(t, [1, 3], axis=1)[1], [x])  # the other piece's gradient is zeros


def test_gather_nd_scatter_nd_gradients():
    params = rand(9, (3, 4, 2))
    numeric_check(lambda p: tf.gather_nd(p, [[0, 1], [2, 3], [0, 1]]), [params])
    updates = rand(10, (3, 2))
    numeric_check(lambda u: tf.scatter_nd([[1, 0], [2, 2], [1, 0]], u, [3, 4, 2]), [updates])
    p, u = tf.constant(params), tf.constant(updates)
    dp, = tf.gradients(tf.reduce_sum(tf.gather_nd(p, [[0, 1]])), [p])
    du, = tf.gradients(tf.reduce_sum(tf.scatter_nd([[0, 1], [1, 1], [2, 0]], u, [3, 4, 2])), [u])
    assert (dp.op.type, du.op.type) == ("ScatterNd", "GatherNd")


def test_top_k_cumsum_cumprod_reverse_where_v2_gradients():
    x = np.random.RandomState(11).permutation(12).reshape(3, 4) * 0.5 - 2.0  # distinct: no ties
    numeric_check(lambda t: tf.nn.top_k(t, 2).values, [x])
    numeric_check(lambda t: tf.nn.top_k(t, 2).values, [x], dynamic=True)
    for exclusive in (False, True):
        for reverse in (False, True):
            numeric_check(lambda t: tf.cumsum(t, axis=1, exclusive=exclusive, reverse=reverse), [x])
            numeric_check(lambda t: tf.cumprod(t, axis=0, exclusive=exclusive, reverse=reverse), [x + 3.0])
    numeric_check(lambda t: tf.reverse(t, [1]), [x])
    c = np.array([[True], [False], [True]])
    numeric_check(lambda a, b: tf.where_v2(c, a, b), [rand(12, (3, 4)), rand(13, (4,))])
    numeric_check(lambda t: tf.boolean_mask(t, [True, False, True]), [x])
    t = tf.constant(x)
    d, = tf.gradients(tf.reduce_sum(tf.cumsum(t, reverse=True)), [t])
    assert d.op.type == "Cumsum" and d.op.get_attr("reverse") is False


@pytest.mark.parametrize("equation,shapes", EQUATIONS + [("ijk,j->k", [(2, 3, 4), (3,)]),
                                                                      ("ij,k->ik", [(2, 3), (4,)])])
def test_einsum_gradients(equation, shapes):
    xs = [rand(20 + i, s) for i, s in enumerate(shapes)]
    numeric_check(lambda *ts: tf.einsum(equation, *ts) * 1.0, xs)


def test_print_passes_gradients_through():
    numeric_check(lambda t: tf.Print(t, [t], "g: ") * 2.0, [rand(14, (2, 3))])


# -- TF 1.x-style programs --------------------------------------------------------------------------------
def test_top_k_accuracy_example_matches_tensorflows_numbers():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "top_k_accuracy.py")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    # The same program under TensorFlow 2.21 (tensorflow.compat.v1) printed these lines.
    assert out.stdout.splitlines() == [
        "top-1 accuracy: 0.735", "top-2 accuracy: 0.935", "class 0 top-2: 0.977", "class 1 top-2: 0.941",
        "class 2 top-2: 0.919", "class 3 top-2: 0.865", "class 4 top-2: 1.000",
        "bad labels rejected: assertion failed: [labels.  ] [Condition x >= 0 did not hold"]
    assert out.stderr.splitlines() == ["logits shape, argmax: [50 5][2 3 1...]"]  # first_n=1, once a session


def test_tutorial_style_masked_mean_with_asserts():
    scores = tf.placeholder(tf.float32, [None, 3], name="scores")
    valid = tf.placeholder(tf.bool, [None], name="valid")
    with tf.control_dependencies([tf.assert_rank(scores, 2), tf.assert_non_negative(scores)]):
        kept = tf.boolean_mask(scores, valid)
    best = tf.reduce_mean(tf.nn.top_k(kept, 1).values)
    first, rest = tf.split(kept, [1, 2], axis=1)
    total = tf.einsum("ij,ij->", rest, rest) + tf.reduce_sum(tf.cumsum(first, axis=0))
    with tf.Session() as sess:
        data = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0], [0.5, 0.25, 4.0]], np.float32)
        mask = np.array([True, False, True])
        got_best, got_total = sess.run([best, total], {scores: data, valid: mask})
        k = data[mask]
        assert got_best == pytest.approx(k.max(axis=1).mean())
        assert got_total == pytest.approx((k[:, 1:] ** 2).sum() + np.cumsum(k[:, :1], axis=0).sum())
        with pytest.raises(tf.errors.InvalidArgumentError, match="Condition x >= 0"):
            sess.run(best, {scores: -data, valid: mask})


# -- tf.summary.text in TensorBoard's Text tab ------------------------------------------------------------
def test_text_summary_proto():
    t = tf.summary.text("greeting", tf.constant("**hello** world"))
    assert t.op.type == "TensorSummaryV2" and t.op.name == "greeting"
    assert [i.op.name for i in t.op.inputs] == ["greeting/tag", "Const", "greeting/serialized_summary_metadata"]
    assert t in tf.get_collection(tf.GraphKeys.SUMMARIES)
    value = tf.Summary.FromString(run(t)).value[0]
    assert value.tag == "greeting" and value.metadata.plugin_data.plugin_name == "text"
    assert value.tensor.string_val == [b"**hello** world"]
    with pytest.raises(ValueError, match="to have dtype string"):
        tf.summary.text("bad", tf.constant(1.0))


@pytest.mark.parametrize("load_fast", ["false", "true"], ids=["python_loader", "rust_loader"])
def test_tensorboard_text_tab_shows_text_summaries(tmp_path, load_fast):
    pytest.importorskip("tensorboard")
    from test_tensorboard import _TensorBoard
    tf.summary.text("notes", tf.constant("step *marker*"))
    tf.summary.text("table", tf.constant([["a", "b"], ["c", "d"]]))
    merged = tf.summary.merge_all()
    with tf.Session() as sess:
        writer = tf.summary.FileWriter(str(tmp_path / "run"))
        for i in range(3):
            writer.add_summary(sess.run(merged), i)
        writer.close()
    tb = _TensorBoard(tmp_path, load_fast)
    try:
        deadline = time.time() + 30
        while True:
            tags = tb.get("data/plugin/text/tags")
            if set(tags.get("run", [])) == {"notes", "table"}:
                break
            assert time.time() < deadline, "".join(tb.log[-30:])
            time.sleep(0.3)
        assert tb.get("data/plugins_listing")["text"]["enabled"]
        notes = tb.get("data/plugin/text/text?run=run&tag=notes")
        assert [n["step"] for n in notes] == [0, 1, 2]
        assert "<em>marker</em>" in notes[0]["text"]  # the Text tab renders the markdown
        table = tb.get("data/plugin/text/text?run=run&tag=table")[0]["text"]
        assert "<table>" in table and "<td><p>d</p></td>" in table  # a 2-D string tensor is a table
    finally:
        tb.close()


# -- a graph tfmini writes runs on TensorFlow -----------------------------------------------------------
def test_tfmini_graph_of_these_ops_runs_on_tensorflow(tmp_path, tf_python):
    import json

    from test_tf_interchange import _TF_SCRIPT
    rng = np.random.RandomState(5)
    with tf.Graph().as_default() as g:
        w = tf.Variable(rng.permutation(24).reshape(4, 6).astype(np.float32) - 12.0, name="w")
        x = tf.placeholder_with_default(rng.randint(-2, 3, size=(3, 4)).astype(np.float32), [None, 4], name="x")
        h = tf.einsum("ij,jk->ik", x, w)
        a, b = tf.split(h, 2, axis=1)
        c, d = tf.split(h, [2, 4], axis=1)
        picked = tf.gather_nd(b, [[0, 1], [2, 2]])
        top = tf.nn.top_k(w, 2)
        masked = tf.boolean_mask(tf.cumsum(d, axis=1, exclusive=True, reverse=True), [True, False, True])
        spread = tf.scatter_nd([[1], [3]], picked, [5])
        chosen = tf.where_v2(tf.sequence_mask([1, 2, 3], 3), tf.reverse(a, [1]), tf.cumprod(c[:, :1] * 0.5, 1))
        check = tf.Assert(tf.reduce_all(tf.equal(tf.shape(h), [3, 6])), ["h has shape", tf.shape(h)])
        with tf.control_dependencies([check, tf.assert_rank(x, 2)]):
            loss = tf.add_n([tf.reduce_sum(top.values), tf.reduce_sum(masked), tf.reduce_sum(spread * 2.0),
                             tf.reduce_sum(tf.Print(chosen, [chosen], "chosen: ")), tf.reduce_sum(b * 0.5)],
                            name="loss")
        grad, = tf.gradients(loss, [w], name="grad")
        init = tf.global_variables_initializer()
        fetches = [init.name, loss.name, grad.name, top.indices.name, masked.name]
        with tf.Session() as sess:
            sess.run(init)
            ours = sess.run(fetches[1:])
    tf.io.write_graph(g, str(tmp_path), "g.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(tmp_path / "g.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])[1:]
    for mine, tfs in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(tfs, dtype=np.asarray(mine).dtype), mine)
    assert "chosen: [[" in proc.stderr
