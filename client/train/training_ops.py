"""The Apply* ops: one fused update of a variable (and its slots) from a gradient, as TF's training_ops.

Every op writes through ref inputs, so it is colocated with the variable: the update runs where
the variable lives (a ps task in a cluster) and only the gradient crosses the wire.
"""
from tfmini.core import op_registry
from tfmini.graph import _graph_of
from tfmini.ops.core import convert_to_tensor

# op type -> (input names, ref input positions, extra attrs)
APPLY_OPS = {
    "ApplyGradientDescent": (["var", "alpha", "delta"], (0,), {}),
    "ApplyMomentum": (["var", "accum", "lr", "grad", "momentum"], (0, 1), {"use_nesterov": False}),
    "ApplyAdam": (["var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"],
                  (0, 1, 2), {"use_nesterov": False}),
    "ApplyAdagrad": (["var", "accum", "lr", "grad"], (0, 1), {"update_slots": True}),
    "ApplyRMSProp": (["var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"], (0, 1, 2), {}),
    "ApplyCenteredRMSProp": (["var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"],
                             (0, 1, 2, 3), {}),
}
APPLY_OPS.update({
    "ApplyAdadelta": (["var", "accum", "accum_update", "lr", "rho", "epsilon", "grad"], (0, 1, 2), {}),
    "ApplyFtrl": (["var", "accum", "linear", "grad", "lr", "l1", "l2", "lr_power"], (0, 1, 2),
                  {"multiply_linear_by_lr": False}),
    "ApplyFtrlV2": (["var", "accum", "linear", "grad", "lr", "l1", "l2", "l2_shrinkage", "lr_power"], (0, 1, 2),
                    {"multiply_linear_by_lr": False}),
    "ApplyProximalGradientDescent": (["var", "alpha", "l1", "l2", "delta"], (0,), {}),
    "ApplyProximalAdagrad": (["var", "accum", "lr", "l1", "l2", "grad"], (0, 1), {}),
})


def _apply_shape(op):
    var = op.inputs[0]
    shape = var.shape
    for t in op.inputs[1:]:
        if t.shape.ndims not in (None, 0) and t.shape.is_compatible_with(var.shape):
            shape = shape.merge_with(t.shape)
    names = APPLY_OPS[op.type][0]
    grad = op.inputs[names.index("delta" if "delta" in names else "grad")]
    if not grad.shape.is_compatible_with(var.shape):
        raise ValueError(f"Shapes must be equal for '{op.name}' (op: '{op.type}'): var {var.shape} vs "
                         f"grad {grad.shape}")
    return [(var.dtype, shape)]


for _op_type in APPLY_OPS:
    op_registry.register(_op_type, _apply_shape)


def apply_op(op_type, var, *inputs, use_locking=False, name=None, **attrs):
    """Creates `op_type` on the variable `var` (a Variable) and the other inputs, colocated with `var`."""
    names, refs, defaults = APPLY_OPS[op_type]
    ref_vars = [var] + list(inputs[:len(refs) - 1])
    values = inputs[len(refs) - 1:]
    graph = _graph_of([var.value()])
    dtype = var.dtype.base_dtype
    with graph.colocate_with(var.op):
        tensors = [v._ref() for v in ref_vars]
        tensors += [convert_to_tensor(x, dtype=dtype, name=n) for x, n in zip(values, names[len(refs):])]
        full = {"T": dtype, "use_locking": bool(use_locking)}
        full.update(defaults)
        full.update(attrs)
        return graph.create_op(op_type, tensors, full, name=name or op_type)
