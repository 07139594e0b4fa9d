"""How much memory one tensor may take, checked before it is allocated (issue 16).

Two limits, process-wide (a process hosts one server; `tfmini-server --max-tensor-bytes/--max-alloc-bytes`,
`tf.train.Server(max_tensor_bytes=, max_alloc_bytes=)` set them):

- tensor bytes: the most one TensorProto may declare when decoded (`tensor_util.make_ndarray`). A proto
  whose repeated field is shorter than its shape is filled to the shape (TF's rule), so 22 bytes on the
  wire can declare gigabytes; the default is what a unary gRPC message can carry (2 GiB).
- alloc bytes: the most one kernel may allocate from a shape it was given (Fill, Tile, Range, random
  ops, ...: `check_alloc`); the default is half of physical memory.

Past a limit the call fails with ResourceExhaustedError naming the limit, before anything is allocated.
"""
import os

from tfmini.core import errors, process_memory

INT32_MAX = 2**31 - 1


def physical_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30  # a platform without sysconf: assume a modest machine


DEFAULT_TENSOR_BYTES = INT32_MAX
DEFAULT_ALLOC_BYTES = physical_memory_bytes() // 2
_limits = {"tensor": DEFAULT_TENSOR_BYTES, "alloc": DEFAULT_ALLOC_BYTES}


def configure(max_tensor_bytes=None, max_alloc_bytes=None):
    """Sets the process's limits (None leaves one as it is); a limit must be positive."""
    for name, value in (("tensor", max_tensor_bytes), ("alloc", max_alloc_bytes)):
        if value is not None:
            if int(value) <= 0:
                raise ValueError(f"max_{name}_bytes must be positive, got {value}")
            _limits[name] = int(value)


def limits():
    """{"tensor": bytes, "alloc": bytes}: the limits in force."""
    return dict(_limits)


def _elements(shape):
    n = 1
    for d in shape:
        n *= max(int(d), 0)  # negative sizes are the caller's error to report, not an allocation
    return n


def check_decode(shape, itemsize, dtype_name="tensor"):
    """Raises ResourceExhaustedError if a decoded tensor of `shape` would pass the tensor-bytes limit."""
    nbytes = _elements(shape) * itemsize
    if nbytes > _limits["tensor"]:
        raise errors.ResourceExhaustedError(
            None, None, f"TensorProto of shape {list(shape)} and type {dtype_name} declares {nbytes} bytes, over "
                        f"the limit of {_limits['tensor']} bytes per tensor (--max-tensor-bytes)")


def check_alloc(shape, itemsize, what="tensor", dtype_name=""):
    """Raises ResourceExhaustedError (TF's "OOM when allocating tensor ...") if allocating `shape` of
    `itemsize`-byte elements would pass the per-allocation limit. Returns the element count."""
    n = _elements(shape)
    if n * itemsize > _limits["alloc"]:
        raise errors.ResourceExhaustedError(
            None, None, f"OOM when allocating tensor with shape{list(shape)} and type {dtype_name} for {what}: "
                        f"{n * itemsize} bytes is over the limit of {_limits['alloc']} bytes per allocation "
                        f"(--max-alloc-bytes)")
    process_memory.check_alloc(n * itemsize, f"tensor with shape{list(shape)} and type {dtype_name} for {what}")
    return n


def oom_error(e, where=""):
    """The ResourceExhaustedError for a MemoryError that no limit caught (the machine ran out first)."""
    return errors.ResourceExhaustedError(None, None, f"OOM when allocating tensor: {e}{where}")
