"""Element-wise math, comparisons, casts, matmul and reductions, with Tensor's operator overloads."""
import numpy as np

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, _graph_of
from tfmini.ops import shape_fns
from tfmini.ops.core import constant, convert_to_tensor, make_op, make_output


BINARY = ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "FloorDiv", "FloorMod", "TruncateDiv",
          "TruncateMod", "Pow", "Maximum", "Minimum", "SquaredDifference", "Atan2"]
COMPARISON = ["Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr"]
UNARY = ["Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Expm1", "Log", "Log1p", "Abs", "Sign", "Reciprocal", "Inv",
         "Floor", "Ceil", "Round", "Rint", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
         "Tanh", "Sigmoid", "Erf", "Erfc", "Softplus", "Softsign", "Relu", "Relu6", "Elu", "Selu",
         "Identity", "StopGradient", "PreventGradient", "Snapshot"]
op_registry.register(BINARY, shape_fns.broadcast)
op_registry.register(COMPARISON, shape_fns.broadcast_bool)
op_registry.register(UNARY, shape_fns.unchanged)
op_registry.register(["LogicalNot", "IsNan", "IsInf", "IsFinite"], shape_fns.unchanged_bool)


def _binary(op_type, default_name=None):
    def fn(x, y, name=None):
        return make_output(op_type, [x, y], name=name or default_name or op_type)
    fn.__name__ = (default_name or op_type).lower()
    return fn


def _unary(op_type):
    def fn(x, name=None):
        return make_output(op_type, [x], name=name or op_type)
    fn.__name__ = op_type.lower()
    return fn


add = _binary("Add")
add_v2 = _binary("AddV2")
subtract = sub = _binary("Sub")
multiply = mul = _binary("Mul")
realdiv = _binary("RealDiv")
floordiv = floor_div = _binary("FloorDiv")
floormod = mod = _binary("FloorMod")
truncatediv = _binary("TruncateDiv")
truncatemod = _binary("TruncateMod")
maximum = _binary("Maximum")
minimum = _binary("Minimum")
squared_difference = _binary("SquaredDifference")
div_no_nan = _binary("DivNoNan")
atan2 = _binary("Atan2")
equal = _binary("Equal")
not_equal = _binary("NotEqual")
less = _binary("Less")
less_equal = _binary("LessEqual")
greater = _binary("Greater")
greater_equal = _binary("GreaterEqual")
logical_and = _binary("LogicalAnd")
logical_or = _binary("LogicalOr")
negative = neg = _unary("Neg")
square = _unary("Square")
sqrt = _unary("Sqrt")
rsqrt = _unary("Rsqrt")
exp = _unary("Exp")
expm1 = _unary("Expm1")
log = _unary("Log")
log1p = _unary("Log1p")
abs = _unary("Abs")  # noqa: A001 - TensorFlow's name
sign = _unary("Sign")
reciprocal = _unary("Reciprocal")
floor = _unary("Floor")
ceil = _unary("Ceil")
round = _unary("Round")  # noqa: A001
rint = _unary("Rint")
sin, cos, tan = _unary("Sin"), _unary("Cos"), _unary("Tan")
asin, acos, atan = _unary("Asin"), _unary("Acos"), _unary("Atan")
sinh, cosh = _unary("Sinh"), _unary("Cosh")
tanh = _unary("Tanh")
sigmoid = _unary("Sigmoid")
erf, erfc = _unary("Erf"), _unary("Erfc")
logical_not = _unary("LogicalNot")
is_nan, is_inf, is_finite = _unary("IsNan"), _unary("IsInf"), _unary("IsFinite")


def pow(x, y, name=None):  # noqa: A001 - TensorFlow's name
    return make_output("Pow", [x, y], name=name or "Pow")


def div(x, y, name=None):
    """TF 1.x tf.div: floor division for integers, real division for floats (op `Div`)."""
    return make_output("Div", [x, y], name=name or "div")


def truediv(x, y, name=None):
    """Python 3 division: integers are cast to floats first, as TF's `truediv`."""
    graph = _graph_of([x, y])
    with graph.as_default(), graph.name_scope(name or "truediv") as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, dtype=x.dtype.base_dtype, name="y")
        if x.dtype.is_integer:
            target = dtypes.float64 if x.dtype.base_dtype in (dtypes.int32, dtypes.int64) else dtypes.float32
            x, y = cast(x, target), cast(y, target)
        return make_output("RealDiv", [x, y], name=scope)


divide = truediv


def cast(x, dtype, name=None):
    """tf.cast: returns `x` itself when it already has `dtype`."""
    dtype = dtypes.as_dtype(dtype).base_dtype
    x = convert_to_tensor(x)
    if x.dtype.base_dtype == dtype:
        return x
    return make_output("Cast", [x], {"SrcT": x.dtype.base_dtype, "DstT": dtype, "Truncate": False},
                       name=name or "Cast", same_dtype=False)


op_registry.register("Cast", lambda op: [(op.get_attr("DstT"), op.inputs[0].shape)])


def to_float(x, name="ToFloat"):
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    return cast(x, dtypes.int64, name=name)


def saturate_cast(value, dtype, name=None):
    return cast(value, dtype, name=name)


def _static_rank(x):
    shape = getattr(x, "shape", None)
    return shape.ndims if isinstance(shape, TensorShape) else np.ndim(x)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    ranks = (_static_rank(a), _static_rank(b))
    if not (a_is_sparse or b_is_sparse) and any(r is None or r > 2 for r in ranks):
        # as TF: a batch of matrices (or an unknown rank) is BatchMatMulV2; real inputs, so transpose = adjoint
        from tfmini.ops.batch_matmul_ops import batch_matmul_v2
        return batch_matmul_v2(a, b, adj_x=transpose_a or adjoint_a, adj_y=transpose_b or adjoint_b,
                               name=name or "MatMul")
    return make_output("MatMul", [a, b], {"transpose_a": bool(transpose_a or adjoint_a),
                                          "transpose_b": bool(transpose_b or adjoint_b)},
                       name=name or "MatMul", arg_names=["a", "b"])


@op_registry.shape_fn("MatMul")
def _matmul_shape(op):
    a, b = op.inputs
    if a.shape.ndims not in (None, 2) or b.shape.ndims not in (None, 2):
        raise ValueError(f"Shape must be rank 2 but is rank {a.shape.ndims if a.shape.ndims != 2 else b.shape.ndims}"
                         f" for '{op.name}' (op: 'MatMul') with input shapes: {a.shape}, {b.shape}.")
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    m, k1 = (a.shape.as_list()[::-1] if ta else a.shape.as_list()) if a.shape.ndims else (None, None)
    k2, n = (b.shape.as_list()[::-1] if tb else b.shape.as_list()) if b.shape.ndims else (None, None)
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"Dimensions must be equal, but are {k1} and {k2} for '{op.name}' (op: 'MatMul') "
                         f"with input shapes: {a.shape}, {b.shape}.")
    return [(a.dtype.base_dtype, TensorShape([m, n]))]


def _reduction_axes(x, axis):
    """TF's _ReductionDims: all axes as a Const when the rank is known, else range(rank(x))."""
    if axis is not None:
        return axis
    if x.shape.ndims is not None:
        return constant(np.arange(x.shape.ndims, dtype=np.int32))
    from tfmini.ops import array_ops
    return array_ops.range(0, array_ops.rank(x), 1)


def _reducer(op_type):
    def fn(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        x = convert_to_tensor(input_tensor)
        keep = bool(keepdims if keepdims is not None else keep_dims)
        axes = _reduction_axes(x, axis if axis is not None else reduction_indices)
        graph = _graph_of([x])
        with graph.as_default(), graph.name_scope(name or op_type) as scope:
            axes = convert_to_tensor(axes, name="reduction_indices", preferred_dtype=dtypes.int32)
            attrs = {"keep_dims": keep, "T": x.dtype.base_dtype, "Tidx": axes.dtype.base_dtype}
            return graph.create_op(op_type, [x, axes], attrs, name=scope).outputs[0]
    fn.__name__ = "reduce_" + op_type.lower()
    return fn


reduce_sum = _reducer("Sum")
reduce_mean = _reducer("Mean")
reduce_max = _reducer("Max")
reduce_min = _reducer("Min")
reduce_prod = _reducer("Prod")
reduce_all = _reducer("All")
reduce_any = _reducer("Any")
op_registry.register(["Sum", "Mean", "Max", "Min", "Prod"], shape_fns.reduction)
op_registry.register(["All", "Any"], lambda op: shape_fns.reduction(op, dtypes.bool))


def _arg_reducer(op_type):
    def fn(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
        axis = axis if axis is not None else (dimension if dimension is not None else 0)
        x = convert_to_tensor(input)
        graph = _graph_of([x])
        with graph.as_default(), graph.name_scope(name or op_type) as scope:
            axis = convert_to_tensor(axis, name="dimension")
            attrs = {"T": x.dtype.base_dtype, "Tidx": axis.dtype.base_dtype,
                     "output_type": dtypes.as_dtype(output_type)}
            return graph.create_op(op_type, [x, axis], attrs, name=scope).outputs[0]
    return fn


argmax = _arg_reducer("ArgMax")
argmin = _arg_reducer("ArgMin")


@op_registry.shape_fn("ArgMax", "ArgMin")
def _arg_shape(op):
    from tfmini.ops.core import constant_value
    x, axis = op.inputs
    out = op.get_attr("output_type")
    value = constant_value(axis)
    if x.shape.ndims is None or value is None:
        return [(out, TensorShape(None))]
    axes = shape_fns.normalize_axes(value, x.shape.ndims, op)
    return [(out, TensorShape([d for i, d in enumerate(x.shape.as_list()) if i not in axes]))]


def add_n(inputs, name=None):
    inputs = list(inputs)
    if len(inputs) == 1 and name is None:
        return convert_to_tensor(inputs[0])
    return make_output("AddN", inputs, {"N": len(inputs)}, name=name or "AddN",
                       arg_names=[f"inputs_{i}" for i in range(len(inputs))])


@op_registry.shape_fn("AddN")
def _add_n_shape(op):
    shape = op.inputs[0].shape
    for t in op.inputs[1:]:
        shape = shape.merge_with(t.shape)
    return [(op.inputs[0].dtype.base_dtype, shape)]


def where(condition, x=None, y=None, name=None):
    """tf.where / tf.select: element-wise choice (the condition may also pick whole rows)."""
    if x is None and y is None:
        c = convert_to_tensor(condition, dtype=dtypes.bool)
        return make_output("Where", [c], name=name or "Where", same_dtype=False, arg_names=["input"])
    graph = _graph_of([condition, x, y])
    with graph.as_default(), graph.name_scope(name or "Select") as scope:
        c = convert_to_tensor(condition, dtype=dtypes.bool, name="condition")
        dtype = next((v.dtype.base_dtype for v in (x, y) if isinstance(v, Tensor)), None)
        t = convert_to_tensor(x, preferred_dtype=dtype, name="t")
        e = convert_to_tensor(y, preferred_dtype=t.dtype.base_dtype, name="e")
        return graph.create_op("Select", [c, t, e], {"T": t.dtype.base_dtype}, name=scope).outputs[0]


select = where


@op_registry.shape_fn("Select")
def _select_shape(op):
    c, t, e = op.inputs
    if t.dtype.base_dtype != e.dtype.base_dtype:
        raise TypeError(f"Input 'e' of 'Select' Op has type {e.dtype.base_dtype.name} that does not match type "
                        f"{t.dtype.base_dtype.name} of argument 't'.")
    shape = t.shape.merge_with(e.shape)
    if c.shape.ndims is not None and shape.ndims is not None and c.shape.ndims not in (1, shape.ndims):
        raise ValueError(f"Shapes must be equal rank or the condition must be a vector for '{op.name}'")
    return [(t.dtype.base_dtype, shape)]


op_registry.register("Where", lambda op: [(dtypes.int64, TensorShape([None, op.inputs[0].shape.ndims]))])


# -- operator overloads (TF 1.x op names: add, sub, mul, truediv, ...) ------------------------
def _binary_operator(fn, op_name):
    def forward(x, y):
        graph = _graph_of([x, y])
        with graph.as_default(), graph.name_scope(op_name) as scope:
            y = convert_to_tensor(y, preferred_dtype=x.dtype.base_dtype, name="y")
            return fn(x, y, name=scope)

    def reverse(y, x):
        graph = _graph_of([x, y])
        with graph.as_default(), graph.name_scope(op_name) as scope:
            x = convert_to_tensor(x, preferred_dtype=y.dtype.base_dtype, name="x")
            return fn(x, y, name=scope)
    return forward, reverse


def _floordiv_any(x, y, name=None):
    return floordiv(x, y, name=name)


def _matmul2(a, b, name=None):
    return matmul(a, b, name=name)


_OPERATORS = [
    ("add", add, "add"), ("sub", subtract, "sub"), ("mul", multiply, "mul"),
    ("truediv", truediv, "truediv"), ("floordiv", _floordiv_any, "floordiv"), ("mod", floormod, "mod"),
    ("pow", pow, "pow"), ("matmul", _matmul2, "matmul"),
    ("and", logical_and, "and"), ("or", logical_or, "or"),
]
for _py, _fn, _name in _OPERATORS:
    _fwd, _rev = _binary_operator(_fn, _name)
    Tensor._override_operator(f"__{_py}__", _fwd)
    Tensor._override_operator(f"__r{_py}__", _rev)
for _py, _fn in (("lt", less), ("le", less_equal), ("gt", greater), ("ge", greater_equal)):
    Tensor._override_operator(f"__{_py}__", lambda x, y, _fn=_fn: _fn(x, y))
Tensor._override_operator("__neg__", lambda x: negative(x))
Tensor._override_operator("__abs__", lambda x: abs(x))
Tensor._override_operator("__invert__", lambda x: logical_not(x))
