"""Softmax family and the cross-entropy losses (numerically stable forms)."""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel, simple


def _softmax(xp, x):
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def _log_softmax(xp, x):
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


simple("Softmax", lambda xp: lambda x: _softmax(xp, x))
simple("LogSoftmax", lambda xp: lambda x: _log_softmax(xp, x))


@kernel("BiasAdd", device_types=ANY_DEVICE)
def _bias_add(node):
    nchw = node.attrs.get("data_format", b"NHWC") == b"NCHW"

    def fn(x, b):
        if b.ndim != 1 or x.ndim < 2 or b.shape[0] != x.shape[1 if nchw and x.ndim > 2 else -1]:
            raise errors.InvalidArgumentError(None, None, f"Must provide as many biases as the channel dimension "
                                                          f"of the input tensor: {list(b.shape)} vs. {list(x.shape)}")
        return x + b.reshape((-1,) + (1,) * (x.ndim - 2)) if nchw and x.ndim > 2 else x + b
    return fn
simple("L2Loss", lambda xp: lambda t: (xp.sum(xp.square(t)) / 2).astype(t.dtype))


@kernel("LeakyRelu", device_types=ANY_DEVICE)
def _leaky_relu(node):
    alpha, xp = node.attrs.get("alpha", 0.2), node.xp
    return lambda x: xp.where(x > 0, x, x * x.dtype.type(alpha))


@kernel("SoftmaxCrossEntropyWithLogits", num_outputs=2, device_types=ANY_DEVICE)
def _xent(node):
    xp = node.xp

    def fn(logits, labels):
        logits, labels = xp.broadcast_arrays(logits, labels)
        if logits.ndim != 2:
            raise errors.InvalidArgumentError(None, None, f"logits and labels must be 2-dimensional, got shapes "
                                                          f"{list(logits.shape)} and {list(labels.shape)}")
        log_p = _log_softmax(xp, logits)
        loss = -xp.sum(labels * log_p, axis=-1)
        backprop = xp.exp(log_p) - labels
        return loss.astype(logits.dtype), backprop.astype(logits.dtype)
    return fn


@kernel("SparseSoftmaxCrossEntropyWithLogits", num_outputs=2, device_types=ANY_DEVICE)
def _sparse_xent(node):
    xp = node.xp

    def fn(logits, labels):
        n, k = logits.shape
        if labels.shape != (n,):
            raise errors.InvalidArgumentError(None, None, f"logits and labels must have the same first dimension, "
                                                          f"got logits shape {list(logits.shape)} and labels shape "
                                                          f"{list(labels.shape)}")
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            bad = int(labels[(labels < 0) | (labels >= k)][0])
            raise errors.InvalidArgumentError(None, None, f"Received a label value of {bad} which is outside the "
                                                          f"valid range of [0, {k}).")
        log_p = _log_softmax(xp, logits)
        rows = xp.arange(n)
        loss = -log_p[rows, labels]
        backprop = xp.exp(log_p)
        backprop[rows, labels] -= 1
        return loss.astype(logits.dtype), backprop.astype(logits.dtype)
    return fn


@kernel("InTopK")
def _in_top_k(node):
    k = node.attrs["k"]

    def fn(predictions, targets):
        target_scores = predictions[np.arange(len(targets)), targets]
        better = (predictions > target_scores[:, None]).sum(axis=1)
        return (better < k) & np.isfinite(target_scores)
    return fn
