"""Turns a registered partition into a ready-to-run plan, and runs it.

At registration the nodes are checked (unknown ops, dangling inputs, cycles,
duplicate names), put in a topological order, and each gets its kernel's
compute function and the slots of its inputs and outputs. A step is then one
pass over that list: no name lookups, no attr decoding, no graph walking.
"""
import numpy as np

from tfmini import attrs as attr_lib
from tfmini import errors
from tfmini.worker import kernels

_RECV_OPS = frozenset(("_Recv", "_HostRecv"))


class KernelNode:
    """What a kernel factory sees of its node."""

    __slots__ = ("name", "op", "attrs", "device", "xp", "env")

    def __init__(self, node_def, xp, env):
        self.name, self.op, self.device = node_def.name, node_def.op, node_def.device
        self.attrs = attr_lib.attr_dict(node_def)
        self.xp, self.env = xp, env


def _parse_input(name):
    if name.startswith("^"):
        return name[1:], -1
    node, _, index = name.partition(":")
    return node, int(index) if index else 0


def _invalid(message):
    return errors.InvalidArgumentError(None, None, message)


def _topological_order(nodes):
    """Kahn's order over data and control edges; receives wait until nothing else is ready,
    so a partition sends what it can before it blocks on a peer."""
    index = {n.name: i for i, n in enumerate(nodes)}
    pending = [0] * len(nodes)
    consumers = [[] for _ in nodes]
    for i, n in enumerate(nodes):
        for inp in n.input:
            src, _ = _parse_input(inp)
            if src not in index:
                raise _invalid(f"Node '{n.name}': unknown input node '{inp}'")
            pending[i] += 1
            consumers[index[src]].append(i)
    ready = [i for i in range(len(nodes)) if not pending[i] and nodes[i].op not in _RECV_OPS]
    recvs = [i for i in range(len(nodes)) if not pending[i] and nodes[i].op in _RECV_OPS]
    ready.reverse()
    order = []
    while ready or recvs:
        i = ready.pop() if ready else recvs.pop(0)
        order.append(i)
        for c in consumers[i]:
            pending[c] -= 1
            if not pending[c]:
                (recvs if nodes[c].op in _RECV_OPS else ready).append(c)
    if len(order) != len(nodes):
        stuck = sorted(nodes[i].name for i in range(len(nodes)) if pending[i])
        raise _invalid(f"Graph has a cycle (nodes involved include: {', '.join(stuck[:5])})")
    return [nodes[i] for i in order]


def _deref(fn, positions):
    def read_refs_first(*args):
        args = list(args)
        for p in positions:
            args[p] = args[p].read()
        return fn(*args)
    return read_refs_first


class ExecutionPlan:
    """A compiled partition: `run(step)` executes it; `outputs` name what it can hand back."""

    def __init__(self, graph_def, env, xp=np):
        names = set()
        for n in graph_def.node:
            if not n.name or not n.op:
                raise _invalid(f"Node with empty name or op: {n}")
            if n.name in names:
                raise _invalid(f"Duplicate node name in graph: '{n.name}'")
            names.add(n.name)
        ordered = _topological_order(list(graph_def.node))
        slot_of, produces_ref = {}, {}
        steps, step_names = [], []
        n_slots = 0
        for n in ordered:
            k = kernels.lookup(n.op, n.name)
            node = KernelNode(n, xp, env)
            try:
                fn = k.factory(node)
            except errors.OpError as e:
                raise type(e)(None, None, f"{e.message} (node '{n.name}')") from None
            except (KeyError, ValueError, TypeError) as e:
                raise _invalid(f"Cannot build kernel for node '{n.name}' ({n.op}): {e!r}") from None
            ins, deref = [], []
            for pos, inp in enumerate(i for i in n.input if not i.startswith("^")):
                src, idx = _parse_input(inp)
                if (src, idx) not in slot_of:
                    raise _invalid(f"Node '{n.name}': input '{inp}' names output {idx} of '{src}', which does not "
                                   f"exist")
                ins.append(slot_of[src, idx])
                if produces_ref[src] and pos not in k.ref_inputs:
                    deref.append(pos)
                elif pos in k.ref_inputs and not produces_ref[src]:
                    raise _invalid(f"Input {pos} of node '{n.name}' ({n.op}) must be a variable reference, but "
                                   f"'{inp}' is a value")
            if deref:
                fn = _deref(fn, deref)
            nout = k.num_outputs(node.attrs) if callable(k.num_outputs) else k.num_outputs
            for j in range(nout):
                slot_of[n.name, j] = n_slots + j
            produces_ref[n.name] = k.produces_ref
            steps.append((fn, tuple(ins), n_slots, nout))
            step_names.append(n.name)
            n_slots += nout
        self._steps, self._names, self._n_slots = steps, step_names, n_slots
        self.node_count = len(steps)
        # Only client feeds and fetches cross this partition's border: its step needs no shared rendezvous.
        self.local_only = all(n.attr["client_terminated"].b for n in graph_def.node
                              if n.op in ("_Send", "_Recv", "_HostSend", "_HostRecv"))

    def run(self):
        vals = [None] * self._n_slots
        entry = None
        try:
            for entry in self._steps:
                fn, ins, out, nout = entry
                if nout == 1:
                    vals[out] = fn(*[vals[i] for i in ins])
                elif nout == 0:
                    fn(*[vals[i] for i in ins])
                else:
                    vals[out:out + nout] = fn(*[vals[i] for i in ins])
        except errors.OpError as e:
            name = self._names[self._steps.index(entry)]
            raise type(e)(None, None, f"{e.message}\n\t [[{{{{node {name}}}}}]]") from None
        except (ValueError, TypeError, IndexError, ArithmeticError, np.exceptions.AxisError) as e:
            name = self._names[self._steps.index(entry)]
            raise _invalid(f"{e}\n\t [[{{{{node {name}}}}}]]") from None
        except Exception as e:  # noqa: BLE001 - a kernel bug must not take the worker down
            name = self._names[self._steps.index(entry)]
            raise errors.InternalError(None, None, f"{type(e).__name__}: {e}\n\t [[{{{{node {name}}}}}]]") from None
