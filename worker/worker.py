"""The worker: TensorFlow's WorkerService as a plain object (core.interfaces.WorkerInterface).

It keeps registered partitions as ExecutionPlans, runs them per step, serves
RecvTensor pulls out of each step's rendezvous, and owns the variables (the
resource store), which outlive steps and sessions. The gRPC servicer and the
in-process session both call these methods with the same protos. Calls run in
the caller's thread; what they wait for (a peer's tensor) has deadlines of its own.
"""
import collections
import concurrent.futures
import functools
import logging
import random
import threading
import time

import numpy as np

from tfmini.core import attrs, errors, large_tensors, log_context, op_types, tensor_util
from tfmini.core.names import parse_key
from tfmini.core.partition import partition
from tfmini.protos import graph_pb2, worker_pb2
from tfmini.worker import devices, frames, tracing
from tfmini.worker.checkpoint_access import CheckpointAccess
from tfmini.worker.executor import ExecutionPlan
from tfmini.worker.kernels.sendrecv import rendezvous_key
from tfmini.worker.rendezvous import StepRendezvous
from tfmini.worker.resources import ResourceMgr

log = logging.getLogger("tfmini.worker")


DEFAULT_RECV_TIMEOUT = 60.0  # seconds a _Recv or RecvTensor waits for its _Send
DEFAULT_MAX_PUSHED_BYTES = 1 << 30  # pushed tensors a worker holds for steps that have not taken them yet
_FAILED_STEPS_KEPT = 4096


PARKED = large_tensors.PARKED  # a pushed large tensor: the receiver streams it from the sender


class Step:
    """One step of one partition: its id, its rendezvous, how to pull from peers, and what it pushes to them.

    A pushed _Send (the master marks the cross-task pairs of its own partitions, core/partition.py) does not
    wait for a pull: its tensor goes into the step's outbox, and the outbox leaves as one one-way frame per
    receiving task before the step waits for anything (a peer may need it to go on) and when it ends."""

    __slots__ = ("step_id", "rendezvous", "session", "deadline", "graph_handle", "pulls", "outbox")

    def __init__(self, step_id, rendezvous, session, deadline=None, graph_handle=None):
        self.step_id, self.rendezvous, self.session = step_id, rendezvous, session
        self.deadline = deadline  # time.monotonic() past which a blocking op gives up (None: no deadline)
        self.graph_handle = graph_handle
        self.pulls = None  # {(task, key): future} when the executor started the pulls ahead
        self.outbox = None  # {task: {key: array or PARKED}} pushed, not yet sent

    def wait_error(self):
        """Why an op of this step blocked on a queue must stop waiting now (None: it may go on)."""
        return self.session.worker.wait_error(self.step_id, self.graph_handle)

    def recv_local(self, key):
        value = self.rendezvous.take(key)
        if value is None:
            self.flush()
            value = self.rendezvous.recv(key, self.session.recv_timeout)
        return value

    def recv_remote(self, task, key):
        if self.pulls is not None and (task, key) in self.pulls:
            return self.pulls[task, key].result()
        return self.session.worker.pull(task, self.step_id, key, self.session.recv_timeout)

    def recv_pushed(self, task, key):
        """The tensor `task` pushes under `key` (a large one is streamed from where it stays parked)."""
        if self.pulls is not None and (task, key) in self.pulls:
            value = self.pulls[task, key].result()
        else:
            value = self.recv_local(key)
        if value is PARKED:
            return self.session.worker.pull(task, self.step_id, key, self.session.recv_timeout, large=True)
        return value

    def push(self, task, key, value):
        if large_tensors.is_large(value):
            self.session.worker.park(self.step_id, key, value)
            value = PARKED
        else:
            value = devices.to_host(value)
        if self.outbox is None:
            self.outbox = {}
        self.outbox.setdefault(task, {})[key] = value

    def flush(self):
        outbox, self.outbox = self.outbox, None
        if outbox:
            worker = self.session.worker
            for task, items in outbox.items():
                worker.push_to(task, self.step_id, items)

    def start_pulls(self, remote):
        """Starts every receive from a peer at once: `remote` is [(task, key, pushed)]; returns {(task, key):
        future}. A pull runs on the pull pool; a pushed tensor's future is done when it arrives. The _Recv
        kernels then take their value from these futures, so each still converts to its device."""
        worker, timeout = self.session.worker, self.session.recv_timeout
        pool = worker.pull_pool()
        self.pulls = {}
        for task, key, pushed in remote:
            if pushed:
                self.pulls[task, key] = future = concurrent.futures.Future()
                self.rendezvous.recv_async(key, functools.partial(_settle, future))
            else:
                self.pulls[task, key] = pool.submit(worker.pull, task, self.step_id, key, timeout)
        return self.pulls


def _settle(future, value, error):
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class WorkerSession:
    """What kernels see as `node.env`: resources, per-op random generators, what stateful kernels keep. The
    running step is not here: kernels that need it are given it (kernels.kernel's takes_step)."""

    def __init__(self, worker, handle, recv_timeout):
        self.worker, self.handle, self.recv_timeout = worker, handle, recv_timeout
        self.resources = worker.resources
        self.task_name = worker.task_name
        self._rngs = {}
        self.kernel_state = {}  # node name -> what a stateful kernel keeps across plans (Print's first_n count)

    def rng(self, name, seed, seed2):
        gen = self._rngs.get(name)
        if gen is None:
            gen = self._rngs[name] = np.random.default_rng([seed, seed2] if seed or seed2 else None)
        return gen


class Worker:
    def __init__(self, task_name="/job:localhost/replica:0/task:0", worker_cache=None,
                 recv_timeout=DEFAULT_RECV_TIMEOUT, device_count=None):
        self.task_name = task_name
        self.incarnation = random.getrandbits(63) | 1
        self.resources = ResourceMgr()
        self.worker_cache = worker_cache  # task name -> worker interface, for RecvTensor pulls
        self.recv_timeout = recv_timeout
        self._lock = threading.Lock()
        self._graphs = {}
        self._sessions = {}
        self._steps = {}
        self._failed_steps = collections.OrderedDict()  # step id -> error, the most recent few
        self._next_handle = 0
        self._pool = None
        self._run_pool = None
        self._stopping = None
        self._waiting = {}  # (step id, key) -> (deadline, rendezvous) of each async receive (recv_value_async)
        self._parked = {}   # (step id, key) -> (deadline, rendezvous) of each parked value (park)
        # Pushed tensors not yet taken by their step: bytes by step id, their total, and (deadline, step id,
        # rendezvous) in arrival order (every deadline is arrival + recv_timeout, so the oldest is first).
        self._pushed, self._pushed_total, self._push_deadlines = {}, 0, collections.deque()
        self.max_pushed_bytes = DEFAULT_MAX_PUSHED_BYTES
        self._reaper = None  # one thread ends them all when their deadline passes
        # CPU:0.. (numpy) and GPU:0.. where CuPy sees CUDA devices; ConfigProto.device_count can change them.
        self.local_devices = {d.name: d for d in devices.discover(task_name, self.incarnation, device_count)}
        self.devices = [d.attributes for d in self.local_devices.values()]
        self.copies = devices.CopyCounter()  # arrays moved between this task's devices, by (src, dst) type
        # Where Saver ops may read/write: anywhere in-process; a server confines them (--checkpoint-dir).
        self.checkpoint_access = CheckpointAccess.unrestricted()

    # -- sessions and graphs ----------------------------------------------
    def get_status(self, request, timeout=None):
        # tfmini_now_micros: this task's clock, for the master's alignment of traced steps (server/clocks.py)
        return worker_pb2.GetStatusResponse(device_attributes=self.devices, tfmini_now_micros=time.time_ns() // 1000)

    def _session(self, handle):
        with self._lock:
            session = self._sessions.get(handle)
            if session is None:
                session = self._sessions[handle] = WorkerSession(self, handle, self.recv_timeout)
            return session

    def create_worker_session(self, request, timeout=None):
        self._session(request.session_handle)
        return worker_pb2.CreateWorkerSessionResponse()

    def delete_worker_session(self, request, timeout=None):
        with self._lock:
            self._sessions.pop(request.session_handle, None)
            for handle in [h for h, (_, s) in self._graphs.items() if s.handle == request.session_handle]:
                del self._graphs[handle]
        return worker_pb2.DeleteWorkerSessionResponse()

    def register_graph(self, request, timeout=None):
        session = self._session(request.session_handle)
        op_types.check_graph(request.graph_def)  # InvalidArgumentError for a node its inputs' types break
        device_graphs = self._split_by_device(request.graph_def)
        merged = device_graphs[0] if len(device_graphs) == 1 else _merge(device_graphs)
        plan_type = frames.FramePlan if frames.has_control_flow(merged) else ExecutionPlan  # loops, conds
        plan = plan_type(merged, session, devices=self.local_devices)
        plan.device_graphs = device_graphs
        plan.send_keys = frozenset(rendezvous_key(attrs.attr_dict(n)) for n in merged.node
                                   if n.op in ("_Send", "_HostSend"))  # what a RunGraph may ask back (recv_key)
        with self._lock:
            self._next_handle += 1
            handle = f"{self.incarnation:016x}-{self._next_handle}"
            self._graphs[handle] = (plan, session)
        return worker_pb2.RegisterGraphResponse(graph_handle=handle)

    def _split_by_device(self, graph_def):
        """This task's piece, split again per local device (TF's SplitByDevice), with _Send/_Recv pairs
        wherever a tensor moves between devices: the host<->device copies are explicit."""
        used = {n.device for n in graph_def.node}
        if len(used) <= 1:
            return [graph_def]
        nodes = {n.name: n for n in graph_def.node}
        for name, n in nodes.items():
            if n.device not in self.local_devices:
                raise errors.InvalidArgumentError(None, None, f"Node '{name}' is placed on {n.device or 'no device'}"
                                                              f", which is not a device of {self.task_name}")
        parts = partition(nodes, [n.name for n in graph_def.node], {k: n.device for k, n in nodes.items()}, [], [],
                          lambda d: self.local_devices[d].attributes.incarnation, by_device=True)
        graphs = list(parts.graphs.values())
        for g in graphs:
            g.versions.CopyFrom(graph_def.versions)
        return graphs

    def deregister_graph(self, request, timeout=None):
        with self._lock:
            self._graphs.pop(request.graph_handle, None)
        return worker_pb2.DeregisterGraphResponse()

    # -- steps ------------------------------------------------------------
    # A step's rendezvous table lives while a RunGraph of that step runs here or a value
    # in it waits to be pulled: _steps[step_id] = [table, RunGraphs in flight].
    def _rendezvous(self, step_id, running=0):
        with self._lock:
            entry = self._steps.get(step_id)
            if entry is None:
                if self._stopping is not None:
                    raise self._stopping
                entry = self._steps[step_id] = [StepRendezvous(), 0]
                failed = self._failed_steps.get(step_id)
                if failed is not None:  # a pull that comes after its step failed here fails at once
                    entry[0].abort(failed)
            entry[1] += running
            return entry[0]

    def _remember_failure(self, step_id, error):
        """Keeps a failed step's error for a while, so late RecvTensor pulls of it fail fast, not at a deadline."""
        with self._lock:
            self._failed_steps[step_id] = error
            while len(self._failed_steps) > _FAILED_STEPS_KEPT:
                self._failed_steps.popitem(last=False)

    def _release(self, step_id, rdv, running=0):
        with self._lock:
            entry = self._steps.get(step_id)
            if entry is not None and entry[0] is rdv:
                entry[1] -= running
                if entry[1] <= 0 and rdv.empty():
                    self._forget_step(step_id)

    def _forget_step(self, step_id):
        """Drops a step's table and what its pushed tensors counted (under self._lock)."""
        self._steps.pop(step_id, None)
        if self._pushed:
            self._pushed_total -= self._pushed.pop(step_id, 0)

    def run_graph(self, request, timeout=None):
        return self._run_graph_logged(request, timeout, None, None)

    def run_graph_arrays(self, request, sends, timeout=None):
        """run_graph with `sends` ({rendezvous key: array}) put in the step's rendezvous as they are, and the
        tensors of request.recv_key handed back as host arrays ({key: array}), not as TensorProtos."""
        arrays = {}
        return self._run_graph_logged(request, timeout, sends, arrays), arrays

    def _run_graph_logged(self, request, timeout, sends, arrays):
        # Log lines of this step say its session and step (server/logs.py reads core.log_context).
        entry = self._graphs.get(request.graph_handle)  # a dict read is atomic: no lock on the hot path
        tokens = log_context.enter(entry[1].handle[:8] if entry else None, request.step_id)
        try:
            response = self._run_graph(request, entry, timeout, sends, arrays)
            if request.HasField("exec_opts") and request.exec_opts.record_partition_graphs:
                response.partition_graph.extend(entry[0].device_graphs)  # TF's RunMetadata.partition_graphs
            return response
        finally:
            log.debug("RunGraph %s done", request.graph_handle)
            log_context.leave(tokens)

    def _run_graph(self, request, entry, timeout, sends=None, arrays=None):
        if entry is None:
            raise errors.TaskRestartedError(None, None, f"Graph handle is not found: {request.graph_handle}. "
                                                        f"Possibly, this worker just restarted.")
        plan, session = entry
        for key in request.recv_key:
            if key not in plan.send_keys:
                raise errors.InvalidArgumentError(None, None, f"RunGraph: recv_key '{key}' is not a tensor that "
                                                              f"graph {request.graph_handle} sends")
        timeout = request.tfmini_timeout_ms / 1000.0 if request.tfmini_timeout_ms > 0 else timeout
        step = Step(request.step_id, None, session, None if timeout is None else time.monotonic() + timeout,
                    request.graph_handle)
        if request.HasField("exec_opts") and request.exec_opts.record_timeline:
            return self._run_traced(request, plan, step, sends, arrays)
        if not plan.has_sendrecv:  # no feeds, fetches or peers (a plain train op): nothing to set up
            plan.run(step)
            return worker_pb2.RunGraphResponse()
        return self._run_with_rendezvous(request, plan, step, plan.run, sends, arrays)

    def _run_traced(self, request, plan, step, sends=None, arrays=None):
        """A RunGraph with step stats (RunOptions.trace_level): the same step, each node timed."""
        holder = []

        def run(step):
            holder.append(tracing.run_traced(plan, step, self.task_name + "/device:CPU:0"))
        if not plan.has_sendrecv:
            run(step)
            response = worker_pb2.RunGraphResponse()
        else:
            response = self._run_with_rendezvous(request, plan, step, run, sends, arrays)
        response.step_stats.CopyFrom(holder[0])
        return response

    def _run_with_rendezvous(self, request, plan, step, run, sends=None, arrays=None):
        """`sends`: more values to put in the step's rendezvous, as arrays; `arrays`: a dict the recv_key values go
        into (None: they go into the response as TensorProtos)."""
        step_id = step.step_id
        # A partition that talks to no other task keeps its step to itself: nothing to register.
        step.rendezvous = rdv = StepRendezvous() if plan.local_only else self._rendezvous(step_id, running=1)
        send = request.send
        if len(send):
            rdv.put_all({nt.name: tensor_util.parse_tensor(nt.tensor, nt.name.split(";")[-2:][0])
                         for nt in send})
        if sends:
            rdv.put_all(sends)
        try:
            run(step)
            step.flush()
            response = worker_pb2.RunGraphResponse()
            recv_key = request.recv_key
            if len(recv_key):
                recv, park_bytes = response.recv, request.tfmini_park_recv_bytes
                for key in recv_key:
                    value = rdv.take(key)
                    if value is None:
                        raise errors.InternalError(None, None, f"Step {step_id} produced no value for {key}")
                    if large_tensors.is_large(value, park_bytes):
                        self.park(step_id, key, value)  # the client streams it from here
                        response.tfmini_parked.append(key)
                        continue
                    if arrays is not None:
                        arrays[key] = devices.to_host(value)
                        continue
                    nt = recv.add()
                    nt.name = key
                    nt.tensor.CopyFrom(tensor_util.make_tensor_proto(devices.to_host(value)))
            return response
        except errors.OpError as e:
            rdv.abort(e)
            if not plan.local_only:
                self._remember_failure(step_id, e)
            raise
        finally:
            if not plan.local_only:
                self._release(step_id, rdv, running=1)

    def start_run_graph(self, request, timeout=None):
        """run_graph on a thread of this worker's (a stub's RunGraph is in flight without one)."""
        with self._lock:
            if self._run_pool is None:
                self._run_pool = concurrent.futures.ThreadPoolExecutor(16, thread_name_prefix="rungraph")
        return _Call(self._run_pool.submit(self.run_graph, request, timeout))

    def cleanup_graph(self, request, timeout=None):
        """Frees what a step left behind; a step still running is aborted."""
        error = errors.AbortedError(None, None, f"Step {request.step_id} was cleaned up")
        self._remember_failure(request.step_id, error)
        self.fail_step(request.step_id, error)
        return worker_pb2.CleanupGraphResponse()

    def fail_step(self, step_id, error):
        """Aborts the step here with `error` (a step still running fails with it) and remembers it."""
        self._remember_failure(step_id, error)
        with self._lock:
            entry = self._steps.get(step_id)
            self._forget_step(step_id)
        if entry is not None:
            entry[0].abort(error)

    def wait_error(self, step_id, graph_handle):
        """Why a blocked op of this step must stop waiting now (None: it may go on): the worker stops, the
        step was aborted or cleaned up, or its graph was deregistered (its session closed)."""
        if self._stopping is not None:
            return self._stopping
        failed = self._failed_steps.get(step_id)
        if failed is not None:
            return failed
        if graph_handle is not None and graph_handle not in self._graphs:
            return errors.CancelledError(None, None, "Session has been closed.")
        return None

    def cleanup_all(self, request, timeout=None):
        self.resources.clear(list(request.container) or None)
        return worker_pb2.CleanupAllResponse()

    def stop(self, reason="Server is shutting down"):
        """Fails every step in flight (and every later one) with UnavailableError."""
        error = errors.UnavailableError(None, None, f"{reason}: task {self.task_name}")
        with self._lock:
            self._stopping = error
            entries, self._steps = list(self._steps.values()), {}
            self._pushed.clear()
            self._pushed_total = 0
        for rdv, _ in entries:
            rdv.abort(error)

    # -- tensors between tasks --------------------------------------------
    def recv_value(self, request, timeout=None):
        """The array a peer asks for with RecvTensor; waits for its _Send up to `timeout`."""
        self._check_incarnation(request.rendezvous_key)
        rdv = self._rendezvous(request.step_id)
        try:
            return devices.to_host(rdv.recv(request.rendezvous_key, self.recv_timeout if timeout is None else timeout))
        finally:
            self._release(request.step_id, rdv)

    def recv_value_async(self, request, done):
        """recv_value without a waiting thread: done(host array, None) or done(None, OpError) is called once
        the value is sent (by the sending thread), the step aborts, or the receive timeout passes."""
        self._check_incarnation(request.rendezvous_key)
        step_id, key = request.step_id, request.rendezvous_key
        rdv = self._rendezvous(step_id)

        def fire(value, error):
            self._waiting.pop((step_id, key), None)
            self._release(step_id, rdv)
            done(None if error is not None else devices.to_host(value), error)
        with self._lock:
            self._waiting[step_id, key] = (time.monotonic() + self.recv_timeout, rdv)
            self._start_reaper()
        rdv.recv_async(key, fire)

    def _start_reaper(self):
        if self._reaper is None:  # under self._lock
            self._reaper = threading.Thread(target=self._expire_waits, name="recv-deadlines", daemon=True)
            self._reaper.start()

    def _expire_waits(self):
        """Fails async receives and drops parked values whose deadline passed (checked twice a second), until
        the worker stops: one thread for all of them, however many wait."""
        while self._stopping is None:
            time.sleep(0.5)
            now = time.monotonic()
            for (step_id, key), (deadline, rdv) in list(self._waiting.items()):
                if deadline <= now:
                    rdv.cancel_async(key, errors.DeadlineExceededError(
                        None, None, f"Timed out after {self.recv_timeout:.1f}s waiting for tensor "
                                    f"{key.split(';')[3]} ({key})"))
            for (step_id, key), (deadline, rdv) in list(self._parked.items()):
                if deadline <= now:
                    self._parked.pop((step_id, key), None)
                    if rdv.take(key) is not None:
                        self._release(step_id, rdv)
            deadlines = self._push_deadlines
            while deadlines and deadlines[0][0] <= now:
                _, step_id, rdv = deadlines.popleft()
                with self._lock:
                    entry = self._steps.get(step_id)
                    expired = entry is not None and entry[0] is rdv and entry[1] <= 0 and not rdv.empty()
                    if expired:
                        self._forget_step(step_id)
                if expired:  # pushed to a step that never ran here: dropped
                    rdv.abort(errors.DeadlineExceededError(None, None, f"Step {step_id}: tensors pushed to "
                                                                       f"{self.task_name} were never taken"))

    def _check_incarnation(self, key):
        send_device, incarnation, _, _ = parse_key(key)
        device = self.local_devices.get(send_device)
        expected = device.attributes.incarnation if device is not None else self.incarnation
        if incarnation != expected and incarnation != 0:
            raise errors.TaskRestartedError(None, None, f"RecvTensor expects a different device incarnation: "
                                                        f"{incarnation} vs. {expected}. Your worker job "
                                                        f"(\"{self.task_name}\") was probably restarted. Check "
                                                        f"your worker job for the reason why it was restarted.")

    def park(self, step_id, key, value):
        """Leaves `value` in the step's rendezvous for a later pull (a streamed RecvTensor, a client's
        fetch). A value nobody pulls is dropped after the receive timeout, so an abandoned pull leaks nothing."""
        rdv = self._rendezvous(step_id)
        rdv.send(key, value)
        with self._lock:
            self._parked[step_id, key] = (time.monotonic() + self.recv_timeout, rdv)
            self._start_reaper()

    def recv_tensor(self, request, timeout=None):
        value = self.recv_value(request, timeout)
        return worker_pb2.RecvTensorResponse(tensor=tensor_util.make_tensor_proto(np.asarray(value)),
                                             send_start_micros=int(time.time() * 1e6))

    def recv_array(self, step_id, key, timeout=None, large=False):
        return self.recv_value(worker_pb2.RecvTensorRequest(step_id=step_id, rendezvous_key=key), timeout)

    def pull(self, task, step_id, key, timeout, large=False):
        """Fetches tensor `key` of `step_id` from the worker of `task` (RecvTensor; streamed if `large`)."""
        return self._peer(task).recv_array(step_id, key, timeout, large)

    def _peer(self, task):
        if self.worker_cache is None:
            raise errors.InternalError(None, None, f"Worker {self.task_name} has no route to {task}")
        return self.worker_cache.get(task)

    def push_to(self, task, step_id, items):
        """Sends a step's pushed tensors ({key: array or PARKED}) to the worker of `task`, one way."""
        self._peer(task).push_tensors(step_id, items)

    def push_tensors(self, step_id, items, timeout=None):
        """Takes tensors a peer pushed for step `step_id` ({key: host array or PARKED}) into the step's
        rendezvous, where its _Recvs wait. Nothing answers a push: what goes wrong here fails the step here.
        Held bytes are bounded (max_pushed_bytes); what no step takes is dropped after the receive timeout."""
        size = sum(getattr(v, "nbytes", 0) for v in items.values())
        with self._lock:
            over = self._pushed_total + size > self.max_pushed_bytes
        if over:
            self.fail_step(step_id, errors.ResourceExhaustedError(
                None, None, f"{self.task_name} holds {self._pushed_total} bytes of pushed tensors; {size} more "
                            f"for step {step_id} would pass its limit of {self.max_pushed_bytes} bytes"))
            return
        try:
            rdv = self._rendezvous(step_id)
        except errors.OpError:
            return  # the worker is stopping: so does the step
        with self._lock:
            self._pushed[step_id] = self._pushed.get(step_id, 0) + size
            self._pushed_total += size
            self._push_deadlines.append((time.monotonic() + self.recv_timeout, step_id, rdv))
            self._start_reaper()
        rdv.put_all(items)
        self._release(step_id, rdv)  # a failed step's table holds nothing: it goes at once

    def pull_pool(self):
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="recvtensor")
            return self._pool


class _Call:
    """core.interfaces.PendingCall over a future of this process."""

    def __init__(self, future):
        self._future = future

    def result(self, timeout=None):
        return self._future.result(timeout)

    def on_failure(self, fn):
        def done(future):
            error = future.exception()
            if isinstance(error, errors.OpError):
                fn(error)
        self._future.add_done_callback(done)

    def on_peer_lost(self, fn):
        return _no_watch  # the peer is this process


def _no_watch():
    pass


def _merge(device_graphs):
    """One graph of all the device pieces; each same-task _Recv runs after its _Send (one plan runs them all)."""
    merged = graph_pb2.GraphDef()
    merged.versions.CopyFrom(device_graphs[0].versions)
    senders = {}
    for g in device_graphs:
        for n in g.node:
            if n.op in ("_Send", "_HostSend") and not n.attr["client_terminated"].b:
                senders[n.attr["tensor_name"].s] = n.name
    for g in device_graphs:
        for n in g.node:
            node = merged.node.add()
            node.CopyFrom(n)
            if n.op in ("_Recv", "_HostRecv") and n.attr["tensor_name"].s in senders:
                node.input.append("^" + senders[n.attr["tensor_name"].s])
    return merged
