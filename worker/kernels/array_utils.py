"""Kernels of the array utility ops: Split/SplitV, GatherNd/ScatterNd, ReverseV2, SelectV2,
TopKV2, Cumsum/Cumprod and Einsum. Messages are TensorFlow's (tensorflow/core/kernels/*_op.cc)."""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _shape_str(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _axis(axis, rank, what):
    """A scalar axis tensor as a Python int in [0, rank), or TF's range error."""
    a = int(np.reshape(axis, [-1])[0])
    if not -rank <= a < rank:
        raise _invalid(f"-input rank(-{rank}) <= {what} < input rank ({rank}), but got {a}")
    return a % rank


def _outputs(pieces):
    """A kernel returns its only output itself, several as a tuple."""
    return pieces[0] if len(pieces) == 1 else tuple(pieces)


@kernel("Split", num_outputs=lambda attrs: attrs["num_split"], device_types=ANY_DEVICE)
def _split(node):
    num, xp = node.attrs["num_split"], node.xp

    def fn(split_dim, value):
        axis = _axis(split_dim, np.ndim(value), "split_dim")
        size = value.shape[axis]
        if size % num:
            raise _invalid(f"Number of ways to split should evenly divide the split dimension, but got split_dim "
                           f"{axis} (size = {size}) and num_split {num}")
        return _outputs(xp.split(value, num, axis=axis))
    return fn


@kernel("SplitV", num_outputs=lambda attrs: attrs["num_split"], device_types=ANY_DEVICE)
def _split_v(node):
    num, xp = node.attrs["num_split"], node.xp

    def fn(value, size_splits, split_dim):
        axis = _axis(split_dim, np.ndim(value), "split_dim")
        sizes = [int(s) for s in np.reshape(size_splits, [-1])]
        if len(sizes) != num:
            raise _invalid(f"Length of size_splits should be equal to the value of num_split, but got "
                           f"size_splits of length {len(sizes)} and num_split {num}")
        total = value.shape[axis]
        if sizes.count(-1) > 1:
            raise _invalid("There can only be one -1 in the input.")
        known = sum(s for s in sizes if s != -1)
        if -1 in sizes:
            if known > total:
                raise _invalid(f"Determined shape must either match input shape along split_dim exactly if fully "
                               f"specified, or be less than the size of the input along split_dim if not fully "
                               f"specified.  Got: {known}")
            sizes[sizes.index(-1)] = total - known
        elif known != total:
            raise _invalid(f"Determined shape must either match input shape along split_dim exactly if fully "
                           f"specified, or be less than the size of the input along split_dim if not fully "
                           f"specified.  Got: {known}")
        return _outputs(xp.split(value, np.cumsum(sizes)[:-1].tolist(), axis=axis))
    return fn


def _host(a):
    """A numpy copy of a (numpy or CuPy) array, for messages."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _check_nd_indices(xp, indices, bounds, into):
    """TF's message for the first index row outside `bounds` (a [..., M] index array)."""
    idx = xp.asarray(indices)
    bad = ((idx < 0) | (idx >= xp.asarray(list(bounds), dtype=idx.dtype))).any(axis=-1)
    if bool(bad.any()):
        idx, bad = _host(idx), _host(bad)
        first = np.argwhere(bad)[0]
        where = f"[{','.join(str(i) for i in first)}]" if idx.ndim > 1 else ""
        row = ", ".join(str(v) for v in idx[tuple(first)].tolist())
        raise _invalid(f"indices{where} = [{row}] does not index into {into}")


@kernel("GatherNd", device_types=ANY_DEVICE)
def _gather_nd(node):
    xp, name = node.xp, node.name

    def fn(params, indices):
        m = indices.shape[-1] if np.ndim(indices) else None
        if m is None:
            raise _invalid(f"indices must be at least a vector, but got shape {_shape_str(np.shape(indices))}")
        if m > np.ndim(params):
            raise _invalid(f"index innermost dimension length must be <= params rank; saw: {m} vs. "
                           f"{np.ndim(params)}")
        _check_nd_indices(xp, indices, params.shape[:m], f"param shape {_shape_str(params.shape)}, node name: {name}")
        out_shape = tuple(indices.shape[:-1]) + tuple(params.shape[m:])
        if m == 0:
            return xp.broadcast_to(params, out_shape).copy()
        return params[tuple(xp.moveaxis(xp.asarray(indices), -1, 0))]
    return fn


@kernel("ScatterNd", device_types=ANY_DEVICE)
def _scatter_nd(node):
    xp = node.xp

    def fn(indices, updates, shape):
        shape = tuple(int(d) for d in np.reshape(shape, [-1]))
        m = indices.shape[-1]
        if m > len(shape):
            raise _invalid(f"Output must be at least 1-D, and indices.shape[-1] <= output rank; got {m} vs. "
                           f"{len(shape)}")
        expected = tuple(indices.shape[:-1]) + shape[m:]
        if tuple(updates.shape) != expected:
            raise _invalid(f"Dimensions [{indices.ndim - 1},{indices.ndim}) of indices[shape="
                           f"{_shape_str(indices.shape)}] = {_shape_str(indices.shape[:-1])} must match dimensions "
                           f"[0,{indices.ndim - 1}) of updates[shape={_shape_str(updates.shape)}]")
        _check_nd_indices(xp, indices, shape[:m], f"shape {_shape_str(shape)}")
        out = xp.zeros(shape, dtype=updates.dtype)
        where = tuple(xp.moveaxis(xp.asarray(indices), -1, 0))
        if xp is np:
            np.add.at(out, where, updates)  # duplicates add up, as in TF
        else:
            import cupyx  # CuPy's unbuffered add
            cupyx.scatter_add(out, where, updates)
        return out
    return fn


@kernel("ReverseV2", device_types=ANY_DEVICE)
def _reverse(node):
    xp = node.xp

    def fn(tensor, axis):
        rank = np.ndim(tensor)
        axes = []
        for i, a in enumerate(int(a) for a in np.reshape(axis, [-1])):
            if not -rank <= a < rank:
                raise _invalid(f"'axis'[{i}] = {a} is out of valid range [0, {rank - 1}")  # sic: TF's
            if a % rank in axes:
                raise _invalid(f"axis {a % rank} specified more than once.")
            axes.append(a % rank)
        return xp.flip(tensor, axis=tuple(axes)) if axes else tensor
    return fn


@kernel("SelectV2", device_types=ANY_DEVICE)
def _select_v2(node):
    xp = node.xp

    def fn(condition, t, e):
        try:
            return xp.where(condition, t, e).astype(t.dtype, copy=False)
        except ValueError:
            raise _invalid(f"condition {_shape_str(np.shape(condition))}, then {_shape_str(np.shape(t))}, and else "
                           f"{_shape_str(np.shape(e))} must be broadcastable") from None
    return fn


@kernel("TopKV2", num_outputs=2, device_types=ANY_DEVICE)
def _top_k(node):
    xp, index_type = node.xp, node.attrs.get("index_type")
    index_dtype = index_type.as_numpy_dtype if index_type is not None else np.int32

    def fn(x, k):
        k = int(k)
        if k < 0:
            raise _invalid(f"Need k >= 0, got {k}")
        if np.ndim(x) < 1:
            raise _invalid(f"input must be >= 1-D, got shape {_shape_str(np.shape(x))}")
        n = x.shape[-1]
        if n < k:
            raise _invalid(f"input must have at least k columns. Had {n}, needed {k}")
        # Descending, ties by lower index: a stable ascending sort of the reversed row, read backwards.
        order = xp.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
        indices = (n - 1 - order).astype(index_dtype)
        return xp.take_along_axis(x, indices.astype(np.int64), axis=-1), indices
    return fn


def _scan(xp, accumulate, identity):
    def make(node):
        exclusive, reverse = node.attrs.get("exclusive", False), node.attrs.get("reverse", False)

        def fn(x, axis):
            rank = np.ndim(x)
            a = int(axis)
            if not -rank <= a < rank:
                raise _invalid(f"ScanOp: Expected scan axis in the range [{-rank}, {rank}), but got {a}")
            a %= rank
            if reverse:
                x = xp.flip(x, axis=a)
            out = accumulate(xp)(x, axis=a, dtype=x.dtype)
            if exclusive:  # shift by one along the axis, starting from the identity
                pad = xp.full_like(xp.take(out, [0], axis=a), identity)
                out = xp.concatenate([pad, xp.take(out, xp.arange(x.shape[a] - 1), axis=a)], axis=a)
            return xp.flip(out, axis=a) if reverse else out
        return fn
    return make


kernel("Cumsum", device_types=ANY_DEVICE)(lambda node: _scan(node.xp, lambda xp: xp.cumsum, 0)(node))
kernel("Cumprod", device_types=ANY_DEVICE)(lambda node: _scan(node.xp, lambda xp: xp.cumprod, 1)(node))


@kernel("Einsum", device_types=ANY_DEVICE)
def _einsum(node):
    equation, xp = node.attrs["equation"], node.xp
    equation = equation.decode() if isinstance(equation, bytes) else equation
    subscripts = equation.replace(" ", "").partition("->")[0].split(",")

    def fn(*inputs):
        _check_label_dims(subscripts, inputs)
        try:
            out = xp.einsum(equation, *inputs, optimize=len(inputs) > 1)  # optimize: BLAS for contractions
        except ValueError as e:
            raise _invalid(f"Invalid Einsum equation '{equation}': {e}") from None
        return xp.asarray(out, dtype=inputs[0].dtype)
    return fn


def _check_label_dims(subscripts, inputs):
    """Each label names one size across the inputs (TF's message for the first that does not)."""
    sizes = {}
    for subs, x in zip(subscripts, inputs):
        head, has_ellipsis, tail = subs.partition("...")
        if len(head) + len(tail) > x.ndim or (not has_ellipsis and len(subs) != x.ndim):
            raise _invalid(f"Input to einsum with subscripts '{subs}' has rank {x.ndim}")
        axes = list(range(len(head))) + list(range(x.ndim - len(tail), x.ndim))
        for label, axis in zip(head + tail, axes):
            want = sizes.setdefault(label, x.shape[axis])
            if want != x.shape[axis]:
                raise _invalid(f"Expected dimension {want} at axis {axis} of the input shaped "
                               f"{_shape_str(x.shape)} but got dimension {x.shape[axis]}")
