"""The TF 0.x / 1.x aliases old programs still use, each built and run once; BatchMatMul / BatchMatMulV2."""
import json
import subprocess

import numpy as np
import pytest

import tfmini as tf
from test_gradients import numeric_check

RNG = np.random.RandomState(0)
A = RNG.randn(2, 3).astype(np.float32)
B = RNG.randn(2, 3).astype(np.float32)


def run(t, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(t, feed)


# (alias, builds a tensor from constants a and b, the numpy value it must have, the op type it must build)
ALIASES = [
    ("sub", lambda a, b: tf.sub(a, b), A - B, "Sub"),
    ("mul", lambda a, b: tf.mul(a, b), A * B, "Mul"),
    ("neg", lambda a, b: tf.neg(a), -A, "Neg"),
    ("div", lambda a, b: tf.div(a, b), A / B, "Div"),
    ("arg_max", lambda a, b: tf.arg_max(a, 1), np.argmax(A, 1), "ArgMax"),
    ("arg_min", lambda a, b: tf.arg_min(a, dimension=0), np.argmin(A, 0), "ArgMin"),
    ("concat 0.x order", lambda a, b: tf.concat(1, [a, b]), np.concatenate([A, B], 1), "ConcatV2"),
    ("concat 1.x order", lambda a, b: tf.concat([a, b], 0), np.concatenate([A, B], 0), "ConcatV2"),
    ("concat 0.x numpy dim", lambda a, b: tf.concat(np.int64(0), (a, b)), np.concatenate([A, B], 0), "ConcatV2"),
    ("pack", lambda a, b: tf.pack([a, b]), np.stack([A, B]), "Pack"),
    ("unpack", lambda a, b: tf.unpack(a)[1], A[1], "Unpack"),
    ("to_float", lambda a, b: tf.to_float(tf.constant([1, 2])), np.float32([1, 2]), "Cast"),
    ("to_double", lambda a, b: tf.to_double(a), A.astype(np.float64), "Cast"),
    ("to_int32", lambda a, b: tf.to_int32(tf.constant([1.7, -2.2])), np.int32([1, -2]), "Cast"),
    ("to_int64", lambda a, b: tf.to_int64(tf.constant([3.9])), np.int64([3]), "Cast"),
    ("select", lambda a, b: tf.select(a > b, a, b), np.where(A > B, A, B), "Select"),
    ("batch_matmul", lambda a, b: tf.batch_matmul(tf.reshape(a, [1, 2, 3]), tf.reshape(b, [1, 3, 2])),
     np.matmul(A.reshape(1, 2, 3), B.reshape(1, 3, 2)), "BatchMatMul"),
    ("matmul rank 3", lambda a, b: tf.matmul(tf.reshape(a, [1, 2, 3]), b, transpose_b=True),
     np.matmul(A.reshape(1, 2, 3), B.T), "BatchMatMulV2"),
]


@pytest.mark.parametrize("alias, build, want, op_type", ALIASES, ids=[a[0] for a in ALIASES])
def test_alias_builds_and_runs(alias, build, want, op_type):
    with tf.Graph().as_default():
        t = build(tf.constant(A), tf.constant(B))
        assert t.op.type == op_type
        got = run(t)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_concat_0x_order_names_and_graph_match_1x():
    with tf.Graph().as_default() as g:
        t = tf.concat(0, [tf.constant(A), tf.constant(B)], name="joined")
        assert t.op.name == "joined" and [i.op.name for i in t.op.inputs] == ["Const", "Const_1", "joined/axis"]
        assert g.get_operation_by_name("joined/axis").get_attr("value").int_val == [0]


REDUCTIONS = [("reduce_sum", np.sum), ("reduce_mean", np.mean), ("reduce_max", np.max), ("reduce_min", np.min),
              ("reduce_prod", np.prod), ("reduce_all", np.all), ("reduce_any", np.any)]


@pytest.mark.parametrize("name, np_fn", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_every_reduction_takes_reduction_indices_and_keep_dims(name, np_fn):
    x = A > 0 if name in ("reduce_all", "reduce_any") else A
    with tf.Graph().as_default():
        fn = getattr(tf, name)
        old = fn(tf.constant(x), reduction_indices=[1], keep_dims=True)
        new = fn(tf.constant(x), axis=1, keepdims=True)
        assert old.shape.as_list() == [2, 1] == new.shape.as_list()
        got_old, got_new = run([old, new])
    np.testing.assert_allclose(got_old, np_fn(x, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(got_old, got_new)


def test_variable_aliases():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        assert tf.all_variables() == [v]
        with tf.Session() as sess:
            sess.run(tf.initialize_all_variables())
            assert sess.run(v) == 1.0
            assert tf.initialize_all_variables().type == "NoOp"
        assert tf.get_collection(tf.GraphKeys.VARIABLES) == [v]
        assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v]


def test_op_scope_and_variable_op_scope():
    with tf.Graph().as_default():
        a = tf.constant(1.0)
        with tf.op_scope([a], "outer", "default") as scope:
            assert scope == "outer/"
            assert tf.identity(a).op.name == "outer/Identity"
        with tf.op_scope([a], None, "fallback") as scope:
            assert scope == "fallback/"
        with tf.variable_op_scope([a], "layer") as vs:
            w = tf.get_variable("w", [1])
            assert vs.name == "layer" and w.op.name == "layer/w"
        with tf.variable_op_scope([a], None, default_name="dense"):
            assert tf.get_variable("k", [1]).op.name == "dense/k"


def test_dimension():
    d, unknown = tf.Dimension(3), tf.Dimension(None)
    assert d.value == 3 and unknown.value is None and int(d) == 3
    assert str(d) == "3" and str(unknown) == "?" and repr(d) == "Dimension(3)"
    assert d == 3 and d != 4 and (unknown == 3) is None
    assert (d + 2).value == 5 and (d * unknown).value is None and (2 * d).value == 6 and (d // 2).value == 1
    assert d.is_compatible_with(unknown) and not d.is_compatible_with(4) and d.merge_with(unknown).value == 3
    with pytest.raises(ValueError):
        d.merge_with(4)
    with pytest.raises(ValueError):
        tf.Dimension(-1)
    with pytest.raises(TypeError):
        tf.Dimension(2.5)
    assert tf.TensorShape([tf.Dimension(None), tf.Dimension(2)]).as_list() == [None, 2]
    assert tf.dimension_value(d) == 3 and tf.dimension_value(4) == 4 and tf.dimension_value(None) is None
    assert tf.dimension_at_index(tf.TensorShape([5, None]), 0).value == 5
    with tf.Graph().as_default():
        assert tf.zeros([tf.Dimension(2), 3]).shape.as_list() == [2, 3]


def test_summary_aliases(tmp_path):
    with tf.Graph().as_default() as g:
        s = tf.scalar_summary("loss", tf.constant(0.5))
        img = tf.image_summary("img", tf.zeros([1, 4, 4, 1]))
        h = tf.histogram_summary("h", tf.constant(A))
        assert [s.op.type, img.op.type, h.op.type] == ["ScalarSummary", "ImageSummary", "HistogramSummary"]
        merged = tf.merge_all_summaries()
        assert merged.op.type == "MergeSummary"
        writer = tf.train.SummaryWriter(str(tmp_path), g)
        writer.add_summary(run(tf.merge_summary([s, h])), 1)
        writer.close()
    events = tf.gfile.Glob(str(tmp_path / "events.out.tfevents.*"))
    tags = [v.tag for e in tf.train.summary_iterator(events[0]) for v in e.summary.value]
    assert tags == ["loss", "h"]


# -- BatchMatMul / BatchMatMulV2 ------------------------------------------------------------------------------
@pytest.mark.parametrize("xs, ys, ta, tb", [
    ((2, 3, 4), (2, 4, 5), False, False),
    ((2, 3, 4), (4, 5), False, False),          # y broadcast over the batch
    ((1, 4, 3), (3, 2, 4, 5), True, False),     # batch dimensions broadcast both ways, x adjoint
    ((2, 3, 4), (2, 5, 4), False, True),
    ((3, 4), (2, 5, 3), True, True),
])
def test_matmul_of_batches_matches_numpy(xs, ys, ta, tb):
    x, y = RNG.randn(*xs).astype(np.float32), RNG.randn(*ys).astype(np.float32)
    want = np.matmul(np.swapaxes(x, -1, -2) if ta else x, np.swapaxes(y, -1, -2) if tb else y)
    with tf.Graph().as_default():
        t = tf.matmul(x, y, transpose_a=ta, transpose_b=tb)
        assert t.op.type == "BatchMatMulV2" and t.op.name == "MatMul"
        assert t.op.get_attr("adj_x") == ta and t.op.get_attr("adj_y") == tb
        assert t.shape.as_list() == list(want.shape)
        np.testing.assert_allclose(run(t), want, rtol=1e-5, atol=1e-5)


def test_matmul_of_unknown_rank_is_batch_matmul_v2_as_tf():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32)
        t = tf.matmul(x, tf.constant(B.T))
        assert t.op.type == "BatchMatMulV2" and t.shape.ndims is None
        np.testing.assert_allclose(run(t, {x: A}), A @ B.T, rtol=1e-5)
        assert tf.matmul(tf.constant(A), tf.constant(B.T)).op.type == "MatMul"


@pytest.mark.parametrize("xs, ys, ax, ay", [
    ((2, 3, 4), (2, 4, 2), False, False),
    ((2, 3, 4), (4, 2), False, False),
    ((1, 4, 3), (2, 2, 4), True, True),
    ((2, 2, 3, 4), (2, 1, 5, 4), False, True),
    ((3, 2), (2, 3, 2), True, False),
])
@pytest.mark.parametrize("dynamic", [False, True])
def test_batch_matmul_v2_gradients(xs, ys, ax, ay, dynamic):
    x, y = RNG.randn(*xs), RNG.randn(*ys)
    numeric_check(lambda a, b: tf.matmul(a, b, adjoint_a=ax, adjoint_b=ay), [x, y], dynamic=dynamic)


@pytest.mark.parametrize("ax, ay", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_matmul_v1_gradients(ax, ay):
    x = RNG.randn(2, 4, 3) if ax else RNG.randn(2, 3, 4)
    y = RNG.randn(2, 2, 4) if ay else RNG.randn(2, 4, 2)
    numeric_check(lambda a, b: tf.batch_matmul(a, b, adj_x=ax, adj_y=ay), [x, y])


def test_batch_matmul_gradient_uses_tfs_ops():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [2, 3, 4])
        y = tf.placeholder(tf.float32, [4, 5])
        tf.gradients(tf.reduce_sum(tf.matmul(x, y)), [x, y])
        types = {op.type for op in g.get_operations()}
    assert {"BatchMatMulV2", "BroadcastGradientArgs", "Sum", "Reshape"} <= types and "MatMul" not in types


def test_batch_matmul_static_shape_errors():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Dimensions must be equal, but are 4 and 5"):
            tf.matmul(tf.zeros([2, 3, 4]), tf.zeros([2, 5, 6]))
        with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 3"):
            tf.matmul(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 6]))
        with pytest.raises(ValueError, match="Shape must be rank 3 but is rank 2"):
            tf.batch_matmul(tf.zeros([2, 3, 4]), tf.zeros([4, 6]))


def test_batch_matmul_kernel_errors_are_tfs():
    with tf.Graph().as_default():
        x, y = tf.placeholder(tf.float32), tf.placeholder(tf.float32)
        t = tf.matmul(x, y)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Matrix size-incompatible: In\\[0\\]: \\[2,3,4\\], "
                                                                 "In\\[1\\]: \\[2,5,6\\]"):
            run(t, {x: np.zeros([2, 3, 4]), y: np.zeros([2, 5, 6])})
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have compatible batch dimensions"):
            run(t, {x: np.zeros([2, 3, 4]), y: np.zeros([3, 4, 6])})
        with pytest.raises(tf.errors.InvalidArgumentError, match="In\\[0\\] ndims must be >= 2"):
            run(t, {x: np.zeros([4]), y: np.zeros([3, 4, 6])})
        a, b = tf.placeholder(tf.float32, [None, 3, 4]), tf.placeholder(tf.float32, [None, 4, 2])
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have compatible batch dimensions"):
            run(tf.batch_matmul(a, b), {a: np.zeros([2, 3, 4]), b: np.zeros([1, 4, 2])})


_TF_RUNS_OURS = """
import json, sys
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
graph_def = tf.compat.v1.GraphDef()
text_format.Parse(open(sys.argv[1]).read(), graph_def)
with tf.Graph().as_default() as g:
    tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=g) as sess:
        print(json.dumps([np.asarray(v).tolist() for v in sess.run(json.loads(sys.argv[2]))]))
"""


def test_tfmini_batch_matmul_graph_and_gradient_run_on_tensorflow(tmp_path, tf_python):
    x = RNG.randint(-3, 4, (2, 3, 4)).astype(np.float32)  # small integers: exact float32 sums on both sides
    y = RNG.randint(-3, 4, (4, 5)).astype(np.float32)
    with tf.Graph().as_default() as g:
        tx, ty = tf.constant(x, name="x"), tf.constant(y, name="y")
        xy = tf.matmul(tx, ty, name="xy")
        v1 = tf.batch_matmul(tx, tf.constant(x), adj_y=True, name="v1")
        grads = tf.gradients(tf.reduce_sum(xy) + tf.reduce_sum(v1), [tx, ty])
        fetches = [xy.name, v1.name] + [t.name for t in grads]
        ours = run([g.get_tensor_by_name(n) for n in fetches])
    tf.io.write_graph(g, str(tmp_path), "g.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_RUNS_OURS, str(tmp_path / "g.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for mine, tfs in zip(ours, theirs):
        np.testing.assert_array_equal(mine, np.float32(tfs))
