"""Gradients of shape and layout ops (TF's array_grad.py): each routes the gradient back to the input's layout."""
import numpy as np

from tfmini.gradients import NotDifferentiable, RegisterGradient
from tfmini.ops import array_ops, grad_ops, math_ops
from tfmini.ops.core import constant, constant_value


def _shape_of(x):
    """x's shape as a Const when static (no Shape op at run time), else a Shape op."""
    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), np.int32))
    return array_ops.shape(x)


def _reshape_to_input(op, grad):
    return array_ops.reshape(grad, _shape_of(op.inputs[0])), None


RegisterGradient("Reshape")(_reshape_to_input)
RegisterGradient("ExpandDims")(_reshape_to_input)
RegisterGradient("Squeeze")(lambda op, grad: _reshape_to_input(op, grad)[0])


@RegisterGradient("Transpose")
def _transpose_grad(op, grad):
    perm = constant_value(op.inputs[1])
    if perm is not None:
        inverse = np.argsort(np.reshape(perm, [-1])).astype(np.asarray(perm).dtype)
        return array_ops.transpose(grad, constant(inverse)), None
    return array_ops.transpose(grad, grad_ops.invert_permutation(op.inputs[1])), None


@RegisterGradient("ConcatV2")
def _concat_grad(op, grad):
    values, axis_t = op.inputs[:-1], op.inputs[-1]
    axis = constant_value(axis_t)
    sizes = [v.shape[int(axis)] if axis is not None and v.shape.ndims else None for v in values]
    if axis is not None and all(v.shape.is_fully_defined() for v in values):
        axis = int(axis) % values[0].shape.ndims
        out, at = [], 0
        for v, n in zip(values, sizes):
            begin = [0] * v.shape.ndims
            begin[axis] = at
            out.append(array_ops.slice(grad, constant(np.array(begin, np.int32)),
                                       constant(np.array(v.shape.as_list(), np.int32))))
            at += n
        return out + [None]
    shapes = [array_ops.shape(v) for v in values]
    rank = array_ops.rank(values[0])
    offsets = grad_ops.concat_offset(math_ops.floormod(axis_t, rank), shapes)
    return [array_ops.slice(grad, o, s) for o, s in zip(offsets, shapes)] + [None]


@RegisterGradient("Pack")
def _pack_grad(op, grad):
    return array_ops.unstack(grad, num=op.get_attr("N"), axis=op.get_attr("axis"))


@RegisterGradient("Unpack")
def _unpack_grad(op, *grads):
    return array_ops.stack(list(grads), axis=op.get_attr("axis"))


@RegisterGradient("Slice")
def _slice_grad(op, grad):
    """Pads the gradient with zeros back to the input's shape (TF's formula)."""
    x, begin = op.inputs[0], op.inputs[1]
    y = op.outputs[0]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined() and constant_value(begin) is not None:
        b = np.reshape(constant_value(begin), [-1]).astype(np.int64)
        after = np.array(x.shape.as_list()) - np.array(y.shape.as_list()) - b
        paddings = constant(np.stack([b, after], axis=1).astype(np.int32))
    else:
        rank = array_ops.rank(x)
        stacked = array_ops.stack([rank, 1])
        before = array_ops.reshape(begin, stacked)
        after = array_ops.reshape(math_ops.subtract(math_ops.subtract(array_ops.shape(x, out_type=begin.dtype),
                                                                      array_ops.shape(y, out_type=begin.dtype)),
                                                    begin), stacked)
        paddings = array_ops.concat([before, after], 1)
    return grad_ops.pad(grad, paddings), None, None


@RegisterGradient("StridedSlice")
def _strided_slice_grad(op, grad):
    x, begin, end, strides = op.inputs
    masks = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                         "shrink_axis_mask")}
    shape = _shape_of(x) if begin.dtype.base_dtype.name == "int32" else array_ops.shape(x, out_type=begin.dtype)
    return grad_ops.strided_slice_grad(shape, begin, end, strides, grad, masks), None, None, None


@RegisterGradient("Tile")
def _tile_grad(op, grad):
    """Reshape to (multiple, dim) pairs and sum over the multiples."""
    x, multiples = op.inputs
    mult = constant_value(multiples)
    if x.shape.is_fully_defined() and mult is not None:
        split = [int(v) for pair in zip(np.reshape(mult, [-1]), x.shape.as_list()) for v in pair]
        g = array_ops.reshape(grad, constant(np.array(split, np.int32)))
        return math_ops.reduce_sum(g, constant(np.arange(0, len(split), 2, dtype=np.int32))), None
    split = array_ops.reshape(array_ops.transpose(array_ops.stack([multiples, array_ops.shape(x, out_type=multiples.dtype)
                                                                   ])), [-1])
    axes = array_ops.range(0, array_ops.size(split), 2)
    return math_ops.reduce_sum(array_ops.reshape(grad, split), axes), None


@RegisterGradient("Fill")
def _fill_grad(op, grad):
    return None, math_ops.reduce_sum(grad)


RegisterGradient("PlaceholderWithDefault")(lambda op, grad: grad)

for _t in ["ZerosLike", "OnesLike", "OneHot", "Shape", "Size", "Rank", "Const", "Placeholder", "BroadcastGradientArgs",
           "InvertPermutation", "ConcatOffset", "RandomUniform", "RandomStandardNormal", "TruncatedNormal",
           "RandomUniformInt", "RandomShuffle", "VariableV2", "Variable", "Assign", "AssignAdd", "AssignSub",
           "IsVariableInitialized", "NoOp"]:
    NotDifferentiable(_t)


@RegisterGradient("Pad")
def _pad_grad(op, grad):
    x, paddings = op.inputs
    begin = array_ops.reshape(array_ops.slice(paddings, [0, 0], array_ops.stack([array_ops.rank(x), 1])), [-1])
    return array_ops.slice(grad, begin, array_ops.shape(x, out_type=paddings.dtype)), None

