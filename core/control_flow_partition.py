"""Loops whose nodes are on several tasks: TensorFlow's distributed control-flow scheme (graph_partition.cc's
AddControlFlow), for the partitioner.

A loop's frame runs on every task that holds part of it. The task with the loop's `LoopCond` (the
controller) runs the loop itself; each other task gets a *control loop* of its own, driven by the
predicate the controller sends it every iteration:

    zero -> Enter(frame) -> Merge(Enter, NextIteration) -> Switch(Merge, pred) -> Identity -> NextIteration
                                  \\-> _Recv(pred, ^Merge)          Switch:0 -> Exit

so the frame has as many iterations on that task as on the controller. Every `_Recv` of a cut edge inside a
frame gets a control input from its task's Merge of that frame (the control loop's, or one of the
controller's own), which puts it in the frame and runs it once per iteration; its rendezvous key carries
`frame id:iteration` (worker/frames.py), and a dead value crosses as dead. Loops nested in loops must keep
each inner loop's parts on one task.
"""
import collections

from tfmini.core import attrs as attr_lib
from tfmini.core import dtypes, errors
from tfmini.protos import node_def_pb2

CONTROL_FLOW_OPS = frozenset(("Enter", "RefEnter", "Exit", "RefExit", "Switch", "RefSwitch", "Merge", "RefMerge",
                              "NextIteration", "RefNextIteration", "LoopCond"))
_ENTERS, _EXITS = ("Enter", "RefEnter"), ("Exit", "RefExit")


def uses_control_flow(nodes, order):
    return any(nodes[n].op in CONTROL_FLOW_OPS for n in order)


class _Frame:
    __slots__ = ("name", "parent", "loop_cond", "merges", "parallel_iterations")

    def __init__(self, name, parent):
        self.name, self.parent, self.loop_cond, self.merges, self.parallel_iterations = name, parent, None, [], 10


def _frames(nodes, order, edges):
    """Each node's frame (TF's BuildControlFlowInfo, over NodeDefs): an Enter's consumers are in its child
    frame, an Exit's in its parent, every other node's where its inputs are."""
    in_order = set(order)
    consumers = collections.defaultdict(list)
    for name in order:
        for src, _ in edges[name]:
            if src in in_order:
                consumers[src].append(name)
    root = _Frame("", None)
    children, frame_of = {}, {}
    queue = collections.deque(n for n in order if not any(src in in_order for src, _ in edges[n]))
    for n in queue:
        frame_of[n] = root
    while queue:
        name = queue.popleft()
        node, here = nodes[name], frame_of[name]
        out = _output_frame(node, here, children)
        if node.op == "LoopCond":
            here.loop_cond = name
        elif node.op in ("Merge", "RefMerge") and here is not root:
            here.merges.append(name)
        for c in consumers[name]:
            if c not in frame_of:
                frame_of[c] = out
                queue.append(c)
    return frame_of, children


def _output_frame(node, here, children):
    if node.op in _ENTERS:
        key = (here, node.attr["frame_name"].s.decode())
        if key not in children:
            children[key] = _Frame(key[1], here)
            children[key].parallel_iterations = node.attr["parallel_iterations"].i or 10
        return children[key]
    if node.op in _EXITS:
        return here.parent if here.parent is not None else here
    return here


def add_control_loops(out, nodes, order, edges, placement, task_of, incarnation_of, fresh):
    """Adds control loops and frame anchors to the partitions in `out` (a core.partition.Partitioning)."""
    frame_of, children = _frames(nodes, order, edges)
    holders = collections.defaultdict(set)  # frame -> tasks that run part of it
    for name in order:
        frame = frame_of.get(name)
        if frame is None:
            continue
        if frame.parent is not None:
            holders[frame].add(task_of(name))
        if nodes[name].op in _ENTERS:
            holders[_output_frame(nodes[name], frame, children)].add(task_of(name))
    anchors = {}
    for frame, tasks in holders.items():
        if len(tasks) < 2 and frame.loop_cond is not None and task_of(frame.loop_cond) in tasks:
            continue
        if frame.loop_cond is None:
            raise errors.InvalidArgumentError(None, None, f"Loop frame '{frame.name}' has no LoopCond")
        controller = task_of(frame.loop_cond)
        mine = [m for m in frame.merges if task_of(m) == controller]
        if not mine:
            raise errors.InvalidArgumentError(None, None, f"Loop '{frame.name}': its Merges must be on the task of "
                                                          f"its LoopCond ({controller})")
        anchors[frame, controller] = mine[0]
        for task in sorted(tasks - {controller}):
            if frame.parent.parent is not None:
                raise errors.UnimplementedError(None, None, f"Loop '{frame.name}' is nested in a loop and spread over "
                                                            f"tasks ({controller} and {task}): tfmini keeps an inner "
                                                            f"loop on one task")
            anchors[frame, task] = _control_loop(out, frame, controller, task, nodes, placement, incarnation_of,
                                                 fresh)
    if not anchors:
        return
    for task, graph in out.graphs.items():
        for node in graph.node:
            if node.op not in ("_Recv", "_HostRecv") or node.attr["client_terminated"].b or "_src" not in node.attr:
                continue
            src = node.attr["_src"].s.decode()
            if src not in frame_of:
                continue
            frame = _output_frame(nodes[src], frame_of[src], children)
            anchor = anchors.get((frame, task))
            if frame.parent is not None and anchor is not None:
                node.input.append(f"^{anchor}")


def _control_loop(out, frame, controller, task, nodes, placement, incarnation_of, fresh):
    """Builds the control loop of `frame` on `task`, and the controller's send of the predicate to it;
    returns the name of its Merge."""
    pred = frame.loop_cond
    pred_device = placement[pred]
    device = next((placement[n] for n in placement if placement[n].startswith(task)), None) or task
    graph, controller_graph = out.graph(task), out.graph(controller)
    base = f"{frame.name}/_control_loop"

    def node(op, name, inputs=(), **attrs):
        n = node_def_pb2.NodeDef(name=fresh(f"{base}/{name}"), op=op, device=device, input=list(inputs))
        for k, v in attrs.items():
            n.attr[k].CopyFrom(attr_lib.to_attr(v))
        graph.node.append(n)
        return n.name

    zero = node("Const", "zero", dtype=dtypes.int32,
                value=_int32_scalar())
    enter = node("Enter", "enter", [zero], T=dtypes.int32, frame_name=frame.name.encode(), is_constant=False,
                 parallel_iterations=frame.parallel_iterations)
    merge = node("Merge", "merge", [enter, enter], T=dtypes.int32, N=2)
    tensor_name = f"{pred}:0/{task}"
    inc = incarnation_of(pred_device)
    recv = node("_Recv", "pred", [f"^{merge}"], tensor_name=tensor_name, send_device=pred_device,
                recv_device=device, send_device_incarnation=inc, client_terminated=False, tensor_type=dtypes.bool)
    switch = node("Switch", "switch", [merge, recv], T=dtypes.int32)
    pivot = node("Identity", "pivot", [f"{switch}:1"], T=dtypes.int32)
    nxt = node("NextIteration", "next_iteration", [pivot], T=dtypes.int32)
    node("Exit", "exit", [switch], T=dtypes.int32)
    for n in graph.node:
        if n.name == merge:
            n.input[1] = nxt
    send = node_def_pb2.NodeDef(name=fresh(f"{base}/send_pred"), op="_Send", device=pred_device, input=[pred])
    for k, v in {"tensor_name": tensor_name, "send_device": pred_device, "recv_device": device,
                 "send_device_incarnation": inc, "client_terminated": False, "T": dtypes.bool}.items():
        send.attr[k].CopyFrom(attr_lib.to_attr(v))
    controller_graph.node.append(send)
    return merge


def _int32_scalar():
    from tfmini.protos import tensor_pb2
    return tensor_pb2.TensorProto(dtype=dtypes.int32.as_datatype_enum, int_val=[0])
