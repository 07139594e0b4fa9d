"""Kernels for embeddings the parameter-server way: row reads and writes of a variable, partitioned lookups.

The Scatter* and SparseApply* kernels run where the variable lives (their ref inputs colocate them), so
only the touched rows and their indices cross the wire. Duplicate indices accumulate (np.add.at), as
TF's kernels do. Like the Apply* kernels, they write a new array into `ref.value` instead of changing
the old one in place: an array fetched in an earlier step may be the very same object.
"""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, CPU_ONLY, kernel


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _index_string(shape, flat_i):
    return "[" + ",".join(str(int(i)) for i in np.unravel_index(flat_i, shape)) + "]" if shape else ""


def check_indices(indices, limit, what="indices"):
    """TF's message for the first index outside [0, limit): "indices[1,0] = 7 is not in [0, 5)"."""
    flat = np.reshape(np.asarray(indices), [-1])
    bad = np.flatnonzero((flat < 0) | (flat >= limit))
    if bad.size:
        i = int(bad[0])
        raise _invalid(f"{what}{_index_string(np.shape(indices), i)} = {int(flat[i])} is not in [0, {limit})")


# -- segment sums, partition and stitch ------------------------------------------------------------------
@kernel("UnsortedSegmentSum", device_types=CPU_ONLY)
def _unsorted_segment_sum(node):
    def fn(data, segment_ids, num_segments):
        data, ids = np.asarray(data), np.asarray(segment_ids)
        n = int(num_segments)
        if data.shape[:ids.ndim] != ids.shape:
            raise _invalid(f"data.shape = {list(data.shape)} does not start with segment_ids.shape = "
                           f"{list(ids.shape)}")
        flat_ids = ids.reshape(-1)
        bad = np.flatnonzero(flat_ids >= n)
        if bad.size:
            raise _invalid(f"segment_ids{_index_string(ids.shape, int(bad[0]))} = {int(flat_ids[bad[0]])} is out "
                           f"of range [0, {n})")
        rows = data.reshape((flat_ids.size,) + data.shape[ids.ndim:])
        out = np.zeros((n,) + data.shape[ids.ndim:], dtype=data.dtype)
        keep = flat_ids >= 0  # TF drops negative ids
        np.add.at(out, flat_ids[keep], rows[keep])
        return out
    return fn


@kernel("DynamicPartition", num_outputs=lambda attrs: attrs["num_partitions"], device_types=CPU_ONLY)
def _dynamic_partition(node):
    n = node.attrs["num_partitions"]

    def fn(data, partitions):
        data, parts = np.asarray(data), np.asarray(partitions)
        if data.shape[:parts.ndim] != parts.shape:
            raise _invalid(f"data.shape must start with partitions.shape, got data.shape = {list(data.shape)}, "
                           f"partitions.shape = {list(parts.shape)}")
        flat = parts.reshape(-1)
        bad = np.flatnonzero((flat < 0) | (flat >= n))
        if bad.size:
            i = int(bad[0])
            raise _invalid(f"partitions{_index_string(parts.shape, i)} = {int(flat[i])} is not in [0, {n})")
        rows = data.reshape((flat.size,) + data.shape[parts.ndim:])
        order = np.argsort(flat, kind="stable")  # each partition keeps its rows in their order
        bounds = np.searchsorted(flat[order], np.arange(n + 1))
        return tuple(rows[order[bounds[p]:bounds[p + 1]]] for p in range(n))
    return fn


def _stitch(node):
    n = node.attrs["N"]

    def fn(*args):
        indices, data = [np.asarray(a) for a in args[:n]], [np.asarray(a) for a in args[n:]]
        tail = data[0].shape[indices[0].ndim:]
        for i, (ix, d) in enumerate(zip(indices, data)):
            if d.shape != ix.shape + tail:
                raise _invalid(f"data[{i}].shape = {list(d.shape)} does not start with indices[{i}].shape = "
                               f"{list(ix.shape)}")
        flat_ix = np.concatenate([ix.reshape(-1) for ix in indices]).astype(np.int64)
        if flat_ix.size and flat_ix.min() < 0:
            raise _invalid(f"indices contain a negative value: {int(flat_ix.min())}")
        rows = np.concatenate([d.reshape((-1,) + tail) for d in data])
        out = np.zeros((int(flat_ix.max()) + 1 if flat_ix.size else 0,) + tail, dtype=data[0].dtype)
        out[flat_ix] = rows  # a later index wins, as in TF's DynamicStitch
        return out
    return fn


kernel("DynamicStitch", device_types=CPU_ONLY)(_stitch)
kernel("ParallelDynamicStitch", device_types=CPU_ONLY)(_stitch)


@kernel("SparseToDense", device_types=CPU_ONLY)
def _sparse_to_dense(node):
    validate = node.attrs.get("validate_indices", True)

    def fn(sparse_indices, output_shape, sparse_values, default_value):
        shape = [int(d) for d in np.reshape(output_shape, [-1])]
        ix = np.asarray(sparse_indices).reshape(-1, len(shape)) if len(shape) else np.zeros((0, 0), np.int64)
        values = np.broadcast_to(np.asarray(sparse_values), ix.shape[:1])
        out = np.full(shape, np.asarray(default_value), dtype=np.asarray(sparse_values).dtype)
        if ix.size:
            if np.any(ix < 0) or np.any(ix >= np.array(shape)):
                raise _invalid(f"Sparse index tuple {ix[np.any((ix < 0) | (ix >= np.array(shape)), 1)][0].tolist()}"
                               f" is out of bounds")
            if validate and len(np.unique(np.ravel_multi_index(ix.T, shape))) != len(ix):
                raise _invalid("indices are repeated")
            out[tuple(ix.T)] = values
        return out
    return fn


@kernel("Unique", num_outputs=2, device_types=CPU_ONLY)
def _unique(node):
    idx_dtype = node.attrs.get("out_idx").as_numpy_dtype if node.attrs.get("out_idx") else np.int32

    def fn(x):
        x = np.asarray(x)
        if x.ndim != 1:
            raise _invalid(f"unique expects a 1D vector.")
        values, first, inverse = np.unique(x, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # TF keeps the order of first occurrence
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return values[order], rank[inverse.reshape(-1)].astype(idx_dtype)
    return fn


# -- scatter updates of a ref or resource variable ---------------------------------------------------------
def _scatter_values(name, var, indices, updates):
    indices, updates = np.asarray(indices), np.asarray(updates)
    if updates.ndim and updates.shape != indices.shape + var.shape[1:]:
        raise _invalid(f"Must have updates.shape = indices.shape + params.shape[1:] or updates.shape = [], got "
                       f"updates.shape {list(updates.shape)}, indices.shape {list(indices.shape)}, params.shape "
                       f"{list(var.shape)}")
    check_indices(indices, var.shape[0])
    flat = indices.reshape(-1)
    return flat, np.broadcast_to(updates, indices.shape + var.shape[1:]).reshape((flat.size,) + var.shape[1:])


SCATTER = {
    "ScatterUpdate": None, "ScatterAdd": np.add, "ScatterSub": np.subtract, "ScatterMul": np.multiply,
    "ScatterDiv": np.divide,
}


def scatter(op_type, var, indices, updates):
    """The new value of `var` after `op_type`(var, indices, updates); a new array, `var` is left as it was."""
    flat, rows = _scatter_values(op_type, var, indices, updates)
    out = var.copy()
    ufunc = SCATTER[op_type]
    if ufunc is None:
        out[flat] = rows  # with duplicates, one of them wins (TF leaves which unspecified)
    elif ufunc is np.divide and out.dtype.kind in "iu":
        np.floor_divide.at(out, flat, rows)
    else:
        ufunc.at(out, flat, rows.astype(out.dtype, copy=False))
    return out


def _scatter_kernel(op_type):
    def factory(node):
        def fn(ref, indices, updates):
            ref.value = scatter(op_type, ref.read(), indices, updates)
            return ref
        return fn
    kernel(op_type, ref_inputs=(0,), produces_ref=True)(factory)


for _op_type in SCATTER:
    _scatter_kernel(_op_type)


@kernel("ResourceScatterAdd", num_outputs=0)
def _resource_scatter_add(node):
    def fn(ref, indices, updates):
        ref.value = scatter("ScatterAdd", ref.read(), indices, updates)
    return fn


@kernel("ResourceScatterUpdate", num_outputs=0)
def _resource_scatter_update(node):
    def fn(ref, indices, updates):
        ref.value = scatter("ScatterUpdate", ref.read(), indices, updates)
    return fn


@kernel("ResourceGather", device_types=ANY_DEVICE)
def _resource_gather(node):
    xp = node.xp

    def fn(ref, indices):
        params, idx = ref.read(), xp.asarray(indices)
        n = params.shape[0]
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):  # on the host only to say which
            check_indices(idx.get() if hasattr(idx, "get") else idx, n)
        return xp.take(params, idx, axis=0)
    return fn


# -- sparse optimizer updates: TF's training_ops formulas on the rows `indices` names ------------------------
def _sparse_apply(op_type, n_refs):
    """Registers `update(node, rows..., *scalars, grad) -> new rows` for `op_type`(refs..., scalars..., grad,
    indices, more scalars...). TF's sparse kernels update row by row in index order, so a duplicate index
    sees the row its earlier occurrence wrote; here duplicates are summed first (as the optimizers' own
    deduplication does) and each row is updated once."""
    def wrap(update):
        def factory(node):
            def fn(*args):
                refs, rest = args[:n_refs], list(args[n_refs:])
                values = [r.read() for r in refs]
                grad_at = next(i for i, a in enumerate(rest) if np.ndim(a) > 0)
                grad, indices = np.asarray(rest[grad_at]), np.asarray(rest[grad_at + 1])
                scalars = rest[:grad_at] + rest[grad_at + 2:]
                var = values[0]
                if indices.ndim != 1:
                    raise _invalid(f"indices must be one-dimensional")
                if grad.shape[1:] != var.shape[1:] or grad.shape[0] != indices.shape[0]:
                    raise _invalid(f"var and grad must match in dimension 0 and from dimension 1 on: grad shape "
                                   f"{list(grad.shape)}, indices {list(indices.shape)}, var {list(var.shape)}")
                check_indices(indices, var.shape[0])
                rows, inverse = np.unique(indices, return_inverse=True)
                summed = np.zeros((rows.size,) + var.shape[1:], dtype=var.dtype)
                np.add.at(summed, inverse.reshape(-1), grad)
                new_rows = update(node, *[v[rows] for v in values], *scalars, summed)
                for r, old, new in zip(refs, values, new_rows):
                    out = old.copy()
                    out[rows] = new
                    r.value = out
                return refs[0]
            return fn
        kernel(op_type, ref_inputs=tuple(range(n_refs)), produces_ref=True)(factory)
        return update
    return wrap


@_sparse_apply("SparseApplyAdagrad", 2)
def _sparse_adagrad(node, var, accum, lr, grad):
    if node.attrs.get("update_slots", True):
        accum = accum + grad * grad
    return var - lr * grad / np.sqrt(accum), accum


@_sparse_apply("SparseApplyMomentum", 2)
def _sparse_momentum(node, var, accum, lr, momentum, grad):
    accum = accum * momentum + grad
    if node.attrs.get("use_nesterov", False):
        return var - (grad * lr + accum * momentum * lr), accum
    return var - accum * lr, accum


@_sparse_apply("SparseApplyRMSProp", 3)
def _sparse_rmsprop(node, var, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + lr * grad / np.sqrt(ms + epsilon)
    return var - mom, ms, mom


@_sparse_apply("SparseApplyCenteredRMSProp", 4)
def _sparse_centered_rmsprop(node, var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = ms + (grad * grad - ms) * (1 - rho)
    mg = mg + (grad - mg) * (1 - rho)
    mom = mom * momentum + lr * grad / np.sqrt(ms - mg * mg + epsilon)
    return var - mom, mg, ms, mom
