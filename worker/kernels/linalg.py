"""Qr: the QR decomposition of the innermost matrices (TF's Qr op; tf.orthogonal_initializer uses it)."""
from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel


@kernel("Qr", num_outputs=2, device_types=ANY_DEVICE)
def _qr(node):
    xp = node.xp
    mode = "complete" if node.attrs.get("full_matrices", False) else "reduced"

    def fn(x):
        if x.ndim < 2:
            raise errors.InvalidArgumentError(None, None, f"input must have rank >= 2, got shape {list(x.shape)}")
        q, r = xp.linalg.qr(x, mode=mode)  # numpy >= 1.22 stacks over the leading axes
        return q.astype(x.dtype), r.astype(x.dtype)
    return fn
