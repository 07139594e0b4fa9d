"""Step stats for a traced RunGraph (RunOptions.trace_level > NO_TRACE): TF's NodeExecStats per node.

A traced step walks the plan's nodes with a clock around each kernel instead of running the compiled
straight-line function, so a step without tracing costs exactly what it did: nothing here is on its path.
Times are this task's wall clock in µs; the master shifts them onto its own (server/master_session.py).
"""
import sys
import time

from tfmini.core import attrs as attr_lib
from tfmini.core.dtypes import as_dtype
from tfmini.protos import step_stats_pb2

_SEND_OPS = frozenset(("_Send", "_HostSend"))
_RECV_OPS = frozenset(("_Recv", "_HostRecv"))


def _now_us():
    return time.time_ns() // 1000


def _label(node_def):
    """TF's timeline_label: "name = Op(inputs)"; a transfer names its tensor and its peer device."""
    op = node_def.op
    if op in _SEND_OPS or op in _RECV_OPS:
        a = attr_lib.attr_dict(node_def)
        peer = a.get("recv_device" if op in _SEND_OPS else "send_device", b"")
        peer = peer.decode() if isinstance(peer, bytes) else str(peer)
        tensor = a.get("tensor_name", b"")
        tensor = tensor.decode() if isinstance(tensor, bytes) else str(tensor)
        arrow = "to" if op in _SEND_OPS else "from"
        return f"{node_def.name} = {op}({tensor} {arrow} {peer})"
    return f"{node_def.name} = {op}({', '.join(node_def.input)})"


def _outputs(stats, value, n_outs):
    values = value if n_outs > 1 else (value,)
    for slot, v in enumerate(values):
        nbytes = getattr(v, "nbytes", None)
        if nbytes is None:
            continue
        out = stats.output.add(slot=slot)
        desc = out.tensor_description
        try:
            desc.dtype = as_dtype(v.dtype).as_datatype_enum
        except (TypeError, ValueError, KeyError):
            pass
        for d in getattr(v, "shape", ()):
            desc.shape.dim.add(size=int(d))
        desc.allocation_description.requested_bytes = int(nbytes)
        desc.allocation_description.allocated_bytes = int(nbytes)
        desc.allocation_description.allocator_name = "cpu"


class Tracer:
    """Collects one step's NodeExecStats, grouped per device, as a StepStats."""

    def __init__(self, plan, default_device):
        self.stats = step_stats_pb2.StepStats()
        self._by_device = {}
        self._default_device = default_device
        self._defs = {id(n): d for n, d in zip(plan._nodes, plan.node_defs)}

    def call(self, node, vals, step):
        """The plan's _Node.call, timed."""
        start = _now_us()
        out = node.call(vals, step)
        end = _now_us()
        self.record(node, start, end, out)
        return out

    def record(self, node, start, end, out):
        node_def = self._defs[id(node)]
        device = node_def.device or self._default_device
        dev = self._by_device.get(device)
        if dev is None:
            dev = self._by_device[device] = self.stats.dev_stats.add(device=device)
        s = dev.node_stats.add(node_name=node.name, all_start_micros=start, op_start_rel_micros=0,
                               op_end_rel_micros=end - start, all_end_rel_micros=end - start,
                               timeline_label=_label(node_def), scheduled_micros=start)
        if node.outs and out is not None:
            _outputs(s, out, len(node.outs))


def run_traced(plan, step, default_device):
    """Runs one step of `plan` with every node timed; returns its StepStats."""
    if hasattr(plan, "run_traced"):  # a partition with control flow (worker/frame_tracing.py)
        return plan.run_traced(step, default_device)
    from tfmini.worker.executor import _as_op_error  # the executor's own error naming
    tracer = Tracer(plan, default_device)
    try:
        if plan.dataflow:
            plan._run_dataflow(step, call=tracer.call)
        else:
            vals = dict(plan._constants)
            for node in plan._nodes:
                try:
                    out = tracer.call(node, vals, step)
                except Exception as e:  # noqa: BLE001
                    e._tfmini_node = node.name
                    raise
                if len(node.outs) == 1:
                    vals[node.outs[0]] = out
                elif node.outs:
                    vals.update(zip(node.outs, out))
    except Exception as e:  # noqa: BLE001 - kernel errors become TF errors naming the node
        raise _as_op_error(e, getattr(e, "_tfmini_node", None) or "?").with_traceback(sys.exc_info()[2]) from None
    return tracer.stats
