"""The TF 0.x / early 1.x names programs still use, where tfmini has no other home for them.

tf.arg_min / tf.arg_max (argmin/argmax), tf.batch_matmul (op BatchMatMul), tf.op_scope and
tf.variable_op_scope (name_scope / variable_scope with the values first), tf.Dimension and
tf.dimension_value. tfmini's TensorShape holds ints and None, as TF 2's; a Dimension converts to either.
"""
import contextlib

from tfmini.graph import name_scope
from tfmini.ops.batch_matmul_ops import batch_matmul  # noqa: F401 - tf.batch_matmul
from tfmini.ops.math_ops import argmax, argmin
from tfmini.variable_scope import variable_scope


def arg_max(input, dimension, name=None, output_type=None):  # noqa: A002 - TF's names
    kwargs = {} if output_type is None else {"output_type": output_type}
    return argmax(input, dimension=dimension, name=name, **kwargs)


def arg_min(input, dimension, name=None, output_type=None):  # noqa: A002
    kwargs = {} if output_type is None else {"output_type": output_type}
    return argmin(input, dimension=dimension, name=name, **kwargs)


@contextlib.contextmanager
def op_scope(values, name, default_name=None):
    with name_scope(name, default_name=default_name, values=values) as scope:
        yield scope


@contextlib.contextmanager
def variable_op_scope(values, name_or_scope, default_name=None, initializer=None, regularizer=None,
                      caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                      use_resource=None):
    with variable_scope(name_or_scope, default_name=default_name, values=values, initializer=initializer,
                        reuse=reuse) as scope:
        yield scope


class Dimension:
    """One dimension of a shape, known (`value` an int) or unknown (`value` None), as TF 1.x's."""

    __slots__ = ("_value",)

    def __init__(self, value):
        if isinstance(value, Dimension):
            value = value.value
        if value is not None:
            if isinstance(value, float) or isinstance(value, bool):
                raise TypeError(f"Dimension value must be integer or None or have an __index__ method, got "
                                f"value '{value!r}' with type '{type(value)}'")
            value = value.__index__()
            if value < 0:
                raise ValueError(f"Dimension {value} must be >= 0")
        self._value = value

    value = property(lambda self: self._value)

    def __repr__(self):
        return f"Dimension({self._value!r})"

    def __str__(self):
        return "?" if self._value is None else str(self._value)

    def __int__(self):
        return self._value

    def __index__(self):
        return self._value

    def __hash__(self):
        return hash(self._value)

    def __eq__(self, other):
        other = _as_dimension(other)
        if other is NotImplemented:
            return NotImplemented
        return None if self._value is None or other.value is None else self._value == other.value

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is None or equal is NotImplemented else not equal

    def __bool__(self):
        return bool(self._value)

    def is_compatible_with(self, other):
        other = _as_dimension(other)
        return self._value is None or other.value is None or self._value == other.value

    def assert_is_compatible_with(self, other):
        if not self.is_compatible_with(other):
            raise ValueError(f"Dimensions {self} and {other} are not compatible")

    def merge_with(self, other):
        other = _as_dimension(other)
        self.assert_is_compatible_with(other)
        return Dimension(self._value if self._value is not None else other.value)

    def _combine(self, other, fn):
        other = _as_dimension(other)
        if other is NotImplemented:
            return NotImplemented
        if self._value is None or other.value is None:
            return Dimension(None)
        return Dimension(fn(self._value, other.value))

    def __add__(self, other):
        return self._combine(other, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other):
        return self._combine(other, lambda a, b: a - b)

    def __rsub__(self, other):
        return _as_dimension(other)._combine(self, lambda a, b: a - b)

    def __mul__(self, other):
        return self._combine(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        return self._combine(other, lambda a, b: a // b)

    def __mod__(self, other):
        return self._combine(other, lambda a, b: a % b)

    def __lt__(self, other):
        other = _as_dimension(other)
        return None if self._value is None or other.value is None else self._value < other.value

    def __le__(self, other):
        other = _as_dimension(other)
        return None if self._value is None or other.value is None else self._value <= other.value

    def __gt__(self, other):
        other = _as_dimension(other)
        return None if self._value is None or other.value is None else self._value > other.value

    def __ge__(self, other):
        other = _as_dimension(other)
        return None if self._value is None or other.value is None else self._value >= other.value


def _as_dimension(value):
    if isinstance(value, Dimension):
        return value
    if value is None or hasattr(value, "__index__"):
        return Dimension(value)
    return NotImplemented


def as_dimension(value):
    return value if isinstance(value, Dimension) else Dimension(value)


def dimension_value(dimension):
    """The int (or None) of a dimension, whether a Dimension or already an int, as tf.compat.dimension_value."""
    return dimension.value if isinstance(dimension, Dimension) else dimension


def dimension_at_index(shape, index):
    from tfmini.core.tensor_shape import as_shape
    shape = as_shape(shape)
    return Dimension(None if shape.ndims is None else shape[index])
