"""Grouping and ordering: NoOp, group, tuple, with_dependencies."""
import builtins

from tfmini.core import op_registry
from tfmini.graph import Operation, Tensor, get_default_graph
from tfmini.ops.array_ops import identity

op_registry.register("NoOp", lambda op: [])


def no_op(name=None):
    return get_default_graph().create_op("NoOp", [], name=name or "NoOp")


def group(*inputs, **kwargs):
    """One NoOp that runs after all of `inputs` (ops or tensors)."""
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"Unknown keyword arguments: {', '.join(kwargs)}")
    ops = []
    for x in inputs:
        if isinstance(x, (list, builtins.tuple)):
            ops.extend(x)
        else:
            ops.append(x)
    ops = [x.op if isinstance(x, Tensor) else x for x in ops if x is not None]
    for x in ops:
        if not isinstance(x, Operation) and not hasattr(x, "_as_graph_element"):
            raise TypeError(f"Expected an Operation or Tensor in group(), got {x!r}")
    graph = get_default_graph()
    with graph.name_scope(name or "group_deps") as scope, graph.control_dependencies(ops):
        return no_op(name=scope)


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    tensors = list(tensors)
    graph = get_default_graph()
    with graph.name_scope(name or "tuple"):
        gate = group(*([t for t in tensors if t is not None] + list(control_inputs or [])))
        out = []
        for t in tensors:
            if t is None:
                out.append(None)
            else:
                with graph.control_dependencies([gate]):
                    out.append(identity(t))
        return out


def with_dependencies(dependencies, output_tensor, name=None):
    graph = get_default_graph()
    with graph.name_scope(name or "control_dependency") as scope, graph.control_dependencies(dependencies):
        if isinstance(output_tensor, Operation):
            with graph.control_dependencies([output_tensor]):
                return no_op(name=scope)
        return identity(output_tensor, name=scope)
