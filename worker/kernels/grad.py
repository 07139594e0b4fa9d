"""Kernels of the gradient helper ops (client/ops/grad_ops.py), with TensorFlow's formulas."""
import numpy as np

from tfmini.core import errors
from tfmini.core.broadcast import IncompatibleShapes, reduction_axes
from tfmini.core.indexing import slice_spec
from tfmini.worker.kernels import kernel, simple


def broadcast_gradient_args(s0, s1):
    """TF's BCast reduction indices of two shape vectors; InvalidArgumentError where they clash."""
    s0, s1 = [int(d) for d in np.reshape(s0, [-1])], [int(d) for d in np.reshape(s1, [-1])]
    try:
        return reduction_axes(s0, s1)
    except IncompatibleShapes:
        raise errors.InvalidArgumentError(None, None, f"Incompatible shapes: {s0} vs. {s1}") from None


@kernel("BroadcastGradientArgs", num_outputs=2)
def _bcast_args(node):
    dtype = node.attrs.get("T").as_numpy_dtype
    cache = {}

    def fn(s0, s1):
        key = (np.asarray(s0).tobytes(), np.asarray(s1).tobytes())
        out = cache.get(key)
        if out is None:
            r0, r1 = broadcast_gradient_args(s0, s1)
            out = cache[key] = (np.array(r0, dtype=dtype), np.array(r1, dtype=dtype))
        return out
    return fn


def _typed(fn):
    """Keeps the gradient's dtype (numpy would promote float32 with Python floats in some formulas)."""
    def wrapped(a, b):
        out = fn(a, b)
        return out if out.dtype == a.dtype else out.astype(a.dtype)
    return wrapped


# TF multiplies by the mask (a NaN gradient stays NaN where the unit is off), which is also 3x faster than where.
simple("ReluGrad", lambda xp: _typed(lambda dy, x: dy * (x > 0)))
simple("Relu6Grad", lambda xp: _typed(lambda dy, x: dy * ((x > 0) & (x < 6))))
simple("EluGrad", lambda xp: _typed(lambda dy, y: xp.where(y > 0, dy, dy * (y + 1))))
simple("SeluGrad", lambda xp: _typed(lambda dy, y: xp.where(
    y > 0, dy * 1.0507009873554805, dy * (y + 1.0507009873554805 * 1.6732632423543772))))
simple("SoftplusGrad", lambda xp: _typed(lambda dy, x: dy / (1 + xp.exp(-x))))
simple("SoftsignGrad", lambda xp: _typed(lambda dy, x: dy / xp.square(1 + xp.abs(x))))
simple("SigmoidGrad", lambda xp: _typed(lambda y, dy: dy * y * (1 - y)))
simple("TanhGrad", lambda xp: _typed(lambda y, dy: dy * (1 - y * y)))
simple("SqrtGrad", lambda xp: _typed(lambda y, dy: dy * 0.5 / y))
simple("RsqrtGrad", lambda xp: _typed(lambda y, dy: dy * y * y * y * -0.5))
simple("ReciprocalGrad", lambda xp: _typed(lambda y, dy: -dy * y * y))
simple("InvGrad", lambda xp: _typed(lambda y, dy: -dy * y * y))


@kernel("InvertPermutation")
def _invert_permutation(node):
    def fn(x):
        x = np.asarray(x)
        if sorted(x.tolist()) != list(range(x.size)):
            raise errors.InvalidArgumentError(None, None, f"{x.tolist()} is not a permutation")
        out = np.empty_like(x)
        out[x] = np.arange(x.size, dtype=x.dtype)
        return out
    return fn


@kernel("ConcatOffset", num_outputs=lambda attrs: attrs["N"])
def _concat_offset(node):
    def fn(axis, *shapes):
        axis = int(axis) % len(shapes[0])
        offsets, at = [], 0
        for s in shapes:
            o = np.zeros(len(s), dtype=np.int32)
            o[axis] = at
            at += int(s[axis])
            offsets.append(o)
        return tuple(offsets)
    return fn


@kernel("Pad")
def _pad(node):
    xp = node.xp

    def fn(x, paddings):
        paddings = np.asarray(paddings).reshape(-1, 2)
        if (paddings < 0).any():
            raise errors.InvalidArgumentError(None, None, f"Paddings must be non-negative: {paddings.tolist()}")
        return xp.pad(x, [(int(a), int(b)) for a, b in paddings])
    return fn


@kernel("StridedSliceGrad")
def _strided_slice_grad(node):
    masks = {k: node.attrs.get(k, 0) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                                "shrink_axis_mask")}
    xp = node.xp

    def fn(shape, begin, end, strides, dy):
        spec = slice_spec(np.reshape(begin, [-1]), np.reshape(end, [-1]), np.reshape(strides, [-1]), **masks)
        out = xp.zeros([int(d) for d in np.reshape(shape, [-1])], dtype=dy.dtype)
        out[spec] = dy
        return out
    return fn
