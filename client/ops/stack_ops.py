"""TF's stacks (StackV2, StackPushV2, StackPopV2, StackCloseV2): where a while loop's gradient keeps the values
of each forward iteration for the backward loop (last in, first out). A stack lives for one step."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops.core import constant


def stack(elem_type, stack_name="", max_size=-1, name="Stack"):
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        size = constant(max_size, dtype=dtypes.int32, name="max_size") if not hasattr(max_size, "op") else max_size
        return graph.create_op("StackV2", [size], {"elem_type": dtypes.as_dtype(elem_type),
                                                   "stack_name": stack_name}, name=scope).outputs[0]


def stack_push(handle, elem, swap_memory=False, name="StackPushV2"):
    return get_default_graph().create_op("StackPushV2", [handle, elem], {"T": elem.dtype.base_dtype,
                                                                        "swap_memory": swap_memory},
                                         name=name).outputs[0]


def stack_pop(handle, elem_type, name="StackPopV2"):
    return get_default_graph().create_op("StackPopV2", [handle], {"elem_type": dtypes.as_dtype(elem_type)},
                                         name=name).outputs[0]


op_registry.register("StackV2", lambda op: [(dtypes.resource, TensorShape([2]))])
op_registry.register("StackPushV2", lambda op: [(op.inputs[1].dtype.base_dtype, op.inputs[1].shape)])
op_registry.register("StackPopV2", lambda op: [(op.get_attr("elem_type"), TensorShape(None))])
op_registry.register("StackCloseV2", lambda op: [])
