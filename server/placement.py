"""Placement: every node gets one full device name.

Nodes that must live together (a variable and its Assign/read via `_class:
loc:@...`, and ops writing through a ref input) form one colocation group.
Each group's device specs are merged, then completed against the cluster's
devices, preferring the master's own task for anything left open.
"""
from tfmini import errors, op_registry
from tfmini.device import DeviceSpec
from tfmini.server.prune import input_source


class _UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:  # path compression
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _matches(spec, device):
    return all(getattr(spec, f) is None or getattr(spec, f) == getattr(device, f) for f in DeviceSpec.__slots__)


def _colocation_groups(nodes, names):
    uf = _UnionFind()
    for name in names:
        node = nodes[name]
        if "_class" in node.attr:
            for s in node.attr["_class"].list.s:
                if s.startswith(b"loc:@"):
                    other = s[5:].decode()
                    if other in names:
                        uf.union(other, name)
        if op_registry.is_registered(node.op):
            for pos in op_registry.lookup(node.op).ref_inputs:
                data_inputs = [i for i in node.input if not i.startswith("^")]
                if pos < len(data_inputs):
                    src = input_source(data_inputs[pos])[0]
                    if src in names:
                        uf.union(src, name)
    groups = {}
    for name in names:
        groups.setdefault(uf.find(name), []).append(name)
    return groups.values()


def place(nodes, names, devices, default_device, allow_soft_placement=False):
    """Maps each of `names` to a device from `devices` (full names), or raises InvalidArgumentError."""
    parsed = [DeviceSpec.from_string(d) for d in devices]
    default = DeviceSpec.from_string(default_device)
    placed = {}
    for members in _colocation_groups(nodes, set(names)):
        spec, origin = DeviceSpec(), {}
        for name in sorted(members):
            try:
                requested = DeviceSpec.from_string(nodes[name].device)
            except ValueError as e:
                raise errors.InvalidArgumentError(None, None, f"Malformed device specification "
                                                              f"'{nodes[name].device}' in node '{name}': {e}") from None
            for field in DeviceSpec.__slots__:
                value = getattr(requested, field)
                if value is None:
                    continue
                current = getattr(spec, field)
                if current is not None and current != value:
                    raise errors.InvalidArgumentError(
                        None, None, f"Cannot colocate nodes '{origin[field]}' and '{name}': they ask for "
                                    f"different devices ({nodes[origin[field]].device} vs {nodes[name].device})")
                setattr(spec, field, value)
                origin[field] = name
        device = _choose(spec, parsed, default, allow_soft_placement)
        if device is None:
            first = sorted(members)[0]
            raise errors.InvalidArgumentError(
                None, None, f"Cannot assign a device for operation {first}: Operation was explicitly assigned to "
                            f"{spec.to_string()} but available devices are [ {', '.join(devices)} ]. Make sure "
                            f"the device specification refers to a valid device.")
        for name in members:
            placed[name] = device
    return placed


def _choose(spec, devices, default, allow_soft_placement):
    candidates = [d for d in devices if _matches(spec, d)]
    if not candidates and allow_soft_placement and spec.device_type is not None:
        relaxed = spec.copy()
        relaxed.device_type = relaxed.device_index = None
        candidates = [d for d in devices if _matches(relaxed, d)]
    if not candidates:
        return None
    # Prefer the master's own task, then CPU:0, for fields the graph left open.
    def rank(d):
        return (d.task_name != default.task_name, d.device_type != default.device_type,
                d.device_index or 0, d.to_string())
    return min(candidates, key=rank).to_string()
