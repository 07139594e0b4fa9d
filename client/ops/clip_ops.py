"""tf.clip_by_value, tf.clip_by_norm, tf.global_norm, tf.clip_by_global_norm (TF 1.x formulas and names)."""
from tfmini.core import dtypes
from tfmini.graph import Tensor, get_default_graph
from tfmini.ops import array_ops, math_ops, nn_ops
from tfmini.ops.core import constant, convert_to_tensor


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    with get_default_graph().name_scope(name or "clip_by_value") as scope:
        t = convert_to_tensor(t, name="t")
        t_min = math_ops.minimum(t, clip_value_max)
        return math_ops.maximum(t_min, clip_value_min, name=scope)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t over axes), clip_norm); of an IndexedSlices, its values are clipped."""
    from tfmini.indexed_slices import IndexedSlices
    if isinstance(t, IndexedSlices):
        return IndexedSlices(clip_by_norm(t.values, clip_norm, axes, name), t.indices, t.dense_shape)
    with get_default_graph().name_scope(name or "clip_by_norm") as scope:
        t = convert_to_tensor(t, name="t")
        l2sum = math_ops.reduce_sum(math_ops.multiply(t, t), axes, keepdims=True)
        pred = math_ops.greater(l2sum, 0)
        l2sum_safe = math_ops.where(pred, l2sum, array_ops.ones_like(l2sum))  # no NaN gradient at 0
        l2norm = math_ops.where(pred, math_ops.sqrt(l2sum_safe), l2sum)
        clip_norm = convert_to_tensor(clip_norm, dtype=t.dtype.base_dtype)
        intermediate = math_ops.multiply(t, clip_norm)
        return array_ops.identity(math_ops.truediv(intermediate, math_ops.maximum(l2norm, clip_norm)), name=scope)


def global_norm(t_list, name=None):
    """sqrt(sum of squares of every element of every tensor in t_list); None entries are skipped."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list should be a sequence")
    from tfmini.indexed_slices import IndexedSlices
    with get_default_graph().name_scope(name or "global_norm"):
        values = [convert_to_tensor(t.values if isinstance(t, IndexedSlices) else t) for t in t_list if t is not None]
        if not values:
            raise ValueError("global_norm needs at least one tensor")
        half_squared = []
        for v in values:
            with get_default_graph().colocate_with(v.op):
                half_squared.append(nn_ops.l2_loss(v))
        dtype = half_squared[0].dtype.base_dtype
        half_squared_norm = math_ops.reduce_sum(array_ops.stack(half_squared))
        return math_ops.sqrt(math_ops.multiply(half_squared_norm, constant(2.0, dtype=dtype)), name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(t_list scaled by clip_norm / max(global_norm, clip_norm), global_norm)."""
    if not isinstance(t_list, (list, tuple)) or isinstance(t_list, Tensor):
        raise TypeError("t_list should be a sequence")
    from tfmini.indexed_slices import IndexedSlices
    t_list = list(t_list)
    use_norm = global_norm(t_list, "global_norm") if use_norm is None else use_norm
    with get_default_graph().name_scope(name or "clip_by_global_norm"):
        dtype = use_norm.dtype.base_dtype if isinstance(use_norm, Tensor) else dtypes.float32
        one = constant(1.0, dtype=dtype)
        clip = convert_to_tensor(clip_norm, dtype=dtype, name="clip_norm")
        # clip_norm * min(1 / norm, 1 / clip_norm): no division by a zero norm reaches the result
        scale = math_ops.multiply(clip, math_ops.minimum(math_ops.truediv(one, use_norm),
                                                         math_ops.truediv(one, clip)))
        out = []
        for i, t in enumerate(t_list):
            if t is None:
                out.append(None)
                continue
            sliced = t if isinstance(t, IndexedSlices) else None  # its values are clipped, its rows kept
            t = convert_to_tensor(t.values if sliced is not None else t)
            with get_default_graph().colocate_with(t.op):
                t = array_ops.identity(math_ops.multiply(t, math_ops.cast(scale, t.dtype.base_dtype)),
                                       name=f"_clip_{i}")
            out.append(IndexedSlices(t, sliced.indices, sliced.dense_shape) if sliced is not None else t)
        return out, use_norm
