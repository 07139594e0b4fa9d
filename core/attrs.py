"""Node attributes: Python values <-> AttrValue protos (shared by client, master and worker)."""
import numpy as np

from tfmini.core import dtypes, errors
from tfmini.core.tensor_shape import TensorShape
from tfmini.protos import attr_value_pb2, tensor_pb2, tensor_shape_pb2


AttrValue = attr_value_pb2.AttrValue


def to_attr(value):
    """An AttrValue for a Python value: DType, TensorShape, TensorProto, bool, int, float, str/bytes, or a list."""
    if isinstance(value, AttrValue):
        return value
    if isinstance(value, dtypes.DType):
        return AttrValue(type=value.as_datatype_enum)
    if isinstance(value, TensorShape):
        return AttrValue(shape=value.as_proto())
    if isinstance(value, tensor_shape_pb2.TensorShapeProto):
        return AttrValue(shape=value)
    if isinstance(value, tensor_pb2.TensorProto):
        return AttrValue(tensor=value)
    if isinstance(value, (bool, np.bool_)):
        return AttrValue(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return AttrValue(i=int(value))
    if isinstance(value, (float, np.floating)):
        return AttrValue(f=float(value))
    if isinstance(value, str):
        return AttrValue(s=value.encode())
    if isinstance(value, bytes):
        return AttrValue(s=value)
    if isinstance(value, (list, tuple)):
        lst = AttrValue.ListValue()
        for v in value:
            if isinstance(v, dtypes.DType):
                lst.type.append(v.as_datatype_enum)
            elif isinstance(v, (TensorShape, tensor_shape_pb2.TensorShapeProto)):
                lst.shape.append(v.as_proto() if isinstance(v, TensorShape) else v)
            elif isinstance(v, tensor_pb2.TensorProto):
                lst.tensor.append(v)
            elif isinstance(v, (bool, np.bool_)):
                lst.b.append(bool(v))
            elif isinstance(v, (int, np.integer)):
                lst.i.append(int(v))
            elif isinstance(v, (float, np.floating)):
                lst.f.append(float(v))
            elif isinstance(v, (str, bytes)):
                lst.s.append(v.encode() if isinstance(v, str) else v)
            else:
                raise TypeError(f"Cannot convert list element {v!r} to an attr value")
        return AttrValue(list=lst)
    raise TypeError(f"Cannot convert {value!r} to an attr value")


def from_attr(attr):
    """The Python value of an AttrValue (types as DType, shapes as TensorShapeProto, strings as bytes)."""
    kind = attr.WhichOneof("value")
    if kind == "type":
        return _dtype(attr.type)
    if kind == "list":
        lst = attr.list
        for field in ("s", "i", "f", "b", "shape", "tensor", "func"):
            if getattr(lst, field):
                return list(getattr(lst, field))
        if lst.type:
            return [_dtype(t) for t in lst.type]
        return []
    if kind is None:
        return None
    return getattr(attr, kind)


def _dtype(enum):
    """The DType of a type attr; InvalidArgumentError (TF's text) for an enum that names none (from the wire)."""
    try:
        return dtypes.as_dtype(enum)
    except TypeError:
        raise errors.InvalidArgumentError(None, None, f"AttrValue has invalid DataType enum: {enum}") from None


def attr_dict(node_def):
    """All attributes of a NodeDef as Python values (DType, shape proto, bytes, ...)."""
    return {k: from_attr(v) for k, v in node_def.attr.items()}
