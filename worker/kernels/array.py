"""Constants, placeholders and shape/layout kernels."""
import numpy as np

from tfmini.core import errors, memory_limits, tensor_util
from tfmini.core.indexing import slice_spec
from tfmini.worker.kernels import ANY_DEVICE, kernel, simple


@kernel("Const", device_types=ANY_DEVICE)
def _const(node):
    value = tensor_util.make_ndarray(node.attrs["value"])  # a numpy scalar when 0-d: cheaper math
    if node.xp is not np and value.dtype != np.int32:  # int32 (shapes, axes) stays in host memory, as in TF
        value = node.xp.asarray(value)
    return lambda: value


@kernel("Placeholder", device_types=ANY_DEVICE)
def _placeholder(node):
    shape = node.attrs.get("shape")
    shape_str = "<unknown>" if shape is None or shape.unknown_rank else \
        "[" + ",".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"
    dtype = node.attrs["dtype"]
    message = (f"You must feed a value for placeholder tensor '{node.name}' with dtype {dtype.name}"
               + (f" and shape {shape_str}" if shape is not None and not shape.unknown_rank else ""))

    def fn():
        raise errors.InvalidArgumentError(None, None, message)
    return fn


simple("PlaceholderWithDefault", lambda xp: lambda x: x)
simple("ZerosLike", lambda xp: lambda x: xp.zeros_like(x))
simple("OnesLike", lambda xp: lambda x: xp.ones_like(x))


@kernel("Fill", device_types=ANY_DEVICE)
def _fill(node):
    xp = node.xp

    def fn(dims, value):
        dims = [int(d) for d in np.reshape(dims, [-1])]
        if any(d < 0 for d in dims):
            raise errors.InvalidArgumentError(None, None, f"Fill dimensions must be >= 0, got {dims}")
        memory_limits.check_alloc(dims, value.dtype.itemsize, f"Fill '{node.name}'", value.dtype.name)
        return xp.full(dims, value, dtype=value.dtype)
    return fn


@kernel("Shape", device_types=ANY_DEVICE)
def _shape(node):
    out = node.attrs.get("out_type").as_numpy_dtype
    return lambda x: np.array(np.shape(x), dtype=out)


@kernel("Size", device_types=ANY_DEVICE)
def _size(node):
    out = node.attrs.get("out_type").as_numpy_dtype
    return lambda x: np.array(np.size(x), dtype=out)


simple("Rank", lambda xp: lambda x: np.array(np.ndim(x), dtype=np.int32))


@kernel("Reshape", device_types=ANY_DEVICE)
def _reshape(node):
    def fn(x, shape):
        shape = [int(d) for d in np.reshape(shape, [-1])]
        for i, d in enumerate(shape):
            if d < -1:  # numpy would take any negative size for -1
                raise errors.InvalidArgumentError(None, None, f"Size {i} must be non-negative, not {d}")
        try:
            return x.reshape(shape)
        except ValueError:
            raise errors.InvalidArgumentError(None, None, f"Input to reshape is a tensor with {np.size(x)} values, "
                                                          f"but the requested shape has {int(np.prod(shape))}") from None
    return fn


@kernel("Transpose", device_types=ANY_DEVICE)
def _transpose(node):
    xp = node.xp

    def fn(x, perm):
        perm = [int(p) for p in np.reshape(perm, [-1])]
        if sorted(perm) != list(range(np.ndim(x))):
            raise errors.InvalidArgumentError(None, None, f"transpose expects a permutation of "
                                                          f"{list(range(np.ndim(x)))}, got {perm}")
        return xp.transpose(x, perm)
    return fn


@kernel("ExpandDims", device_types=ANY_DEVICE)
def _expand_dims(node):
    xp = node.xp
    return lambda x, axis: xp.expand_dims(x, int(np.reshape(axis, [-1])[0]))


@kernel("Squeeze", device_types=ANY_DEVICE)
def _squeeze(node):
    axes, xp = tuple(node.attrs.get("squeeze_dims") or ()), node.xp

    def fn(x):
        if axes:
            for a in axes:
                if x.shape[a] != 1:
                    raise errors.InvalidArgumentError(None, None, f"Can not squeeze dim[{a}], expected a dimension "
                                                                  f"of 1, got {x.shape[a]}")
            return xp.squeeze(x, axis=axes)
        return xp.squeeze(x)
    return fn


@kernel("ConcatV2", device_types=ANY_DEVICE)
def _concat(node):
    xp = node.xp

    def fn(*args):
        *values, axis = args
        try:
            return xp.concatenate(values, axis=int(axis))
        except (ValueError, np.exceptions.AxisError) as e:
            raise errors.InvalidArgumentError(None, None, f"ConcatOp : {e}") from None
    return fn


@kernel("Pack", device_types=ANY_DEVICE)
def _pack(node):
    axis, xp = node.attrs.get("axis", 0), node.xp

    def fn(*values):
        try:
            return xp.stack(values, axis=axis)
        except ValueError as e:
            raise errors.InvalidArgumentError(None, None, f"Shapes of all inputs must match: {e}") from None
    return fn


@kernel("Unpack", num_outputs=lambda attrs: attrs["num"], device_types=ANY_DEVICE)
def _unpack(node):
    axis, xp = node.attrs.get("axis", 0), node.xp
    return lambda x: tuple(xp.moveaxis(x, axis, 0))


@kernel("Slice", device_types=ANY_DEVICE)
def _slice(node):
    def fn(x, begin, size):
        begin = [int(b) for b in np.reshape(begin, [-1])]
        size = [int(s) for s in np.reshape(size, [-1])]
        index = []
        for dim, b, s in zip(np.shape(x), begin, size):
            end = dim if s == -1 else b + s
            if b < 0 or end > dim or end < b:
                raise errors.InvalidArgumentError(None, None, f"Expected size[i] in [0, {dim - b}], but got {s}")
            index.append(slice(b, end))
        return x[tuple(index)]
    return fn


@kernel("StridedSlice", device_types=ANY_DEVICE)
def _strided_slice(node):
    masks = {k: node.attrs.get(k, 0) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                                "shrink_axis_mask")}
    cache = {}

    def fn(x, begin, end, strides):
        key = (np.asarray(begin).tobytes(), np.asarray(end).tobytes(), np.asarray(strides).tobytes())
        spec = cache.get(key)
        if spec is None:
            spec = cache[key] = slice_spec(np.reshape(begin, [-1]), np.reshape(end, [-1]),
                                           np.reshape(strides, [-1]), **masks)
        try:
            return x[spec]
        except IndexError as e:
            raise errors.InvalidArgumentError(None, None, f"slice index out of bounds: {e}") from None
    return fn


@kernel("Tile", device_types=ANY_DEVICE)
def _tile(node):
    xp = node.xp

    def fn(x, multiples):
        multiples = [int(m) for m in np.reshape(multiples, [-1])]
        out_shape = [d * m for d, m in zip(np.shape(x), multiples)] + multiples[np.ndim(x):]
        memory_limits.check_alloc(out_shape, x.dtype.itemsize, f"Tile '{node.name}'")
        return xp.tile(x, multiples)
    return fn


@kernel("OneHot", device_types=ANY_DEVICE)
def _one_hot(node):
    axis, xp = node.attrs.get("axis", -1), node.xp

    def fn(indices, depth, on, off):
        depth = int(depth)
        if depth < 0:
            raise errors.InvalidArgumentError(None, None, f"depth must be non-negative, got: {depth}")
        memory_limits.check_alloc(list(np.shape(indices)) + [depth], on.dtype.itemsize,
                                  f"OneHot '{node.name}'")
        hot = xp.asarray(indices)[..., None] == xp.arange(depth)
        out = xp.where(hot, on, off).astype(on.dtype)
        return out if axis == -1 else xp.moveaxis(out, -1, axis)
    return fn


@kernel("Range", device_types=ANY_DEVICE)
def _range(node):
    dtype, xp = node.attrs["Tidx"].as_numpy_dtype, node.xp

    def fn(start, limit, delta):
        if delta == 0:
            raise errors.InvalidArgumentError(None, None, f"Requires delta != 0: {delta}")
        count = max(0, -(-(float(limit) - float(start)) // float(delta)))
        memory_limits.check_alloc([count], np.dtype(dtype).itemsize, f"Range '{node.name}'", np.dtype(dtype).name)
        return xp.arange(start, limit, delta, dtype=dtype)
    return fn


@kernel("GatherV2", device_types=ANY_DEVICE)
def _gather(node):
    xp = node.xp

    def fn(params, indices, axis):
        axis = int(axis)
        n = np.shape(params)[axis]
        if np.size(indices) and (np.min(indices) < 0 or np.max(indices) >= n):
            raise errors.InvalidArgumentError(None, None, f"indices must be in [0, {n}), got "
                                                          f"{np.asarray(indices).ravel().tolist()[:10]}")
        return xp.take(params, indices, axis=axis)
    return fn


simple("Gather", lambda xp: lambda params, indices: xp.take(params, indices, axis=0))
