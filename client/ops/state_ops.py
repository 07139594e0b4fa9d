"""Ref-variable ops: VariableV2 and the Assign family, which write through a variable's ref output."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of, get_default_graph
from tfmini.ops import shape_fns
from tfmini.ops.core import convert_to_tensor



def variable_op_v2(shape, dtype, name="Variable", container="", shared_name=""):
    attrs = {"shape": TensorShape(shape), "dtype": dtypes.as_dtype(dtype).base_dtype,
             "container": container, "shared_name": shared_name}
    return get_default_graph().create_op("VariableV2", [], attrs, name=name).outputs[0]


op_registry.register(["VariableV2", "Variable"],
                     lambda op: [(op.get_attr("dtype")._as_ref, TensorShape(op.get_attr("shape")))])


def _ref_update(op_type, extra_attrs):
    def fn(ref, value, name=None, **kwargs):
        graph = _graph_of([ref, value])
        ref_t = ref._ref() if hasattr(ref, "_ref") else ref
        with graph.as_default(), graph.name_scope(name or op_type) as scope:
            # Ops that write through a ref live with the variable (TF colocates ref inputs).
            with graph.colocate_with(ref_t.op):
                v = convert_to_tensor(value, dtype=ref_t.dtype.base_dtype, name="value")
                attrs = {"T": ref_t.dtype.base_dtype}
                attrs.update({k: kwargs.get(k, default) for k, default in extra_attrs.items()})
                return graph.create_op(op_type, [ref_t, v], attrs, name=scope).outputs[0]
    return fn


assign = _ref_update("Assign", {"validate_shape": True, "use_locking": True})
assign_add = _ref_update("AssignAdd", {"use_locking": False})
assign_sub = _ref_update("AssignSub", {"use_locking": False})


@op_registry.shape_fn("Assign")
def _assign_shape(op):
    ref, value = op.inputs
    shape = value.shape if not op.get_attr("validate_shape") else ref.shape.merge_with(value.shape) \
        if ref.shape.is_compatible_with(value.shape) else _shape_mismatch(op, ref, value)
    return [(ref.dtype, shape)]


def _shape_mismatch(op, ref, value):
    raise ValueError(f"Shapes must be equal rank, but are {ref.shape.ndims} and {value.shape.ndims} for "
                     f"'{op.name}' (op: 'Assign') with input shapes: {ref.shape}, {value.shape}."
                     if ref.shape.ndims != value.shape.ndims else
                     f"Dimension mismatch for '{op.name}' (op: 'Assign') with input shapes: {ref.shape}, "
                     f"{value.shape}.")


op_registry.register(["AssignAdd", "AssignSub"], lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)])


def is_variable_initialized(ref, name=None):
    ref_t = ref._ref() if hasattr(ref, "_ref") else ref
    graph = ref_t.graph
    with graph.colocate_with(ref_t.op):
        return graph.create_op("IsVariableInitialized", [ref_t], {"dtype": ref_t.dtype.base_dtype},
                               name=name or "IsVariableInitialized").outputs[0]


op_registry.register("IsVariableInitialized", shape_fns.scalar_of(dtypes.bool))


def count_up_to(ref, limit, name=None):
    ref_t = ref._ref() if hasattr(ref, "_ref") else ref
    graph = ref_t.graph
    with graph.colocate_with(ref_t.op):
        return graph.create_op("CountUpTo", [ref_t], {"T": ref_t.dtype.base_dtype, "limit": int(limit)},
                               name=name or "CountUpTo").outputs[0]


op_registry.register("CountUpTo", lambda op: [(op.inputs[0].dtype.base_dtype, TensorShape([]))])
