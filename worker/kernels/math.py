"""Element-wise math, comparisons, casts, matmul and reductions."""
import operator

import numpy as np

from tfmini.core import errors
from tfmini.core.indexing import normalize_axes
from tfmini.worker.kernels import ANY_DEVICE, kernel, simple

# Python's operators give the same results as numpy's ufuncs on arrays, and are ten times cheaper on
# the 0-d values of scalar graphs (numpy's scalar fast path).
_OPERATORS = {"Add": operator.add, "AddV2": operator.add, "Sub": operator.sub, "Mul": operator.mul,
              "RealDiv": operator.truediv, "FloorMod": operator.mod, "Neg": operator.neg,
              "Equal": operator.eq, "NotEqual": operator.ne, "Less": operator.lt, "LessEqual": operator.le,
              "Greater": operator.gt, "GreaterEqual": operator.ge}
for _op, _fn in _OPERATORS.items():
    simple(_op, lambda xp, _fn=_fn: _fn)
_UFUNCS = {
    "Maximum": "maximum", "Minimum": "minimum", "Atan2": "arctan2", "LogicalAnd": "logical_and",
    "LogicalOr": "logical_or", "LogicalNot": "logical_not",
    "Square": "square", "Sqrt": "sqrt", "Exp": "exp", "Expm1": "expm1", "Log": "log",
    "Log1p": "log1p", "Abs": "abs", "Sign": "sign", "Floor": "floor", "Ceil": "ceil", "Rint": "rint",
    "Round": "rint", "Sin": "sin", "Cos": "cos", "Tan": "tan", "Asin": "arcsin", "Acos": "arccos",
    "Atan": "arctan", "Sinh": "sinh", "Cosh": "cosh", "Tanh": "tanh", "IsNan": "isnan", "IsInf": "isinf",
    "IsFinite": "isfinite",
}
for _op, _name in _UFUNCS.items():
    simple(_op, lambda xp, _name=_name: getattr(xp, _name))


def _same_type(fn):
    """Keeps the input's dtype where numpy would promote (e.g. float32 ** 2 stays float32)."""
    def wrapped(x, *rest):
        out = fn(x, *rest)
        return out if out.dtype == x.dtype else out.astype(x.dtype)
    return wrapped


simple("Identity", lambda xp: lambda x: x)
simple("StopGradient", lambda xp: lambda x: x)
simple("PreventGradient", lambda xp: lambda x: x)
simple("Snapshot", lambda xp: lambda x: x.copy())
simple("Pow", lambda xp: _same_type(operator.pow))
simple("Reciprocal", lambda xp: _same_type(lambda x: 1 / x))
simple("Inv", lambda xp: _same_type(lambda x: 1 / x))
simple("Rsqrt", lambda xp: _same_type(lambda x: 1 / xp.sqrt(x)))
simple("SquaredDifference", lambda xp: lambda x, y: xp.square(x - y))
simple("Sigmoid", lambda xp: _same_type(lambda x: 1 / (1 + xp.exp(-x))))
simple("Relu", lambda xp: lambda x: xp.maximum(x, 0).astype(x.dtype, copy=False))
simple("Relu6", lambda xp: lambda x: xp.clip(x, 0, 6).astype(x.dtype, copy=False))
simple("Elu", lambda xp: _same_type(lambda x: xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0)))))
simple("Selu", lambda xp: _same_type(lambda x: 1.0507009873554805 * xp.where(
    x > 0, x, 1.6732632423543772 * xp.expm1(xp.minimum(x, 0)))))
simple("Softplus", lambda xp: _same_type(lambda x: xp.logaddexp(x, 0)))
simple("Softsign", lambda xp: _same_type(lambda x: x / (1 + xp.abs(x))))


def _erf(xp):
    try:
        from scipy import special
        return _same_type(special.erf) if xp is np else xp.erf
    except ImportError:  # pragma: no cover - scipy is optional
        return np.vectorize(__import__("math").erf, otypes=[np.float64])


simple("Erf", lambda xp: _erf(xp))
simple("Erfc", lambda xp: _same_type(lambda x: 1 - _erf(xp)(x)))


def _floor_div(xp):
    def fn(x, y):
        if x.dtype.kind in "iu" and np.any(y == 0):
            raise errors.InvalidArgumentError(None, None, "Integer division by zero")
        return _same_type(xp.floor_divide)(x, y)
    return fn


simple("FloorDiv", _floor_div)
simple("Div", lambda xp: lambda x, y: _floor_div(xp)(x, y) if x.dtype.kind in "iu" else xp.true_divide(x, y))
simple("TruncateDiv", lambda xp: lambda x, y: (xp.trunc(x / y) if x.dtype.kind == "f" else
                                                 (xp.abs(x) // xp.abs(y)) * xp.sign(x) * xp.sign(y)).astype(x.dtype))
simple("TruncateMod", lambda xp: lambda x, y: xp.fmod(x, y))
simple("DivNoNan", lambda xp: lambda x, y: xp.where(y == 0, xp.zeros_like(x), x / xp.where(y == 0, 1, y)).astype(
    x.dtype))


@kernel("Cast", device_types=ANY_DEVICE)
def _cast(node):
    dst = node.attrs["DstT"].as_numpy_dtype
    return lambda x: node.xp.asarray(x).astype(dst)


@kernel("MatMul", device_types=ANY_DEVICE)
def _matmul(node):
    ta, tb, xp = node.attrs.get("transpose_a", False), node.attrs.get("transpose_b", False), node.xp
    return lambda a, b: xp.matmul(a.T if ta else a, b.T if tb else b)


@kernel("AddN", device_types=ANY_DEVICE)
def _add_n(node):
    def fn(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out
    return fn


def _axes(axes, ndim):
    return normalize_axes(np.reshape(np.asarray(axes), [-1]).tolist(), ndim, lambda a: errors.InvalidArgumentError(
        None, None, f"Invalid reduction dimension ({a} for input with {ndim} dimension(s)"))


def _reduction(reduce_fn, keep_type=True):
    def factory(node):
        keep, xp = node.attrs.get("keep_dims", False), node.xp
        known = {}  # (axes bytes, rank) -> normalized axes: the axes are nearly always the same constant

        def fn(x, axes):
            x = xp.asarray(x)
            key = (axes.tobytes() if hasattr(axes, "tobytes") else repr(axes), x.ndim)
            normalized = known.get(key)
            if normalized is None:
                normalized = known[key] = _axes(axes, x.ndim)
            out = reduce_fn(xp, x, normalized, keep)
            if keep_type and out.dtype != x.dtype:
                out = out.astype(x.dtype)
            return out
        return fn
    return factory


kernel("Sum", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.sum(x, axis=a, keepdims=k, dtype=x.dtype)))
kernel("Prod", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.prod(x, axis=a, keepdims=k, dtype=x.dtype)))
kernel("Max", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.max(x, axis=a, keepdims=k) if x.size else
                         xp.full(_reduced_shape(x.shape, a, k), _lowest(x.dtype), x.dtype)))
kernel("Min", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.min(x, axis=a, keepdims=k) if x.size else
                         xp.full(_reduced_shape(x.shape, a, k), _highest(x.dtype), x.dtype)))
kernel("All", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.all(x, axis=a, keepdims=k)))
kernel("Any", device_types=ANY_DEVICE)(_reduction(lambda xp, x, a, k: xp.any(x, axis=a, keepdims=k)))


def _mean(xp, x, axes, keep):
    if x.dtype.kind in "iu":  # integer mean truncates toward zero, as TF's C++ division does
        n = max(int(np.prod([x.shape[a] for a in axes])) if axes else 1, 1)
        total = xp.sum(x, axis=axes, keepdims=keep, dtype=np.int64 if x.dtype.kind == "i" else np.uint64)
        return (xp.sign(total) * (xp.abs(total) // n)).astype(x.dtype)
    return xp.mean(x, axis=axes, keepdims=keep, dtype=x.dtype) if x.size else xp.full(
        _reduced_shape(x.shape, axes, keep), np.nan, x.dtype)


kernel("Mean", device_types=ANY_DEVICE)(_reduction(_mean))


def _reduced_shape(shape, axes, keep):
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max


def _arg(fn_name):
    def factory(node):
        out_type, xp = node.attrs.get("output_type").as_numpy_dtype, node.xp

        def fn(x, axis):
            axis = int(axis)
            if not -x.ndim <= axis < x.ndim:
                raise errors.InvalidArgumentError(None, None, f"Expected dimension in the range [{-x.ndim}, "
                                                              f"{x.ndim}), but got {axis}")
            if x.shape[axis] == 0:
                raise errors.InvalidArgumentError(None, None, "Reduction axis is empty")
            return getattr(xp, fn_name)(x, axis=axis).astype(out_type)
        return fn
    return factory


kernel("ArgMax", device_types=ANY_DEVICE)(_arg("argmax"))
kernel("ArgMin", device_types=ANY_DEVICE)(_arg("argmin"))


@kernel("Select", device_types=ANY_DEVICE)
def _select(node):
    xp = node.xp

    def fn(c, t, e):
        if c.ndim == 1 and t.ndim > 1:  # a vector condition picks whole rows
            c = c.reshape((-1,) + (1,) * (t.ndim - 1))
        elif c.shape != t.shape or t.shape != e.shape:
            raise errors.InvalidArgumentError(None, None, f"'then' and 'else' must have the same size. but "
                                                          f"received: {list(t.shape)} vs. {list(e.shape)}"
                                               if t.shape != e.shape else
                                               f"'condition' and 'then' must have the same shape: "
                                               f"{list(c.shape)} vs {list(t.shape)}")
        return xp.where(c, t, e)
    return fn


simple("Where", lambda xp: lambda c: xp.argwhere(c).astype(np.int64))
