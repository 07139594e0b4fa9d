"""Gradients of element-wise math, matmul, reductions, casts and selection (TF's math_grad.py formulas).

Broadcasting binary ops sum their gradient back to each input's shape. With static shapes the
reduction axes are worked out here (TF 2's SmartBroadcastGradientArgs); otherwise the graph gets
TF's Shape -> BroadcastGradientArgs -> Sum -> Reshape.
"""
import numpy as np

from tfmini.core import dtypes
from tfmini.core.broadcast import reduction_axes
from tfmini.core.indexing import normalize_axes
from tfmini.gradients import NotDifferentiable, RegisterGradient
from tfmini.ops import array_ops, grad_ops, math_ops
from tfmini.ops.core import constant, constant_value


def _sum_to(grad, x, axes, shape_x):
    """`grad` summed over `axes` and reshaped to x's shape (axes/shape are Python or Tensors)."""
    if grad is None:
        return None
    if isinstance(axes, list):
        if axes:
            grad = math_ops.reduce_sum(grad, constant(np.array(axes, np.int32)))
        if grad.shape.as_list() != x.shape.as_list():
            grad = array_ops.reshape(grad, constant(np.array(x.shape.as_list(), np.int32)))
        return grad
    return array_ops.reshape(math_ops.reduce_sum(grad, axes), shape_x)


def _sum_back(grad, x, axes, rank):
    """`grad` (of the broadcast result's rank) summed over `axes` to x's shape, without a reshape."""
    if grad is None or not axes:
        return grad
    lead = rank - x.shape.ndims  # axes x does not have: summed away; x's own size-1 axes are kept
    if lead:
        grad = math_ops.reduce_sum(grad, constant(np.array([a for a in axes if a < lead], np.int32)))
    own = [a - lead for a in axes if a >= lead]
    if own:
        grad = math_ops.reduce_sum(grad, constant(np.array(own, np.int32)), keepdims=True)
    return grad


def unbroadcast(x, y, gx, gy):
    """(gx, gy) summed back to the shapes of x and y, as TF's binary-op gradients do."""
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        rx, ry = reduction_axes(x.shape.as_list(), y.shape.as_list())
        return _sum_to(gx, x, rx, None), _sum_to(gy, y, ry, None)
    partial = reduction_axes(x.shape.as_list(), y.shape.as_list()) if x.shape.ndims is not None and \
        y.shape.ndims is not None else None
    if partial is not None:  # e.g. a bias [64] added to a batch [?, 64]: no shape ops at run time
        rank = max(x.shape.ndims, y.shape.ndims)
        return _sum_back(gx, x, partial[0], rank), _sum_back(gy, y, partial[1], rank)
    sx, sy = array_ops.shape(x), array_ops.shape(y)
    rx, ry = grad_ops.broadcast_gradient_args(sx, sy)
    return _sum_to(gx, x, rx, sx), _sum_to(gy, y, ry, sy)


def _binary(op_type):
    def wrap(local_grads):
        @RegisterGradient(op_type)
        def grad_fn(op, grad):
            x, y = op.inputs
            gx, gy = local_grads(op, grad, x, y)
            return unbroadcast(x, y, gx, gy)
        return local_grads
    return wrap


@_binary("Add")
def _add_grad(op, grad, x, y):
    return grad, grad


RegisterGradient("AddV2")(lambda op, grad: unbroadcast(op.inputs[0], op.inputs[1], grad, grad))


@_binary("Sub")
def _sub_grad(op, grad, x, y):
    return grad, math_ops.negative(grad)


@_binary("Mul")
def _mul_grad(op, grad, x, y):
    return math_ops.multiply(grad, y), math_ops.multiply(x, grad)


def _div_grads(div):
    def local(op, grad, x, y):
        return div(grad, y), math_ops.multiply(grad, div(div(math_ops.negative(x), y), y))
    return local


_binary("RealDiv")(_div_grads(math_ops.realdiv))
_binary("Div")(_div_grads(math_ops.div))


@_binary("DivNoNan")
def _div_no_nan_grad(op, grad, x, y):
    return (math_ops.div_no_nan(grad, y),
            math_ops.multiply(grad, math_ops.div_no_nan(math_ops.div_no_nan(math_ops.negative(x), y), y)))


@_binary("Pow")
def _pow_grad(op, grad, x, y):
    z = op.outputs[0]
    gx = math_ops.multiply(math_ops.multiply(grad, y), math_ops.pow(x, math_ops.subtract(y, 1)))
    # log(x) only where x > 0: avoids a false singularity at x = 0.
    mask = math_ops.greater(x, 0)
    safe_x = math_ops.where(mask, x, array_ops.ones_like(x))
    log_x = math_ops.where(mask, math_ops.log(safe_x), array_ops.zeros_like(x))
    gy = math_ops.multiply(math_ops.multiply(grad, z), log_x)
    return gx, gy


def _min_or_max(compare):
    def local(op, grad, x, y):
        zeros = array_ops.zeros_like(grad)
        xmask = compare(x, y)  # already broadcast to grad's shape
        return math_ops.where(xmask, grad, zeros), math_ops.where(xmask, zeros, grad)
    return local


_binary("Maximum")(_min_or_max(math_ops.greater_equal))
_binary("Minimum")(_min_or_max(math_ops.less_equal))


@_binary("SquaredDifference")
def _squared_difference_grad(op, grad, x, y):
    gx = math_ops.multiply(math_ops.multiply(grad, constant(2, dtype=grad.dtype.base_dtype)),
                           math_ops.subtract(x, y))
    return gx, math_ops.negative(gx)


@_binary("Atan2")
def _atan2_grad(op, grad, y, x):
    inv = math_ops.reciprocal(math_ops.add(math_ops.square(x), math_ops.square(y)))
    return math_ops.multiply(grad, math_ops.multiply(x, inv)), math_ops.multiply(
        grad, math_ops.multiply(math_ops.negative(y), inv))


for _t in ["FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod"]:
    RegisterGradient(_t)(lambda op, grad: (None, None))

# -- unary ------------------------------------------------------------------------------------
_UNARY = {
    "Neg": lambda op, g: math_ops.negative(g),
    "Square": lambda op, g: math_ops.multiply(g, math_ops.multiply(
        op.inputs[0], constant(2, dtype=g.dtype.base_dtype))),
    "Sqrt": lambda op, g: grad_ops.sqrt_grad(op.outputs[0], g),
    "Rsqrt": lambda op, g: grad_ops.rsqrt_grad(op.outputs[0], g),
    "Reciprocal": lambda op, g: grad_ops.reciprocal_grad(op.outputs[0], g),
    "Inv": lambda op, g: grad_ops.reciprocal_grad(op.outputs[0], g),
    "Exp": lambda op, g: math_ops.multiply(g, op.outputs[0]),
    "Expm1": lambda op, g: math_ops.multiply(g, math_ops.exp(op.inputs[0])),
    "Log": lambda op, g: math_ops.multiply(g, math_ops.reciprocal(op.inputs[0])),
    "Log1p": lambda op, g: math_ops.multiply(g, math_ops.reciprocal(math_ops.add(
        constant(1, dtype=g.dtype.base_dtype), op.inputs[0]))),
    "Abs": lambda op, g: math_ops.multiply(g, math_ops.sign(op.inputs[0])),
    "Sign": lambda op, g: array_ops.zeros_like(op.inputs[0]),
    "Sigmoid": lambda op, g: grad_ops.sigmoid_grad(op.outputs[0], g),
    "Tanh": lambda op, g: grad_ops.tanh_grad(op.outputs[0], g),
    "Sin": lambda op, g: math_ops.multiply(g, math_ops.cos(op.inputs[0])),
    "Cos": lambda op, g: math_ops.negative(math_ops.multiply(g, math_ops.sin(op.inputs[0]))),
    "Sinh": lambda op, g: math_ops.multiply(g, math_ops.cosh(op.inputs[0])),
    "Cosh": lambda op, g: math_ops.multiply(g, math_ops.sinh(op.inputs[0])),
    "Identity": lambda op, g: g,
    "Snapshot": lambda op, g: g,
}
for _t, _fn in _UNARY.items():
    RegisterGradient(_t)(_fn)

for _t in ["Floor", "Ceil", "Round", "Rint", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual",
           "LogicalAnd", "LogicalOr", "LogicalNot", "IsNan", "IsInf", "IsFinite", "ArgMax", "ArgMin", "StopGradient",
           "Range", "Where", "All", "Any"]:
    NotDifferentiable(_t)


@RegisterGradient("PreventGradient")
def _prevent_gradient_grad(op, grad):
    raise LookupError(f"Gradient explicitly disabled. Reason: {op.get_attr('message') if 'message' in op._attrs else ''}")


@RegisterGradient("AddN")
def _add_n_grad(op, grad):
    return [grad] * len(op.inputs)


@RegisterGradient("Cast")
def _cast_grad(op, grad):
    src, dst = op.inputs[0].dtype.base_dtype, op.outputs[0].dtype.base_dtype
    if (src.is_floating or src.is_complex) and (dst.is_floating or dst.is_complex):
        return math_ops.cast(grad, src)
    return None


@RegisterGradient("Select")
def _select_grad(op, grad):
    c, x = op.inputs[0], op.inputs[1]
    zeros = array_ops.zeros_like(x)
    return None, math_ops.where(c, grad, zeros), math_ops.where(c, zeros, grad)


@RegisterGradient("MatMul")
def _matmul_grad(op, grad):
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    a, b = op.inputs
    mm = math_ops.matmul
    if not ta and not tb:
        return mm(grad, b, transpose_b=True), mm(a, grad, transpose_a=True)
    if not ta and tb:
        return mm(grad, b), mm(grad, a, transpose_a=True)
    if ta and not tb:
        return mm(b, grad, transpose_b=True), mm(a, grad)
    return mm(b, grad, transpose_a=True, transpose_b=True), mm(grad, a, transpose_a=True, transpose_b=True)


# -- reductions -------------------------------------------------------------------------------
def _kept_dims_shape(x, axes_t):
    """x's shape with the reduced axes set to 1: a Python list when static, else a Tensor (TF's reduced_shape)."""
    axes = constant_value(axes_t)
    if x.shape.ndims is not None and axes is not None:
        rank = x.shape.ndims
        reduced = normalize_axes([int(a) for a in np.reshape(axes, [-1])], rank, ValueError)
        if x.shape.is_fully_defined() or len(reduced) == rank:  # e.g. a mean over a batch of unknown size
            return [1 if i in reduced else d for i, d in enumerate(x.shape.as_list())]
    shape = array_ops.shape(x)
    rank = array_ops.size(shape)
    axes = math_ops.floormod(math_ops.add(math_ops.cast(axes_t, dtypes.int32), rank), rank)
    positions = array_ops.expand_dims(array_ops.range(0, rank), 1)
    is_reduced = math_ops.reduce_any(math_ops.equal(positions, array_ops.reshape(axes, [1, -1])), axis=1)
    return math_ops.where(is_reduced, array_ops.ones_like(shape), shape)


def _as_shape_tensor(shape):
    return constant(np.array(shape, np.int32)) if isinstance(shape, list) else shape


def _broadcast_back(grad, x, kept):
    """grad (a reduction's output gradient) reshaped to `kept` dims and tiled up to x's shape."""
    grad = array_ops.reshape(grad, _as_shape_tensor(kept))
    if isinstance(kept, list) and not x.shape.is_fully_defined():  # every axis reduced: tile to x's shape
        return array_ops.tile(grad, array_ops.shape(x))
    if isinstance(kept, list):
        multiples = [d // k for d, k in zip(x.shape.as_list(), kept)]
        return grad if all(m == 1 for m in multiples) else array_ops.tile(grad, constant(np.array(multiples,
                                                                                                    np.int32)))
    # kept dims may be 0 for empty inputs: divide by max(kept, 1) (TF's _safe_shape_div)
    multiples = math_ops.floordiv(array_ops.shape(x), math_ops.maximum(kept, 1))
    return array_ops.tile(grad, multiples)


@RegisterGradient("Sum")
def _sum_grad(op, grad):
    x = op.inputs[0]
    return _broadcast_back(grad, x, _kept_dims_shape(x, op.inputs[1])), None


@RegisterGradient("Mean")
def _mean_grad(op, grad):
    x, y = op.inputs[0], op.outputs[0]
    sum_grad = _broadcast_back(grad, x, _kept_dims_shape(x, op.inputs[1]))
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        factor = max(x.shape.num_elements() // max(y.shape.num_elements(), 1), 1)
        return math_ops.truediv(sum_grad, constant(factor, dtype=sum_grad.dtype.base_dtype)), None
    if y.shape.is_fully_defined():
        factor = math_ops.floordiv(array_ops.size(x), max(y.shape.num_elements(), 1))
    else:
        factor = math_ops.floordiv(math_ops.reduce_prod(array_ops.shape(x)),
                                   math_ops.maximum(math_ops.reduce_prod(array_ops.shape(y)), 1))
    return math_ops.truediv(sum_grad, math_ops.cast(factor, sum_grad.dtype.base_dtype)), None


def _min_or_max_grad(op, grad):
    """Split the gradient evenly between the elements equal to the extreme value."""
    x, y = op.inputs[0], op.outputs[0]
    kept = _as_shape_tensor(_kept_dims_shape(x, op.inputs[1]))
    y = array_ops.reshape(y, kept)
    grad = array_ops.reshape(grad, kept)
    indicators = math_ops.cast(math_ops.equal(y, x), grad.dtype.base_dtype)
    num_selected = array_ops.reshape(math_ops.reduce_sum(indicators, op.inputs[1]), kept)
    return math_ops.multiply(math_ops.div(indicators, num_selected), grad), None


RegisterGradient("Max")(_min_or_max_grad)
RegisterGradient("Min")(_min_or_max_grad)


@RegisterGradient("Prod")
def _prod_grad(op, grad):
    """d(prod)/dx_i = product of the other elements: prod / x_i where x_i != 0, counted directly where it is 0."""
    x, axes = op.inputs
    kept = _kept_dims_shape(x, axes)
    grad = _broadcast_back(grad, x, kept)
    zero = math_ops.equal(x, array_ops.zeros_like(x))
    safe_x = math_ops.where(zero, array_ops.ones_like(x), x)
    prod_nonzero = _broadcast_back(math_ops.reduce_prod(safe_x, axes), x, kept)
    n_zero = _broadcast_back(math_ops.reduce_sum(math_ops.cast(zero, x.dtype.base_dtype), axes), x, kept)
    zeros = array_ops.zeros_like(x)
    # no zero in the slice: prod / x; exactly one zero: the zero element gets the product of the rest.
    others = math_ops.where(zero, math_ops.where(math_ops.equal(n_zero, array_ops.ones_like(x)), prod_nonzero,
                                                 zeros),
                            math_ops.where(math_ops.equal(n_zero, zeros), math_ops.realdiv(prod_nonzero, safe_x),
                                           zeros))
    return math_ops.multiply(grad, others), None
