"""numpy arrays <-> TensorProto, as TF's make_tensor_proto / make_ndarray.

Numeric tensors of more than one element travel as raw little-endian bytes in
`tensor_content` and come back with np.frombuffer; scalars use the typed
`*_val` fields, as TensorFlow writes them.
"""
import numpy as np

from tfmini.core import dtypes, errors, memory_limits
from tfmini.core.tensor_shape import TensorShape
from tfmini.protos import tensor_pb2


_VAL_FIELD = {  # dtype enum -> repeated field holding values when not in tensor_content
    dtypes.float32: "float_val", dtypes.float64: "double_val",
    dtypes.int32: "int_val", dtypes.int16: "int_val", dtypes.int8: "int_val",
    dtypes.uint8: "int_val", dtypes.uint16: "int_val",
    dtypes.int64: "int64_val", dtypes.bool: "bool_val",
    dtypes.complex64: "scomplex_val", dtypes.complex128: "dcomplex_val",
    dtypes.float16: "half_val", dtypes.bfloat16: "half_val",
    dtypes.uint32: "uint32_val", dtypes.uint64: "uint64_val",
    dtypes.string: "string_val",
}
_LITTLE = "<"


def _as_numpy(values, dtype):
    if dtype is not None and dtype.base_dtype == dtypes.string:
        arr = np.asarray(values, dtype=object)
        return np.vectorize(lambda v: v if isinstance(v, bytes) else str(v).encode(), otypes=[object])(arr) \
            if arr.size else arr
    if dtype is None:
        arr = np.asarray(values)
        if arr.dtype == np.float64 and not isinstance(values, np.ndarray) and not isinstance(values, np.generic):
            arr = arr.astype(np.float32)  # Python floats are float32 in TensorFlow
        elif arr.dtype == np.int64 and not isinstance(values, (np.ndarray, np.generic)):
            arr = arr.astype(np.int64 if np.abs(arr).max(initial=0) >= 2**31 else np.int32)
        elif arr.dtype.kind in "SUO":
            return _as_numpy(values, dtypes.string)
        return arr
    np_type = dtype.base_dtype.as_numpy_dtype
    arr = np.asarray(values)
    if arr.dtype.kind in "SUO" and np_type is not np.object_:
        raise TypeError(f"Expected {dtype.base_dtype.name}, got {values!r} of type '{type(values).__name__}' instead.")
    if arr.dtype.kind == "f" and np.dtype(np_type).kind in "iub" and not np.all(np.mod(arr, 1) == 0):
        raise TypeError(f"Expected {dtype.base_dtype.name}, got {values!r} of type '{type(values).__name__}' instead.")
    if arr.dtype.kind == "c" and np.dtype(np_type).kind != "c":
        raise TypeError(f"Expected {dtype.base_dtype.name}, got {values!r} of type '{type(values).__name__}' instead.")
    if np.dtype(np_type).kind in "iu" and arr.dtype.kind in "iu" and arr.size:
        info = np.iinfo(np_type)
        if arr.min() < info.min or arr.max() > info.max:
            raise ValueError(f"Value {values!r} is out of range for {dtype.base_dtype.name}")
    return arr.astype(np_type, copy=False)


# numpy dtype -> (DataType enum, repeated field) for the fast paths of plain numeric arrays.
_FAST = {np.dtype(d.as_numpy_dtype): (d.as_datatype_enum, _VAL_FIELD[d]) for d in (
    dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64, dtypes.int16, dtypes.int8, dtypes.uint8,
    dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.bool)}
_FAST_BY_ENUM = {enum: (np_dtype, field) for np_dtype, (enum, field) in _FAST.items()}


def make_tensor_proto(values, dtype=None, shape=None):
    """A TensorProto for `values` (array-like), optionally cast to `dtype` and broadcast to `shape`."""
    if dtype is None and shape is None and isinstance(values, (np.ndarray, np.generic)):
        fast = _FAST.get(values.dtype)
        if fast is not None and values.dtype.byteorder != ">":
            proto = tensor_pb2.TensorProto(dtype=fast[0])
            dims = proto.tensor_shape.dim
            for d in values.shape:
                dims.add(size=d)
            if values.size > 1:
                proto.tensor_content = values.tobytes()
            elif values.size == 1:
                getattr(proto, fast[1]).append(values.item())
            return proto
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    arr = _as_numpy(values, dtype)
    tf_dtype = dtype.base_dtype if dtype is not None else dtypes.as_dtype(arr.dtype)
    if shape is not None:
        shape = [int(d) for d in shape]
        if arr.size == 1 and int(np.prod(shape)) != 1:
            # TF stores one value and lets readers broadcast it.
            proto = tensor_pb2.TensorProto(dtype=tf_dtype.as_datatype_enum,
                                           tensor_shape=TensorShape(shape).as_proto())
            _append_values(proto, tf_dtype, arr.reshape(-1))
            return proto
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"Too many elements provided. Needed at most {int(np.prod(shape))}, "
                             f"but received {arr.size}")
        arr = arr.reshape(shape)
    proto = tensor_pb2.TensorProto(dtype=tf_dtype.as_datatype_enum, tensor_shape=TensorShape(arr.shape).as_proto())
    if arr.size > 1 and tf_dtype != dtypes.string:
        proto.tensor_content = ndarray_bytes(arr)
    else:
        _append_values(proto, tf_dtype, arr.reshape(-1))
    return proto


def ndarray_bytes(arr):
    """Raw little-endian row-major bytes of a numeric array (no copy when it already is)."""
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder(_LITTLE))
    return np.ascontiguousarray(arr).tobytes()


def _append_values(proto, tf_dtype, flat):
    field = getattr(proto, _VAL_FIELD[tf_dtype])
    if tf_dtype in (dtypes.float16, dtypes.bfloat16):
        field.extend(flat.view(np.uint16).astype(np.int32).tolist())
    elif tf_dtype.is_complex:
        field.extend(np.stack([flat.real, flat.imag], axis=-1).reshape(-1).tolist())
    else:
        field.extend(flat.tolist())


_UNPARSED = (dtypes.resource, dtypes.variant)  # handles and variants never travel as values here


def parse_tensor(proto, what="tensor"):
    """make_ndarray for a TensorProto from the wire (a feed, a RunGraph send): InvalidArgumentError ("Unable to
    parse tensor proto", as TF) for one that holds no valid tensor, not the Python error it would raise."""
    try:
        dtype = dtypes.as_dtype(proto.dtype)
        if dtype.base_dtype in _UNPARSED or dtype.is_ref_dtype:
            raise TypeError(f"a {dtype.name} tensor cannot be sent as a value")
        return make_ndarray(proto)
    except (TypeError, ValueError) as e:
        raise errors.InvalidArgumentError(None, None, f"Unable to parse tensor proto for {what}: {e}") from None


def make_ndarray(proto):
    """The numpy array a TensorProto holds (zero-copy view of tensor_content where possible)."""
    fast = _FAST_BY_ENUM.get(proto.dtype)
    if fast is not None:
        shape = [d.size for d in proto.tensor_shape.dim]
        if proto.tensor_content:
            return np.frombuffer(proto.tensor_content, dtype=fast[0]).reshape(shape)
        values = getattr(proto, fast[1])
        if not shape and len(values) == 1:
            return fast[0].type(values[0])  # a numpy scalar: 10x cheaper than a 0-d array in later math
    tf_dtype = dtypes.as_dtype(proto.dtype).base_dtype
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    np_type = tf_dtype.as_numpy_dtype
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=np.dtype(np_type).newbyteorder(_LITTLE)).reshape(shape)
    # A short repeated field is filled to the shape: check what the shape declares before allocating it.
    memory_limits.check_decode(shape, np.dtype(np_type).itemsize, tf_dtype.name)
    num = int(np.prod(shape))
    if tf_dtype == dtypes.string:
        values = np.array(list(proto.string_val), dtype=object)
    elif tf_dtype in (dtypes.float16, dtypes.bfloat16):
        values = np.array(proto.half_val, dtype=np.uint16)
        values = values.view(np.float16) if tf_dtype == dtypes.float16 else values
    elif tf_dtype.is_complex:
        pairs = np.array(getattr(proto, _VAL_FIELD[tf_dtype]), dtype=np_type().real.dtype).reshape(-1, 2)
        values = (pairs[:, 0] + 1j * pairs[:, 1]).astype(np_type)
    else:
        values = np.array(getattr(proto, _VAL_FIELD[tf_dtype]), dtype=np_type)
    if values.size == num:
        return values.reshape(shape)
    if num == 0:
        return np.zeros(shape, dtype=values.dtype)
    if values.size == 0:
        return np.zeros(shape, dtype=values.dtype) if tf_dtype != dtypes.string else np.full(shape, b"", dtype=object)
    if values.size > num:
        raise ValueError(f"TensorProto has {values.size} values for shape {list(shape)}")
    # Fewer values than elements: the last value fills the rest (TF's rule), in one allocation.
    out = np.empty(num, dtype=values.dtype)
    out[:values.size] = values
    out[values.size:] = values[-1]
    return out.reshape(shape)
