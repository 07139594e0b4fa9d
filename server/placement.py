"""Placement: every node gets one full device name.

Nodes that must live together (a variable and its Assign/read via `_class:
loc:@...`, and ops writing through a ref input) form one colocation group.
Each group's device specs are merged, then completed against the cluster's
devices, preferring the master's own task for anything left open.
"""
import logging

from tfmini.core import errors, op_registry
from tfmini.core.device import DeviceSpec
from tfmini.core.names import input_source

log = logging.getLogger("tfmini.master")


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


def place(nodes, names, devices, default_device, allow_soft_placement=False, kernel_devices=None):
    """Maps each of `names` to a device from `devices` (full names), or raises InvalidArgumentError.

    `kernel_devices(op_type)` gives the device types that have a kernel for the op (all, if not given):
    a group goes only where every member can run, so an op without a GPU kernel stays on a CPU.
    """
    parsed = [DeviceSpec.from_string(d) for d in devices]
    default = DeviceSpec.from_string(default_device)
    placed, chosen, requests = {}, {}, {}  # most nodes share a few device strings: parse and choose once each
    for members in _colocation_groups(nodes, set(names)):
        spec, origin = DeviceSpec(), {}
        for name in sorted(members) if len(members) > 1 else members:
            try:
                device_str = nodes[name].device
                requested = requests.get(device_str)
                if requested is None:
                    requested = requests[device_str] = DeviceSpec.from_string(device_str)
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
        supported = _supported(nodes, members, kernel_devices)
        key = (spec.to_string(), supported)
        if key not in chosen:
            chosen[key] = _choose(spec, parsed, default, allow_soft_placement, supported)
        device, soft = chosen[key]
        if device is None:
            first = sorted(members)[0]
            if any(_matches(spec, d) for d in parsed):
                raise errors.InvalidArgumentError(
                    None, None, f"Cannot assign a device for operation {first}: Could not satisfy explicit device "
                                f"specification '{spec.to_string()}' because no supported kernel for "
                                f"{spec.device_type} devices is available ({nodes[first].op} runs on "
                                f"{', '.join(sorted(supported)) or 'no device'}).")
            raise errors.InvalidArgumentError(
                None, None, f"Cannot assign a device for operation {first}: Operation was explicitly assigned to "
                            f"{spec.to_string()} but available devices are [ {', '.join(devices)} ]. Make sure "
                            f"the device specification refers to a valid device.")
        if soft:
            log.info("Soft placement: %s asked for %s, placed on %s", ", ".join(sorted(members)),
                     spec.to_string(), device)
        for name in members:
            placed[name] = device
    return placed


def _supported(nodes, members, kernel_devices):
    types = None
    for name in members:
        here = set(kernel_devices(nodes[name].op)) if kernel_devices else {"CPU", "GPU"}
        types = here if types is None else types & here
    return frozenset(types or ())


def _choose(spec, devices, default, allow_soft_placement, supported):
    """(device name, whether soft placement moved it), or (None, False) if nothing fits."""
    candidates = [d for d in devices if _matches(spec, d) and d.device_type in supported]
    soft = False
    if not candidates and allow_soft_placement and spec.device_type is not None:
        relaxed = spec.copy()
        relaxed.device_type = relaxed.device_index = None
        candidates = [d for d in devices if _matches(relaxed, d) and d.device_type in supported]
        soft = bool(candidates)
    if not candidates:
        return None, False
    # For fields the graph left open: the master's own task, then a GPU where one can run it (as TF), then CPU:0.
    preferred = "GPU" if any(d.device_type == "GPU" for d in candidates) else default.device_type

    def rank(d):
        return (d.task_name != default.task_name, d.device_type != preferred, d.device_index or 0, d.to_string())
    return min(candidates, key=rank).to_string(), soft
