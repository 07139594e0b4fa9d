"""Step stats for partitions with control flow (RunOptions.trace_level > NO_TRACE on a FramePlan).

A traced step runs the partition in the frame interpreter with every kernel timed: one NodeExecStats per
node *per run*, so a node in a loop body has one entry per iteration (and per run of the loop around it),
as TF's executor records them; `timeline_label` is TF's "name = Op(inputs)". The interpreter's own
routing nodes (Switch, Merge, Enter, Exit, NextIteration) carry no kernel and record nothing; `_Send` and
`_Recv` record the transfer, a pull from a peer from its start to its arrival.

The traced plan is a second FramePlan of the same partition, built on the first traced step, with no
compiled loops (a compiled loop runs its iterations as one Python function, with nothing to time between
them): the untraced step keeps its compiled fast path and pays nothing for tracing.
"""
import threading

from tfmini.core.deadness import DEAD
from tfmini.protos import step_stats_pb2
from tfmini.worker import frames
from tfmini.worker.tracing import _label, _now_us, _outputs


class TracedFramePlan(frames.FramePlan):
    def __init__(self, graph_def, env, xp, devices):
        super().__init__(graph_def, env, xp=xp, devices=devices, compile_loops=False)
        self._node_defs = list(graph_def.node)  # indexed as the plan's nodes
        self._labels = {}
        self._lock = threading.Lock()
        self._stats = self._by_device = self._default_device = None
        self._pulls = {}  # (node, frame, iteration) -> when its pull started
        for i, fn in enumerate(self.fns):
            if self.kind[i] == frames.NORMAL:
                self.fns[i] = self._timed(i, fn)

    def run_traced(self, step, default_device):
        """Runs one step with every kernel timed; returns its StepStats."""
        with self._lock:  # one traced step at a time: the stats being filled belong to it
            self._stats, self._by_device = step_stats_pb2.StepStats(), {}
            self._default_device = default_device
            try:
                self.run(step)
                return self._stats
            finally:
                self._stats = self._by_device = None
                self._pulls.clear()

    def _timed(self, i, fn):
        def timed(*args):
            start = _now_us()
            out = fn(*args)
            self._record(i, start, _now_us(), out)
            return out
        return timed

    def _record(self, i, start, end, out):
        node_def = self._node_defs[i]
        device = node_def.device or self._default_device
        dev = self._by_device.get(device)
        if dev is None:
            dev = self._by_device[device] = self._stats.dev_stats.add(device=device)
        label = self._labels.get(i)
        if label is None:
            label = self._labels[i] = _label(node_def)
        s = dev.node_stats.add(node_name=node_def.name, all_start_micros=start, op_start_rel_micros=0,
                               op_end_rel_micros=end - start, all_end_rel_micros=end - start,
                               timeline_label=label, scheduled_micros=start)
        n_outs = len(self.out_edges[i])
        if n_outs and out is not None and out is not DEAD:
            _outputs(s, out, n_outs)

    # -- transfers, timed -------------------------------------------------------------------------------
    def _send(self, i, frame, it, value):
        start = _now_us()
        super()._send(i, frame, it, value)
        self._record(i, start, _now_us(), None)

    def _recv(self, i, frame, it):
        self._pulls[i, id(frame), it] = _now_us()
        return super()._recv(i, frame, it)

    def _finish_outputs(self, i, frame, it, value, dead):
        start = self._pulls.pop((i, id(frame), it), None)
        if start is not None:
            self._record(i, start, _now_us(), None if dead else value)
        super()._finish_outputs(i, frame, it, value, dead)
