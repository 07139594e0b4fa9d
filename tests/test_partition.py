"""The partitioner: per-task GraphDefs with _Send/_Recv pairs carrying TF's attrs."""
from tfmini.core import attrs as attr_lib
from tfmini.core import dtypes
from tfmini.core.partition import partition
from tfmini.protos import node_def_pb2


PS = "/job:ps/replica:0/task:0/device:CPU:0"
W0 = "/job:worker/replica:0/task:0/device:CPU:0"
W1 = "/job:worker/replica:0/task:1/device:CPU:0"
INC = {PS: 0x11, W0: 0x22, W1: 0x33}


def node(name, op, *inputs, **attrs):
    n = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    for k, v in attrs.items():
        n.attr[k].CopyFrom(attr_lib.to_attr(v))
    return n


def split(nodes, placement, feeds=(), fetches=()):
    by_name = {n.name: n for n in nodes}
    return partition(by_name, [n.name for n in nodes], placement, list(feeds), list(fetches), INC.__getitem__)


def attrs(n):
    return attr_lib.attr_dict(n)


def ops(graph, op):
    return [n for n in graph.node if n.op == op]


def test_cut_edge_becomes_one_send_recv_pair_with_tf_attrs():
    nodes = [node("v", "VariableV2", dtype=dtypes.float32, shape=[]), node("v/read", "Identity", "v", T=dtypes.float32),
             node("m", "Mul", "v/read", "v/read", T=dtypes.float32), node("n", "Neg", "v/read", T=dtypes.float32)]
    out = split(nodes, {"v": PS, "v/read": PS, "m": W0, "n": W0}, fetches=["m:0"])
    ps, w0 = out.graphs["/job:ps/replica:0/task:0"], out.graphs["/job:worker/replica:0/task:0"]
    (send,), (recv,) = ops(ps, "_Send"), ops(w0, "_Recv")  # dedup: one transfer for two consumers
    a, b = attrs(send), attrs(recv)
    assert send.input == ["v/read"] and send.device == PS and recv.device == W0
    for key in ("tensor_name", "send_device", "recv_device", "send_device_incarnation"):
        assert a[key] == b[key]
    assert a["send_device"] == PS.encode() and a["recv_device"] == W0.encode()
    assert a["send_device_incarnation"] == 0x11 and a["client_terminated"] is False
    assert a["T"] == dtypes.float32 and b["tensor_type"] == dtypes.float32
    m = next(n for n in w0.node if n.name == "m")
    n = next(n for n in w0.node if n.name == "n")
    assert list(m.input) == [recv.name, recv.name] and list(n.input) == [recv.name]
    # the fetch is a client-terminated _Send on the worker, keyed for the master
    fetch_send = next(s for s in ops(w0, "_Send") if attrs(s)["client_terminated"])
    assert fetch_send.name == "_send_m_0" and out.fetch_keys["/job:worker/replica:0/task:0"] == [
        ("m:0", f"{W0};{0x22:016x};{W0};m:0;0:0")]


def test_one_transfer_per_destination_task():
    nodes = [node("v", "VariableV2", dtype=dtypes.float32, shape=[]), node("a", "Neg", "v", T=dtypes.float32),
             node("b", "Neg", "v", T=dtypes.float32), node("c", "Neg", "v", T=dtypes.float32)]
    out = split(nodes, {"v": PS, "a": W0, "b": W1, "c": W1})
    assert len(ops(out.graphs["/job:ps/replica:0/task:0"], "_Send")) == 2
    assert len(ops(out.graphs["/job:worker/replica:0/task:1"], "_Recv")) == 1


def test_control_edge_sends_an_empty_const_made_after_the_source():
    nodes = [node("a", "VariableV2", dtype=dtypes.float32, shape=[]),
             node("b", "Neg", "x", "^a", T=dtypes.float32), node("x", "Placeholder", dtype=dtypes.float32)]
    nodes = [nodes[0], nodes[2], nodes[1]]
    out = split(nodes, {"a": PS, "x": W0, "b": W0}, feeds=["x:0"])
    ps, w0 = out.graphs["/job:ps/replica:0/task:0"], out.graphs["/job:worker/replica:0/task:0"]
    ctrl = next(n for n in ps.node if n.op == "Const")
    assert list(ctrl.input) == ["^a"] and ctrl.attr["value"].tensor.tensor_shape.dim[0].size == 0
    (send,) = ops(ps, "_Send")
    assert list(send.input) == [ctrl.name]
    b = next(n for n in w0.node if n.name == "b")
    recv = next(n for n in ops(w0, "_Recv") if not attrs(n)["client_terminated"])
    assert list(b.input) == ["_recv_x_0", f"^{recv.name}"]
    feed = next(n for n in ops(w0, "_Recv") if attrs(n)["client_terminated"])
    assert feed.name == "_recv_x_0" and out.feed_keys["/job:worker/replica:0/task:0"][0][0] == "x:0"


def test_constants_are_copied_not_sent_and_sink_noops_need_no_transfer():
    nodes = [node("lr", "Const", dtype=dtypes.float32, value=1.0),
             node("v", "VariableV2", dtype=dtypes.float32, shape=[]),
             node("upd", "AssignSub", "v", "lr", T=dtypes.float32), node("train", "NoOp", "^upd")]
    out = split(nodes, {"lr": W0, "v": PS, "upd": PS, "train": W0})
    ps, w0 = out.graphs["/job:ps/replica:0/task:0"], out.graphs["/job:worker/replica:0/task:0"]
    assert not ops(ps, "_Send") and not ops(ps, "_Recv") and not ops(w0, "_Recv")
    copy = next(n for n in ps.node if n.op == "Const")
    assert copy.device == PS and copy.attr["value"] == nodes[0].attr["value"]
    assert list(next(n for n in ps.node if n.name == "upd").input) == ["v", copy.name]
