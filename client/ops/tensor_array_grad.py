"""Gradients of the TensorArray ops, as TF's: each op's backward is its mirror on the gradient TensorArray.

The gradient array of a forward array is made by TensorArrayGradV3 under a `source` (the name scope of the
tf.gradients call, so two calls get two arrays): a read's gradient writes into it, a write's gradient reads from
it, gather/scatter and concat/split mirror each other. The gradient array sums writes to one index, so several
reads of one element add their gradients. Gradients travel along the flow tensors.
"""
from tfmini.gradients import NotDifferentiable, RegisterGradient
from tfmini.graph import get_default_graph
from tfmini.ops import array_ops
from tfmini.ops.tensor_array_ops import TensorArray

for _op_type in ("TensorArrayV3", "TensorArrayGradV3", "TensorArraySizeV3", "TensorArrayCloseV3"):
    NotDifferentiable(_op_type)


def _grad_source(tensor):
    """The gradients' name scope a gradient tensor was made in ("gradients", "foo/gradients_1", ...)."""
    tokens = tensor.name.split("/")
    positions = [i for i, token in enumerate(tokens) if token.startswith("gradients")]
    if not positions:
        raise ValueError(f"Expected op/tensor name to start with gradients (excluding scope), got: {tensor.name}")
    return "/".join(tokens[:positions[-1] + 1])


def _grad_array(op, dtype_attr, flow):
    handle = op.inputs[0]
    return TensorArray(dtype=op.get_attr(dtype_attr), handle=handle, flow=flow,
                       colocate_with_first_write_call=False)


@RegisterGradient("TensorArrayReadV3")
def _read_grad(op, grad):
    index, flow = op.inputs[1], op.inputs[2]
    g = _grad_array(op, "dtype", flow).grad(source=_grad_source(grad), flow=flow)
    return [None, None, g.write(index, grad).flow]


@RegisterGradient("TensorArrayWriteV3")
def _write_grad(op, flow):
    index = op.inputs[1]
    flow_out = array_ops.identity(op.outputs[0], name="flow_out")
    with get_default_graph().control_dependencies([flow_out]):
        flow = array_ops.identity(flow, name="write_barrier")
    g = _grad_array(op, "T", flow).grad(source=_grad_source(flow), flow=flow)
    return [None, None, g.read(index), flow]


@RegisterGradient("TensorArrayGatherV3")
def _gather_grad(op, grad):
    indices, flow = op.inputs[1], op.inputs[2]
    g = _grad_array(op, "dtype", flow).grad(source=_grad_source(grad), flow=flow)
    return [None, None, g.scatter(indices, grad).flow]


@RegisterGradient("TensorArrayScatterV3")
def _scatter_grad(op, flow):
    indices = op.inputs[1]
    g = _grad_array(op, "T", flow).grad(source=_grad_source(flow), flow=flow)
    return [None, None, g.gather(indices), flow]


@RegisterGradient("TensorArrayConcatV3")
def _concat_grad(op, grad, unused_lengths_grad):
    flow, lengths = op.inputs[1], op.outputs[1]
    g = _grad_array(op, "dtype", flow).grad(source=_grad_source(grad), flow=flow)
    return [None, g.split(grad, lengths=lengths).flow]


@RegisterGradient("TensorArraySplitV3")
def _split_grad(op, flow):
    g = _grad_array(op, "T", flow).grad(source=_grad_source(flow), flow=flow)
    return [None, g.concat(), None, flow]
