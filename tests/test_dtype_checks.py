"""Types are checked as TensorFlow checks them: when an op is built (TypeError/ValueError with TF's Python text,
compared with TensorFlow 2.21's own), and again on the server for GraphDefs and feeds from the wire
(InvalidArgumentError with TF's runtime text, at CreateSession/ExtendSession/RegisterGraph, before anything
runs). And the client mistakes that came back as INTERNAL (issue 16) get their TF class, against real servers.
"""
import json
import os
import subprocess
import sys

import grpc
import numpy as np
import pytest

import tfmini as tf
from tfmini.core import errors, op_types, tensor_util
from tfmini.protos import attr_value_pb2, graph_pb2, master_pb2, node_def_pb2, tensor_pb2, worker_pb2
from tfmini.server import grpc_transport as transport

sys.path.insert(0, os.path.dirname(__file__))
from test_distributed import ProcessCluster  # noqa: E402

A = attr_value_pb2.AttrValue
F32, I32 = A(type=1), A(type=3)

# Expressions that build the same op in TF and in tfmini, each broken by its inputs' types.
TF_CASES = {
    "concat": "tf.concat([f, i], 0)",
    "stack": "tf.stack([f, i])",
    "add_n": "tf.add_n([f, i])",
    "select": "tf.where(tf.constant(True), f, i)",
    "maximum": "tf.maximum(f, i)",
    "matmul": "tf.matmul(f, i)",
    "squared_difference": "tf.squared_difference(f, i)",
    "reshape_float_shape": "tf.reshape(f, tf.constant([2.0]))",
    "fill_float_dims": "tf.fill(tf.constant([2.0]), 1.0)",
    "gather_float_indices": "tf.gather(f, tf.constant([1.0]))",
    "strings_join_float": "tf.strings.join([f])",
    "reshape_minus_5": "tf.reshape(tf.zeros([10]), [-5])",
    "less_bool": "tf.less(tf.constant(True), tf.constant(False))",
}
TF_SCRIPT = """
import json, sys
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
f, i = tf.placeholder(tf.float32), tf.placeholder(tf.int32)
out = {}
for name, code in json.loads(sys.argv[1]).items():
    try:
        eval(code)
        out[name] = None
    except Exception as e:
        out[name] = [type(e).__name__, str(e).split(chr(10))[0]]
print(json.dumps(out))
"""


def build_errors(cases):
    f, i = tf.placeholder(tf.float32), tf.placeholder(tf.int32)  # noqa: F841 - the cases name them
    out = {}
    for name, code in cases.items():
        try:
            eval(code)
            out[name] = None
        except Exception as e:  # noqa: BLE001 - the class and text are what is compared
            out[name] = [type(e).__name__, str(e).split("\n")[0]]
    return out


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def test_graph_building_raises_tensorflows_class_and_message(tf_python):
    ours = build_errors(TF_CASES)
    done = subprocess.run([tf_python, "-c", TF_SCRIPT, json.dumps(TF_CASES)], capture_output=True, text=True,
                          timeout=120)
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(v is not None for v in theirs.values()), theirs
    assert ours == theirs


def test_add_of_float_and_int_is_tfs_type_error():
    a, b = tf.placeholder(tf.float32), tf.placeholder(tf.int32)
    with pytest.raises(TypeError, match=r"^Input 'y' of 'Add' Op has type int32 that does not match type float32 "
                                        r"of argument 'x'\.$"):
        tf.add(a, b)
    with pytest.raises(TypeError, match=r"^Value passed to parameter 'features' has DataType string not in list of "
                                        r"allowed values: float32, float64, int32, uint8, int16, int8, int64, "
                                        r"bfloat16, uint16, float16, uint32, uint64$"):  # TF's also lists qint8
        tf.nn.relu(tf.constant("x"))
    with pytest.raises(TypeError, match=r"^Input 'y' of 'Sub' Op has type float32 that does not match type int32 of "
                                        r"argument 'x'\.$"):
        tf.subtract(tf.constant(1), a)
    assert (1 - a).dtype == tf.float32  # a Python number takes the tensor's type, as TF
    assert tf.add(a, 2).op.get_attr("T") == tf.float32  # Python numbers take the tensor's type
    assert tf.shape(a).op.get_attr("out_type") == tf.int32


def test_type_attrs_left_out_are_filled_as_tf_does():
    g = tf.get_default_graph()
    x = tf.constant([1.0, 2.0])
    op = g.create_op("Shape", [x], {})  # no T, no out_type: T from the input, out_type its default
    assert op.get_attr("T") == tf.float32 and op.get_attr("out_type") == tf.int32
    with pytest.raises(TypeError, match=r"Value for attr 'out_type' of float32 is not in the list of allowed "
                                        r"values: int32, int64"):
        g.create_op("Shape", [x], {"out_type": tf.float32})
    with pytest.raises(ValueError, match=r"NodeDef expected inputs 'float, float' do not match 1 inputs specified"):
        g.create_op("AddV2", [x], {"T": tf.float32})


# -- the server's check of what comes from the wire ------------------------------------------------------------
def const(name, value):
    proto = tensor_util.make_tensor_proto(value)
    n = node_def_pb2.NodeDef(name=name, op="Const")
    n.attr["value"].tensor.CopyFrom(proto)
    n.attr["dtype"].type = proto.dtype
    return n


def node(name, op, inputs=(), **attrs):
    n = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    for key, value in attrs.items():
        n.attr[key].CopyFrom(value)
    return n


FLOATS = const("a", np.array([1.0, 2.0], np.float32))
INTS = const("b", np.array([1, 2], np.int32))
WIRE_CASES = {  # graph -> (error class, message start), as TF's runtime says it
    "add_mismatch": ([FLOATS, INTS, node("c", "AddV2", ["a", "b"], T=F32)],
                     errors.InvalidArgumentError, "Input 1 of node c was passed int32 from b:0 incompatible with "
                                                  "expected float."),
    "T_not_the_inputs": ([FLOATS, node("c", "AddV2", ["a", "a"], T=I32)],
                         errors.InvalidArgumentError, "Input 0 of node c was passed float from a:0 incompatible with "
                                                      "expected int32."),
    "relu_of_strings": ([const("s", np.array([b"x"], object)), node("c", "Relu", ["s"], T=A(type=7))],
                        errors.InvalidArgumentError, "Value for attr 'T' of string is not in the list of allowed "
                                                     "values: float, double, int32, uint8, int16, int8, int64, "
                                                     "bfloat16, uint16, half, uint32, uint64\n"),
    "missing_T": ([FLOATS, node("c", "AddV2", ["a", "a"])],
                  errors.InvalidArgumentError, "NodeDef missing attr 'T' from Op<name=AddV2; signature=x:T, y:T -> "
                                               "z:T>; NodeDef: {{node c}}"),
    "too_few_inputs": ([FLOATS, node("c", "AddV2", ["a"], T=F32)],
                       errors.InvalidArgumentError, "NodeDef expected inputs 'float, float' do not match 1 inputs "
                                                    "specified"),
    "dtype_enum_999": ([FLOATS, node("c", "Cast", ["a"], SrcT=F32, DstT=A(type=999))],
                       errors.InvalidArgumentError, "AttrValue has invalid DataType enum: 999\n\t for attr 'DstT'"),
    "T_is_an_int": ([FLOATS, node("c", "Neg", ["a"], T=A(i=3))],
                    errors.InvalidArgumentError, "AttrValue had value with type 'int' when 'type' expected\n\t for "
                                                 "attr 'T'"),
    "reshape_to_float_shape": ([FLOATS, node("c", "Reshape", ["a", "a"], T=F32, Tshape=F32)],
                               errors.InvalidArgumentError, "Value for attr 'Tshape' of float is not in the list of "
                                                            "allowed values: int32, int64"),
    "unpack_num_2_62": ([FLOATS, node("c", "Unpack", ["a"], T=F32, num=A(i=2**62), axis=A(i=0))],
                        errors.InvalidArgumentError, "Value for attr 'num' of 4611686018427387904 must be between 0 "
                                                     "and 1048576"),
    "output_that_does_not_exist": ([FLOATS, node("c", "Neg", ["a:3"], T=F32)],
                                   errors.InvalidArgumentError, "Node 'c': Connecting to invalid output 3 of source "
                                                                "node a which has 1 outputs."),
    "a_cycle": ([node("c", "Neg", ["d"], T=F32), node("d", "Neg", ["c"], T=F32)], None, None),  # no hang
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = ProcessCluster(str(tmp_path_factory.mktemp("dtypes")), num_ps=1, num_workers=1, extra_args=["--insecure"])
    yield c
    c.stop()


def call(address, service, rpc, request, response_type):
    """(response, None) or (None, the tf.errors exception the client raises for the server's status)."""
    method = grpc.insecure_channel(address).unary_unary(f"/{service}/{rpc}")
    try:
        return response_type.FromString(method(request.SerializeToString(), timeout=10)), None
    except grpc.RpcError as e:
        return None, transport._translate(e, rpc, address)


def master(cluster, rpc, request):
    rpcs = {r: resp for r, _, resp, _ in transport.MASTER_METHODS}
    return call(cluster.spec["worker"][0], transport.MASTER_SERVICE, rpc, request, rpcs[rpc])


def worker(cluster, rpc, request):
    rpcs = {r: resp for r, _, resp, _ in transport.WORKER_METHODS}
    return call(cluster.spec["ps"][0], transport.WORKER_SERVICE, rpc, request, rpcs[rpc])


@pytest.mark.parametrize("case", sorted(WIRE_CASES))
def test_a_graph_from_the_wire_that_breaks_types_is_refused_at_registration(cluster, case):
    nodes, cls, message = WIRE_CASES[case]
    graph = graph_pb2.GraphDef(node=nodes)
    response, error = master(cluster, "CreateSession", master_pb2.CreateSessionRequest(graph_def=graph))
    if cls is None:  # a cycle: answered at once (the step says it is a cycle), not a server stuck forever
        assert error is None
        _, error = master(cluster, "RunStep", master_pb2.RunStepRequest(
            session_handle=response.session_handle, fetch=["c:0"]))
        assert type(error) is errors.InvalidArgumentError and error.message.startswith("Graph has a cycle")
        return
    assert type(error) is cls and error.message.startswith(message), error
    # The same graph sent straight to a worker: the same check, the same answer.
    _, error = worker(cluster, "RegisterGraph", worker_pb2.RegisterGraphRequest(session_handle="s", graph_def=graph))
    assert type(error) is cls and error.message.startswith(message), error


def test_extend_session_checks_new_nodes_against_the_old(cluster):
    response, error = master(cluster, "CreateSession", master_pb2.CreateSessionRequest(
        graph_def=graph_pb2.GraphDef(node=[FLOATS, INTS])))
    assert error is None
    _, error = master(cluster, "ExtendSession", master_pb2.ExtendSessionRequest(
        session_handle=response.session_handle, current_graph_version=0,
        graph_def=graph_pb2.GraphDef(node=[node("c", "Mul", ["b", "a"], T=I32)])))
    assert type(error) is errors.InvalidArgumentError
    assert error.message == "Input 1 of node c was passed float from a:0 incompatible with expected int32."
    # Nothing of the refused delta was kept: the version is unchanged and a good node of that name is accepted.
    _, error = master(cluster, "ExtendSession", master_pb2.ExtendSessionRequest(
        session_handle=response.session_handle, current_graph_version=0,
        graph_def=graph_pb2.GraphDef(node=[node("c", "Mul", ["a", "a"], T=F32)])))
    assert error is None


def run_on(cluster, nodes, fetch, feeds=()):
    response, error = master(cluster, "CreateSession", master_pb2.CreateSessionRequest(
        graph_def=graph_pb2.GraphDef(node=nodes)))
    assert error is None, error
    request = master_pb2.RunStepRequest(session_handle=response.session_handle, fetch=fetch)
    for name, tensor in feeds:
        request.feed.add(name=name, tensor=tensor)
    return master(cluster, "RunStep", request)


PLACEHOLDER = [node("p", "Placeholder", dtype=F32), node("y", "Neg", ["p"], T=F32)]


@pytest.mark.parametrize("fed, got", [
    (tensor_util.make_tensor_proto(np.array([1, 2], np.int32)), "int32"),
    (tensor_util.make_tensor_proto(np.array([b"a"], object)), "string"),
    (tensor_pb2.TensorProto(dtype=20), "resource"),
    (tensor_pb2.TensorProto(dtype=21), "variant"),
    (tensor_pb2.TensorProto(dtype=999), "invalid DataType 999"),
])
def test_a_feed_of_another_type_is_invalid_argument(cluster, fed, got):
    _, error = run_on(cluster, PLACEHOLDER, ["y:0"], [("p:0", fed)])
    assert type(error) is errors.InvalidArgumentError
    assert error.message == f"Type mismatch: actual {got} vs. expect float (feed 'p:0')"


def test_a_tensor_proto_that_holds_no_tensor_is_invalid_argument(cluster):
    fed = tensor_pb2.TensorProto(dtype=1, tensor_content=b"abc")
    fed.tensor_shape.dim.add(size=2)
    _, error = run_on(cluster, PLACEHOLDER, ["y:0"], [("p:0", fed)])
    assert type(error) is errors.InvalidArgumentError
    assert error.message.startswith("Unable to parse tensor proto for p:0: ")


def test_the_known_internal_cases_get_their_tf_class(cluster):
    # Shape without out_type: TF's default (int32) is filled in, and it runs.
    response, error = run_on(cluster, [FLOATS, node("s", "Shape", ["a"], T=F32)], ["s:0"])
    assert error is None and tensor_util.make_ndarray(response.tensor[0].tensor).tolist() == [2]
    assert tensor_util.make_ndarray(response.tensor[0].tensor).dtype == np.int32
    # A fetch that names no output index.
    _, error = run_on(cluster, [FLOATS], ["a:abc"])
    assert type(error) is errors.InvalidArgumentError and error.message == \
        "Invalid tensor name 'a:abc': 'abc' is not an output index"
    _, error = run_on(cluster, [FLOATS], ["a:-1"])
    assert type(error) is errors.InvalidArgumentError
    # Reshape to [-5], the shape known only when the step runs (the client refuses a constant one).
    shape = const("shape", np.array([-5], np.int32))
    _, error = run_on(cluster, [FLOATS, shape, node("r", "Reshape", ["a", "shape"], T=F32, Tshape=I32)], ["r:0"])
    assert type(error) is errors.InvalidArgumentError
    assert error.message.startswith("Size 0 must be non-negative, not -5")
    # A garbage recv_key on a registered graph, and a garbage rendezvous key.
    registered, error = worker(cluster, "RegisterGraph", worker_pb2.RegisterGraphRequest(
        session_handle="s", graph_def=graph_pb2.GraphDef(node=[FLOATS])))
    assert error is None
    _, error = worker(cluster, "RunGraph", worker_pb2.RunGraphRequest(
        graph_handle=registered.graph_handle, step_id=7, recv_key=["garbage"]))
    assert type(error) is errors.InvalidArgumentError and error.message.startswith("RunGraph: recv_key 'garbage'")
    _, error = worker(cluster, "RecvTensor", worker_pb2.RecvTensorRequest(step_id=7, rendezvous_key="garbage"))
    assert type(error) is errors.InvalidArgumentError and error.message == "Invalid rendezvous key: garbage"


def test_client_built_graphs_pass_the_servers_check():
    """The client fills the type attrs it leaves out, so what it sends always passes the server's check."""
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(tf.ones([3, 2]))
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.ones([4, 2]), logits=tf.matmul(x, w)))
    tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    tf.concat([tf.shape(x), tf.range(3)], 0)
    graph_def = tf.get_default_graph().as_graph_def()
    types = op_types.check_graph(graph_def)
    checked = [n for n in graph_def.node if op_types.signature(n.op) is not None]
    assert len(checked) > 0.9 * len(graph_def.node)
    assert all(n.name in types.outputs for n in checked)
