"""tf.TensorArray (TensorArrayV3 and the ops on its handle), its gradients and errors, and tf.map_fn / scan /
foldl / foldr built on it and tf.while_loop: values against numpy, gradients against their closed forms,
errors with TF's classes and messages, and a tfmini graph with TensorArrays in a loop running on TensorFlow."""
import json
import subprocess

import numpy as np
import pytest

import tfmini as tf

X = np.arange(12, dtype=np.float32).reshape(4, 3) / 4.0


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


# -- the ops -------------------------------------------------------------------------------------------
def test_write_read_stack_size_and_op_names_are_tfs():
    ta = tf.TensorArray(tf.float32, size=3, clear_after_read=False)  # stack and read(0) both read index 0
    ta = ta.write(0, [1.0, 2.0]).write(1, [3.0, 4.0]).write(2, [5.0, 6.0])
    stacked, first, size = ta.stack(), ta.read(0), ta.size()
    assert stacked.shape.as_list() == [3, 2] and first.shape.as_list() == [2]
    assert ta.handle.op.name == "TensorArray" and ta.handle.op.type == "TensorArrayV3"
    assert ta.flow.op.name == "TensorArrayWrite_2/TensorArrayWriteV3"
    assert stacked.op.name == "TensorArrayStack/TensorArrayGatherV3"
    assert ta.handle.op.get_attr("identical_element_shapes") is True
    s, f, n = run([stacked, first, size])
    np.testing.assert_array_equal(s, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(f, [1, 2])
    assert n == 3


def test_unstack_gather_scatter_concat_split():
    ta = tf.TensorArray(tf.float32, size=4).unstack(X)
    gathered = ta.gather([3, 1])
    scattered = tf.TensorArray(tf.float32, size=3).scatter([2, 0, 1], X[:3]).stack()
    split = tf.TensorArray(tf.float32, size=3, infer_shape=False).split(np.arange(6, dtype=np.float32), [1, 2, 3])
    parts = [split.read(i) for i in range(3)]
    concat = tf.TensorArray(tf.float32, size=2, infer_shape=False).write(0, [1.0]).write(1, [2.0, 3.0]).concat()
    g, s, p, c = run([gathered, scattered, parts, concat])
    np.testing.assert_array_equal(g, X[[3, 1]])
    np.testing.assert_array_equal(s, X[[1, 2, 0]])
    assert [list(v) for v in p] == [[0.0], [1.0, 2.0], [3.0, 4.0, 5.0]]
    np.testing.assert_array_equal(c, [1, 2, 3])


def test_dynamic_size_grows_and_unwritten_elements_of_known_shape_read_as_zeros():
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True).write(2, [1.0]).write(0, [2.0])
    known = tf.TensorArray(tf.float32, size=2, element_shape=[2]).read(1)
    stacked, size, zeros = run([ta.stack(), ta.size(), known])
    np.testing.assert_array_equal(stacked, [[2.0], [0.0], [1.0]])  # index 1: zeros, as TF
    assert size == 3
    np.testing.assert_array_equal(zeros, [0.0, 0.0])


def test_clear_after_read_false_allows_rereading_and_identity_keeps_the_array():
    ta = tf.TensorArray(tf.float32, size=1, clear_after_read=False).write(0, 7.0)
    same = ta.identity()
    assert same.handle is ta.handle and same.flow.op.type == "Identity"
    assert run([ta.read(0), same.read(0)]) == [7.0, 7.0]


def test_a_tensor_array_as_a_while_loop_variable():
    n = 5

    def body(i, ta):
        return i + 1, ta.write(i, tf.cast(i * i, tf.float32))
    _, ta = tf.while_loop(lambda i, ta: i < n, body, [tf.constant(0), tf.TensorArray(tf.float32, size=n)])
    np.testing.assert_array_equal(run(ta.stack()), [0, 1, 4, 9, 16])


# -- gradients -------------------------------------------------------------------------------------------
def test_gradients_through_write_read_stack_gather_and_concat():
    x = tf.constant([5.0, 6.0])
    ta = tf.TensorArray(tf.float32, size=2).write(0, x * 2.0).write(1, x * 3.0)
    g_stack, = tf.gradients(ta.stack(), [x])
    g_read, = tf.gradients(ta.read(1) * 4.0, [x])
    xs = tf.constant(X)
    g_gather, = tf.gradients(tf.TensorArray(tf.float32, size=4).unstack(xs).gather([0, 2]) * 2.0, [xs])
    split = tf.TensorArray(tf.float32, size=2, infer_shape=False).split(xs, [1, 3])
    g_concat, = tf.gradients(split.concat() * 3.0, [xs])
    assert "gradients/TensorArrayStack/TensorArrayGatherV3_grad/TensorArrayGrad/TensorArrayGradV3" in \
        [op.name for op in tf.get_default_graph().get_operations()]
    a, b, c, d = run([g_stack, g_read, g_gather, g_concat])
    np.testing.assert_array_equal(a, [5.0, 5.0])
    np.testing.assert_array_equal(b, [12.0, 12.0])
    np.testing.assert_array_equal(c, [[2] * 3, [0] * 3, [2] * 3, [0] * 3])
    np.testing.assert_array_equal(d, np.full((4, 3), 3.0))


def test_two_reads_of_one_element_add_their_gradients():
    x = tf.constant(2.0)
    ta = tf.TensorArray(tf.float32, size=1, clear_after_read=False).write(0, x * x)
    g, = tf.gradients(ta.read(0) + 3.0 * ta.read(0), [x])
    assert run(g) == pytest.approx(4 * 2 * 2.0)


# -- errors, as TF's --------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, error, message", [
    (lambda: tf.TensorArray(tf.float32, 3).read(1), tf.errors.InvalidArgumentError,
     "Could not read from TensorArray index 1.  Furthermore, the element shape is not fully defined"),
    (lambda: tf.TensorArray(tf.float32, 3).write(0, 1.0).write(0, 2.0).flow, tf.errors.InvalidArgumentError,
     "Could not write to TensorArray index 0 because it has already been written to."),
    (lambda: tf.TensorArray(tf.float32, 3).write(5, 1.0).flow, tf.errors.InvalidArgumentError,
     "Tried to write to index 5 but array is not resizeable and size is: 3"),
    (lambda: tf.TensorArray(tf.float32, 3).write(0, 1.0).read(4), tf.errors.InvalidArgumentError,
     "Tried to read from index 4 but array size is: 3"),
    (lambda: (lambda t: [t.read(0), t.read(0)])(tf.TensorArray(tf.float32, 3).write(0, 1.0)),
     tf.errors.InvalidArgumentError, "Could not read index 0 twice because it was cleared after a previous read "
                                     "(perhaps try setting clear_after_read = false?)."),
    (lambda: tf.TensorArray(tf.float32, 3).write(0, tf.constant(1, tf.int32)).flow, tf.errors.InvalidArgumentError,
     "TensorArray dtype is float but Op is trying to write dtype int32."),
    (lambda: tf.TensorArray(tf.float32, 3).write(0, [1.0]).write(
        1, tf.placeholder_with_default([1.0, 2.0], [None])).flow, tf.errors.InvalidArgumentError,
     "Could not write to TensorArray index 1 because the value shape is [2] which is incompatible with the "
     "TensorArray's inferred element shape: [1] (consider setting infer_shape=False)."),
    (lambda: tf.TensorArray(tf.float32, 3).scatter([5, 0], [[1.0], [2.0]]).flow, tf.errors.InvalidArgumentError,
     "Max scatter index must be < array size (5 vs. 3)"),
    (lambda: tf.TensorArray(tf.float32, 2).split([1.0, 2.0, 3.0], [1, 1]).flow, tf.errors.InvalidArgumentError,
     "Expected sum of lengths to be equal to values.shape[0], but sum of lengths is 2 and value's shape is: [3]"),
    (lambda: tf.TensorArray(tf.float32, 2).split([1.0, 2.0, 3.0], [1, 1, 1]).flow, tf.errors.InvalidArgumentError,
     "TensorArray's size is not equal to the size of lengths (2 vs. 3), and the TensorArray is not marked as "
     "dynamically resizeable"),
    (lambda: tf.TensorArray(tf.float32, 2, infer_shape=False).write(0, [1.0]).write(1, [2.0, 3.0]).stack(),
     tf.errors.InvalidArgumentError, "TensorArray has inconsistent shapes.  Index 0 has shape: [1] but index 1 "
                                     "has shape: [2]"),
    (lambda: tf.TensorArray(tf.float32, 0).gather(tf.constant([], tf.int32)), tf.errors.UnimplementedError,
     "TensorArray has size zero, but element shape <unknown> is not fully defined."),
])
def test_runtime_errors_are_tfs(build, error, message):
    fetch = build()
    with pytest.raises(error) as info:
        run(fetch)
    assert message in info.value.message
    assert "TensorArray" in info.value.message


def test_graph_building_errors_are_tfs():
    with pytest.raises(ValueError, match=r"Inconsistent shapes: saw \(2,\) but expected \(1,\)|"
                                         r"Inconsistent shapes: saw \[2\] but expected \[1\]"):
        tf.TensorArray(tf.float32, 3).write(0, [1.0]).write(1, [1.0, 2.0])
    with pytest.raises(ValueError, match="Size must be provided if handle is not provided"):
        tf.TensorArray(tf.float32)
    with pytest.raises(ValueError, match="flow must not be None if handle is not None."):
        tf.TensorArray(tf.float32, handle=tf.TensorArray(tf.float32, 1).handle)


# -- map_fn, scan, foldl, foldr ---------------------------------------------------------------------------
def test_map_fn_scan_and_folds_match_numpy():
    x = tf.constant(X)
    mapped = tf.map_fn(lambda row: row * 2.0 + 1.0, x)
    summed = tf.scan(lambda a, row: a + row, x)
    summed_back = tf.scan(lambda a, row: a + row, x, reverse=True)
    with_init = tf.scan(lambda a, row: a * 0.5 + row, x, initializer=tf.ones([3]))
    left = tf.foldl(lambda a, row: a * 2.0 + row, x)
    right = tf.foldr(lambda a, row: a * 2.0 + row, x, initializer=tf.zeros([3]))
    assert mapped.shape.as_list() == [4, 3] and summed.shape.as_list() == [4, 3]
    m, s, sb, wi, fl, fr = run([mapped, summed, summed_back, with_init, left, right])
    np.testing.assert_allclose(m, X * 2 + 1)
    np.testing.assert_allclose(s, np.cumsum(X, 0))
    np.testing.assert_allclose(sb, np.cumsum(X[::-1], 0)[::-1])
    expect, a = [], np.ones(3, np.float32)
    for row in X:
        a = a * 0.5 + row
        expect.append(a)
    np.testing.assert_allclose(wi, expect, rtol=1e-6)
    np.testing.assert_allclose(fl, ((X[0] * 2 + X[1]) * 2 + X[2]) * 2 + X[3])
    np.testing.assert_allclose(fr, ((X[3] * 2 + X[2]) * 2 + X[1]) * 2 + X[0])


def test_nested_elems_and_dtype():
    x, y = tf.constant(X), tf.constant(X.astype(np.int32))
    pair = tf.map_fn(lambda t: (t[0] * tf.cast(t[1], tf.float32), tf.reduce_sum(t[1])), (x, y),
                     dtype=(tf.float32, tf.int32))
    named = tf.map_fn(lambda d: {"a": d["a"] + 1.0, "b": d["b"] - 1.0}, {"a": x, "b": x * 2.0})
    scanned = tf.scan(lambda acc, e: (acc[0] + e, acc[1] * 2.0), x, initializer=(tf.zeros([3]), tf.ones([3])))
    folded = tf.foldl(lambda acc, e: acc + e[0] * e[1], (x, x), initializer=tf.zeros([3]))
    p, n, s, f = run([pair, named, scanned, folded])
    np.testing.assert_allclose(p[0], X * X.astype(np.int32))
    np.testing.assert_array_equal(p[1], X.astype(np.int32).sum(1))
    np.testing.assert_allclose(n["a"], X + 1) and np.testing.assert_allclose(n["b"], X * 2 - 1)
    np.testing.assert_allclose(s[0], np.cumsum(X, 0))
    np.testing.assert_allclose(s[1], [[2] * 3, [4] * 3, [8] * 3, [16] * 3])
    np.testing.assert_allclose(f, (X * X).sum(0), rtol=1e-6)


def test_gradients_of_map_fn_scan_and_foldl():
    x = tf.constant(X)
    w = tf.constant([1.0, -2.0, 0.5])
    g_map, g_w = tf.gradients(tf.reduce_sum(tf.map_fn(lambda row: row * row * w, x)), [x, w])
    g_scan, = tf.gradients(tf.reduce_sum(tf.scan(lambda a, row: a * row, x)), [x])
    g_fold, = tf.gradients(tf.foldl(lambda a, row: a + tf.reduce_sum(tf.sin(row)), x, initializer=0.0), [x])
    gm, gw, gs, gf = run([g_map, g_w, g_scan, g_fold])
    np.testing.assert_allclose(gm, 2 * X * [1.0, -2.0, 0.5], rtol=1e-6)
    np.testing.assert_allclose(gw, (X * X).sum(0), rtol=1e-6)
    # d/dx_k sum_i prod_{j<=i} x_j = sum_{i>=k} prod_{j<=i, j!=k} x_j
    expect = np.zeros_like(X)
    for k in range(4):
        for i in range(k, 4):
            expect[k] += np.prod(np.delete(X[:i + 1], k, axis=0), axis=0)
    np.testing.assert_allclose(gs, expect, rtol=1e-5)
    np.testing.assert_allclose(gf, np.cos(X), rtol=1e-6)


def test_map_fn_errors():
    with pytest.raises(ValueError, match="elems must be a 1\\+ dimensional Tensor, not a scalar"):
        tf.map_fn(lambda e: e, tf.constant(1.0))
    with pytest.raises(TypeError, match="fn must be callable."):
        tf.map_fn(None, tf.constant([1.0]))
    with pytest.raises(ValueError, match="don't have the same nested structure"):
        tf.map_fn(lambda t: t[0], (tf.constant([1.0]), tf.constant([2.0])))


# -- interchange: a tfmini graph with TensorArrays in a loop runs on TensorFlow -------------------------
def test_tfmini_map_fn_and_scan_graph_runs_on_tensorflow(tmp_path, tf_python):
    from test_tf_interchange import _TF_SCRIPT
    with tf.Graph().as_default() as g:
        x = tf.placeholder_with_default(X, [None, 3], name="x")
        mapped = tf.map_fn(lambda row: tf.reduce_sum(row * row), x, name="mapped")
        scanned = tf.scan(lambda a, row: a + row, x, name="scanned")
        # Two loops' gradients in one graph: TF runs iterations in parallel, so the stacks' order must be TF's.
        grad, = tf.gradients(tf.reduce_sum(scanned) + tf.reduce_sum(mapped), [x])  # TF: under "gradients"
        fetches = [mapped.name, scanned.name, grad.name]
        ours = run(fetches)
    tf.io.write_graph(g, str(tmp_path), "g.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(tmp_path / "g.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for mine, tfs in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(tfs, dtype=np.float32), mine, rtol=1e-6)
