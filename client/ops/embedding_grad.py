"""Gradients of gather, segment sums and dynamic partition/stitch, as TF's array_grad/math_grad/data_flow_grad.

A gather along axis 0 passes back an IndexedSlices (the rows it read and their gradient), never a dense
tensor of the params' size: that is what lets a sparse optimizer update only those rows.
"""
from tfmini.core import dtypes
from tfmini.gradients import NotDifferentiable, RegisterGradient
from tfmini.indexed_slices import IndexedSlices
from tfmini.ops import array_ops, embedding_ops, math_ops
from tfmini.ops.core import constant_value


def _params_shape(op):
    params = op.inputs[0]
    with params.graph.colocate_with(params.op):  # the shape is read where the params are: no data moves
        return embedding_ops.static_shape(params)


def _axis0_slices(grad, indices, params_shape):
    size = array_ops.expand_dims(embedding_ops.static_size(indices), 0)
    values_shape = array_ops.concat([size, params_shape[1:]], 0)
    values = array_ops.reshape(grad, values_shape)
    return IndexedSlices(values, array_ops.reshape(indices, size), params_shape)


@RegisterGradient("Gather")
def _gather_grad(op, grad):
    return [_axis0_slices(grad, op.inputs[1], _params_shape(op)), None]


@RegisterGradient("GatherV2")
def _gather_v2_grad(op, grad):
    params_shape = _params_shape(op)
    indices, axis = op.inputs[1], op.inputs[2]
    axis_static = constant_value(axis)
    if axis_static is not None and int(axis_static) == 0:
        return [_axis0_slices(grad, indices, params_shape), None, None]
    # Other axes: move the gathered axis to the front, sum the rows per index, move it back (dense, as TF).
    axis = int(axis_static) if axis_static is not None else axis
    indices_size = array_ops.expand_dims(embedding_ops.static_size(indices), 0)
    outer_shape = params_shape[:axis]
    outer_dims = array_ops.size(outer_shape)
    inner_shape = params_shape[axis:][1:]
    inner_dims = array_ops.size(inner_shape)
    outer_axes_indices = array_ops.range(outer_dims)
    inner_axes_indices = array_ops.range(outer_dims + 1, outer_dims + 1 + inner_dims)
    values_shape = array_ops.concat([outer_shape, indices_size, inner_shape], 0)
    values = array_ops.reshape(grad, values_shape)
    indices = array_ops.reshape(indices, indices_size)
    transpose_dims = array_ops.concat([array_ops.expand_dims(outer_dims, 0), outer_axes_indices,
                                       inner_axes_indices], 0)
    values_transpose = array_ops.transpose(values, transpose_dims)
    num_segments = params_shape[axis]
    params_grad = embedding_ops.unsorted_segment_sum(values_transpose, indices, num_segments)
    invert_transpose_dims = array_ops.concat([outer_axes_indices + 1, array_ops.zeros([1], dtypes.int32),
                                              inner_axes_indices], 0)
    return [array_ops.transpose(params_grad, invert_transpose_dims), None, None]


@RegisterGradient("UnsortedSegmentSum")
def _unsorted_segment_sum_grad(op, grad):
    """grad[segment_ids] where the id is >= 0, zero where it is negative (TF's _GatherDropNegatives)."""
    ids = op.inputs[1]
    clipped = math_ops.maximum(ids, array_ops.zeros_like(ids))
    gathered = embedding_ops.gather(grad, clipped)
    is_positive = math_ops.greater_equal(ids, 0)
    is_positive_shape = array_ops.shape(is_positive)
    broadcastable_shape = array_ops.concat(
        [is_positive_shape, array_ops.ones(array_ops.expand_dims(array_ops.rank(gathered) -
                                                                 array_ops.rank(is_positive), 0), dtypes.int32)], 0)
    mask = math_ops.cast(array_ops.reshape(is_positive, broadcastable_shape), gathered.dtype.base_dtype)
    return [math_ops.multiply(gathered, mask), None, None]


def _stitch_grad(op, grad):
    num_values = len(op.inputs) // 2
    inputs = [op.inputs[i] if op.inputs[0].dtype.base_dtype == dtypes.int32 else
              math_ops.cast(op.inputs[i], dtypes.int32) for i in range(num_values)]
    if isinstance(grad, IndexedSlices):
        output_rows = array_ops.shape(op.outputs[0])[0]
        grad = embedding_ops.unsorted_segment_sum(grad.values, grad.indices, output_rows)
    return [None] * num_values + [embedding_ops.gather(grad, i) for i in inputs]


RegisterGradient("DynamicStitch")(_stitch_grad)
RegisterGradient("ParallelDynamicStitch")(_stitch_grad)


@RegisterGradient("DynamicPartition")
def _dynamic_partition_grad(op, *grads):
    data, indices = op.inputs
    num_partitions = op.get_attr("num_partitions")
    prefix_shape = array_ops.shape(indices)
    original_indices = array_ops.reshape(array_ops.range(math_ops.reduce_prod(prefix_shape)), prefix_shape)
    partitioned_indices = embedding_ops.dynamic_partition(original_indices, indices, num_partitions)
    reconstructed = embedding_ops.parallel_dynamic_stitch(partitioned_indices, list(grads))
    return [array_ops.reshape(reconstructed, array_ops.shape(data)), None]


for _op_type in ("Unique", "ComputeAccidentalHits", "UniformCandidateSampler", "LogUniformCandidateSampler",
                 "FixedUnigramCandidateSampler"):
    NotDifferentiable(_op_type)
