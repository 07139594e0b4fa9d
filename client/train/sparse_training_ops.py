"""The SparseApply* ops: an optimizer's fused update of the rows `indices` of a variable and its slots.

Like the Apply* ops they write through ref inputs, so they run with the variable (on its ps task) and only
the rows' gradient and indices cross the wire.
"""
from tfmini.core import op_registry
from tfmini.graph import _graph_of
from tfmini.ops.core import convert_to_tensor

# op type -> (input names, number of ref inputs, extra attrs)
SPARSE_APPLY_OPS = {
    "SparseApplyAdagrad": (["var", "accum", "lr", "grad", "indices"], 2, {"update_slots": True}),
    "SparseApplyMomentum": (["var", "accum", "lr", "grad", "indices", "momentum"], 2, {"use_nesterov": False}),
    "SparseApplyRMSProp": (["var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad", "indices"], 3, {}),
    "SparseApplyCenteredRMSProp": (["var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad",
                                    "indices"], 4, {}),
}


def _sparse_apply_shape(op):
    names = SPARSE_APPLY_OPS[op.type][0]
    var, grad, indices = op.inputs[0], op.inputs[names.index("grad")], op.inputs[names.index("indices")]
    if indices.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {indices.shape.ndims} for '{op.name}' (op: '{op.type}')")
    if var.shape.ndims is not None and grad.shape.ndims is not None and \
            not grad.shape[1:].is_compatible_with(var.shape[1:]):
        raise ValueError(f"Dimension mismatch for '{op.name}' (op: '{op.type}'): var {var.shape}, grad {grad.shape}")
    return [(var.dtype, var.shape)]


for _op_type in SPARSE_APPLY_OPS:
    op_registry.register(_op_type, _sparse_apply_shape)


def sparse_apply_op(op_type, var, *inputs, use_locking=False, name=None, **attrs):
    """`op_type` on the Variable `var`, its slot Variables, then the values (grad and indices among them)."""
    names, n_refs, defaults = SPARSE_APPLY_OPS[op_type]
    ref_vars = [var] + list(inputs[:n_refs - 1])
    values = inputs[n_refs - 1:]
    graph = _graph_of([var.value()])
    dtype = var.dtype.base_dtype
    with graph.colocate_with(var.op):
        tensors = [v._ref() for v in ref_vars]
        for x, n in zip(values, names[n_refs:]):
            tensors.append(convert_to_tensor(x, name=n) if n == "indices" else convert_to_tensor(x, dtype=dtype, name=n))
        full = {"T": dtype, "Tindices": tensors[names.index("indices")].dtype.base_dtype,
                "use_locking": bool(use_locking)}
        full.update(defaults)
        full.update(attrs)
        return graph.create_op(op_type, tensors, full, name=name or op_type)
