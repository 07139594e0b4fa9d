"""A bound on the memory of the whole process, whatever allocates it (issue 16, per-step memory).

core/memory_limits.py bounds each allocation; a step of many allocations under that bound (a tf.stack of 40
fills, a while loop that grows a TensorArray) could still take the process past any size. With a limit set
(`tfmini-server --max-memory-bytes`, `tf.train.Server(limits={"max_memory_bytes": ...})`):

- a watchdog thread reads the process's resident size (/proc/self/statm) every `POLL_S` and sets `OVER[0]`
  while it is past the limit;
- the executors look at `OVER[0]` before each kernel (one list read: the whole per-kernel cost) and, when it
  is set, call `check()`, which measures again (after handing freed heap pages back to the system) and fails
  the step with ResourceExhaustedError naming the limit. Every step in flight fails at its next kernel, and
  its values are dropped with it, so the next step runs;
- `check_alloc` (called by memory_limits.check_alloc, i.e. Fill, Tile, Range, random ops, ...) refuses an
  allocation that would take the process past the limit, before it is made.

So the process stays under the limit plus what the kernels running when it is passed allocate. For `TRIM_S` after
a step failed so, the watchdog also hands freed heap pages back every `TRIM_EVERY_S`: the failed step's values are
dropped after its error is raised, and glibc keeps what it freed (tensors under its mmap threshold, which freeing a
large tensor raises to up to 32 MiB) resident until trimmed. Without a
limit (the default, as in TF) nothing runs: no thread, and `OVER[0]` stays False.
"""
import ctypes
import os
import threading
import time

from tfmini.core import errors

POLL_S = 0.005
TRIM_S, TRIM_EVERY_S = 1.0, 0.05
OVER = [False]  # the last look found the process past its limit (read by the executors before each kernel)
_state = {"limit": None, "resident": 0, "trim_until": 0.0}
_lock = threading.Lock()
_watchdog = None


def _malloc_trim():
    """glibc's malloc_trim: freed heap pages go back to the system, so resident size falls after a step fails."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_trim = _malloc_trim()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes():
    """The process's resident set size (Linux), or None where /proc/self/statm does not exist."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return None


def configure(max_memory_bytes=None):
    """Sets the process's limit (None leaves it as it is) and starts the watchdog."""
    global _watchdog
    if max_memory_bytes is None:
        return
    if int(max_memory_bytes) <= 0:
        raise ValueError(f"max_memory_bytes must be positive, got {max_memory_bytes}")
    if resident_bytes() is None:
        raise ValueError("max_memory_bytes needs /proc/self/statm (Linux)")
    with _lock:
        _state["limit"] = int(max_memory_bytes)
        if _watchdog is None:
            _watchdog = threading.Thread(target=_watch, name="memory-watchdog", daemon=True)
            _watchdog.start()


def turn_off():
    """No limit any more (the watchdog idles)."""
    _state["limit"] = None
    OVER[0] = False


def limit():
    return _state["limit"]


def _watch():
    trimmed = 0.0
    while True:
        limit_bytes = _state["limit"]
        if limit_bytes is None:
            time.sleep(0.1)
            continue
        now = time.monotonic()
        if now < _state["trim_until"] and now - trimmed >= TRIM_EVERY_S and _trim is not None:
            _trim(0)
            trimmed = now
        resident = resident_bytes()
        _state["resident"] = resident
        OVER[0] = resident > limit_bytes
        time.sleep(POLL_S)


def _measure(limit_bytes, wanted=0):
    """Resident bytes now; when that plus `wanted` is past the limit, after giving freed pages back first."""
    resident = resident_bytes()
    if resident + wanted > limit_bytes and _trim is not None:
        _trim(0)
        resident = resident_bytes()
    _state["resident"] = resident
    OVER[0] = resident > limit_bytes
    return resident


def check():
    """Raises ResourceExhaustedError if the process is past its limit (the executors call it when OVER[0])."""
    limit_bytes = _state["limit"]
    if limit_bytes is None:
        OVER[0] = False
        return
    resident = _measure(limit_bytes)
    if resident > limit_bytes:
        _state["trim_until"] = time.monotonic() + TRIM_S
        raise errors.ResourceExhaustedError(
            None, None, f"OOM when running the step: the process holds {resident} bytes, over its limit of "
                        f"{limit_bytes} bytes (--max-memory-bytes)")


def check_alloc(nbytes, what):
    """Raises ResourceExhaustedError if allocating `nbytes` (for `what`: "tensor with shape[..] ...") would take
    the process past its limit."""
    limit_bytes = _state["limit"]
    if limit_bytes is None or _state["resident"] + nbytes <= limit_bytes:
        return
    resident = _measure(limit_bytes, nbytes)
    if resident + nbytes > limit_bytes:
        _state["trim_until"] = time.monotonic() + TRIM_S
        raise errors.ResourceExhaustedError(
            None, None, f"OOM when allocating {what}: {nbytes} bytes more would take the process "
                        f"from {resident} bytes past its limit of {limit_bytes} bytes (--max-memory-bytes)")
