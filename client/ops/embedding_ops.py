"""tf.gather, the scatter updates, segment sums, dynamic partition/stitch and tf.nn.embedding_lookup (TF 1.x).

embedding_lookup over a list of shards (or a PartitionedVariable) builds TF's graph: DynamicPartition of
the ids by shard ("mod" or "div"), one Gather per shard colocated with it, and ParallelDynamicStitch
back into the ids' order. In a cluster each Gather runs on the ps that holds its shard, so only the
rows looked up cross the wire; their gradient, an IndexedSlices, goes back the same way.
"""

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, _graph_of, get_default_graph
from tfmini.ops import array_ops, clip_ops, math_ops
from tfmini.ops.core import constant, constant_shape, constant_value, convert_to_tensor, make_op, make_output


def _base(t):
    return t.dtype.base_dtype


def static_shape(t, out_type=dtypes.int32, name="Shape"):
    """array_ops.shape as TF builds it (optimize=True): a Const named `Shape` when the shape is known."""
    if t.shape.is_fully_defined():
        return constant(t.shape.as_list(), dtype=out_type, name=name)
    return array_ops.shape(t, out_type=out_type, name=name)


def static_size(t, name="Size"):
    if t.shape.is_fully_defined():
        return constant(t.shape.num_elements(), dtype=dtypes.int32, name=name)
    return array_ops.size(t, name=name)


# -- gather -----------------------------------------------------------------------------------------------
def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """params[indices] along `axis` (GatherV2). `validate_indices` is ignored, as in TF."""
    del validate_indices
    if batch_dims != 0:
        raise NotImplementedError("tfmini's gather supports batch_dims=0 only")
    if axis is None:
        axis = batch_dims
    params = params.value() if hasattr(params, "_ref") and not isinstance(params, Tensor) else params
    graph = _graph_of([params, indices, axis])
    with graph.as_default(), graph.name_scope(name or "GatherV2") as scope:
        p = convert_to_tensor(params, name="params")
        i = convert_to_tensor(indices, name="indices")
        a = convert_to_tensor(axis, name="axis")
        attrs = {"Tparams": _base(p), "Tindices": _base(i), "Taxis": _base(a), "batch_dims": 0}
        return graph.create_op("GatherV2", [p, i, a], attrs, name=scope).outputs[0]


# -- scatter updates of ref variables ------------------------------------------------------------------------
def _scatter(op_type, default_locking):
    def fn(ref, indices, updates, use_locking=default_locking, name=None):
        ref_t = ref._ref() if hasattr(ref, "_ref") else ref
        if not ref_t.dtype.is_ref_dtype:
            raise TypeError(f"'{op_type}' Op requires that input 'ref' be a mutable tensor (e.g.: a tf.Variable)")
        graph = _graph_of([ref_t])
        with graph.as_default(), graph.name_scope(name or op_type) as scope, graph.colocate_with(ref_t.op):
            i = convert_to_tensor(indices, name="indices")
            u = convert_to_tensor(updates, dtype=_base(ref_t), name="updates")
            attrs = {"T": _base(ref_t), "Tindices": _base(i), "use_locking": bool(use_locking)}
            return graph.create_op(op_type, [ref_t, i, u], attrs, name=scope).outputs[0]
    fn.__name__ = "scatter_" + op_type[len("Scatter"):].lower()
    return fn


scatter_update = _scatter("ScatterUpdate", True)
scatter_add = _scatter("ScatterAdd", False)
scatter_sub = _scatter("ScatterSub", False)
scatter_mul = _scatter("ScatterMul", False)
scatter_div = _scatter("ScatterDiv", False)


@op_registry.shape_fn("ScatterAdd", "ScatterDiv", "ScatterMul", "ScatterSub", "ScatterUpdate")
def _scatter_shape(op):
    ref, indices, updates = op.inputs
    _check_scatter_shapes(op, ref.shape, indices.shape, updates.shape)
    return [(ref.dtype, ref.shape)]


def _check_scatter_shapes(op, var, indices, updates):
    if updates.ndims == 0 or var.ndims is None or indices.ndims is None or updates.ndims is None:
        return
    if not updates.is_compatible_with(indices.concatenate(var[1:])):
        raise ValueError(f"Shapes must be equal rank, but are {updates.ndims} and "
                         f"{indices.ndims + var.ndims - 1} for '{op.name}' (op: '{op.type}') with input shapes: "
                         f"{var}, {indices}, {updates}." if updates.ndims != indices.ndims + var.ndims - 1 else
                         f"Dimension mismatch for '{op.name}' (op: '{op.type}'): updates.shape {updates} must be "
                         f"indices.shape + params.shape[1:] = {indices.concatenate(var[1:])}.")


@op_registry.shape_fn("ResourceGather")
def _resource_gather_shape(op):
    from tfmini.ops.resource_variable_ops import _handle_shape
    var, indices = _handle_shape(op.inputs[0]), op.inputs[1].shape
    if var.ndims is None or indices.ndims is None:
        return [(op.get_attr("dtype"), TensorShape(None))]
    return [(op.get_attr("dtype"), indices.concatenate(var[1:]))]
op_registry.register(["ResourceScatterAdd", "ResourceScatterUpdate"], lambda op: [])


# -- segment sums, unique, sparse_to_dense ---------------------------------------------------------------------
def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    d = data if isinstance(data, Tensor) else convert_to_tensor(data, name="data")
    s = segment_ids if isinstance(segment_ids, Tensor) else convert_to_tensor(segment_ids, name="segment_ids")
    n = num_segments if isinstance(num_segments, Tensor) else convert_to_tensor(num_segments, dtype=_base(s),
                                                                                name="num_segments")
    return make_output("UnsortedSegmentSum", [d, s, n], name=name or "UnsortedSegmentSum", same_dtype=False,
                       arg_names=["data", "segment_ids", "num_segments"],
                       attrs={"T": _base(d), "Tindices": _base(s), "Tnumsegments": _base(n)})


@op_registry.shape_fn("UnsortedSegmentSum")
def _unsorted_segment_sum_shape(op):
    data, ids, n = op.inputs
    value = constant_value(n)
    if data.shape.ndims is None or ids.shape.ndims is None:
        return [(_base(data), TensorShape(None))]
    head = [int(value)] if value is not None else [None]
    return [(_base(data), TensorShape(head + data.shape.as_list()[ids.shape.ndims:]))]


def unique(x, out_idx=dtypes.int32, name=None):
    op = make_op("Unique", [x], {"out_idx": dtypes.as_dtype(out_idx)}, name=name or "Unique")
    return op.outputs[0], op.outputs[1]


op_registry.register("Unique", lambda op: [(_base(op.inputs[0]), TensorShape([None])),
                                           (op.get_attr("out_idx"), op.inputs[0].shape)])


def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value=0, validate_indices=True,
                    name=None):
    graph = get_default_graph()
    with graph.name_scope(name or "SparseToDense") as scope:
        ix = convert_to_tensor(sparse_indices, name="sparse_indices")
        shape = convert_to_tensor(output_shape, dtype=_base(ix), name="output_shape")
        values = convert_to_tensor(sparse_values, name="sparse_values")
        default = convert_to_tensor(default_value, dtype=_base(values), name="default_value")
        return graph.create_op("SparseToDense", [ix, shape, values, default],
                               {"T": _base(values), "Tindices": _base(ix), "validate_indices": validate_indices},
                               name=scope).outputs[0]


op_registry.register("SparseToDense", lambda op: [(_base(op.inputs[2]), constant_shape(op.inputs[1]))])


# -- dynamic partition and stitch ---------------------------------------------------------------------------------
def dynamic_partition(data, partitions, num_partitions, name=None):
    graph = get_default_graph()
    with graph.name_scope(name or "DynamicPartition") as scope:
        d = convert_to_tensor(data, name="data")
        p = convert_to_tensor(partitions, dtype=dtypes.int32, name="partitions")
        return graph.create_op("DynamicPartition", [d, p], {"T": _base(d), "num_partitions": int(num_partitions)},
                               name=scope).outputs


@op_registry.shape_fn("DynamicPartition")
def _dynamic_partition_shape(op):
    data, parts = op.inputs
    n = op.get_attr("num_partitions")
    if data.shape.ndims is None or parts.shape.ndims is None:
        return [(_base(data), TensorShape(None))] * n
    return [(_base(data), TensorShape([None] + data.shape.as_list()[parts.shape.ndims:]))] * n


def _stitch(op_type):
    def fn(indices, data, name=None):
        graph = get_default_graph()
        with graph.name_scope(name or op_type) as scope:
            ix = [convert_to_tensor(t, dtype=dtypes.int32, name=f"indices_{i}") for i, t in enumerate(indices)]
            ds = [convert_to_tensor(t, name=f"data_{i}") for i, t in enumerate(data)]
            return graph.create_op(op_type, ix + ds, {"N": len(ix), "T": _base(ds[0])}, name=scope).outputs[0]
    return fn


dynamic_stitch = _stitch("DynamicStitch")
parallel_dynamic_stitch = _stitch("ParallelDynamicStitch")


@op_registry.shape_fn("DynamicStitch", "ParallelDynamicStitch")
def _stitch_shape(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    values = [constant_value(t) for t in indices]
    rows = int(max((v.max() for v in values if v.size), default=-1)) + 1 if all(v is not None for v in values) \
        else None
    tail = TensorShape(None)
    for ix, d in zip(indices, data):
        if ix.shape.ndims is not None and d.shape.ndims is not None:
            tail = tail.merge_with(TensorShape(d.shape.as_list()[ix.shape.ndims:]))
    return [(_base(data[0]), TensorShape([rows]).concatenate(tail))]


# -- embedding_lookup -------------------------------------------------------------------------------------------
def _clip(params, ids, max_norm):
    """Rows of `params` (the looked-up embeddings) with l2 norm clipped to max_norm (TF's `_clip`)."""
    if max_norm is None:
        return params
    ids_rank, params_rank = ids.shape.ndims, params.shape.ndims
    if ids_rank is None or params_rank is None:
        raise ValueError("embedding_lookup with max_norm needs ids and params of known rank in tfmini")
    return clip_ops.clip_by_norm(params, max_norm, axes=list(range(ids_rank, params_rank)))


def _as_params_list(params):
    from tfmini.partitioned_variables import PartitionedVariable
    if params is None or (isinstance(params, (list, tuple)) and not params):
        raise ValueError("Need at least one param")
    if isinstance(params, PartitionedVariable):
        params = list(params)
    if not isinstance(params, (list, tuple)):
        params = [params]
    return list(params)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """Rows `ids` of the embedding `params`: one tensor or variable, or a list of shards split by
    `partition_strategy` ("mod": id i lives in shard i % n; "div": in contiguous blocks)."""
    params = _as_params_list(params)
    graph = get_default_graph()
    with graph.name_scope(name or "embedding_lookup") as scope:
        n = len(params)
        params = [p.value() if hasattr(p, "_ref") and not isinstance(p, Tensor) else
                  convert_to_tensor(p, name="params") for p in params]
        ids = convert_to_tensor(ids, name="ids")
        if n == 1:
            with graph.colocate_with(params[0].op):
                result = _clip(gather(params[0], ids, name=scope), ids, max_norm)
            return array_ops.identity(result)
        flat_ids = array_ops.reshape(ids, [-1])
        original_indices = array_ops.range(static_size(flat_ids))
        if partition_strategy == "mod":
            p_assignments = flat_ids % n
            new_ids = flat_ids // n
        elif partition_strategy == "div":
            sizes = [p.shape[0] if p.shape.ndims else None for p in params]
            if all(s is not None for s in sizes):
                num_total_ids = constant(sum(sizes), dtype=_base(flat_ids))
            else:
                dims = []
                for p, s in zip(params, sizes):
                    if s is not None:
                        dims.append(s)
                    else:
                        with graph.colocate_with(p.op):
                            dims.append(array_ops.shape(p)[0])
                num_total_ids = math_ops.reduce_sum(math_ops.cast(array_ops.stack(dims), _base(flat_ids)))
            ids_per_partition = num_total_ids // n
            extras = num_total_ids % n
            p_assignments = math_ops.maximum(flat_ids // (ids_per_partition + 1),
                                             (flat_ids - extras) // ids_per_partition)
            new_ids = math_ops.where(p_assignments < extras, flat_ids % (ids_per_partition + 1),
                                     (flat_ids - extras) % ids_per_partition)
        else:
            raise ValueError("Unrecognized partition strategy: " + partition_strategy)
        p_assignments = math_ops.cast(p_assignments, dtypes.int32)
        gather_ids = dynamic_partition(new_ids, p_assignments, n)
        pindices = dynamic_partition(original_indices, p_assignments, n)
        partitioned_result = []
        for p in range(n):
            with graph.colocate_with(params[p].op):
                partitioned_result.append(gather(params[p], gather_ids[p]))
        ret = parallel_dynamic_stitch(pindices, partitioned_result, name=scope)
        element_shape_s = params[0].shape[1:]
        for p in params[1:]:
            element_shape_s = element_shape_s.merge_with(p.shape[1:])
        if element_shape_s.is_fully_defined():
            element_shape_d = element_shape_s.as_list()
        else:
            with graph.colocate_with(params[0].op):
                element_shape_d = array_ops.shape(params[0])[1:]
        ret = array_ops.reshape(ret, array_ops.concat([static_shape(ids), element_shape_d], 0))
        ret.set_shape(ids.shape.concatenate(element_shape_s))
        return _clip(ret, ids, max_norm)
