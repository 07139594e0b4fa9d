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
    """What a kernel factory sees of its node. Fields are read off the NodeDef on first use
    (most kernels look at none of them, and proto field reads are slow)."""

    __slots__ = ("xp", "env", "_node_def", "_attrs")

    def __init__(self, node_def, xp, env):
        self.xp, self.env = xp, env
        self._node_def, self._attrs = node_def, None

    name = property(lambda self: self._node_def.name)
    op = property(lambda self: self._node_def.op)
    device = property(lambda self: self._node_def.device)

    @property
    def attrs(self):
        if self._attrs is None:
            self._attrs = attr_lib.attr_dict(self._node_def)
        return self._attrs


def _parse_input(name):
    if name[0] == "^":
        return name[1:], -1
    node, _, index = name.partition(":")
    return node, int(index) if index else 0


def _invalid(message):
    return errors.InvalidArgumentError(None, None, message)


def _topological_order(nodes, inputs):
    """Kahn's order over data and control edges (`inputs[i]` are node i's parsed inputs); receives wait
    until nothing else is ready, so a partition sends what it can before it blocks on a peer."""
    index = {n.name: i for i, n in enumerate(nodes)}
    pending = [len(ins) for ins in inputs]
    consumers = [[] for _ in nodes]
    for i, ins in enumerate(inputs):
        for src, idx in ins:
            j = index.get(src)
            if j is None:
                raise _invalid(f"Node '{nodes[i].name}': unknown input node '{src if idx <= 0 else f'{src}:{idx}'}'")
            consumers[j].append(i)
    is_recv = [n.op in _RECV_OPS for n in nodes]
    ready = [i for i in range(len(nodes)) if not pending[i] and not is_recv[i]]
    recvs = [i for i in range(len(nodes)) if not pending[i] and is_recv[i]]
    ready.reverse()
    order = []
    while ready or recvs:
        i = ready.pop() if ready else recvs.pop(0)
        order.append(i)
        for c in consumers[i]:
            pending[c] -= 1
            if not pending[c]:
                (recvs if is_recv[c] else ready).append(c)
    if len(order) != len(nodes):
        stuck = sorted(nodes[i].name for i in range(len(nodes)) if pending[i])
        raise _invalid(f"Graph has a cycle (nodes involved include: {', '.join(stuck[:5])})")
    return order


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
        nodes = list(graph_def.node)
        names, ops = [n.name for n in nodes], [n.op for n in nodes]  # read each proto field once
        if len(set(names)) != len(names) or not all(names) or not all(ops):
            seen = set()
            for n in nodes:
                if not n.name or not n.op:
                    raise _invalid(f"Node with empty name or op: {n}")
                if n.name in seen:
                    raise _invalid(f"Duplicate node name in graph: '{n.name}'")
                seen.add(n.name)
        inputs = [[_parse_input(i) for i in n.input] for n in nodes]
        slot_of, produces_ref = {}, {}
        steps, step_names = [], []
        n_slots = 0
        for i in _topological_order(nodes, inputs):
            name, op = names[i], ops[i]
            k = kernels.lookup(op, name)
            node = KernelNode(nodes[i], xp, env)
            try:
                fn = k.factory(node)
            except errors.OpError as e:
                raise type(e)(None, None, f"{e.message} (node '{name}')") from None
            except (KeyError, ValueError, TypeError) as e:
                raise _invalid(f"Cannot build kernel for node '{name}' ({op}): {e!r}") from None
            ins, deref = [], []
            for pos, (src, idx) in enumerate(e for e in inputs[i] if e[1] >= 0):
                slot = slot_of.get((src, idx))
                if slot is None:
                    raise _invalid(f"Node '{name}': input '{src}:{idx}' names output {idx} of '{src}', which "
                                   f"does not exist")
                ins.append(slot)
                if produces_ref[src] and pos not in k.ref_inputs:
                    deref.append(pos)
                elif pos in k.ref_inputs and not produces_ref[src]:
                    raise _invalid(f"Input {pos} of node '{name}' ({op}) must be a variable reference, but "
                                   f"'{src}:{idx}' is a value")
            if deref:
                fn = _deref(fn, deref)
            nout = k.num_outputs(node.attrs) if callable(k.num_outputs) else k.num_outputs
            for j in range(nout):
                slot_of[name, j] = n_slots + j
            produces_ref[name] = k.produces_ref
            steps.append((fn, tuple(ins), n_slots, nout))
            step_names.append(name)
            n_slots += nout
        self._steps, self._names, self._n_slots = steps, step_names, n_slots
        self.node_count = len(steps)
        # Only client feeds and fetches cross this partition's border: its step needs no shared rendezvous.
        self.local_only = all(n.attr["client_terminated"].b for n, op in zip(nodes, ops)
                              if op in ("_Send", "_Recv", "_HostSend", "_HostRecv"))

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
