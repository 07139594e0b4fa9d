"""Variables (ref-typed outputs backed by the worker's resource store) and the ops that write them."""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel


@kernel("VariableV2", "Variable", produces_ref=True, device_types=ANY_DEVICE)
def _variable(node):
    ref = node.env.resources.variable(node.attrs.get("container", b"").decode(),
                                      node.attrs.get("shared_name", b"").decode() or node.name,
                                      node.attrs["dtype"], node.attrs.get("shape"))
    return lambda: ref


@kernel("Assign", ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)
def _assign(node):
    validate = node.attrs.get("validate_shape", True)

    def fn(ref, value):
        if node.xp is np and not isinstance(value, (np.ndarray, np.generic)):
            value = np.asarray(value)
        if validate and ref.value is not None and ref.value.shape != value.shape:
            raise errors.InvalidArgumentError(None, None, f"Assign requires shapes of both tensors to match. "
                                                          f"lhs shape= {list(ref.value.shape)} rhs shape= "
                                                          f"{list(value.shape)}")
        ref.value = value.copy() if isinstance(value, np.ndarray) and not value.flags.writeable else value
        return ref
    return fn


def _update(op):
    def factory(node):
        def fn(ref, value):
            current = ref.read()
            if current.shape != np.shape(value):
                raise errors.InvalidArgumentError(None, None, f"{node.op} requires shapes of both tensors to match."
                                                              f" lhs shape= {list(current.shape)} rhs shape= "
                                                              f"{list(np.shape(value))}")
            ref.value = op(current, value).astype(current.dtype, copy=False)
            return ref
        return fn
    return factory


kernel("AssignAdd", ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)(_update(lambda a, b: a + b))
kernel("AssignSub", ref_inputs=(0,), produces_ref=True, device_types=ANY_DEVICE)(_update(lambda a, b: a - b))


@kernel("IsVariableInitialized", ref_inputs=(0,))
def _is_initialized(node):
    return lambda ref: np.array(ref.value is not None)


@kernel("CountUpTo", ref_inputs=(0,))
def _count_up_to(node):
    limit = node.attrs["limit"]

    def fn(ref):
        before = ref.read()
        if before >= limit:
            raise errors.OutOfRangeError(None, None, f"Reached limit of {limit}")
        ref.value = before + 1
        return before
    return fn


@kernel("NoOp", num_outputs=0, device_types=ANY_DEVICE)
def _no_op(node):
    return lambda: None
