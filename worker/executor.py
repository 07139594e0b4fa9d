"""Turns a registered partition into a ready-to-run plan, and runs it.

At registration the nodes are checked (unknown ops, dangling inputs, cycles,
duplicate names) and put in a topological order; each gets its kernel's
compute function, and nodes whose inputs are all constants are computed once,
there and then (constant folding, as TensorFlow's Grappler does). What is left
is compiled into one straight-line Python function, one line per node:

    v7 = f3(v2, c0); del v2  # v: values of this step, c: folded constants, f: kernels

so a step costs the kernels and little else: no name lookups, no attr
decoding, no graph walking. `plan.source` shows that function. Each line
starts with `o[0] and m(); `: one list read, the process memory limit's
look (core/process_memory.py), and ends by dropping the values it used last
(so a chain of big ops reuses warm memory, as numpy code does).

A partition that receives two or more tensors from peers instead runs in
dataflow order (`_run_dataflow`): it never blocks on one peer while a tensor
from another is waiting, which a fixed order could (A waits on r1, whose sender
needs what A computes from r2) - unless every receive is pushed and either no
send depends on one (everything it sends has left before it first waits) or
each comes whatever it does (its sender waits on no peer: sent first).
"""
import concurrent.futures
import contextlib
import sys

import numpy as np

from tfmini.core import attrs as attr_lib
from tfmini.core import errors, memory_limits, op_registry, op_types, process_memory
from tfmini.core.device import DeviceSpec
from tfmini.core.names import input_source
from tfmini.worker import kernels
from tfmini.worker.kernels.sendrecv import pushed_from, rendezvous_key, sent_first

_RECV_OPS = frozenset(("_Recv", "_HostRecv"))
_SEND_OPS = frozenset(("_Send", "_HostSend"))
_SENDRECV_OPS = frozenset(("_Send", "_Recv", "_HostSend", "_HostRecv"))
_FORWARD_OPS = frozenset(("Identity", "StopGradient", "PreventGradient"))  # v_out = v_in, no call
CODEGEN_LIMIT = 3000  # nodes; larger partitions are interpreted (see ExecutionPlan.__init__)
# A folded value is held as long as its graph is registered; larger ones are computed in each step instead, as
# TF's constant folding leaves constants over its max_constant_size_in_bytes (10 MiB) unfolded.
FOLD_LIMIT_BYTES = 10 << 20


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


@contextlib.contextmanager
def node_attr_errors(node):
    """Reading a node's attrs, which came from the wire: a bad one is the caller's mistake (InvalidArgumentError
    naming the node), never INTERNAL."""
    try:
        yield
    except errors.OpError as e:
        raise type(e)(None, None, f"{e.message} (node '{node.name}')") from None
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, ArithmeticError) as e:
        raise _invalid(f"Cannot build kernel for node '{node.name}' ({node.op}): {e!r}") from None


def build_kernel(k, node):
    """(compute function, number of outputs) of kernel `k` for `node` (a KernelNode), attr errors as
    node_attr_errors says."""
    with node_attr_errors(node):
        fn = k.factory(node)
        nout = k.num_outputs(node.attrs) if callable(k.num_outputs) else k.num_outputs
        if not 0 <= nout <= op_types.MAX_OUTPUTS:
            raise ValueError(f"{nout} outputs; an op has at most {op_types.MAX_OUTPUTS}")
    return fn, nout


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


def _foldable(op, node_def, k, data_inputs, control_inputs, is_constant):
    """A node computed once at registration: a Const, or a pure op fed only by constants."""
    if op == "Const":  # unless it waits for something: a cut control edge is a Const after its source
        return not control_inputs
    if not data_inputs or control_inputs or op in _SENDRECV_OPS or k.produces_ref or k.ref_inputs:
        return False
    for src, idx in data_inputs:  # the cheap test first: most nodes have a non-constant input
        if not is_constant(src, idx):
            return False
    return op_registry.is_registered(op) and not op_registry.lookup(op).stateful


class _Node:
    """One compiled node: kernel function, input slots (and which to read through a ref), output slots."""

    __slots__ = ("name", "op", "fn", "ins", "deref", "outs", "forward", "takes_step", "remote", "sent_first",
                 "peer_send", "pending", "consumers")

    def __init__(self, name, op, fn, ins, deref, outs, forward, takes_step=False):
        self.name, self.op, self.fn, self.ins, self.deref, self.outs = name, op, fn, ins, deref, outs
        self.forward, self.takes_step = forward, takes_step  # takes_step: fn(step, *inputs)
        self.remote = None          # (sending task, key, pushed) on _Recvs that take from a peer
        self.sent_first = False     # a pushed _Recv whose sender waits on no peer before it sends
        self.peer_send = False      # a _Send to another task
        self.pending, self.consumers = 0, []

    def call(self, vals, step=None):
        args = [vals[s] for s in self.ins]
        for p in self.deref:
            args[p] = args[p].read()
        if self.forward:
            return args[0]
        if self.takes_step:
            return self.fn(step, *args)
        return self.fn(*args)


class ExecutionPlan:
    """A compiled partition: `run(step)` executes one step (worker/worker.py Step: its rendezvous, deadline and
    peers; the kernels that take the step are given it)."""

    def __init__(self, graph_def, env, xp=np, devices=None):
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
        inputs = [[input_source(i) for i in n.input] for n in nodes]
        task_name = env.task_name
        slot_of, produces_ref, constants = {}, {}, {}
        compiled, n_slots, node_defs = [], 0, []
        for i in _topological_order(nodes, inputs):
            name, op = names[i], ops[i]
            k = kernels.lookup(op, name)
            device = devices.get(nodes[i].device) if devices else None
            node = KernelNode(nodes[i], device.xp if device is not None else xp, env)
            fn, nout = build_kernel(k, node)
            remote = None
            if op in _RECV_OPS and not node.attrs.get("client_terminated", False):
                with node_attr_errors(node):
                    send_task = DeviceSpec.from_string(node.attrs["send_device"].decode()).task_name
                    pushed = pushed_from(node.attrs, task_name) is not None
                remote = (send_task, rendezvous_key(node.attrs), pushed) if send_task != task_name else None
            data = [e for e in inputs[i] if e[1] >= 0]
            ins, deref = [], []
            for pos, (src, idx) in enumerate(data):
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
            outs = tuple(range(n_slots, n_slots + nout))
            for j, s in enumerate(outs):
                slot_of[name, j] = s
            n_slots += nout
            produces_ref[name] = k.produces_ref
            entry = _Node(name, op, fn, tuple(ins), tuple(deref), outs, op in _FORWARD_OPS and not k.produces_ref,
                          k.takes_step)
            controls = [e for e in inputs[i] if e[1] < 0]
            if _foldable(op, nodes[i], k, data, controls, lambda s, j: slot_of[s, j] in constants):
                try:
                    value = entry.call(constants)
                except Exception:  # noqa: BLE001 - let the step raise it, with the step's error handling
                    value = None
                else:
                    values = value if nout > 1 else (value,)
                    if op == "Const" or all(getattr(v, "nbytes", 0) <= FOLD_LIMIT_BYTES for v in values):
                        for s, v in zip(outs, values):
                            constants[s] = v
                        continue
                    value = values = None  # too large to hold for the graph's life: each step computes it
            entry.remote = remote
            entry.peer_send = op in _SEND_OPS and not node.attrs.get("client_terminated", False)
            entry.sent_first = remote is not None and remote[2] and sent_first(node.attrs)
            compiled.append((entry, controls, data))
            node_defs.append(nodes[i])
        self._nodes = [c[0] for c in compiled]
        self.node_defs = node_defs  # parallel to _nodes; worker/tracing.py labels its stats from them
        self._constants = constants
        self.node_count, self.folded = len(self._nodes), len(nodes) - len(self._nodes)
        receives = [n for n in self._nodes if n.remote is not None]
        self.remote_recvs = [n.remote for n in receives]  # (task, key, pushed)
        # Only client feeds and fetches cross this partition's border: its step needs no shared rendezvous.
        self.local_only = all(n.attr["client_terminated"].b for n, op in zip(nodes, ops) if op in _SENDRECV_OPS)
        self.has_sendrecv = any(n.op in _SENDRECV_OPS for n in self._nodes)
        # In a fixed order, waiting for one peer's tensor could block a send another peer waits for. The order is
        # safe when every receive is pushed and either no send waits on one (every send leaves before the first
        # wait) or every one comes whatever this partition does (its sender waits on no peer: sent_first).
        self.dataflow = len(receives) > 1 and not (all(n.remote[2] for n in receives) and (
            all(n.sent_first for n in receives) or not _sends_wait_on_peers(compiled)))
        if self.dataflow:
            self._link(compiled, slot_of)
        if len(self._nodes) <= CODEGEN_LIMIT:
            self.source, self._run_static = self._compile()
        else:  # compiling costs ~14 µs a line: past this size, planning time matters more than step time
            self.source, self._run_static = None, self._interpreter(n_slots)

    # -- the straight-line function ---------------------------------------
    def _compile(self):
        constant_names = {s: f"c{j}" for j, s in enumerate(self._constants)}

        def ref(slot, deref):
            name = constant_names.get(slot) or f"v{slot}"
            return f"{name}.read()" if deref else name

        # A value is dropped on the line of its last use (or of its making, if nothing here uses it), as numpy
        # code drops its temporaries: a chain of big ops then reuses warm memory instead of holding every step.
        last_use = {}
        for j, n in enumerate(self._nodes):
            for s in n.outs:
                last_use[s] = j
            for s in n.ins:
                if s not in constant_names:
                    last_use[s] = j
        drops = [[] for _ in self._nodes]
        for s, j in last_use.items():
            drops[j].append(f"v{s}")
        lines = []
        for j, n in enumerate(self._nodes):
            args = ", ".join(["s"] * n.takes_step + [ref(s, p in n.deref) for p, s in enumerate(n.ins)])
            call = args if n.forward else f"f{j}({args})"
            drop = f"; del {', '.join(drops[j])}" if drops[j] else ""
            # Each line first looks at the process memory limit (core/process_memory.py), on the node's line.
            if not n.outs:
                lines.append(f"    o[0] and m(); {call}{drop}")
            elif len(n.outs) == 1:
                lines.append(f"    o[0] and m(); v{n.outs[0]} = {call}{drop}")
            else:
                lines.append(f"    o[0] and m(); {', '.join(f'v{s}' for s in n.outs)} = {call}{drop}")
        header = ["def step(c, f, s):", "    o, m = memory_over, memory_check"]
        if self._constants:
            header.append(f"    {', '.join(constant_names.values())}, = c")
        if self._nodes:
            header.append(f"    {', '.join(f'f{j}' for j in range(len(self._nodes)))}, = f")
        self._first_line = len(header) + 1
        source = "\n".join(header + lines + ["    return None"]) + "\n"
        namespace = {"memory_over": process_memory.OVER, "memory_check": process_memory.check}
        exec(compile(source, "<tfmini partition>", "exec"), namespace)  # our own generated code, never input
        step = namespace["step"]
        consts = tuple(self._constants.values())
        fns = tuple(n.fn for n in self._nodes)
        return source, lambda s: step(consts, fns, s)

    def _interpreter(self, n_slots):
        """The same straight line, walked by a loop instead of compiled (for very large partitions)."""
        initial = [None] * n_slots
        for slot, value in self._constants.items():
            initial[slot] = value
        program = tuple(self._nodes)
        over, check_memory = process_memory.OVER, process_memory.check

        def step(s):
            vals = list(initial)
            for node in program:
                try:
                    if over[0]:
                        check_memory()
                    out = node.call(vals, s)
                except Exception as e:  # noqa: BLE001 - named here: concurrent steps share the plan
                    e._tfmini_node = node.name
                    raise
                if len(node.outs) == 1:
                    vals[node.outs[0]] = out
                elif node.outs:
                    for slot, value in zip(node.outs, out):
                        vals[slot] = value
        return step

    def _failed_node(self, tb):
        """The node whose line of the generated function raised (or the interpreter's current node)."""
        if self.source is None:
            return "?"  # the interpreter names its node on the error itself
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<tfmini partition>":
                index = tb.tb_lineno - self._first_line
                return self._nodes[index].name if 0 <= index < len(self._nodes) else "?"
            tb = tb.tb_next
        return "?"

    def run(self, step=None):
        try:
            if self.dataflow:
                return self._run_dataflow(step)
            return self._run_static(step)
        except Exception as e:  # noqa: BLE001 - kernel errors become TF errors naming the node
            name = getattr(e, "_tfmini_node", None) or self._failed_node(sys.exc_info()[2])
            raise _as_op_error(e, name) from None

    # -- dataflow order, for partitions that pull from several peers ----------
    def _link(self, compiled, slot_of):
        by_name = {n.name: n for n in self._nodes}
        producer = {s: by_name[name] for (name, _), s in slot_of.items() if name in by_name}
        for node, controls, data in compiled:
            deps = {producer[slot_of[src, idx]] for src, idx in data if slot_of[src, idx] in producer}
            deps |= {by_name[src] for src, _ in controls if src in by_name}
            node.pending = len(deps)
            for d in deps:
                d.consumers.append(node)

    def _run_dataflow(self, step, call=_Node.call):
        """Runs ready nodes; a pull from a peer is taken only once it has arrived, and when nothing else
        can run, it waits for whichever pull comes first."""
        vals = dict(self._constants)
        pending = {n: n.pending for n in self._nodes}
        ready = [n for n in self._nodes if not n.pending]
        waiting, pulled = {}, set()  # future -> recv node; recv nodes whose pull has arrived
        pulls = step.start_pulls(self.remote_recvs)
        done = 0
        while done < len(self._nodes):
            if not ready:
                step.flush()  # what this step pushed leaves before it waits
                arrived, _ = concurrent.futures.wait(waiting, timeout=step.session.recv_timeout,
                                                     return_when=concurrent.futures.FIRST_COMPLETED)
                if not arrived:
                    raise errors.DeadlineExceededError(None, None, "Timed out waiting for tensors from peers")
                for future in arrived:  # their kernels now find the value at once (Step.recv_remote)
                    node = waiting.pop(future)
                    pulled.add(node)
                    ready.append(node)
                continue
            node = ready.pop()
            if node.remote is not None and node not in pulled:
                waiting[pulls[node.remote[:2]]] = node
                continue
            try:
                if process_memory.OVER[0]:
                    process_memory.check()
                out = call(node, vals, step)  # worker/tracing.py passes a timed call
            except Exception as e:  # noqa: BLE001
                e._tfmini_node = node.name
                raise
            if len(node.outs) == 1:
                vals[node.outs[0]] = out
            elif node.outs:
                vals.update(zip(node.outs, out))
            ready.extend(self._finish(node, pending))
            done += 1

    @staticmethod
    def _finish(node, pending):
        for c in node.consumers:
            pending[c] -= 1
            if not pending[c]:
                yield c


def _sends_wait_on_peers(compiled):
    """True when some send to a peer depends (through data or control edges) on a receive from a peer."""
    downstream = set()
    for node, controls, data in compiled:
        if node.remote is not None or any(src in downstream for src, _ in data) or \
                any(src in downstream for src, _ in controls):
            if node.peer_send:
                return True
            downstream.add(node.name)
    return False


def _as_op_error(e, name):
    # The new error chains `e` (raised in its handler); `e`'s traceback would keep the step's frames, and with
    # them every value of the step, alive as long as the error is kept (worker.py remembers failed steps).
    e.__traceback__ = None
    where = f"\n\t [[{{{{node {name}}}}}]]"
    if isinstance(e, errors.OpError):
        return type(e)(None, None, f"{e.message}{where}")
    if isinstance(e, (ValueError, TypeError, IndexError, ArithmeticError, np.exceptions.AxisError)):
        return _invalid(f"{e}{where}")
    if isinstance(e, MemoryError):  # an allocation no limit caught (core/memory_limits.py): TF's OOM
        return memory_limits.oom_error(e, where)
    return errors.InternalError(None, None, f"{type(e).__name__}: {e}{where}")
