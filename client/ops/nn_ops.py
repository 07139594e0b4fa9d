"""tf.nn: activations, softmax and the cross-entropy losses."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of
from tfmini.ops import array_ops, math_ops, shape_fns
from tfmini.ops.core import convert_to_tensor, make_output


relu = math_ops._unary("Relu")
relu6 = math_ops._unary("Relu6")
elu = math_ops._unary("Elu")
selu = math_ops._unary("Selu")
softplus = math_ops._unary("Softplus")
softsign = math_ops._unary("Softsign")
sigmoid = math_ops.sigmoid
tanh = math_ops.tanh

op_registry.register(["Softmax", "LogSoftmax"], shape_fns.unchanged)


def leaky_relu(features, alpha=0.2, name=None):
    return make_output("LeakyRelu", [features], {"alpha": float(alpha)}, name=name or "LeakyRelu",
                       arg_names=["features"])


op_registry.register("LeakyRelu", shape_fns.unchanged)


def _softmax_like(op_type, default_name):
    def fn(logits, axis=None, name=None, dim=None):
        axis = axis if axis is not None else dim
        x = convert_to_tensor(logits)
        if axis is None or axis == -1 or (x.shape.ndims is not None and axis == x.shape.ndims - 1):
            return make_output(op_type, [x], name=name or default_name, arg_names=["logits"])
        # Move `axis` last, apply, move it back (TF does the same).
        rank = x.shape.ndims
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        y = make_output(op_type, [array_ops.transpose(x, perm)], name=default_name)
        return array_ops.transpose(y, perm, name=name or "transpose")
    return fn


softmax = _softmax_like("Softmax", "Softmax")
log_softmax = _softmax_like("LogSoftmax", "LogSoftmax")


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """Per-example cross-entropy of softmax(logits) against a distribution `labels` (last axis)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `softmax_cross_entropy_with_logits` with named arguments (labels=..., logits=...)")
    graph = _graph_of([labels, logits])
    with graph.as_default(), graph.name_scope(name or "softmax_cross_entropy_with_logits_sg") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype.base_dtype, name="labels")
        op = graph.create_op("SoftmaxCrossEntropyWithLogits", [logits, labels], {"T": logits.dtype.base_dtype},
                             name=scope)
        return op.outputs[0]


softmax_cross_entropy_with_logits_v2 = softmax_cross_entropy_with_logits


@op_registry.shape_fn("SoftmaxCrossEntropyWithLogits")
def _xent_shape(op):
    logits, labels = op.inputs
    shape = shape_fns.broadcast_shapes(logits.shape, labels.shape, op)
    if shape.ndims is not None and shape.ndims != 2:
        raise ValueError(f"logits and labels must be 2-D for '{op.name}', got {logits.shape} and {labels.shape}")
    batch = shape[0] if shape.ndims else None
    return [(logits.dtype.base_dtype, TensorShape([batch])), (logits.dtype.base_dtype, TensorShape([batch, shape[1]
                                                                                                 if shape.ndims
                                                                                                 else None]))]


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Per-example cross-entropy of softmax(logits) against integer class `labels`."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sparse_softmax_cross_entropy_with_logits` with named arguments")
    graph = _graph_of([labels, logits])
    with graph.as_default(), graph.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        if not labels.dtype.is_integer:
            raise ValueError(f"labels must be int32 or int64, got {labels.dtype.name}")
        op = graph.create_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels],
                             {"T": logits.dtype.base_dtype, "Tlabels": labels.dtype.base_dtype}, name=scope)
        return op.outputs[0]


@op_registry.shape_fn("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_shape(op):
    logits, labels = op.inputs
    if logits.shape.ndims not in (None, 2):
        raise ValueError(f"logits must be 2-D for '{op.name}', got {logits.shape}")
    if labels.shape.ndims not in (None, 1):
        raise ValueError(f"labels must be 1-D for '{op.name}', got {labels.shape}")
    return [(logits.dtype.base_dtype, TensorShape([logits.shape[0] if logits.shape.ndims else None])),
            (logits.dtype.base_dtype, logits.shape)]


def bias_add(value, bias, data_format=None, name=None):
    """value + bias along the channel axis: the last one, or axis 1 with data_format "NCHW" (rank > 2)."""
    data_format = (data_format or "NHWC").encode() if isinstance(data_format or "", str) else data_format
    if data_format not in (b"NHWC", b"NCHW"):
        raise ValueError(f"data_format must be NHWC or NCHW, got {data_format!r}")
    return make_output("BiasAdd", [value, bias], {"data_format": data_format}, name=name or "BiasAdd",
                       arg_names=["value", "bias"])


op_registry.register("BiasAdd", lambda op: [(op.inputs[0].dtype.base_dtype, op.inputs[0].shape)])


def l2_loss(t, name=None):
    return make_output("L2Loss", [t], name=name or "L2Loss", arg_names=["t"])


op_registry.register("L2Loss", lambda op: [(op.inputs[0].dtype.base_dtype, TensorShape([]))])


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    from tfmini.ops import random_ops
    graph = _graph_of([x])
    with graph.as_default(), graph.name_scope(name or "dropout") as scope:
        x = convert_to_tensor(x, name="x")
        keep = convert_to_tensor(1 - rate if keep_prob is None else keep_prob, dtype=x.dtype, name="keep_prob")
        shape = array_ops.shape(x) if noise_shape is None else noise_shape
        random = math_ops.add(keep, random_ops.random_uniform(shape, seed=seed, dtype=x.dtype))
        binary = math_ops.floor(random)
        return math_ops.multiply(math_ops.truediv(x, keep), binary, name=scope)


def in_top_k(predictions, targets, k, name=None):
    return make_output("InTopK", [predictions, targets], {"k": int(k), "T": convert_to_tensor(targets).dtype},
                       name=name or "InTopK", same_dtype=False, arg_names=["predictions", "targets"])


op_registry.register("InTopK", lambda op: [(dtypes.bool, op.inputs[1].shape)])
