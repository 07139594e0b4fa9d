"""GraphDef interchange: tf.import_graph_def, tf.train.write_graph.

Importing re-creates each NodeDef as an Operation through the op registry, so
the imported ops get static shapes and dtypes like ops built in Python; an op
type tfmini does not know is a NotFoundError naming the op and the node.
"""
import os

from google.protobuf import text_format

from tfmini.core import attrs as attr_lib
from tfmini.core import errors, op_registry
from tfmini.core.names import input_source, parse_tensor_name
from tfmini.graph import Graph, Operation, Tensor, get_default_graph
from tfmini.protos import graph_pb2



def _topological(nodes):
    """Nodes in an order where inputs come first (GraphDefs need not be sorted)."""
    by_name = {n.name: n for n in nodes}
    order, state = [], {}
    for root in nodes:
        stack = [(root.name, False)]
        while stack:
            name, done = stack.pop()
            if done:
                state[name] = 2
                order.append(by_name[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise ValueError(f"GraphDef has a cycle through node '{name}'")
            state[name] = 1
            stack.append((name, True))
            for inp in by_name[name].input:
                src = input_source(inp)[0]
                if _back_edge(by_name[name], by_name.get(src)):
                    continue  # a loop's NextIteration -> Merge: the Merge is made first, its input set after
                if src in by_name and state.get(src) != 2:
                    if state.get(src) == 1:
                        raise ValueError(f"GraphDef has a cycle through node '{src}'")
                    stack.append((src, False))
    return order


def _back_edge(node, src):
    return src is not None and node.op in ("Merge", "RefMerge") and src.op in ("NextIteration", "RefNextIteration")


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None, producer_op_list=None):
    """Adds the nodes of `graph_def` to the default graph under the scope `name` ("import" by default)."""
    if isinstance(graph_def, bytes):
        graph_def = graph_pb2.GraphDef.FromString(graph_def)
    elif not isinstance(graph_def, graph_pb2.GraphDef):
        graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())  # e.g. TensorFlow's own GraphDef
    graph = get_default_graph()
    input_map = dict(input_map or {})
    for key, value in input_map.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"input_map values must be Tensors, got {value!r} for {key!r}")
    names = {n.name for n in graph_def.node}
    for n in graph_def.node:
        op_registry.lookup(n.op, n.name)
        for inp in n.input:
            if input_source(inp)[0] not in names and inp not in input_map:
                raise ValueError(f"Node '{n.name}': input '{inp}' is not in the GraphDef (and not in input_map)")
    if len(names) != len(graph_def.node):
        raise ValueError("GraphDef has duplicate node names")
    prefix = graph.unique_name(name if name is not None else "import") if name != "" else ""
    created, used_map = {}, set()

    def resolve(inp):
        key = inp if inp.startswith("^") or ":" in inp else f"{inp}:0"
        for k in (inp, key):
            if k in input_map:
                used_map.add(k)
                return input_map[k]
        src, idx = input_source(inp)
        op = created[src]
        return op if idx < 0 else op.outputs[idx]

    back_edges = []  # (merge op, input index, NextIteration input name): set once the loop's body exists
    for node in _topological(list(graph_def.node)):
        data = [i for i in node.input if not i.startswith("^")]
        later = [k for k, i in enumerate(data) if input_source(i)[0] not in created and i not in input_map]
        if later and node.op in ("Merge", "RefMerge"):
            first = next(i for k, i in enumerate(data) if k not in later)
            back_edges.extend((node.name, k, data[k]) for k in later)
            data = [first if k in later else i for k, i in enumerate(data)]
        inputs = [resolve(i) for i in data]
        controls = [resolve(i) for i in node.input if i.startswith("^")]
        attrs = {k: v for k, v in node.attr.items() if k != "_output_shapes"}
        if "_class" in attrs and prefix:
            groups = [s.replace(b"loc:@", b"loc:@" + prefix.encode() + b"/") for s in attrs["_class"].list.s]
            attrs["_class"] = attr_lib.to_attr(groups)
        full = f"{prefix}/{node.name}" if prefix else node.name
        with graph.name_scope(None), graph.control_dependencies(None):
            try:
                op = graph.create_op(node.op, inputs, attrs, name=full + "/")
            except (TypeError, KeyError) as e:
                raise ValueError(f"Cannot import node '{node.name}' ({node.op}): {e}") from None
        for c in controls:
            op._add_control_input(c)
        if node.device:
            op._set_device(node.device)
        created[node.name] = op
    if back_edges:
        from tfmini.ops.control_flow_context import update_input
        for merge, k, name in back_edges:
            update_input(created[merge], k, resolve(name))
    from tfmini.ops import imported_control_flow  # the loops' and conds' contexts, for tf.gradients
    if imported_control_flow.has_control_flow(created.values()):
        imported_control_flow.rebuild(graph, list(created.values()))
    unused = set(input_map) - used_map
    if unused:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{', '.join(sorted(unused))}]")
    if return_elements is None:
        return None
    result = []
    for element in return_elements:
        op_name, index = parse_tensor_name(element)
        result.append(created[op_name].outputs[index] if ":" in element else created[op_name])
    return result


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """Writes a GraphDef to logdir/name as text (pbtxt) or binary; returns the path."""
    graph_def = graph_or_graph_def.as_graph_def() if isinstance(graph_or_graph_def, Graph) else graph_or_graph_def
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, name)
    tmp = path + ".tmp"
    if as_text:
        with open(tmp, "w") as f:
            f.write(text_format.MessageToString(graph_def))
    else:
        with open(tmp, "wb") as f:
            f.write(graph_def.SerializeToString())
    os.replace(tmp, path)
    return path


def read_graph(path):
    """A GraphDef from a .pb (binary) or .pbtxt (text) file."""
    with open(path, "rb") as f:
        data = f.read()
    graph_def = graph_pb2.GraphDef()
    if path.endswith((".pbtxt", ".txt")):
        # Fields tfmini does not model (NodeDef.experimental_type, which TF 2 writes) are skipped, as
        # binary parsing skips them.
        text_format.Parse(data.decode(), graph_def, allow_unknown_field=True)
    else:
        graph_def.ParseFromString(data)
    return graph_def


__all__ = ["import_graph_def", "write_graph", "read_graph", "Operation", "errors"]
