"""Element types: TensorFlow's DType objects, tied to numpy dtypes and DataType enum values."""
import builtins

import numpy as np

from tfmini.protos import types_pb2

_REF_OFFSET = 100


class DType:
    """A tensor element type, as `tf.float32`. `float32_ref` is the type of a variable's mutable output."""

    __slots__ = ("_enum", "_name", "_np")

    def __init__(self, enum, name, np_type):
        self._enum, self._name, self._np = enum, name, np_type

    name = property(lambda self: self._name)
    as_datatype_enum = property(lambda self: self._enum)
    is_ref_dtype = property(lambda self: self._enum > _REF_OFFSET)
    base_dtype = property(lambda self: _BY_ENUM[self._enum - _REF_OFFSET] if self.is_ref_dtype else self)
    as_numpy_dtype = property(lambda self: self._np)

    @property
    def _as_ref(self):
        return self if self.is_ref_dtype else _BY_ENUM[self._enum + _REF_OFFSET]

    @property
    def is_floating(self):
        return self.base_dtype in (float16, bfloat16, float32, float64)

    @property
    def is_integer(self):
        return self.base_dtype in (int8, int16, int32, int64, uint8, uint16, uint32, uint64)

    @property
    def is_complex(self):
        return self.base_dtype in (complex64, complex128)

    @property
    def is_bool(self):
        return self.base_dtype is bool

    @property
    def min(self):
        b = self.base_dtype._np
        return np.finfo(b).min if self.is_floating else np.iinfo(b).min

    @property
    def max(self):
        b = self.base_dtype._np
        return np.finfo(b).max if self.is_floating else np.iinfo(b).max

    def __eq__(self, other):
        if isinstance(other, DType):
            return self._enum == other._enum
        try:
            return self._enum == as_dtype(other)._enum
        except TypeError:
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return self._enum

    def __repr__(self):
        return f"tf.{self._name}"

    def __str__(self):
        return f"<dtype: '{self._name}'>"


_SPECS = [  # enum name, tf name, numpy type
    ("DT_FLOAT", "float32", np.float32), ("DT_DOUBLE", "float64", np.float64),
    ("DT_INT32", "int32", np.int32), ("DT_UINT8", "uint8", np.uint8),
    ("DT_INT16", "int16", np.int16), ("DT_INT8", "int8", np.int8),
    ("DT_STRING", "string", np.object_), ("DT_COMPLEX64", "complex64", np.complex64),
    ("DT_INT64", "int64", np.int64), ("DT_BOOL", "bool", np.bool_),
    ("DT_BFLOAT16", "bfloat16", np.uint16), ("DT_UINT16", "uint16", np.uint16),
    ("DT_COMPLEX128", "complex128", np.complex128), ("DT_HALF", "float16", np.float16),
    ("DT_RESOURCE", "resource", np.object_), ("DT_VARIANT", "variant", np.object_),
    ("DT_UINT32", "uint32", np.uint32), ("DT_UINT64", "uint64", np.uint64),
]
_BY_ENUM = {}
_BY_NAME = {}
for _enum_name, _name, _np_type in _SPECS:
    _value = types_pb2.DataType.Value(_enum_name)
    for _e, _n in ((_value, _name), (_value + _REF_OFFSET, _name + "_ref")):
        _BY_ENUM[_e] = _BY_NAME[_n] = DType(_e, _n, _np_type)

float32, float64, float16, bfloat16 = (_BY_NAME[n] for n in ("float32", "float64", "float16", "bfloat16"))
int8, int16, int32, int64 = (_BY_NAME[n] for n in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_BY_NAME[n] for n in ("uint8", "uint16", "uint32", "uint64"))
complex64, complex128 = _BY_NAME["complex64"], _BY_NAME["complex128"]
string, resource, variant = _BY_NAME["string"], _BY_NAME["resource"], _BY_NAME["variant"]
bool = _BY_NAME["bool"]  # noqa: A001 - TensorFlow's name
half, double = float16, float64
float32_ref = _BY_NAME["float32_ref"]

_FROM_NUMPY = {np.dtype(d.as_numpy_dtype): d for d in (
    float32, float64, float16, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    complex64, complex128, bool)}
_FROM_NUMPY[np.dtype(np.object_)] = string


def as_dtype(value):
    """Converts a DType, enum value, name, numpy dtype or Python type to a DType, as tf.as_dtype."""
    if isinstance(value, DType):
        return value
    if type(value) is int and value in _BY_ENUM:
        return _BY_ENUM[value]
    if isinstance(value, int) and not isinstance(value, type) and value in _BY_ENUM:
        return _BY_ENUM[value]
    if isinstance(value, str):
        if value in _BY_NAME:
            return _BY_NAME[value]
        aliases = {"float": float32, "double": float64, "half": float16}
        if value in aliases:
            return aliases[value]
    if value is float:
        return float32
    if value is int:
        return int32
    if value is builtins.bool:
        return bool
    if value in (str, bytes):
        return string
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        np_dtype = None
    if np_dtype is not None:
        if np_dtype.kind in "SU":
            return string
        if np_dtype in _FROM_NUMPY:
            return _FROM_NUMPY[np_dtype]
    raise TypeError(f"Cannot convert value {value!r} to a TensorFlow DType.")
