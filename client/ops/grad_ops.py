"""Helper ops that only gradients use: BroadcastGradientArgs and the fused `*Grad` activations.

Each is a real TensorFlow op type with TF's input order, so our GraphDefs load in TensorFlow.
Kernels are in worker/kernels/grad.py.
"""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of
from tfmini.ops import shape_fns
from tfmini.ops.core import constant_shape, constant_value



@op_registry.shape_fn("BroadcastGradientArgs")
def _bcast_args_shape(op):
    dtype = op.inputs[0].dtype.base_dtype
    return [(dtype, TensorShape([None])), (dtype, TensorShape([None]))]


def broadcast_gradient_args(s0, s1, name=None):
    """(r0, r1): the axes to sum a broadcast result's gradient over to get back shapes s0 and s1."""
    graph = _graph_of([s0, s1])
    op = graph.create_op("BroadcastGradientArgs", [s0, s1], {"T": s0.dtype.base_dtype},
                         name=name or "BroadcastGradientArgs")
    return op.outputs[0], op.outputs[1]


# (y or features, dy) -> dx; the output has the shape of the inputs.
_ELEMENTWISE_GRADS = ["ReluGrad", "Relu6Grad", "EluGrad", "SeluGrad", "SoftplusGrad", "SoftsignGrad",
                      "SigmoidGrad", "TanhGrad", "SqrtGrad", "RsqrtGrad", "ReciprocalGrad", "InvGrad"]
op_registry.register(_ELEMENTWISE_GRADS, shape_fns.broadcast)


def _grad_op(op_type, arg_names):
    def fn(a, b, name=None):
        graph = _graph_of([a, b])
        return graph.create_op(op_type, [a, b], {"T": a.dtype.base_dtype}, name=name or op_type).outputs[0]
    fn.__name__ = op_type
    fn.__doc__ = f"TF's {op_type}({', '.join(arg_names)})."
    return fn


relu_grad = _grad_op("ReluGrad", ["gradients", "features"])
relu6_grad = _grad_op("Relu6Grad", ["gradients", "features"])
elu_grad = _grad_op("EluGrad", ["gradients", "outputs"])
selu_grad = _grad_op("SeluGrad", ["gradients", "outputs"])
softplus_grad = _grad_op("SoftplusGrad", ["gradients", "features"])
softsign_grad = _grad_op("SoftsignGrad", ["gradients", "features"])
sigmoid_grad = _grad_op("SigmoidGrad", ["y", "dy"])
tanh_grad = _grad_op("TanhGrad", ["y", "dy"])
sqrt_grad = _grad_op("SqrtGrad", ["y", "dy"])
rsqrt_grad = _grad_op("RsqrtGrad", ["y", "dy"])
reciprocal_grad = _grad_op("ReciprocalGrad", ["y", "dy"])


@op_registry.shape_fn("InvertPermutation")
def _invert_perm_shape(op):
    return [(op.inputs[0].dtype.base_dtype, op.inputs[0].shape)]


def invert_permutation(x, name=None):
    graph = _graph_of([x])
    return graph.create_op("InvertPermutation", [x], {"T": x.dtype.base_dtype},
                           name=name or "InvertPermutation").outputs[0]


@op_registry.shape_fn("ConcatOffset")
def _concat_offset_shape(op):
    return [(dtypes.int32, t.shape) for t in op.inputs[1:]]


def concat_offset(axis, shapes, name=None):
    """The begin offset of each of `shapes` (int32 vectors) in their concatenation along `axis`."""
    graph = _graph_of([axis] + list(shapes))
    op = graph.create_op("ConcatOffset", [axis] + list(shapes), {"N": len(shapes)}, name=name or "ConcatOffset")
    return op.outputs


@op_registry.shape_fn("Pad")
def _pad_shape(op):
    x, paddings = op.inputs
    value = constant_value(paddings)
    if x.shape.ndims is None or value is None:
        return [(x.dtype.base_dtype, TensorShape(None if x.shape.ndims is None else [None] * x.shape.ndims))]
    return [(x.dtype.base_dtype, TensorShape([None if d is None else d + int(a) + int(b)
                                              for d, (a, b) in zip(x.shape.as_list(), value)]))]


def pad(x, paddings, name=None):
    graph = _graph_of([x, paddings])
    return graph.create_op("Pad", [x, paddings], {"T": x.dtype.base_dtype, "Tpaddings": paddings.dtype.base_dtype},
                           name=name or "Pad").outputs[0]


@op_registry.shape_fn("StridedSliceGrad")
def _strided_slice_grad_shape(op):
    return [(op.inputs[4].dtype.base_dtype, constant_shape(op.inputs[0]))]


def strided_slice_grad(shape, begin, end, strides, dy, masks, name=None):
    """dy scattered into zeros of `shape` at the slice a StridedSlice with the same masks took."""
    graph = _graph_of([shape, dy])
    attrs = {"T": dy.dtype.base_dtype, "Index": shape.dtype.base_dtype}
    attrs.update(masks)
    return graph.create_op("StridedSliceGrad", [shape, begin, end, strides, dy], attrs,
                           name=name or "StridedSliceGrad").outputs[0]
