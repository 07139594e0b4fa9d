"""Wire compatibility with TensorFlow's own protos (as compiled into the `tensorboard` package), both ways."""
import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tensor_util
from tfmini.protos import graph_pb2, tensor_pb2

tb_proto = pytest.importorskip("tensorboard.compat.proto.graph_pb2", reason="tensorboard ships TF's protos")
from tensorboard.compat.proto import tensor_pb2 as tb_tensor_pb2  # noqa: E402
from tensorboard.compat.proto import types_pb2 as tb_types_pb2  # noqa: E402
from tensorboard.util import tensor_util as tb_tensor_util  # noqa: E402

# (numpy values, TF DataType name) for every dtype with a numpy form.
ARRAYS = [
    (np.array([[1.5, -2.25], [3.0, 4.0]], np.float32), "DT_FLOAT"),
    (np.array([1e300, -2.5, 0.0], np.float64), "DT_DOUBLE"),
    (np.array([[1, -2, 3]], np.int32), "DT_INT32"),
    (np.array([2**40, -7], np.int64), "DT_INT64"),
    (np.array([-300, 300], np.int16), "DT_INT16"),
    (np.array([-100, 100, 5], np.int8), "DT_INT8"),
    (np.array([0, 255, 7], np.uint8), "DT_UINT8"),
    (np.array([0, 65535], np.uint16), "DT_UINT16"),
    (np.array([0, 2**32 - 1], np.uint32), "DT_UINT32"),
    (np.array([0, 2**64 - 1], np.uint64), "DT_UINT64"),
    (np.array([True, False, True]), "DT_BOOL"),
    (np.array([1 + 2j, -3.5j], np.complex64), "DT_COMPLEX64"),
    (np.array([1 + 2j, 4 - 1j], np.complex128), "DT_COMPLEX128"),
    (np.array([1.5, -0.25], np.float16), "DT_HALF"),
]
SCALARS = [(a.reshape(-1)[:1].reshape(()), name) for a, name in ARRAYS]


def _tb_parse(message, cls):
    out = cls()
    out.ParseFromString(message.SerializeToString())
    return out


def _ours_parse(message, cls):
    out = cls()
    out.ParseFromString(message.SerializeToString())
    return out


@pytest.mark.parametrize("value,type_name", ARRAYS + SCALARS, ids=lambda v: getattr(v, "shape", v))
def test_tensor_proto_written_by_tfmini_reads_in_tensorflow(value, type_name):
    proto = tensor_util.make_tensor_proto(value)
    tb = _tb_parse(proto, tb_tensor_pb2.TensorProto)
    assert tb_types_pb2.DataType.Name(tb.dtype) == type_name
    assert [d.size for d in tb.tensor_shape.dim] == list(value.shape)
    if value.size > 1:
        assert tb.tensor_content  # numeric tensors travel as raw bytes
    elif type_name in ("DT_UINT32", "DT_UINT64"):  # tensorboard's make_ndarray lacks these *_val fields
        assert list(getattr(tb, type_name[3:].lower() + "_val")) == value.reshape(-1).tolist()
        return
    back = tb_tensor_util.make_ndarray(tb)
    assert back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)


@pytest.mark.parametrize("value,type_name", ARRAYS + SCALARS, ids=lambda v: getattr(v, "shape", v))
def test_tensor_proto_written_by_tensorflow_reads_in_tfmini(value, type_name):
    tb = tb_tensor_util.make_tensor_proto(value)  # *_val fields (TF's Python writer)
    ours = _ours_parse(tb, tensor_pb2.TensorProto)
    back = tensor_util.make_ndarray(ours)
    assert back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)
    # the tensor_content form of the same values
    raw = tb_tensor_pb2.TensorProto(dtype=tb.dtype, tensor_shape=tb.tensor_shape,
                                    tensor_content=np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"))
                                    .tobytes())
    back = tensor_util.make_ndarray(_ours_parse(raw, tensor_pb2.TensorProto))
    assert back.dtype == value.dtype
    np.testing.assert_array_equal(back, value)


def test_string_tensors_both_ways():
    value = np.array([[b"a", b"bc"], [b"", b"\xff\x00"]], dtype=object)
    tb = _tb_parse(tensor_util.make_tensor_proto(value), tb_tensor_pb2.TensorProto)
    assert tb_types_pb2.DataType.Name(tb.dtype) == "DT_STRING"
    assert list(tb.string_val) == [b"a", b"bc", b"", b"\xff\x00"]
    np.testing.assert_array_equal(tb_tensor_util.make_ndarray(tb), value)
    back = tensor_util.make_ndarray(_ours_parse(tb_tensor_util.make_tensor_proto(value), tensor_pb2.TensorProto))
    assert back.shape == (2, 2) and back.tolist() == value.tolist()


def test_repeated_last_value_fills_the_shape_both_ways():
    proto = tensor_util.make_tensor_proto(7, dtype=tf.int32, shape=[2, 3])  # TF writes one value for a fill
    tb = _tb_parse(proto, tb_tensor_pb2.TensorProto)
    assert list(tb.int_val) == [7]
    np.testing.assert_array_equal(tb_tensor_util.make_ndarray(tb), np.full([2, 3], 7, np.int32))
    tb = tb_tensor_pb2.TensorProto(dtype=tb_types_pb2.DT_FLOAT, float_val=[1.0, 2.0])
    tb.tensor_shape.dim.add(size=4)
    np.testing.assert_array_equal(tensor_util.make_ndarray(_ours_parse(tb, tensor_pb2.TensorProto)),
                                  np.array([1, 2, 2, 2], np.float32))


def _graph_with_many_kinds():
    g = tf.Graph()
    with g.as_default(), tf.device("/job:localhost/replica:0/task:0/device:CPU:0"):
        p = tf.placeholder(tf.float32, shape=[None, 3], name="p")
        v = tf.Variable(tf.zeros([3, 2]), name="v")
        m = tf.matmul(p, v, transpose_b=False)
        s = tf.reduce_sum(m, axis=1, keepdims=True)
        c = tf.concat([m, s], 1)
        sl = c[:, 1]
        q = tf.squeeze(tf.expand_dims(sl, 0), axis=[0])
        i = tf.cast(q, tf.int64)
        h = tf.one_hot(tf.constant([0, 2]), 3, on_value=5.0)
        st = tf.constant(["x", "yz"])
        tf.nn.leaky_relu(h, alpha=0.1)
        r = tf.random_uniform([2], seed=3)
        with tf.control_dependencies([r]):
            tf.identity(i, name="last")
        tf.group(st.op, h.op)
    return g


def test_graph_def_written_by_tfmini_reads_in_tensorflow():
    gd = _graph_with_many_kinds().as_graph_def()
    tb = _tb_parse(gd, tb_proto.GraphDef)
    assert tb.versions.producer == gd.versions.producer
    assert len(tb.node) == len(gd.node) > 20
    kinds = {n.op for n in tb.node}
    assert {"Placeholder", "VariableV2", "Assign", "MatMul", "Sum", "ConcatV2", "StridedSlice", "Squeeze",
            "ExpandDims", "Cast", "OneHot", "LeakyRelu", "RandomUniform", "NoOp", "Const", "Identity"} <= kinds
    for ours, theirs in zip(gd.node, tb.node):
        assert (theirs.name, theirs.op, list(theirs.input), theirs.device) == \
               (ours.name, ours.op, list(ours.input), ours.device)
        assert set(theirs.attr) == set(ours.attr)
        for key in ours.attr:
            assert theirs.attr[key].SerializeToString(deterministic=True) == \
                ours.attr[key].SerializeToString(deterministic=True), (ours.name, key)  # same fields and values
    by_name = {n.name: n for n in tb.node}
    assert by_name["MatMul"].attr["transpose_b"].b is False and by_name["MatMul"].attr["T"].type == 1
    assert by_name["p"].attr["shape"].shape.dim[0].size == -1 and by_name["p"].attr["shape"].shape.dim[1].size == 3
    assert list(by_name["Squeeze"].attr["squeeze_dims"].list.i) == [0]
    assert by_name["LeakyRelu"].attr["alpha"].f == pytest.approx(0.1)
    assert list(by_name["v/Assign"].attr["_class"].list.s) == [b"loc:@v"]
    assert by_name["random_uniform/RandomUniform"].attr["seed2"].i == 3
    assert "^random_uniform" in by_name["last"].input
    np.testing.assert_array_equal(tb_tensor_util.make_ndarray(by_name["Const_1"].attr["value"].tensor),
                                  np.array([b"x", b"yz"], dtype=object))


def test_graph_def_written_by_tensorflow_reads_in_tfmini():
    tb = tb_proto.GraphDef()
    tb.versions.producer = 27
    const = tb.node.add(name="c", op="Const")
    const.attr["dtype"].type = tb_types_pb2.DT_FLOAT
    const.attr["value"].tensor.CopyFrom(tb_tensor_util.make_tensor_proto(np.arange(6, dtype=np.float32).reshape(2, 3)))
    t = tb.node.add(name="t", op="Transpose", input=["c", "perm"], device="/device:CPU:0")
    t.attr["T"].type = tb_types_pb2.DT_FLOAT
    perm = tb.node.add(name="perm", op="Const")
    perm.attr["dtype"].type = tb_types_pb2.DT_INT32
    perm.attr["value"].tensor.CopyFrom(tb_tensor_util.make_tensor_proto(np.array([1, 0], np.int32)))
    sq = tb.node.add(name="sq", op="Squeeze", input=["t", "^c"])
    sq.attr["T"].type = tb_types_pb2.DT_FLOAT  # TF refuses a NodeDef without its type attrs, and so do we
    sq.attr["squeeze_dims"].list.i.extend([])
    ours = _ours_parse(tb, graph_pb2.GraphDef)
    assert [(n.name, n.op, list(n.input)) for n in ours.node] == [(n.name, n.op, list(n.input)) for n in tb.node]
    assert ours.node[1].device == "/device:CPU:0"
    np.testing.assert_array_equal(tensor_util.make_ndarray(ours.node[0].attr["value"].tensor),
                                  np.arange(6, dtype=np.float32).reshape(2, 3))
    # and the master/worker run it
    from tfmini.protos import master_pb2
    from tfmini.server.local import local_master
    master = local_master(None)
    handle = master.create_session(master_pb2.CreateSessionRequest(graph_def=ours)).session_handle
    resp = master.run_step(master_pb2.RunStepRequest(session_handle=handle, fetch=["t:0"]))
    np.testing.assert_array_equal(tensor_util.make_ndarray(resp.tensor[0].tensor),
                                  np.arange(6, dtype=np.float32).reshape(2, 3).T)
    master.close()
