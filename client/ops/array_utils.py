"""Array utilities as TensorFlow builds them: split (Split/SplitV), gather_nd (GatherNd), scatter_nd
(ScatterNd), boolean_mask (Reshape + Where + Squeeze + GatherV2), reverse (ReverseV2),
sequence_mask (Range < ExpandDims) and where_v2 (SelectV2, which broadcasts)."""
import numpy as np

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, _graph_of
from tfmini.ops import array_ops, math_ops, shape_fns
from tfmini.ops.core import constant, constant_shape, constant_value, convert_to_tensor, make_output


# -- split ------------------------------------------------------------------------------------------------
def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """tf.split: `num_or_size_splits` equal pieces (Split) or pieces of the given sizes (SplitV)."""
    if isinstance(num_or_size_splits, (int, np.integer)):
        graph = _graph_of([value, axis])
        with graph.as_default(), graph.name_scope(name) as scope:
            split_dim = convert_to_tensor(axis, dtype=dtypes.int32, name="split_dim")
            x = convert_to_tensor(value, name="value")
            return graph.create_op("Split", [split_dim, x], {"T": x.dtype.base_dtype,
                                                             "num_split": int(num_or_size_splits)},
                                   name=scope).outputs
    size_splits = convert_to_tensor(num_or_size_splits)
    if size_splits.shape.ndims == 0:
        raise ValueError(f"Rank-0 tensors are not supported as the num_or_size_splits argument to split. Argument "
                         f"provided: {num_or_size_splits}")
    if num is None:
        num = size_splits.shape[0] if size_splits.shape.ndims else None
        if num is None:
            raise ValueError(f"Cannot infer argument `num` from shape {num_or_size_splits}")
    graph = _graph_of([value, size_splits, axis])
    with graph.as_default(), graph.name_scope(name) as scope:
        x = convert_to_tensor(value, name="value")
        split_dim = convert_to_tensor(axis, dtype=dtypes.int32, name="split_dim")
        return graph.create_op("SplitV", [x, size_splits, split_dim],
                               {"T": x.dtype.base_dtype, "Tlen": size_splits.dtype.base_dtype,
                                "num_split": int(num)}, name=scope).outputs


def _split_axis(op, x, axis_t):
    axis = constant_value(axis_t)
    if axis is None or x.shape.ndims is None:
        return None
    rank, axis = x.shape.ndims, int(axis)
    if not -rank <= axis < rank:
        raise ValueError(f"Dimension must be in range [{-rank}, {rank}), but is {axis} for '{op.name}' "
                         f"(op: '{op.type}')")
    return axis % rank


@op_registry.shape_fn("Split")
def _split_shape(op):
    axis_t, x = op.inputs
    num = op.get_attr("num_split")
    axis = _split_axis(op, x, axis_t)
    if axis is None:
        return [(x.dtype.base_dtype, TensorShape(None if x.shape.ndims is None else [None] * x.shape.ndims))] * num
    dims = x.shape.as_list()
    if dims[axis] is not None:
        if dims[axis] % num:
            raise ValueError(f"Dimension size must be evenly divisible by {num} but is {dims[axis]} "
                             f"Number of ways to split should evenly divide the split dimension for '{op.name}'")
        dims[axis] //= num
    return [(x.dtype.base_dtype, TensorShape(dims))] * num


@op_registry.shape_fn("SplitV")
def _split_v_shape(op):
    x, sizes_t, axis_t = op.inputs
    num = op.get_attr("num_split")
    axis, sizes = _split_axis(op, x, axis_t), constant_value(sizes_t)
    if axis is None or sizes is None:
        return [(x.dtype.base_dtype, TensorShape(None if x.shape.ndims is None else [None] * x.shape.ndims))] * num
    sizes = [int(s) for s in np.reshape(sizes, [-1])]
    total = x.shape.as_list()[axis]
    if -1 in sizes and total is not None:
        sizes[sizes.index(-1)] = total - sum(s for s in sizes if s != -1)
    elif -1 not in sizes and total is not None and sum(sizes) != total:
        raise ValueError(f"Determined shape must either match input shape along split_dim exactly if fully "
                         f"specified, or be less than the size of the input along split_dim if not fully "
                         f"specified.  Got: {sum(sizes)} for '{op.name}' (op: 'SplitV')")
    out = []
    for s in sizes:
        dims = x.shape.as_list()
        dims[axis] = None if s == -1 else s
        out.append((x.dtype.base_dtype, TensorShape(dims)))
    return out


# -- gather_nd / scatter_nd --------------------------------------------------------------------------------
def gather_nd(params, indices, name=None, batch_dims=0):
    """tf.gather_nd: slices of `params` at the index vectors in the last axis of `indices`."""
    if batch_dims != 0:
        raise NotImplementedError("tfmini's gather_nd supports batch_dims=0 only")
    graph = _graph_of([params, indices])
    with graph.as_default(), graph.name_scope(name or "GatherNd") as scope:
        p = convert_to_tensor(params, name="params")
        i = convert_to_tensor(indices, name="indices")
        attrs = {"Tparams": p.dtype.base_dtype, "Tindices": i.dtype.base_dtype, "bad_indices_policy": b""}
        return graph.create_op("GatherNd", [p, i], attrs, name=scope).outputs[0]


@op_registry.shape_fn("GatherNd")
def _gather_nd_shape(op):
    params, indices = op.inputs
    dtype = params.dtype.base_dtype
    if indices.shape.ndims is None or params.shape.ndims is None or indices.shape[-1] is None:
        return [(dtype, TensorShape(None))]
    m = indices.shape[-1]
    if m > params.shape.ndims:
        raise ValueError(f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
                         f"{indices.shape.as_list()} and params shape: {params.shape.as_list()} for '{op.name}' "
                         f"(op: 'GatherNd')")
    return [(dtype, TensorShape(indices.shape.as_list()[:-1] + params.shape.as_list()[m:]))]


def scatter_nd(indices, updates, shape, name=None):
    """tf.scatter_nd: a zero tensor of `shape` with `updates` added at `indices` (duplicates sum)."""
    graph = _graph_of([indices, updates, shape])
    with graph.as_default(), graph.name_scope(name or "ScatterNd") as scope:
        i = convert_to_tensor(indices, name="indices")
        u = convert_to_tensor(updates, name="updates")
        s = convert_to_tensor(shape, dtype=i.dtype.base_dtype, name="shape")
        attrs = {"T": u.dtype.base_dtype, "Tindices": i.dtype.base_dtype, "bad_indices_policy": b""}
        return graph.create_op("ScatterNd", [i, u, s], attrs, name=scope).outputs[0]


op_registry.register("ScatterNd", lambda op: [(op.inputs[1].dtype.base_dtype, constant_shape(op.inputs[2]))])


# -- boolean_mask -----------------------------------------------------------------------------------------
def _shape_of(x):
    """x's shape: a Const named Shape when static (as TF's shape() folds it), else a Shape op."""
    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), np.int32), name="Shape")
    return array_ops.shape(x)


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """tf.boolean_mask: the entries of `tensor` where the (k-D) `mask` is true, flattened over those k axes."""
    graph = _graph_of([tensor, mask])
    with graph.as_default(), graph.name_scope(name):
        tensor = convert_to_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask")
        ndims_mask = mask.shape.ndims
        if ndims_mask == 0:
            raise ValueError("mask cannot be scalar.")
        if ndims_mask is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions are None.  E.g. "
                             "shape=[None] is ok, but shape=None is not.")
        axis = 0 if axis is None else int(axis)
        dims = tensor.shape.as_list() if tensor.shape.ndims is not None else None
        if dims is not None and not TensorShape(dims[axis:axis + ndims_mask]).is_compatible_with(mask.shape):
            raise ValueError(f"Shapes {TensorShape(dims[axis:axis + ndims_mask])} and {mask.shape} are incompatible")
        leading = math_ops.reduce_prod(_shape_of(tensor)[axis:axis + ndims_mask], [0], name="Prod")
        new_shape = array_ops.concat([_shape_of(tensor)[:axis], [leading], _shape_of(tensor)[axis + ndims_mask:]], 0)
        flat = array_ops.reshape(tensor, new_shape)
        if dims is not None:
            masked = TensorShape(dims[axis:axis + ndims_mask]).num_elements()
            flat.set_shape(TensorShape(dims[:axis] + [masked] + dims[axis + ndims_mask:]))
        flat_mask = array_ops.reshape(mask, [-1])
        indices = array_ops.squeeze(math_ops.where(flat_mask), axis=[1])
        return make_output("GatherV2", [flat, indices, axis], name="GatherV2", same_dtype=False,
                           arg_names=["params", "indices", "axis"],
                           attrs={"Tparams": flat.dtype.base_dtype, "Tindices": dtypes.int64,
                                  "Taxis": dtypes.int32, "batch_dims": 0})


# -- reverse, sequence_mask, where_v2 --------------------------------------------------------------
def reverse(tensor, axis, name=None):
    """tf.reverse (TF 1.x's reverse_v2): `tensor` with the given axes reversed."""
    graph = _graph_of([tensor, axis])
    with graph.as_default(), graph.name_scope(name or "ReverseV2") as scope:
        x = convert_to_tensor(tensor, name="tensor")
        a = convert_to_tensor(axis, name="axis")
        return graph.create_op("ReverseV2", [x, a], {"T": x.dtype.base_dtype, "Tidx": a.dtype.base_dtype},
                               name=scope).outputs[0]


reverse_v2 = reverse
op_registry.register("ReverseV2", shape_fns.unchanged)


def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool, name=None):
    """tf.sequence_mask: row i is `j < lengths[i]` for j in range(maxlen)."""
    graph = _graph_of([lengths, maxlen])
    with graph.as_default(), graph.name_scope(name or "SequenceMask"):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            axes = constant(np.arange(lengths.shape.ndims, dtype=np.int32)) if lengths.shape.ndims is not None \
                else array_ops.range(0, array_ops.rank(lengths))
            maxlen = math_ops.reduce_max(lengths, axes, name="Max")
            maxlen = math_ops.maximum(constant(0, dtype=maxlen.dtype), maxlen)
        else:
            maxlen = convert_to_tensor(maxlen)
        if maxlen.shape.ndims is not None and maxlen.shape.ndims != 0:
            raise ValueError(f"Argument `maxlen` must be scalar for sequence_mask, received `maxlen` = {maxlen}")
        row = array_ops.range(constant(0, dtype=maxlen.dtype), maxlen, constant(1, dtype=maxlen.dtype),
                              name="Range")
        column = make_output("Cast", [array_ops.expand_dims(lengths, -1)], name="Cast", same_dtype=False,
                             attrs={"SrcT": lengths.dtype.base_dtype, "DstT": maxlen.dtype.base_dtype,
                                    "Truncate": False})
        result = math_ops.less(row, column)
        dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.bool
        return result if dtype == dtypes.bool else math_ops.cast(result, dtype)


def where_v2(condition, x=None, y=None, name=None):
    """tf.where_v2 (TF 2's tf.where): SelectV2, with condition, x and y broadcast together."""
    if x is None and y is None:
        return math_ops.where(condition, name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    graph = _graph_of([condition, x, y])
    with graph.as_default(), graph.name_scope(name or "SelectV2") as scope:
        c = convert_to_tensor(condition, dtype=dtypes.bool, name="condition")
        dtype = next((v.dtype.base_dtype for v in (x, y) if isinstance(v, Tensor)), None)
        t = convert_to_tensor(x, dtype=dtype, name="t")
        e = convert_to_tensor(y, dtype=t.dtype.base_dtype, name="e")
        return graph.create_op("SelectV2", [c, t, e], {"T": t.dtype.base_dtype}, name=scope).outputs[0]


@op_registry.shape_fn("SelectV2")
def _select_v2_shape(op):
    c, t, e = op.inputs
    if t.dtype.base_dtype != e.dtype.base_dtype:
        raise TypeError(f"Input 'e' of 'SelectV2' Op has type {e.dtype.base_dtype.name} that does not match type "
                        f"{t.dtype.base_dtype.name} of argument 't'.")
    shape = shape_fns.broadcast_shapes(shape_fns.broadcast_shapes(c.shape, t.shape, op), e.shape, op)
    return [(t.dtype.base_dtype, shape)]
