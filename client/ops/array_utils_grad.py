"""Gradients of the array utility ops, with TF's formulas and op types (array_grad.py, math_grad.py,
nn_grad.py, linalg_grad.py): Split/SplitV concatenate, GatherNd scatters (ScatterNd), ScatterNd gathers
(GatherNd), TopKV2 scatters into the input's places, Cumsum runs the other way, Einsum swaps operands."""
import numpy as np

from tfmini.core import dtypes
from tfmini.core.broadcast import reduction_axes
from tfmini.gradients import NotDifferentiable, RegisterGradient
from tfmini.ops import array_ops, array_utils, math_ops, math_utils
from tfmini.ops.core import constant, make_output
from tfmini.ops.math_grad import unbroadcast


@RegisterGradient("Split")
def _split_grad(op, *grads):
    return None, array_ops.concat(list(grads), op.inputs[0])


@RegisterGradient("SplitV")
def _split_v_grad(op, *grads):
    return [array_ops.concat(list(grads), op.inputs[2]), None, None]


@RegisterGradient("GatherNd")
def _gather_nd_grad(op, grad):
    params, indices = op.inputs
    shape = (constant(np.array(params.shape.as_list(), indices.dtype.as_numpy_dtype))
             if params.shape.is_fully_defined() else array_ops.shape(params, out_type=indices.dtype))
    return [array_utils.scatter_nd(indices, grad, shape), None]


@RegisterGradient("ScatterNd")
def _scatter_nd_grad(op, grad):
    return [None, array_utils.gather_nd(grad, op.inputs[0]), None]


@RegisterGradient("ReverseV2")
def _reverse_grad(op, grad):
    return array_utils.reverse(grad, op.inputs[1]), None


@RegisterGradient("SelectV2")
def _select_v2_grad(op, grad):
    c, x, y = op.inputs
    zeros = array_ops.zeros([], dtype=grad.dtype.base_dtype)
    gx = array_utils.where_v2(c, grad, zeros)
    gy = array_utils.where_v2(c, zeros, grad)
    out = op.outputs[0]
    return None, unbroadcast(x, out, gx, None)[0], unbroadcast(y, out, gy, None)[0]


def _gather(params, index):
    return make_output("GatherV2", [params, index, 0], name="GatherV2", same_dtype=False,
                       arg_names=["params", "indices", "axis"],
                       attrs={"Tparams": params.dtype.base_dtype, "Tindices": index.dtype.base_dtype,
                              "Taxis": dtypes.int32, "batch_dims": 0})


@RegisterGradient("TopKV2")
def _top_k_grad(op, grad, _):
    """TF's _TopKGrad: the values' gradient scattered to the flat positions of the chosen indices."""
    in_shape = array_ops.shape(op.inputs[0])
    ind_shape = array_ops.shape(op.outputs[1])
    ind_lastdim = _gather(math_ops.cast(ind_shape, dtypes.int64), math_ops.subtract(array_ops.size(ind_shape), 1))
    ind_2d = array_ops.reshape(op.outputs[1], array_ops.stack([constant(-1, dtype=dtypes.int64), ind_lastdim]))
    in_lastdim = _gather(math_ops.cast(in_shape, dtypes.int64), math_ops.subtract(array_ops.size(in_shape), 1))
    outerdim = array_ops.shape(ind_2d)[0]
    offsets = array_ops.range(constant(0, dtype=dtypes.int64),
                              math_ops.multiply(math_ops.cast(outerdim, dtypes.int64), in_lastdim), in_lastdim)
    ind = array_ops.reshape(math_ops.add(ind_2d, math_ops.cast(array_ops.expand_dims(offsets, -1),
                                                               op.outputs[1].dtype)), [-1])
    flat = array_utils.scatter_nd(array_ops.expand_dims(ind, -1), array_ops.reshape(grad, [-1]),
                                  array_ops.stack([math_ops.reduce_prod(in_shape)]))
    return [array_ops.reshape(flat, in_shape), array_ops.zeros([], dtype=dtypes.int32)]


@RegisterGradient("Cumsum")
def _cumsum_grad(op, grad):
    return [math_utils.cumsum(grad, op.inputs[1], exclusive=op.get_attr("exclusive"),
                              reverse=not op.get_attr("reverse")), None]


@RegisterGradient("Cumprod")
def _cumprod_grad(op, grad):
    """TF's formula (it divides by x, so a zero in x gives 0 there rather than the true product)."""
    x, axis = op.inputs
    exclusive, reverse = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = math_utils.cumprod(x, axis, exclusive=exclusive, reverse=reverse)
    out = math_utils.cumsum(math_ops.multiply(prod, grad), axis, exclusive=exclusive, reverse=not reverse)
    return [math_ops.div_no_nan(out, x), None]


@RegisterGradient("Einsum")
def _einsum_grad(op, grad):
    equation = op.get_attr("equation")
    equation = equation.decode() if isinstance(equation, bytes) else equation
    subs, out = math_utils.parse_equation(equation, len(op.inputs))
    if len(op.inputs) == 1:
        return [_einsum_input_grad(grad, out, None, None, subs[0], op.inputs[0])]
    (a, b), (x, y) = subs, op.inputs
    return [_einsum_input_grad(grad, out, b, y, a, x), _einsum_input_grad(grad, out, a, x, b, y)]


def _einsum_input_grad(grad, out, other_subs, other, subs, x):
    """d(out)/d(x) as an einsum of the output gradient with the other operand; labels that only x has (summed
    away inside x) are broadcast back, and broadcast ellipsis dimensions summed back to x's."""
    labels = subs.replace("...", "")
    if len(set(labels)) != len(labels):
        raise NotImplementedError(f"tfmini's Einsum gradient does not take repeated labels ('{subs}')")
    available = set(out + (other_subs or ""))
    head, has_ellipsis, tail = subs.partition("...")
    keep = lambda s: "".join(c for c in s if c in available)  # noqa: E731
    target = keep(head) + ("..." if has_ellipsis else "") + keep(tail)
    equation = f"{out},{other_subs}->{target}" if other is not None else f"{out}->{target}"
    g = math_utils._einsum_op(equation, [grad] + ([other] if other is not None else []))
    if len(keep(labels)) != len(labels):  # x's own summed labels: insert them as size-1 axes, broadcast
        if has_ellipsis and x.shape.ndims is None:
            raise NotImplementedError("tfmini's Einsum gradient needs the rank of an operand with '...'")
        n_ellipsis = x.shape.ndims - len(labels) if has_ellipsis else 0
        axes = [i for i, c in enumerate(head) if c not in available]
        axes += [len(head) + n_ellipsis + i for i, c in enumerate(tail) if c not in available]
        for axis in axes:
            g = array_ops.expand_dims(g, axis)
        g = math_ops.add(g, array_ops.zeros_like(x))
    if has_ellipsis and x.shape.is_fully_defined() and g.shape.is_fully_defined() and \
            g.shape.as_list() != x.shape.as_list():
        axes, _ = reduction_axes(x.shape.as_list(), g.shape.as_list())
        if axes:
            g = math_ops.reduce_sum(g, constant(np.array(axes, np.int32)))
        g = array_ops.reshape(g, constant(np.array(x.shape.as_list(), np.int32)))
    return g


RegisterGradient("Print")(lambda op, *grads: list(grads) + [None] * (len(op.inputs) - 1))
for _t in ["Assert", "PrintV2", "StringFormat", "TensorSummaryV2"]:
    NotDifferentiable(_t)
