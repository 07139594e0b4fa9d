"""Building blocks of every op wrapper: tensor conversion, constants, and `make_op`.

`make_op` is TF's op-wrapper convention: the op gets a name scope named after
it, Python values among its inputs become Consts named `<op>/<arg>` inside
that scope, and the op itself takes the scope's name.
"""
import numpy as np

from tfmini.core import dtypes, op_types, tensor_util
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Operation, Tensor, get_default_graph, _graph_of


_conversion_functions = []  # (type, fn(value, dtype, name) -> Tensor)


def register_tensor_conversion_function(base_type, conversion_func):
    _conversion_functions.append((base_type, conversion_func))


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None):
    """A Tensor for `value`: Tensors pass through (dtype-checked); Python and numpy values become Consts."""
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype.base_dtype != dtype.base_dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.base_dtype.name} for Tensor with dtype "
                             f"{value.dtype.base_dtype.name}: {value}")
        return value
    for base_type, fn in _conversion_functions:
        if isinstance(value, base_type):
            return fn(value, dtype, name)
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor (target dtype={dtype}, name={name!r})")
    if isinstance(value, (list, tuple)) and any(_contains_tensor(v) for v in value):
        from tfmini.ops import array_ops
        return array_ops.stack(value, name=name or "packed")
    if dtype is None and preferred_dtype is not None:
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dtype, name=name or "Const")


def _contains_tensor(value):
    if isinstance(value, (list, tuple)):
        return any(_contains_tensor(v) for v in value)
    return isinstance(value, Tensor) or any(isinstance(value, t) for t, _ in _conversion_functions)


convert_to_tensor_or_indexed_slices = convert_to_tensor


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """tf.constant: a Const op holding `value` (cast to `dtype`, broadcast to `shape`)."""
    proto = tensor_util.make_tensor_proto(value, dtype=dtype, shape=shape)
    if verify_shape and shape is not None and list(np.shape(value)) != list(shape):
        raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, got {np.shape(value)}.")
    tf_dtype = dtypes.as_dtype(proto.dtype)
    op = get_default_graph().create_op("Const", [], {"value": proto, "dtype": tf_dtype}, name=name)
    return op.outputs[0]


def _infer_dtype(values):
    for v in values:
        if isinstance(v, Tensor):
            return v.dtype.base_dtype
        for base_type, _ in _conversion_functions:
            if isinstance(v, base_type):
                return convert_to_tensor(v).dtype.base_dtype
    return None


def make_op(op_type, inputs, attrs=None, name=None, arg_names=None, same_dtype=True, dtype=None):
    """Creates `op_type` on `inputs` in TF's wrapper scope; returns the Operation.

    With `same_dtype`, Python inputs are converted to the dtype of the first
    Tensor input (or `dtype`), and Tensor inputs must all agree, as TF's `T` attr demands.
    """
    graph = _graph_of(inputs)
    with graph.as_default(), graph.name_scope(name or op_type) as scope:
        target = dtypes.as_dtype(dtype) if dtype is not None else (_infer_dtype(inputs) if same_dtype else None)
        names = arg_names or ["x", "y", "z"][:len(inputs)] + [f"input_{i}" for i in range(3, len(inputs))]
        tensors = []
        for arg, value in zip(names, inputs):
            try:
                t = convert_to_tensor(value, dtype=target if same_dtype else None, name=arg)
            except ValueError:
                if not _contains_tensor(value):
                    raise
                t = convert_to_tensor(value, name=arg)  # a tensor of another dtype: TypeError just below, as TF
            if same_dtype and target is not None and t.dtype.base_dtype != target and \
                    op_types.signature(op_type) is None:  # a typed op: Graph.create_op says it as TF does
                raise TypeError(f"Input '{arg}' of '{op_type}' Op has type {t.dtype.base_dtype.name} that does not "
                                f"match type {target.name} of argument '{names[0]}'.")
            if same_dtype and target is None:
                target = t.dtype.base_dtype
            tensors.append(t)
        full_attrs = {"T": tensors[0].dtype.base_dtype} if same_dtype and tensors else {}
        full_attrs.update(attrs or {})
        return graph.create_op(op_type, tensors, full_attrs, name=scope)


def make_output(op_type, inputs, attrs=None, name=None, **kwargs):
    """`make_op(...)` returning the op's only output."""
    return make_op(op_type, inputs, attrs, name, **kwargs).outputs[0]


def constant_value(tensor):
    """The value of `tensor` if it is known when the graph is built (Consts and shapes of known size), else None."""
    if not isinstance(tensor, Tensor):
        return np.asarray(tensor)
    op = tensor.op
    if op.type == "Const":
        return tensor_util.make_ndarray(op.get_attr("value"))
    if op.type == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.as_list(), dtype=tensor.dtype.as_numpy_dtype)
    if op.type == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(), dtype=tensor.dtype.as_numpy_dtype)
    if op.type == "Rank" and op.inputs[0].shape.ndims is not None:
        return np.array(op.inputs[0].shape.ndims, dtype=np.int32)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if op.type == "Cast":
        value = constant_value(op.inputs[0])
        return None if value is None else value.astype(op.get_attr("DstT").as_numpy_dtype)
    if op.type == "Pack":
        values = [constant_value(t) for t in op.inputs]
        return None if any(v is None for v in values) else np.stack(values, axis=op.get_attr("axis"))
    return None


def constant_shape(tensor):
    """A TensorShape from a 1-D shape tensor, with unknown dims where they are not known statically."""
    value = constant_value(tensor)
    if value is not None:
        return TensorShape([int(d) if d >= 0 else None for d in np.reshape(value, [-1])])
    if tensor.op.type == "Pack":
        return TensorShape([None if v is None else int(v) for v in (constant_value(t) for t in tensor.op.inputs)])
    if tensor.op.type == "Shape":
        return tensor.op.inputs[0].shape
    n = tensor.shape[0] if tensor.shape.ndims == 1 else None
    return TensorShape(None if n is None else [None] * n)
