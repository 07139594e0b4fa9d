"""The devices of one task, found at start: CPU:n (numpy) and, where CuPy sees CUDA devices, GPU:n (CuPy).

Each device hands its kernels an array module (`xp`), so a kernel is written
once. Moving an array between device types (`to_device`) is the one place a
host<->device copy happens, and it is counted.
"""
import collections
import threading

import numpy as np

from tfmini.core.device import DeviceSpec
from tfmini.protos import device_attributes_pb2

_HOST_MEMORY = 1 << 31


def _cupy():
    """CuPy if it is installed and sees a CUDA device, else None (never imported on other hosts)."""
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # noqa: BLE001 - no CuPy, no driver, or no device: all mean "no GPU here"
        return None


class LocalDevice:
    """One device of this task: its full name, type, index, array module and DeviceAttributes."""

    def __init__(self, task_name, device_type, index, xp, memory, description, incarnation):
        spec = DeviceSpec.from_string(task_name)
        spec.device_type, spec.device_index = device_type, index
        self.name, self.device_type, self.index, self.xp = spec.to_string(), device_type, index, xp
        self.attributes = device_attributes_pb2.DeviceAttributes(
            name=self.name, device_type=device_type, memory_limit=memory, incarnation=incarnation,
            physical_device_desc=description)


class CopyCounter:
    """Arrays received from another device, by (source device type, destination device type):
    ("CPU", "GPU") and ("GPU", "CPU") are the host<->device copies."""

    def __init__(self):
        self._lock = threading.Lock()
        self.counts = collections.Counter()

    def add(self, src, dst):
        with self._lock:
            self.counts[src, dst] += 1


def discover(task_name, incarnation, device_count=None):
    """The devices of this task: `device_count` (ConfigProto's map, e.g. {"CPU": 2, "GPU": 0}) can limit or
    multiply them, as in TensorFlow."""
    device_count = dict(device_count or {})
    devices = [LocalDevice(task_name, "CPU", i, np, _HOST_MEMORY, "numpy", incarnation + i)
               for i in range(max(1, device_count.get("CPU", 1)))]
    cupy = _cupy() if device_count.get("GPU", 1) > 0 else None
    if cupy is not None:
        n = min(cupy.cuda.runtime.getDeviceCount(), device_count.get("GPU", 1 << 30))
        for i in range(n):
            with cupy.cuda.Device(i):
                _, total = cupy.cuda.runtime.memGetInfo()
                props = cupy.cuda.runtime.getDeviceProperties(i)
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            devices.append(LocalDevice(task_name, "GPU", i, cupy, total, f"device: {i}, name: {name}",
                                       incarnation + 1000 + i))
    return devices


def to_device(value, device, counter, source_device):
    """`value`, received from `source_device`, as an array of `device`'s module; counted in `counter`."""
    counter.add(DeviceSpec.from_string(source_device).device_type or "CPU", device.device_type)
    on_gpu = type(value).__module__.startswith("cupy")
    if device.device_type == "GPU" and not on_gpu and value.dtype != np.int32:  # int32 stays on the host, as TF
        return device.xp.asarray(value)
    if device.device_type != "GPU" and on_gpu:
        return value.get()
    return value


def to_host(value):
    """`value` as a host (numpy) array: what leaves the task, to a client or a peer, lives in host memory."""
    return value.get() if type(value).__module__.startswith("cupy") else value
