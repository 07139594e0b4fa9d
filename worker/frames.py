"""The frame-aware executor: runs a partition that holds control flow (Switch, Merge, Enter, Exit, ...).

TensorFlow's executor semantics (control flow v1), in one thread per step:

- A value is tagged with its frame instance and iteration. `Enter` moves a value from a frame into its
  child frame (iteration 0; a constant Enter into every iteration), `Exit` back to the parent,
  `NextIteration` to the next iteration of the same frame.
- A `Switch` forwards its input on the side its predicate picks; the other side is *dead*. A node with a
  dead input does not run and its outputs are dead too, except `Merge`, which forwards the first live
  input (and is dead only when all its inputs are). A dead `NextIteration` ends its iteration's chain; a
  dead `Exit` is dropped, and when a frame instance finishes, each of its Exits that never produced a
  live value passes a dead one out (a loop in the untaken branch of a cond).
- An iteration is done when nothing of it is queued, no child frame of it is running and (iteration 0)
  every Enter of the frame has fired; iterations finish in order. At most `parallel_iterations` of a
  frame are alive at once: a NextIteration past that waits until the oldest iteration finishes.
- `_Send`/`_Recv` (worker/frame_transfers.py) in a frame use the rendezvous key `...;<frame id>:<iteration>`; they run even when
  dead and carry the deadness, so both sides of a loop spread over tasks stay in step. A pull from a
  peer runs in the background; the step waits for it only when nothing else is ready.
- The step's deadline (RunOptions.timeout_in_ms) is checked as the step goes: a loop that never ends
  fails with DeadlineExceededError.

Plans without control flow never come here (worker/executor.py compiles those into straight-line code).
"""
import collections
import copy
import hashlib
import time

import numpy as np

from tfmini.core import errors, process_memory
from tfmini.core.deadness import DEAD
from tfmini.core.names import input_source
from tfmini.worker import kernels, loop_compiler
from tfmini.worker.executor import KernelNode, _as_op_error, _invalid, build_kernel, node_attr_errors
from tfmini.worker.frame_transfers import FrameTransfers

CONTROL_FLOW_OPS = frozenset(("Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter", "Exit", "RefExit",
                              "NextIteration", "RefNextIteration", "LoopCond"))
# What each node is to the scheduler.
NORMAL, SWITCH, MERGE, ENTER, EXIT, NEXT, SEND, RECV = range(8)
_KINDS = {"Switch": SWITCH, "RefSwitch": SWITCH, "Merge": MERGE, "RefMerge": MERGE, "Enter": ENTER,
          "RefEnter": ENTER, "Exit": EXIT, "RefExit": EXIT, "NextIteration": NEXT, "RefNextIteration": NEXT,
          "_Send": SEND, "_HostSend": SEND, "_Recv": RECV, "_HostRecv": RECV}
_DEADLINE_CHECK = 255  # nodes between two looks at the clock (a mask)


def has_control_flow(graph_def):
    return any(n.op in CONTROL_FLOW_OPS for n in graph_def.node)


def frame_id(instance_name):
    """A frame instance's id in rendezvous keys: the same on every task (TF hashes the name, too)."""
    return int.from_bytes(hashlib.blake2b(instance_name.encode(), digest_size=8).digest(), "big") >> 1


class _FrameInfo:
    """A frame as the graph has it: its name, its parent, how many Enters feed it, its Exits."""

    __slots__ = ("name", "parent", "n_enters", "exits", "parallel_iterations")

    def __init__(self, name, parent, parallel_iterations):
        self.name, self.parent, self.parallel_iterations = name, parent, parallel_iterations
        self.n_enters, self.exits = 0, []


class _Iteration:
    __slots__ = ("pending", "outstanding", "children")

    def __init__(self):
        self.pending = {}      # node -> its activation state (see FramePlan._activate)
        self.outstanding = 0   # queued nodes and pulls in flight of this iteration
        self.children = 0      # child frame instances still running


class _Frame:
    """A frame instance: one run of a loop (per iteration of the frame around it)."""

    __slots__ = ("info", "parent", "parent_iter", "name", "id", "iters", "oldest", "pending_enters",
                 "invariants", "deferred", "exits_fired", "children")

    def __init__(self, info, parent, parent_iter, name):
        self.info, self.parent, self.parent_iter, self.name = info, parent, parent_iter, name
        self.id = frame_id(name) if parent is not None else 0
        self.iters = {0: _Iteration()}
        self.oldest = 0
        self.pending_enters = info.n_enters
        self.invariants = []     # (enter node, value, dead) of constant Enters: given to every iteration
        self.deferred = []       # (NextIteration node, value) waiting for a free iteration slot
        self.exits_fired = set()
        self.children = {}       # (iteration, frame info) -> _Frame


class FramePlan(FrameTransfers):
    """A registered partition with control flow; `run(step)` executes one step."""

    def __init__(self, graph_def, env, xp=np, devices=None, compile_loops=True):
        nodes = list(graph_def.node)
        self.env = env
        index = {}
        for i, n in enumerate(nodes):
            if not n.name or not n.op:
                raise _invalid(f"Node with empty name or op: {n}")
            if n.name in index:
                raise _invalid(f"Duplicate node name in graph: '{n.name}'")
            index[n.name] = i
        count = len(nodes)
        self.names = [n.name for n in nodes]
        self.kind = [_KINDS.get(n.op, NORMAL) for n in nodes]
        self.fns, self.n_data, self.n_pending, self.deref = [None] * count, [0] * count, [0] * count, [()] * count
        self.takes_step = [False] * count  # fns[i](step, *inputs): sends, receives, blocking queue ops, loops
        self.out_edges = [None] * count   # node -> per output port, [(consumer, input position)]
        self.ctrl_out = [[] for _ in nodes]
        self.keys = [None] * count        # transfer nodes: (key without its frame:iter, remote task or None)
        self.client_send = [False] * count
        self.is_constant_enter = [False] * count
        kernel_defs = []
        for i, n in enumerate(nodes):
            k = kernels.lookup(n.op, n.name)
            device = devices.get(n.device) if devices else None
            knode = KernelNode(n, device.xp if device is not None else xp, env)
            self.fns[i], nout = build_kernel(k, knode)
            self.takes_step[i] = k.takes_step
            self.out_edges[i] = [[] for _ in range(nout)]
            kernel_defs.append((k, knode))
            if self.kind[i] in (SEND, RECV):
                with node_attr_errors(knode):  # send_device, tensor_name: attrs from the wire
                    self._transfer(i, knode, env, self.kind[i] == RECV)
        inputs = [[input_source(s) for s in n.input] for n in nodes]
        self.ops = [n.op for n in nodes]
        self.trigger = [op == "ControlTrigger" for op in self.ops]
        self.data_in, self.ctrl_in = [[] for _ in nodes], [[] for _ in nodes]  # [(source, port)], [source]
        for i, ins in enumerate(inputs):
            k = kernel_defs[i][0]
            data = 0
            deref = []
            for src, idx in ins:
                j = index.get(src)
                if j is None:
                    raise _invalid(f"Node '{self.names[i]}': unknown input node '{src}'")
                if idx < 0:
                    self.ctrl_out[j].append(i)
                    self.ctrl_in[i].append(j)
                    continue
                self.data_in[i].append((j, idx))
                if idx >= len(self.out_edges[j]):
                    raise _invalid(f"Node '{self.names[i]}': input '{src}:{idx}' names output {idx} of '{src}', "
                                   f"which does not exist")
                self.out_edges[j][idx].append((i, data))
                if kernel_defs[j][0].produces_ref and data not in k.ref_inputs and not k.produces_ref:
                    deref.append(data)
                data += 1
            self.n_data[i], self.deref[i] = data, tuple(deref)
            self.n_pending[i] = len(ins) if self.kind[i] != MERGE else len(ins) - data
        self.enter_frame, self.frame_of = {}, None
        self._assign_frames(nodes, inputs, index, kernel_defs)
        self.roots = [i for i, ins in enumerate(inputs) if not ins]
        self.compiled_loops = loop_compiler.compile_loops(self) if compile_loops else []  # as Python while loops
        self.most_iterations_alive = 0
        self.node_defs, self._nodes, self._constants = [], [], {}  # traced steps: run_traced, not these
        self.dataflow, self.source = True, None
        self.node_count, self.folded = count, 0
        self.remote_recvs = [self.keys[i][1:] for i in range(count) if self.kind[i] == RECV and self.keys[i][1]]
        self.local_only = all(self.client_send[i] for i in range(count) if self.kind[i] in (SEND, RECV))
        self.has_sendrecv = any(k in (SEND, RECV) for k in self.kind)
        # With every loop compiled and no peer to pull from, the whole step is straight-line code.
        self._compiled_step = loop_compiler.compile_root(self) if compile_loops else None
        self._build_args, self._traced = (graph_def, env, xp, devices), None

    def run_traced(self, step, default_device):
        """A step with step stats (worker/frame_tracing.py): per node and iteration, in the interpreter."""
        if self._traced is None:
            from tfmini.worker.frame_tracing import TracedFramePlan
            self._traced = TracedFramePlan(*self._build_args)
        return self._traced.run_traced(step, default_device)

    def _assign_frames(self, nodes, inputs, index, kernel_defs):
        """Each node's frame, by walking from the graph's roots: an Enter's consumers are in its child
        frame, an Exit's in its frame's parent, everything else where its inputs are (TF's
        BuildControlFlowInfo)."""
        root = _FrameInfo("", None, 1)
        frames = {("", None): root}
        frame_of = [None] * len(nodes)
        queue = collections.deque()
        for i, ins in enumerate(inputs):
            if not ins:
                frame_of[i] = root
                queue.append(i)
        while queue:
            i = queue.popleft()
            here, kind = frame_of[i], self.kind[i]
            if kind == ENTER:
                attrs = kernel_defs[i][1].attrs
                name = attrs["frame_name"].decode()
                child = frames.get((name, here))
                if child is None:
                    child = frames[name, here] = _FrameInfo(name, here, max(1, attrs.get("parallel_iterations", 10)))
                child.n_enters += 1
                self.enter_frame[i] = child
                self.is_constant_enter[i] = bool(attrs.get("is_constant", False))
                out = child
            elif kind == EXIT:
                if here.parent is None:
                    raise _invalid(f"Exit node '{self.names[i]}' is not in a loop frame")
                here.exits.append(i)
                out = here.parent
            else:
                out = here
            for j in [d for port in self.out_edges[i] for d, _ in port] + self.ctrl_out[i]:
                if frame_of[j] is None:
                    frame_of[j] = out
                    queue.append(j)
                elif frame_of[j] is not out:
                    raise _invalid(f"Node '{self.names[j]}' gets inputs from two frames ('{frame_of[j].name}' and "
                                   f"'{out.name}'): its inputs must come through Enter and Exit nodes")
        lost = [self.names[i] for i, f in enumerate(frame_of) if f is None]
        if lost:
            raise _invalid(f"Graph has a cycle that no Merge breaks (nodes involved include: "
                           f"{', '.join(sorted(lost)[:5])})")
        self.frame_of, self.root_frame = frame_of, root

    # -- running a step ---------------------------------------------------------------------------------
    def _run_dataflow(self, step, call=None):
        return self.run(step)

    def run(self, step=None):
        if self._compiled_step is not None:
            try:
                return self._compiled_step(step)
            except errors.DeadlineExceededError:
                raise
            except Exception as e:  # noqa: BLE001 - kernel errors become TF errors naming the node
                raise _as_op_error(e, getattr(e, "_tfmini_node", "?")) from None
        # A step runs on its own shallow copy of the plan: the tables are shared and only read, the queue, the
        # pulls in flight and the step are the copy's, so concurrent steps of one plan keep apart.
        own = copy.copy(self)
        try:
            return own._run_step(step)
        finally:
            if own.most_iterations_alive > self.most_iterations_alive:
                self.most_iterations_alive = own.most_iterations_alive

    def _run_step(self, step):
        self._step = step
        deadline = step.deadline if step is not None else None
        root = _Frame(self.root_frame, None, None, "")
        self._queue = queue = collections.deque()
        self._futures = futures = {}
        top = root.iters[0]
        for i in self.roots:
            queue.append((i, root, 0, [], False))
        top.outstanding += len(self.roots)
        done = 0
        process = self._process
        try:
            while True:
                while queue:
                    item = queue.popleft()
                    if process_memory.OVER[0]:  # the process is past --max-memory-bytes: this step fails
                        process_memory.check()
                    process(*item)
                    done += 1
                    if not done & _DEADLINE_CHECK and deadline is not None and time.monotonic() > deadline:
                        raise errors.DeadlineExceededError(None, None, "Deadline Exceeded: the step ran past its "
                                                                       "deadline (RunOptions.timeout_in_ms)")
                if not futures:
                    break
                self._wait_pulls(deadline)
        except errors.DeadlineExceededError:
            raise
        except Exception as e:  # noqa: BLE001 - kernel errors become TF errors naming the node
            name = getattr(e, "_tfmini_node", "?")
            raise _as_op_error(e, name) from None
        finally:
            for f in futures:
                f.cancel()
            self._queue = self._futures = self._step = None  # a kept error's traceback must not hold the values

    def _process(self, i, frame, it, args, dead):
        kind = self.kind[i]
        try:
            if kind == NORMAL:
                if dead and not self.trigger[i]:  # a ControlTrigger is live whatever its inputs (as in TF)
                    return self._emit_dead(i, frame, it)
                for p in self.deref[i]:
                    args[p] = args[p].read()
                out = self.fns[i](self._step, *args) if self.takes_step[i] else self.fns[i](*args)
                ports = self.out_edges[i]
                if len(ports) == 1:
                    self._emit(ports[0], out, False, frame, it)
                elif ports:
                    for port, v in zip(ports, out):
                        self._emit(port, v, False, frame, it)
                self._emit_control(i, False, frame, it)
            elif kind == SWITCH:
                if dead:
                    return self._emit_dead(i, frame, it)
                data, pred = args
                if 1 in self.deref[i]:
                    pred = pred.read()
                if 0 in self.deref[i]:
                    data = data.read()
                taken = 1 if pred else 0
                self._emit(self.out_edges[i][taken], data, False, frame, it)
                self._emit(self.out_edges[i][1 - taken], None, True, frame, it)
                self._emit_control(i, False, frame, it)
            elif kind == MERGE:
                if dead:
                    return self._emit_dead(i, frame, it)
                value, port = args
                ports = self.out_edges[i]
                self._emit(ports[0], value, False, frame, it)
                self._emit(ports[1], _index(port), False, frame, it)
                self._emit_control(i, False, frame, it)
            elif kind == ENTER:
                self._enter(i, frame, it, args[0] if not dead else None, dead)
            elif kind == EXIT:
                if not dead:
                    frame.exits_fired.add(i)
                    parent = frame.parent
                    self._emit(self.out_edges[i][0], args[0], False, parent, frame.parent_iter)
                    self._emit_control(i, False, parent, frame.parent_iter)
            elif kind == NEXT:
                if not dead:
                    self._next_iteration(i, frame, it, args[0])
            elif kind == SEND:
                self._send(i, frame, it, DEAD if dead else args[0])
            else:  # RECV
                if self._recv(i, frame, it):
                    return  # a pull in flight: it finishes the node when it arrives
        except Exception as e:  # noqa: BLE001
            if not hasattr(e, "_tfmini_node"):
                e._tfmini_node = self.names[i]
            raise
        self._done(frame, it)

    def _done(self, frame, it):
        state = frame.iters[it]
        state.outstanding -= 1
        if not state.outstanding:
            self._advance(frame)

    # -- values along edges ---------------------------------------------------------------------------
    def _emit(self, edges, value, dead, frame, it):
        for dst, pos in edges:
            self._activate(dst, pos, value, dead, frame, it)

    def _emit_control(self, i, dead, frame, it):
        for dst in self.ctrl_out[i]:
            self._activate(dst, -1, None, dead, frame, it)

    def _emit_dead(self, i, frame, it):
        for port in self.out_edges[i]:
            self._emit(port, None, True, frame, it)
        self._emit_control(i, True, frame, it)
        self._done(frame, it)

    def _activate(self, dst, pos, value, dead, frame, it):
        state = frame.iters[it]
        pending = state.pending
        entry = pending.get(dst)
        if self.kind[dst] == MERGE:
            # [control inputs to come, live value, its input index, dead inputs, fired]
            if entry is None:
                entry = pending[dst] = [self.n_pending[dst], None, -1, 0, False]
            if entry[4]:
                return
            if pos < 0:
                entry[0] -= 1
            elif dead:
                entry[3] += 1
            elif entry[2] < 0:
                entry[1], entry[2] = value, pos
            if entry[0] == 0 and (entry[2] >= 0 or entry[3] == self.n_data[dst]):
                entry[4] = True
                self._queue.append((dst, frame, it, [entry[1], entry[2]], entry[2] < 0))
                state.outstanding += 1
            return
        if entry is None:
            entry = pending[dst] = [self.n_pending[dst], [None] * self.n_data[dst], False]
        if pos >= 0:
            entry[1][pos] = value
        if dead:
            entry[2] = True
        entry[0] -= 1
        if not entry[0]:
            del pending[dst]
            self._queue.append((dst, frame, it, entry[1], entry[2]))
            state.outstanding += 1

    # -- frames and iterations ------------------------------------------------------------------------
    def _enter(self, i, frame, it, value, dead):
        info = self.enter_frame[i]
        child = frame.children.get((it, info))
        if child is None:
            child = frame.children[it, info] = _Frame(info, frame, it, f"{frame.name};{it};{info.name}")
            frame.iters[it].children += 1
        child.pending_enters -= 1
        if self.is_constant_enter[i]:
            child.invariants.append((i, value, dead))
            for j in list(child.iters):
                self._emit_enter(i, value, dead, child, j)
        else:
            self._emit_enter(i, value, dead, child, 0)
        if not child.pending_enters:
            self._advance(child)

    def _emit_enter(self, i, value, dead, frame, it):
        self._emit(self.out_edges[i][0], value, dead, frame, it)
        self._emit_control(i, dead, frame, it)

    def _next_iteration(self, i, frame, it, value):
        nxt = it + 1
        if nxt not in frame.iters:
            if frame.deferred or nxt - frame.oldest >= frame.info.parallel_iterations:
                frame.deferred.append((i, value, nxt))
                return
            self._start_iteration(frame, nxt)
        self._emit(self.out_edges[i][0], value, False, frame, nxt)
        self._emit_control(i, False, frame, nxt)

    def _start_iteration(self, frame, it):
        frame.iters[it] = _Iteration()
        if len(frame.iters) > self.most_iterations_alive:  # what parallel_iterations bounds (tests read it)
            self.most_iterations_alive = len(frame.iters)
        for i, value, dead in frame.invariants:
            self._emit_enter(i, value, dead, frame, it)

    def _advance(self, frame):
        """Retires the frame's finished iterations, oldest first; then the frame, once all are done."""
        iters = frame.iters
        while True:
            state = iters.get(frame.oldest)
            if state is None or state.outstanding or state.children or (frame.oldest == 0 and frame.pending_enters):
                break
            del iters[frame.oldest]
            frame.oldest += 1
            if frame.deferred and frame.deferred[0][2] - frame.oldest < frame.info.parallel_iterations:
                deferred, frame.deferred = frame.deferred, []
                target = deferred[0][2]
                self._start_iteration(frame, target)
                iters[target].outstanding += 1  # held while the deferred values go in
                for i, value, _ in deferred:
                    self._emit(self.out_edges[i][0], value, False, frame, target)
                    self._emit_control(i, False, frame, target)
                iters[target].outstanding -= 1
        if iters or frame.deferred or frame.pending_enters or frame.parent is None:
            return
        parent, pit = frame.parent, frame.parent_iter
        for i in frame.info.exits:  # a loop that ran dead (an untaken cond branch): its results are dead
            if i not in frame.exits_fired:
                self._emit(self.out_edges[i][0], None, True, parent, pit)
                self._emit_control(i, True, parent, pit)
        del parent.children[pit, frame.info]
        parent.iters[pit].children -= 1
        self._advance(parent)

def _index(port):
    return np.int32(port)
