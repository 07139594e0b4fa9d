"""BiasAddGrad: the bias's gradient of BiasAdd (a sum over every axis but the channels)."""
from tfmini.worker.kernels import ANY_DEVICE, kernel


@kernel("BiasAddGrad", device_types=ANY_DEVICE)
def _bias_add_grad(node):
    nchw = node.attrs.get("data_format", b"NHWC") in (b"NCHW", "NCHW")

    def fn(grad):
        channel = 1 if nchw and grad.ndim > 2 else grad.ndim - 1
        return grad.sum(axis=tuple(a for a in range(grad.ndim) if a != channel)).astype(grad.dtype)
    return fn
