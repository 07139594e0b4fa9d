"""Resource variables: a handle is the VariableRef itself, passed as a value inside one task."""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel


@kernel("VarHandleOp", device_types=ANY_DEVICE)
def _var_handle(node):
    ref = node.env.resources.variable(node.attrs.get("container", b"").decode(),
                                      node.attrs.get("shared_name", b"").decode() or node.name,
                                      node.attrs["dtype"], node.attrs.get("shape"))
    return lambda: ref


@kernel("ReadVariableOp", device_types=ANY_DEVICE)
def _read(node):
    return lambda ref: ref.read()


@kernel("VarIsInitializedOp")
def _is_initialized(node):
    return lambda ref: np.array(ref.value is not None)


@kernel("AssignVariableOp", num_outputs=0, device_types=ANY_DEVICE)
def _assign(node):
    def fn(ref, value):
        value = np.asarray(value)
        if ref.value is not None and ref.value.shape != value.shape and node.attrs.get("validate_shape", False):
            raise errors.InvalidArgumentError(None, None, f"Trying to assign shape {list(value.shape)} to variable "
                                                          f"of shape {list(ref.value.shape)}")
        ref.value = value.copy() if not value.flags.writeable else value
    return fn


def _update(op):
    def factory(node):
        def fn(ref, value):
            current = ref.read()
            ref.value = op(current, value).astype(current.dtype, copy=False)
        return fn
    return factory


kernel("AssignAddVariableOp", num_outputs=0, device_types=ANY_DEVICE)(_update(lambda a, b: a + b))
kernel("AssignSubVariableOp", num_outputs=0, device_types=ANY_DEVICE)(_update(lambda a, b: a - b))


@kernel("DestroyResourceOp", num_outputs=0, device_types=ANY_DEVICE)
def _destroy(node):
    def fn(ref):
        ref.value = None
    return fn
