"""Partitioning: one GraphDef per task, with `_Send`/`_Recv` pairs wherever an edge crosses tasks.

As TensorFlow's graph_partition.cc: a data edge becomes `_Send` (source task)
and `_Recv` (destination task), once per (tensor, destination task); a
control edge sends an empty Const made after the source. Feeds become
client-terminated `_Recv`s named `_recv_<node>_<i>` on the device that uses
them, fetches client-terminated `_Send`s named `_send_<node>_<i>` on the
device that makes them; the master fills and drains those through RunGraph.
"""
from tfmini.core import control_flow_partition, dtypes, op_types
from tfmini.core import attrs as attr_lib
from tfmini.core.device import DeviceSpec
from tfmini.core.names import input_source
from tfmini.core.names import make_key
from tfmini.protos import graph_pb2, node_def_pb2

PUSH_ATTR = "_tfmini_push"  # a cross-task _Send/_Recv pair whose tensor is pushed (worker/kernels/sendrecv.py)
# On a pushed _Recv: its tensor's sender waits for no other task's tensor first, so it comes whatever the
# receiver does (worker/executor.py may then wait for such receives in a fixed order).
SENT_FIRST_ATTR = "_tfmini_sent_first"



class Partitioning:
    """The result: `graphs[task]`, and per task the (feed name, key) and (fetch name, key) pairs."""

    def __init__(self):
        self.graphs, self.feed_keys, self.fetch_keys = {}, {}, {}

    def graph(self, task):
        if task not in self.graphs:
            self.graphs[task] = graph_pb2.GraphDef()
            self.feed_keys[task], self.fetch_keys[task] = [], []
        return self.graphs[task]


def _output_dtype(node, index):
    """A node's output dtype, for the `T`/`tensor_type` attrs of send/recv: by its op's type signature where it
    has one (an `Equal` of floats outputs a bool), else the best static guess."""
    dtype = op_types.declared_output_type(node, index)
    if dtype is not None:
        return dtype
    for key in ("component_types", "output_types", "dtypes"):  # list(type): one per output (dequeues, RestoreV2)
        if key in node.attr and node.attr[key].WhichOneof("value") == "list" and index < len(node.attr[key].list.type):
            return dtypes.as_dtype(node.attr[key].list.type[index]).base_dtype
    for key in ("dtype", "T", "DstT", "out_type", "output_type", "Tout"):
        if key in node.attr and node.attr[key].WhichOneof("value") == "type":
            return dtypes.as_dtype(node.attr[key].type).base_dtype
    return dtypes.float32


def _sendrecv(op, name, device, tensor_name, send_device, recv_device, incarnation, dtype, client_terminated,
              src="", dst="", push=False, sent_first=False):
    node = node_def_pb2.NodeDef(name=name, op=op, device=device)
    attrs = {"tensor_name": tensor_name, "send_device": send_device, "recv_device": recv_device,
             "send_device_incarnation": incarnation, "client_terminated": client_terminated,
             "T" if op == "_Send" else "tensor_type": dtype}
    if src:
        attrs.update({"_src": src, "_dst": dst})
    if push:
        attrs[PUSH_ATTR] = True
        if sent_first:
            attrs[SENT_FIRST_ATTR] = True
    for k, v in attrs.items():
        node.attr[k].CopyFrom(attr_lib.to_attr(v))
    return node


def partition(nodes, order, placement, feeds, fetches, incarnation_of, by_device=False, edges=None, push=False):
    """Splits the nodes named in `order` (a list, graph order) by task, or by device with `by_device`.

    `placement` maps every node name (fed ones included) to its device;
    `feeds` and `fetches` are tensor names ("node:i"); `incarnation_of(device)`
    gives the device incarnation used in rendezvous keys. The master splits by
    task (new nodes get `_S<n>`); a worker splits its piece again by device (`_G<n>`).
    `edges` (name -> parsed inputs), when the caller has them, saves parsing the inputs again.
    `push`: mark each cross-task pair PUSH_ATTR (tfmini workers at both ends: the sender pushes, no pull),
    except in graphs with control flow, whose transfers keep TF's pulls.
    """
    if edges is None:
        edges = {name: [input_source(i) for i in nodes[name].input] for name in order}
    out = Partitioning()
    task_of_device = {d: d if by_device else DeviceSpec.from_string(d).task_name for d in set(placement.values())}
    suffix = "_G" if by_device else "_S"
    push = push and not control_flow_partition.uses_control_flow(nodes, order)

    def task(name):
        return task_of_device[placement[name]]

    feed_set = {input_source(f) for f in feeds}
    feed_recvs = {}   # (node, index, device) -> recv node name
    cross = {}        # (src node, index, dst task) -> recv node name
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}{suffix}{counter[0]}"

    def feed_input(src, idx, device):
        key = (src, idx, device)
        if key not in feed_recvs:
            name = f"_recv_{src}_{idx}"
            while name in nodes or name in feed_recvs.values():
                name = fresh(name)
            tensor_name = f"{src}:{idx}"
            inc = incarnation_of(device)
            dst_task = task_of_device.get(device) or DeviceSpec.from_string(device).task_name
            out.graph(dst_task).node.append(_sendrecv("_Recv", name, device, tensor_name, device, device, inc,
                                                      _output_dtype(nodes[src], idx), True))
            out.feed_keys[dst_task].append((tensor_name, make_key(device, inc, device, tensor_name)))
            feed_recvs[key] = name
        return feed_recvs[key]

    def copied(src, idx):
        """A constant is copied to the task that uses it: registered once instead of sent every step."""
        return idx == 0 and nodes[src].op == "Const" and not nodes[src].input

    def cross_input(src, idx, dst_name, dst_device):
        dst_task = task(dst_name)
        key = (src, idx, dst_task)
        if key not in cross and copied(src, idx):
            copy = node_def_pb2.NodeDef()
            copy.CopyFrom(nodes[src])
            copy.name, copy.device = fresh(src), dst_device
            out.graph(dst_task).node.append(copy)
            cross[key] = copy.name
        if key not in cross:
            src_device = placement[src]
            tensor_name = f"edge_{counter[0] + 1}_{src}"
            recv_name, send_name = fresh(src), fresh(src)
            inc = incarnation_of(src_device)
            src_graph = out.graph(task(src))
            if idx < 0:  # a control edge carries an empty tensor made after the source
                ctrl = node_def_pb2.NodeDef(name=fresh(f"{src}/ctrl"), op="Const", device=src_device,
                                            input=[f"^{src}"])
                ctrl.attr["dtype"].CopyFrom(attr_lib.to_attr(dtypes.float32))
                ctrl.attr["value"].tensor.dtype = dtypes.float32.as_datatype_enum
                ctrl.attr["value"].tensor.tensor_shape.dim.add(size=0)
                src_graph.node.append(ctrl)
                send_input, dtype = ctrl.name, dtypes.float32
            else:
                send_input = src if idx == 0 else f"{src}:{idx}"
                dtype = _output_dtype(nodes[src], idx)
            send = _sendrecv("_Send", send_name, src_device, tensor_name, src_device, dst_device, inc, dtype,
                             False, src, dst_name, push)
            send.input.append(send_input)
            src_graph.node.append(send)
            out.graph(dst_task).node.append(_sendrecv("_Recv", recv_name, dst_device, tensor_name, src_device,
                                                      dst_device, inc, dtype, False, src, dst_name, push,
                                                      push and not waits_on_peers(src)))
            cross[key] = recv_name
        return cross[key]

    # A NoOp nothing consumes only marks "run after these"; its step ends after every partition's
    # RunGraph anyway, so control edges into it from other tasks need no transfer.
    consumed = {src for n in order for src, _ in edges[n]}
    consumed.update(input_source(f)[0] for f in fetches)

    def needs_no_transfer(name, idx):
        """A cross-task control input of a NoOp nothing reads (a group's end): dropped, not sent."""
        return idx < 0 and nodes[name].op == "NoOp" and name not in consumed

    waits = {}  # node -> whether it runs only after a tensor from another task has come

    def waits_on_peers(root):
        stack = [root]
        while stack:  # depth first, without recursion (graphs can be deep)
            name = stack[-1]
            if name in waits:
                stack.pop()
                continue
            answer, pending = False, False
            for src, idx in edges[name]:
                if (idx >= 0 and (src, idx) in feed_set) or src not in placement:
                    continue
                if task(src) != task(name):
                    if needs_no_transfer(name, idx) or copied(src, idx):
                        continue
                    answer = True  # a _Recv from another task
                    break
                if src not in edges:
                    continue
                if src not in waits:
                    stack.append(src)
                    pending = True
                elif waits[src]:
                    answer = True
                    break
            if answer or not pending:
                waits[name] = answer
                stack.pop()
        return waits[root]

    for name in order:
        original = nodes[name]
        node = node_def_pb2.NodeDef()
        node.CopyFrom(original)
        node.device = placement[name]
        del node.input[:]
        my_task = task(name)
        for inp, (src, idx) in zip(original.input, edges[name]):
            if idx >= 0 and (src, idx) in feed_set:
                node.input.append(feed_input(src, idx, node.device))
            elif task(src) != my_task:
                if needs_no_transfer(name, idx):
                    continue
                recv = cross_input(src, idx, name, node.device)
                node.input.append(f"^{recv}" if idx < 0 else recv)
            else:
                node.input.append(inp)
        out.graph(my_task).node.append(node)

    for fetch in fetches:
        src, idx = input_source(fetch)
        device = placement[src]
        t = task(src)
        send_name = f"_send_{src}_{idx}"
        inc = incarnation_of(device)
        send = _sendrecv("_Send", send_name, device, fetch, device, device, inc, _output_dtype(nodes[src], idx),
                         True)
        send.input.append(feed_input(src, idx, device) if (src, idx) in feed_set else
                          (src if idx == 0 else f"{src}:{idx}"))
        out.graph(t).node.append(send)
        out.fetch_keys[t].append((fetch, make_key(device, inc, device, fetch)))
    if control_flow_partition.uses_control_flow(nodes, order):  # loops spread over tasks: control loops
        control_flow_partition.add_control_loops(out, nodes, order, edges, placement, task, incarnation_of, fresh)
    return out
