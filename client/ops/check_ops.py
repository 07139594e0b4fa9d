"""tf.assert_* (TF 1.x's check_ops, also as tf.debugging.*): each builds the comparison, reduce_all and an
Assert with TF's data. When both sides are constants the check runs now: a false one raises
InvalidArgumentError at once, as TF does. Static rank and dtype checks that hold are a NoOp."""
import numpy as np

from tfmini.core import dtypes, errors
from tfmini.graph import Tensor, _graph_of
from tfmini.ops import array_ops, control_flow_ops, math_ops
from tfmini.ops.core import constant_value, convert_to_tensor
from tfmini.ops.logging_ops import Assert


def _message_prefix(message):
    return f"{message}.  " if message else ""


def _static_text(x):
    if not isinstance(x, Tensor):
        return str(x)
    value = constant_value(x)
    return str(value) if value is not None else str(x)


def _assert_static(condition, data):
    if not condition:
        raise errors.InvalidArgumentError(None, None, "\n".join(_static_text(x) for x in data))


def _binary_assert(sym, opname, op_func, static_func, x, y, data, summarize, message, name):
    graph = _graph_of([x, y])
    with graph.as_default(), graph.name_scope(name or opname):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y", dtype=x.dtype.base_dtype if not isinstance(y, Tensor) else None)
        if data is None:
            data = [f"Condition x {sym} y did not hold element-wise:", f"x ({x.name}) = ", x,
                    f"y ({y.name}) = ", y]
        if message is not None:
            data = [message] + list(data)
        condition = math_ops.reduce_all(op_func(x, y))
        x_static, y_static = constant_value(x), constant_value(y)
        if x_static is not None and y_static is not None:
            _assert_static(np.all(static_func(x_static, y_static)), data)
        return Assert(condition, data, summarize=summarize)


def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    graph = _graph_of([x, y])
    with graph.as_default(), graph.name_scope(name or "assert_equal"):
        if x is y:  # the same tensor: trivially equal
            return control_flow_ops.no_op()
    return _binary_assert("==", "assert_equal", math_ops.equal, np.equal, x, y, data, summarize, message, name)


def assert_none_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("!=", "assert_none_equal", math_ops.not_equal, np.not_equal, x, y, data, summarize,
                          message, name)


def assert_less(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<", "assert_less", math_ops.less, np.less, x, y, data, summarize, message, name)


def assert_less_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert("<=", "assert_less_equal", math_ops.less_equal, np.less_equal, x, y, data, summarize,
                          message, name)


def assert_greater(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">", "assert_greater", math_ops.greater, np.greater, x, y, data, summarize, message,
                          name)


def assert_greater_equal(x, y, data=None, summarize=None, message=None, name=None):
    return _binary_assert(">=", "assert_greater_equal", math_ops.greater_equal, np.greater_equal, x, y, data,
                          summarize, message, name)


def _sign_assert(opname, sym, compare, zero_first):
    """assert_positive & co: compare x with a zero of its dtype, with TF's default data."""
    def fn(x, data=None, summarize=None, message=None, name=None):
        message = _message_prefix(message)
        graph = _graph_of([x])
        with graph.as_default(), graph.name_scope(name or opname):
            x = convert_to_tensor(x, name="x")
            if data is None:
                # TF's assert_non_positive lacks a comma here, joining two strings; kept for identical messages.
                head = [f"Condition x {sym} did not hold element-wise:"]
                head = [head[0] + f"x ({x.name}) = "] if opname == "assert_non_positive" else \
                    head + [f"x ({x.name}) = "]
                data = [message] + head + [x]
            zero = convert_to_tensor(0, dtype=x.dtype.base_dtype)
            return compare(zero, x, data=data, summarize=summarize) if zero_first else \
                compare(x, zero, data=data, summarize=summarize)
    fn.__name__ = opname
    fn.__doc__ = f"Asserts `x {sym}` element-wise (TF's {opname})."
    return fn


assert_positive = _sign_assert("assert_positive", "> 0", assert_less, True)
assert_negative = _sign_assert("assert_negative", "< 0", assert_less, False)
assert_non_negative = _sign_assert("assert_non_negative", ">= 0", assert_less_equal, True)
assert_non_positive = _sign_assert("assert_non_positive", "<= 0", assert_less_equal, False)


def assert_type(tensor, tf_type, message=None, name=None):
    """Statically checks `tensor`'s dtype: TypeError if it differs, else a NoOp."""
    tf_type = dtypes.as_dtype(tf_type)
    graph = _graph_of([tensor])
    with graph.as_default(), graph.name_scope(name or "assert_type"):
        tensor = convert_to_tensor(tensor, name="tensor")
        if tensor.dtype != tf_type:
            raise TypeError(f"{_message_prefix(message)}{tensor.name} must be of type {tf_type!r}; got "
                            f"{tensor.dtype!r}")
        return control_flow_ops.no_op(name="statically_determined_correct_type")


def assert_integer(x, message=None, name=None):
    """Statically checks that `x` has an integer dtype: TypeError if not, else a NoOp."""
    graph = _graph_of([x])
    with graph.as_default(), graph.name_scope(name or "assert_integer"):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_integer:
            raise TypeError(f'{_message_prefix(message)}Expected "x" to be integer type.  Found: {x.name} of dtype '
                            f'{x.dtype!r}')
        return control_flow_ops.no_op(name="statically_determined_was_integer")


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    """x's rank must be `rank`: ValueError when the static rank differs, a NoOp when it matches, else an
    Assert on Rank(x) == rank."""
    return _assert_rank_condition(x, rank, data, summarize, message, name, "assert_rank", "", math_ops.equal,
                                  lambda actual, given: actual == given)


def assert_rank_at_least(x, rank, data=None, summarize=None, message=None, name=None):
    """x's rank must be at least `rank` (as assert_rank, with >=)."""
    return _assert_rank_condition(x, rank, data, summarize, message, name, "assert_rank_at_least", " at least",
                                  math_ops.greater_equal, lambda actual, given: actual >= given)


def _assert_rank_condition(x, rank, data, summarize, message, name, opname, words, dynamic, static):
    graph = _graph_of([x, rank])
    with graph.as_default(), graph.name_scope(name or opname):
        x = convert_to_tensor(x, name="x")
        rank = convert_to_tensor(rank, name="rank")
        message = _message_prefix(message)
        if data is None:
            data = [message, f"Tensor {x.name} must have rank{words}", rank, "Received shape: ", array_ops.shape(x)]
        assert_type(rank, dtypes.int32)
        rank_static = constant_value(rank)
        if rank_static is not None:
            if np.ndim(rank_static) != 0:
                raise ValueError("Rank must be a scalar.")
            if x.shape.ndims is not None:
                if not static(x.shape.ndims, int(rank_static)):
                    raise ValueError(f"{message}Tensor {x.name} must have rank{words} {int(rank_static)}.  Received "
                                     f"rank {x.shape.ndims}, shape {x.shape}")
                return control_flow_ops.no_op(name="static_checks_determined_all_ok")
        condition = dynamic(array_ops.rank(x), rank)
        if rank_static is None:
            rank_check = assert_rank(rank, 0, data=["Rank must be a scalar. Received rank: ", rank])
            condition = control_flow_ops.with_dependencies([rank_check], condition)
        return Assert(condition, data, summarize=summarize)
