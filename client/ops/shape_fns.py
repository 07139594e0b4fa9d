"""Shape-inference rules shared by many op types (static shapes, as TF's common_shape_fns)."""
import numpy as np

from tfmini.core import dtypes, indexing
from tfmini.core.broadcast import IncompatibleShapes, broadcast_shape
from tfmini.core.tensor_shape import TensorShape
from tfmini.ops.core import constant_value


def unchanged(op):
    """One output with the dtype and shape of input 0."""
    x = op.inputs[0]
    return [(x.dtype.base_dtype, x.shape)]


def unchanged_bool(op):
    return [(dtypes.bool, op.inputs[0].shape)]


def scalar_of(dtype):
    return lambda op: [(dtype, TensorShape([]))]


def broadcast_shapes(a, b, op=None):
    """The numpy/TF broadcast of two static shapes; ValueError where known dims clash."""
    if a.ndims is None or b.ndims is None:
        return TensorShape(None)
    try:
        return TensorShape(broadcast_shape(a.as_list(), b.as_list()))
    except IncompatibleShapes as e:
        where = f" for '{op.name}' (op: '{op.type}')" if op is not None else ""
        raise ValueError(f"Dimensions must be equal, but are {e.dims[0]} and {e.dims[1]}{where} with input shapes: "
                         f"{_shape_str(a)}, {_shape_str(b)}.") from None


def _shape_str(shape):
    return "?" if shape.ndims is None else "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def broadcast(op):
    x, y = op.inputs[0], op.inputs[1]
    return [(x.dtype.base_dtype, broadcast_shapes(x.shape, y.shape, op))]


def broadcast_bool(op):
    x, y = op.inputs[0], op.inputs[1]
    return [(dtypes.bool, broadcast_shapes(x.shape, y.shape, op))]


def normalize_axes(axes, rank, op=None):
    where = f" for '{op.name}'" if op is not None else ""
    return indexing.normalize_axes([int(a) for a in np.reshape(axes, [-1])], rank, lambda a: ValueError(
        f"Invalid reduction dimension {a} for input with {rank} dimensions{where}."))


def reduction(op, out_dtype=None):
    """Output shape of a reduction over input 1's axes, honouring keep_dims."""
    x, axes_t = op.inputs[0], op.inputs[1]
    dtype = out_dtype or x.dtype.base_dtype
    keep = op.get_attr("keep_dims")
    axes = constant_value(axes_t)
    if x.shape.ndims is None:
        return [(dtype, TensorShape(None))]
    rank = x.shape.ndims
    if axes is None:
        return [(dtype, TensorShape([None] * rank if keep else None))]
    axes = normalize_axes(axes, rank, op)
    dims = x.shape.as_list()
    if keep:
        return [(dtype, TensorShape([1 if i in axes else d for i, d in enumerate(dims)]))]
    return [(dtype, TensorShape([d for i, d in enumerate(dims) if i not in axes]))]
