"""The kernel registry: op type -> factory(node) -> compute function.

A factory runs once, when a partition is registered, with the node's attrs
already decoded and `node.xp` the array module of its device (numpy on CPU,
CuPy on GPU). The compute function it returns runs every step, on input
arrays only, so attrs are never looked up in the hot loop. A kernel registered with `takes_step=True` (sends,
receives, the waits of queues and accumulators) gets the running step (worker/worker.py Step) as its first
argument: what it waits for and where it sends come from the step it is given, not from the thread it runs in.
"""
from tfmini.core import errors, op_registry


CPU_ONLY = ("CPU",)
ANY_DEVICE = ("CPU", "GPU")


class Kernel:
    __slots__ = ("factory", "num_outputs", "ref_inputs", "produces_ref", "device_types", "takes_step")

    def __init__(self, factory, num_outputs, ref_inputs, produces_ref, device_types, takes_step=False):
        self.factory, self.num_outputs = factory, num_outputs
        self.ref_inputs, self.produces_ref = tuple(ref_inputs), produces_ref
        self.device_types = tuple(device_types)
        self.takes_step = takes_step


_KERNELS = {}


def kernel(*op_types, num_outputs=1, ref_inputs=(), produces_ref=False, device_types=CPU_ONLY, takes_step=False):
    """Registers `factory(node)` for op types. `num_outputs` may be an int or a function of the attrs.

    `device_types` says where the factory's code runs: ANY_DEVICE when it only uses `node.xp`
    (so CuPy works too), CPU_ONLY when it needs numpy or the host; the placer keeps such ops on a CPU.
    """
    def wrap(factory):
        for op_type in op_types:
            _register(op_type, Kernel(factory, num_outputs, ref_inputs, produces_ref, device_types, takes_step))
        return factory
    return wrap


def simple(op_type, make):
    """Registers an op whose compute function depends only on the array module: `make(xp) -> fn`."""
    _register(op_type, Kernel(lambda node: make(node.xp), 1, (), False, ANY_DEVICE))


def _register(op_type, k):
    op_def = op_registry.defined(op_type, "a kernel")
    if op_type in _KERNELS:
        raise KeyError(f"Registering two kernels for op type '{op_type}'")
    if not set(k.ref_inputs) <= set(op_def.ref_inputs):
        raise KeyError(f"The kernel of '{op_type}' takes refs at {k.ref_inputs}, its definition at {op_def.ref_inputs}")
    _KERNELS[op_type] = k


def device_types(op_type):
    """The device types with a kernel for `op_type` (empty if none)."""
    k = _KERNELS.get(op_type)
    return k.device_types if k is not None else ()


def lookup(op_type, node_name):
    k = _KERNELS.get(op_type)
    if k is None:
        raise errors.NotFoundError(None, None, f"No kernel registered for op '{op_type}' (node '{node_name}'); "
                                               f"this op type is not supported by tfmini")
    return k


def registered():
    return sorted(_KERNELS)


def _load():
    from tfmini.worker.kernels import array, math, nn, random, sendrecv, state  # noqa: F401
    from tfmini.worker.kernels import resource  # noqa: F401
    from tfmini.worker.kernels import summary  # noqa: F401
    from tfmini.worker.kernels import grad, training  # noqa: F401
    from tfmini.worker.kernels import batch_matmul  # noqa: F401
    from tfmini.worker.kernels import conv  # noqa: F401
    from tfmini.worker.kernels import array_utils, logging  # noqa: F401
    from tfmini.worker.kernels import training_more  # noqa: F401
    from tfmini.worker.kernels import linalg, nn_more  # noqa: F401
    from tfmini.worker.kernels import embedding, sampling  # noqa: F401
    from tfmini.worker.kernels import parsing  # noqa: F401
    from tfmini.worker.kernels import queues, readers, strings  # noqa: F401
    from tfmini.worker.kernels import checkpoint  # noqa: F401  (Saver: SaveV2, RestoreV2, ...)
    from tfmini.worker.kernels import accumulators  # noqa: F401  (SyncReplicasOptimizer)
    from tfmini.worker.kernels import data, data_functions  # noqa: F401
    from tfmini.worker.kernels import control_flow, stacks  # noqa: F401
    from tfmini.worker.kernels import sequence, tensor_array  # noqa: F401  (TensorArray, RNNs)


_load()
