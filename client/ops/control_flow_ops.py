"""Grouping and ordering: NoOp, group, tuple, with_dependencies."""
import builtins

from tfmini.core import op_registry
from tfmini.graph import Operation, Tensor, get_default_graph
from tfmini.ops.array_ops import identity
from tfmini.ops import stack_ops  # noqa: F401 - the stacks of while-loop gradients

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


# -- TF 1.x's control-flow primitives (the v1 GraphDef form; client/ops/cond.py and while_loop.py build on them) --
def _ref_or(op_type, x):
    """The Ref* form of `op_type` where `x` is a variable reference (a ref flows through), else op_type."""
    return "Ref" + op_type if x.dtype.is_ref_dtype else op_type


def _make(op_type, inputs, attrs, name):
    from tfmini.ops.core import convert_to_tensor
    graph = get_default_graph()
    inputs = [convert_to_tensor(x) for x in inputs]
    return graph.create_op(op_type, inputs, dict({"T": inputs[0].dtype.base_dtype}, **attrs), name=name)


def switch(data, pred, name=None):
    """(output_false, output_true): `data` on the side `pred` picks; the other side is dead."""
    from tfmini.ops.core import convert_to_tensor
    data, pred = convert_to_tensor(data), convert_to_tensor(pred)
    return builtins.tuple(_make(_ref_or("Switch", data), [data, pred], {}, name or "Switch").outputs)


def merge(inputs, name=None):
    """(output, value_index): the first of `inputs` that is not dead."""
    from tfmini.ops.core import convert_to_tensor
    inputs = [convert_to_tensor(x) for x in inputs]
    if any(x is None for x in inputs):
        raise ValueError(f"At least one of the merge inputs is None: {inputs}")
    op_type = "RefMerge" if all(x.dtype.is_ref_dtype for x in inputs) else "Merge"
    return builtins.tuple(_make(op_type, inputs, {"N": len(inputs)}, name or "Merge").outputs)


def enter(data, frame_name, is_constant=False, parallel_iterations=10, name=None):
    return _make(_ref_or("Enter", data), [data], {"frame_name": frame_name.encode(), "is_constant": is_constant,
                                                  "parallel_iterations": parallel_iterations},
                 name or "Enter").outputs[0]


def exit(data, name=None):  # noqa: A001 - TensorFlow's name
    return _make(_ref_or("Exit", data), [data], {}, name or "Exit").outputs[0]


def next_iteration(data, name=None):
    return _make(_ref_or("NextIteration", data), [data], {}, name or "NextIteration").outputs[0]


def loop_cond(pred, name=None):
    from tfmini.ops.core import convert_to_tensor
    return get_default_graph().create_op("LoopCond", [convert_to_tensor(pred)], {}, name=name or "LoopCond").outputs[0]


def control_trigger(name=None):
    return get_default_graph().create_op("ControlTrigger", [], name=name or "ControlTrigger")


def _same_as_input(op):
    x = op.inputs[0]
    return [(x.dtype, x.shape)]


def _merged_shape(op):
    """Merge's output: the inputs' common shape, with unknown dims where they differ (as TF's shape fn)."""
    from tfmini.core import dtypes
    from tfmini.core.tensor_shape import TensorShape
    shapes = [x.shape for x in op.inputs]
    out = shapes[0]
    for s in shapes[1:]:
        if out.ndims is None or s.ndims is None or out.ndims != s.ndims:
            out = TensorShape(None)
            break
        out = TensorShape([a if a == b else None for a, b in zip(out.as_list(), s.as_list())])
    return [(op.inputs[0].dtype, out), (dtypes.int32, TensorShape([]))]


op_registry.register(["Switch", "RefSwitch"], lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)] * 2)
op_registry.register(["Merge", "RefMerge"], _merged_shape)
op_registry.register(["Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration"], _same_as_input)
op_registry.register("LoopCond", lambda op: [(op.inputs[0].dtype.base_dtype, op.inputs[0].shape)])
op_registry.register("ControlTrigger", lambda op: [])
