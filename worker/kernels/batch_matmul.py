"""BatchMatMul and BatchMatMulV2: one xp.matmul over the batch (V2 broadcasts the batch dimensions)."""
from tfmini.core import errors
from tfmini.core.broadcast import IncompatibleShapes, broadcast_shape
from tfmini.worker.kernels import ANY_DEVICE, kernel


def _dims(a):
    return "[" + ",".join(str(d) for d in a.shape) + "]"


@kernel("BatchMatMul", "BatchMatMulV2", device_types=ANY_DEVICE)
def _batch_matmul(node):
    adj_x, adj_y, xp = node.attrs.get("adj_x", False), node.attrs.get("adj_y", False), node.xp
    broadcasts = node.op == "BatchMatMulV2"

    def fn(x, y):
        x, y = xp.asarray(x), xp.asarray(y)
        if x.ndim < 2 or y.ndim < 2:
            raise errors.InvalidArgumentError(None, None, f"In[{0 if x.ndim < 2 else 1}] ndims must be >= 2: "
                                                          f"{x.ndim if x.ndim < 2 else y.ndim}")
        if not broadcasts and x.shape[:-2] != y.shape[:-2]:
            raise errors.InvalidArgumentError(None, None, f"In[0] and In[1] must have compatible batch "
                                                          f"dimensions: {_dims(x)} vs. {_dims(y)}")
        try:
            broadcast_shape(list(x.shape[:-2]), list(y.shape[:-2]))
        except IncompatibleShapes:
            raise errors.InvalidArgumentError(None, None, f"In[0] and In[1] must have compatible batch "
                                                          f"dimensions: {_dims(x)} vs. {_dims(y)}") from None
        a = xp.conj(xp.swapaxes(x, -1, -2)) if adj_x else x
        b = xp.conj(xp.swapaxes(y, -1, -2)) if adj_y else y
        if a.shape[-1] != b.shape[-2]:
            raise errors.InvalidArgumentError(None, None, f"Matrix size-incompatible: In[0]: {_dims(x)}, "
                                                          f"In[1]: {_dims(y)}")
        return xp.matmul(a, b)
    return fn
