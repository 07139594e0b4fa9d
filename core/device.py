"""Device names: parse, merge and print `/job:ps/replica:0/task:0/device:CPU:0` (tf.DeviceSpec)."""


class DeviceSpec:
    """A possibly partial device name; unset fields are None."""

    __slots__ = ("job", "replica", "task", "device_type", "device_index")

    def __init__(self, job=None, replica=None, task=None, device_type=None, device_index=None):
        self.job = job
        self.replica = None if replica is None else int(replica)
        self.task = None if task is None else int(task)
        self.device_type = device_type.upper() if device_type else None
        self.device_index = None if device_index is None else int(device_index)

    @classmethod
    def from_string(cls, spec):
        out = cls()
        for part in (spec or "").split("/"):
            if not part:
                continue
            fields = part.split(":")
            key = fields[0].lower()
            if key == "job" and len(fields) == 2:
                out.job = fields[1]
            elif key == "replica" and len(fields) == 2:
                out.replica = int(fields[1])
            elif key == "task" and len(fields) == 2:
                out.task = int(fields[1])
            elif key == "device" and len(fields) in (2, 3):
                out.device_type = fields[1].upper()
                if len(fields) == 3 and fields[2] != "*":
                    out.device_index = int(fields[2])
            elif key in ("cpu", "gpu") and len(fields) == 2:  # legacy "/cpu:0"
                out.device_type = key.upper()
                if fields[1] != "*":
                    out.device_index = int(fields[1])
            elif len(fields) == 2 and fields[0].isupper() and fields[0].isalpha():  # "CPU:0"
                out.device_type = fields[0]
                out.device_index = None if fields[1] == "*" else int(fields[1])
            else:
                raise ValueError(f"Unknown attribute: '{part}' in '{spec}'")
        return out

    def merge_from(self, other):
        """Fields set in `other` override ours (TF's DeviceSpec.merge_from)."""
        for f in self.__slots__:
            value = getattr(other, f)
            if value is not None:
                setattr(self, f, value)

    def copy(self):
        return DeviceSpec(self.job, self.replica, self.task, self.device_type, self.device_index)

    @property
    def task_name(self):
        """`/job:x/replica:r/task:t`, the part that names a server process."""
        return f"/job:{self.job}/replica:{self.replica or 0}/task:{self.task or 0}"

    def to_string(self):
        out = ""
        if self.job is not None:
            out += f"/job:{self.job}"
        if self.replica is not None:
            out += f"/replica:{self.replica}"
        if self.task is not None:
            out += f"/task:{self.task}"
        if self.device_type is not None:
            out += f"/device:{self.device_type}:{'*' if self.device_index is None else self.device_index}"
        return out

    def __eq__(self, other):
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self):
        return hash(self.to_string())

    def __repr__(self):
        return f"DeviceSpec({self.to_string()!r})"


def canonical_name(device):
    if device is None:
        return ""
    if isinstance(device, DeviceSpec):
        return device.to_string()
    return DeviceSpec.from_string(device).to_string()


def merge_device(spec):
    """A device function that fills the op's unset device fields from `spec` (tf.device with a string)."""
    spec = DeviceSpec.from_string(spec) if not isinstance(spec, DeviceSpec) else spec

    def _device_function(node):
        merged = spec.copy()
        merged.merge_from(DeviceSpec.from_string(node.device))
        return merged.to_string()

    _device_function.spec = spec
    return _device_function
