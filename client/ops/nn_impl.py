"""tf.nn's composite ops (TF's nn_impl.py): moments, batch_normalization, xw_plus_b, l2_normalize and the
sigmoid cross-entropies, built from existing op types exactly as TF builds them, so graphs and gradients match."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops import array_ops, math_ops, nn_ops
from tfmini.ops.core import convert_to_tensor


def _scope(name, default):
    return get_default_graph().name_scope(name or default)


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """(mean, variance) of `x` over `axes`; the variance uses the mean as a constant (StopGradient), as TF."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with _scope(name, "moments"):
        x = convert_to_tensor(x, name="x")
        y = math_ops.cast(x, dtypes.float32) if x.dtype.base_dtype == dtypes.float16 else x
        axes = list(axes)
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        variance = math_ops.reduce_mean(math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes,
                                        keepdims=True, name="variance")
        if not keep:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if x.dtype.base_dtype == dtypes.float16:
            return math_ops.cast(mean, dtypes.float16), math_ops.cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) * scale / sqrt(variance + epsilon) + offset, as TF: x * inv + (offset - mean * inv)."""
    with _scope(name, "batchnorm"):
        x = convert_to_tensor(x)
        inv = math_ops.rsqrt(variance + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = offset - mean * inv if offset is not None else -mean * inv
        return x * math_ops.cast(inv, x.dtype) + math_ops.cast(shift, x.dtype)


def xw_plus_b(x, weights, biases, name=None):
    """matmul(x, weights) + biases (a BiasAdd named after the scope)."""
    with _scope(name, "xw_plus_b") as scope:
        x = convert_to_tensor(x, name="x")
        weights = convert_to_tensor(weights, name="weights")
        biases = convert_to_tensor(biases, name="biases")
        return nn_ops.bias_add(math_ops.matmul(x, weights), biases, name=scope)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x^2, axis), epsilon))."""
    axis = axis if axis is not None else dim
    with _scope(name, "l2_normalize") as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        x_inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, epsilon))
        return math_ops.multiply(x, x_inv_norm, name=scope)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """max(x, 0) - x * z + log(1 + exp(-|x|)), element-wise (TF's stable form, scope `logistic_loss`)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named arguments (labels=..., "
                         "logits=..., ...)")
    with _scope(name, "logistic_loss") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype.base_dtype, name="labels")
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
        zeros = array_ops.zeros_like(logits, dtype=logits.dtype)
        cond = logits >= zeros
        relu_logits = math_ops.where(cond, logits, zeros)
        neg_abs_logits = math_ops.where(cond, -logits, logits)
        return math_ops.add(relu_logits - logits * labels, math_ops.log1p(math_ops.exp(neg_abs_logits)), name=scope)


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None, targets=None):
    """The sigmoid cross-entropy with positive examples weighted by `pos_weight` (TF's stable form)."""
    labels = targets if labels is None else labels
    with _scope(name, "logistic_loss") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype.base_dtype, name="targets")
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"logits and targets must have the same shape ({logits.shape} vs {labels.shape})")
        log_weight = 1 + (pos_weight - 1) * labels
        return math_ops.add((1 - labels) * logits,
                            log_weight * (math_ops.log1p(math_ops.exp(-math_ops.abs(logits))) +
                                          nn_ops.relu(-logits)), name=scope)


def bias_add_grad(out_backprop, data_format=b"NHWC", name=None):
    """The bias's gradient of BiasAdd: out_backprop summed over every axis but the channel one (BiasAddGrad)."""
    from tfmini.ops.core import make_output
    return make_output("BiasAddGrad", [out_backprop], {"data_format": data_format}, name=name or "BiasAddGrad",
                       arg_names=["out_backprop"])


@op_registry.shape_fn("BiasAddGrad")
def _bias_add_grad_shape(op):
    x = op.inputs[0]
    if x.shape.ndims is None:
        return [(x.dtype.base_dtype, TensorShape([None]))]
    fmt = op.get_attr("data_format")
    channels = x.shape[1] if (fmt in (b"NCHW", "NCHW") and x.shape.ndims > 2) else x.shape[-1]
    return [(x.dtype.base_dtype, TensorShape([channels]))]
