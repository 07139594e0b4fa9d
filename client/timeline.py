"""TF's tensorflow.python.client.timeline: a StepStats as Chrome trace-event JSON (chrome://tracing)."""
import json


class Timeline:
    def __init__(self, step_stats, graph=None):
        self._step_stats, self._graph = step_stats, graph

    def generate_chrome_trace_format(self, show_dataflow=True, show_memory=False):
        events, sends, flow_id = [], {}, 0
        for pid, dev in enumerate(self._step_stats.dev_stats):
            events.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": dev.device}})
            for s in dev.node_stats:
                label = s.timeline_label or s.node_name
                op = label.split(" = ", 1)[1].split("(", 1)[0] if " = " in label else s.node_name
                event = {"name": op, "ph": "X", "pid": pid, "tid": s.thread_id, "ts": s.all_start_micros,
                         "dur": max(s.all_end_rel_micros, 0), "cat": "Op",
                         "args": {"name": s.node_name, "op": op}}
                events.append(event)
                if show_dataflow and "(" in label and op in ("_Send", "_Recv", "_HostSend", "_HostRecv"):
                    tensor = label.split("(", 1)[1].split(" ", 1)[0]
                    if op.endswith("Send"):
                        sends[tensor] = event
            for s in dev.node_stats:
                label = s.timeline_label
                if show_dataflow and " = _Recv(" in label or " = _HostRecv(" in label:
                    tensor = label.split("(", 1)[1].split(" ", 1)[0]
                    send = sends.get(tensor)
                    if send is not None:
                        flow_id += 1
                        events.append({"name": tensor, "ph": "s", "id": flow_id, "pid": send["pid"],
                                       "tid": send["tid"], "ts": send["ts"], "cat": "DataFlow"})
                        events.append({"name": tensor, "ph": "f", "bp": "e", "id": flow_id, "pid": pid,
                                       "tid": s.thread_id, "ts": s.all_start_micros, "cat": "DataFlow"})
        return json.dumps({"traceEvents": events}, indent=4)
