"""ParseExampleV2: serialized tf.train.Example protos -> sparse (VarLenFeature) and dense (FixedLenFeature) tensors.

Decoding protos is per example and per feature (the proto library does the element work); the values of a
feature are copied out as whole arrays. Messages are TensorFlow's (example_proto_fast_parsing.cc).
SerializeTensor / ParseTensor (tf.io.serialize_tensor, tf.io.parse_tensor) live here too.
"""
import base64

import numpy as np
from google.protobuf.message import DecodeError

from tfmini.core import dtypes, errors, tensor_util
from tfmini.protos import example_pb2, tensor_pb2
from tfmini.worker.kernels import CPU_ONLY, kernel

# The Feature oneof field of each dtype, and its name in TF's messages.
_KIND = {dtypes.float32: "float_list", dtypes.int64: "int64_list", dtypes.string: "bytes_list"}
_KIND_NAME = {"float_list": "float", "int64_list": "int64", "bytes_list": "string"}


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _num_outputs(attrs):
    return 3 * attrs.get("num_sparse", 0) + len(attrs.get("Tdense") or []) + \
        len(attrs.get("ragged_value_types") or []) + len(attrs.get("ragged_split_types") or [])


def _where(key, index):
    """TF's message prefix: a scalar input (index None) names the key, a batch the example too."""
    return f"Key: {key}." if index is None else f"Name: <unknown>, Key: {key}, Index: {index}."


def _values(feature, dtype, key, index, sparse):
    """The values of one Feature as a 1-D array of `dtype`; a Feature of another kind is a type mismatch."""
    kind = feature.WhichOneof("kind")
    if kind is None:  # an empty Feature holds no values
        return None
    if kind != _KIND[dtype]:
        wanted, got = _KIND_NAME[_KIND[dtype]], _KIND_NAME[kind]
        raise _invalid(f"{_where(key, index)}  Data types don't match. " +
                       (f"Expected type: {wanted}, Actual type: {got}" if sparse else
                        f"Data type: {got} but expected type: {wanted}"))
    values = getattr(feature, kind).value
    if dtype == dtypes.string:
        out = np.empty(len(values), object)
        out[:] = list(values)
        return out
    return np.array(values, dtype.as_numpy_dtype)


def _parse(data, proto=example_pb2.Example):
    example = proto()
    try:
        example.ParseFromString(bytes(data))
    except DecodeError:
        what = "example" if proto is example_pb2.Example else "sequence example"
        raise _invalid(f"Could not parse {what} input, value: '{bytes(data).decode('latin-1')}'") from None
    return example


def _sequence(examples, at, key, dtype, shape, padding, batch_shape):
    """[rows] + shape[1:] per example (a missing feature has no rows), padded with `padding` to the longest."""
    stride = int(np.prod(shape[1:]))
    found = []
    for i, ex in zip(at, examples):
        got = _values(ex[key], dtype, key, i, False) if key in ex else None
        got = np.empty(0, padding.dtype) if got is None else got
        if got.size % max(stride, 1):
            dims = ",".join("?" if d < 0 else str(d) for d in shape)
            raise _invalid(f"Name: <unknown>, Key: {key}, Index: {0 if i is None else i}.  Number of "
                           f"{_KIND_NAME[_KIND[dtype]]} values is not a multiple of stride length. Saw {got.size} "
                           f"values but output shape is: [{dims}]")
        found.append(got)
    sizes = np.array([f.size for f in found], np.int64)
    rows = int(sizes.max()) // max(stride, 1) if len(sizes) else 0
    out = np.full([len(found), rows * stride], padding.reshape(()), dtype=padding.dtype)
    if found:  # each example's values fill the head of its row (row-major order of the mask)
        out[np.arange(rows * stride)[None, :] < sizes[:, None]] = np.concatenate(found)
    return out.reshape(list(batch_shape) + [rows] + list(shape[1:]))


def _keys(keys):
    return [k.decode() if isinstance(k, bytes) else k for k in np.asarray(keys, object).ravel()]


def _parse_features(examples, batch_shape, sparse_keys, sparse_types, dense_keys, dense_types, dense_shapes,
                    dense_defaults):
    """The sparse (indices, values, shapes) and dense outputs for feature maps `examples` (one per batch entry;
    batch_shape () for a single one)."""
    single = not batch_shape
    at = [None] * len(examples) if single else list(range(len(examples)))
    indices, values, shapes = [], [], []
    for key, dtype in zip(sparse_keys, sparse_types):
        found = [_values(ex[key], dtype, key, i, True) if key in ex else None for i, ex in zip(at, examples)]
        found = [np.empty(0, dtype.as_numpy_dtype if dtype != dtypes.string else object) if f is None else f
                 for f in found]
        lengths = np.array([len(f) for f in found], np.int64)
        rows = np.repeat(np.arange(len(found), dtype=np.int64), lengths)
        cols = np.arange(lengths.sum(), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        ix = np.stack([rows, cols], 1) if batch_shape else cols[:, None]
        indices.append(ix)
        values.append(np.concatenate(found) if found else np.empty(0, object))
        width = int(lengths.max()) if len(lengths) else 0
        shapes.append(np.array(list(batch_shape) + [width], np.int64))
    dense = []
    for key, dtype, shape, default in zip(dense_keys, dense_types, dense_shapes, dense_defaults):
        default = np.asarray(default)
        rows = []
        kind = _KIND[dtype]
        if shape and shape[0] == -1:  # a FixedLenSequenceFeature: any number of rows, padded to the longest
            dense.append(_sequence(examples, at, key, dtype, shape, default, batch_shape))
            continue
        for i, ex in zip(at, examples):
            got = _values(ex[key], dtype, key, i, False) if key in ex else None
            if got is None:
                if default.size == 0:
                    raise _invalid(("" if single else "Name: <unknown>, ") + f"Feature: {key} (data type: "
                                   f"{_KIND_NAME[kind]}) is required but could not be found.")
                got = default.reshape(-1)
            elif got.size != int(np.prod(shape)):
                raise _invalid(f"Key: {key}.  Can't parse serialized Example: Some {kind} slice was not "
                               f"parsed." if single else
                               f"{_where(key, i)}  Number of {_KIND_NAME[kind]} values != expected.  Values "
                               f"size: {got.size} but output shape: [{','.join(str(d) for d in shape)}]")
            rows.append(got.reshape(shape))
        out = np.stack(rows) if rows else np.empty([0] + shape, default.dtype)
        dense.append(out.reshape(list(batch_shape) + shape))
    return indices, values, shapes, dense


@kernel("ParseExampleV2", num_outputs=_num_outputs, device_types=CPU_ONLY)
def _parse_example_v2(node):
    sparse_types = node.attrs.get("sparse_types") or []
    dense_types = node.attrs.get("Tdense") or []
    dense_shapes = [[d.size for d in s.dim] for s in node.attrs.get("dense_shapes") or []]
    if node.attrs.get("ragged_value_types"):
        raise errors.UnimplementedError(None, None, "tfmini's ParseExampleV2 has no ragged features")

    def fn(serialized, names, sparse_keys, dense_keys, ragged_keys, *dense_defaults):
        serialized = np.asarray(serialized, object)
        examples = [_parse(s).features.feature for s in serialized.reshape(-1)]
        indices, values, shapes, dense = _parse_features(
            examples, serialized.shape, _keys(sparse_keys), sparse_types, _keys(dense_keys), dense_types,
            dense_shapes, dense_defaults)
        outputs = indices + values + shapes + dense
        return outputs[0] if len(outputs) == 1 else tuple(outputs)  # one output is returned bare
    return fn



def _sequence_num_outputs(attrs):
    return 3 * attrs.get("Ncontext_sparse", 0) + len(attrs.get("Tcontext_dense") or []) + \
        3 * attrs.get("Nfeature_list_sparse", 0) + 2 * attrs.get("Nfeature_list_dense", 0)


def _shapes(attr):
    return [[d.size for d in s.dim] for s in attr or []]


@kernel("ParseSequenceExampleV2", num_outputs=_sequence_num_outputs, device_types=CPU_ONLY)
def _parse_sequence_example_v2(node):
    """One SequenceExample (tf.parse_single_sequence_example): its context as an Example's features, each feature
    list as [steps] + shape (dense, with its length) or a SparseTensor [steps, max_len]."""
    a = node.attrs
    context_sparse_types, context_dense_types = a.get("context_sparse_types") or [], a.get("Tcontext_dense") or []
    list_sparse_types = a.get("feature_list_sparse_types") or []
    list_dense_types = a.get("feature_list_dense_types") or []
    context_shapes, list_shapes = _shapes(a.get("context_dense_shapes")), _shapes(a.get("feature_list_dense_shapes"))
    if a.get("context_ragged_value_types") or a.get("feature_list_ragged_value_types"):
        raise errors.UnimplementedError(None, None, "tfmini's ParseSequenceExampleV2 has no ragged features")

    def fn(serialized, debug_name, context_sparse_keys, context_dense_keys, context_ragged_keys, list_sparse_keys,
           list_dense_keys, list_ragged_keys, missing_assumed_empty, *context_defaults):
        serialized = np.asarray(serialized, object)
        if serialized.shape:
            raise errors.UnimplementedError(None, None, "tfmini parses one SequenceExample at a time "
                                                        "(tf.parse_single_sequence_example)")
        example = _parse(serialized.item(), example_pb2.SequenceExample)
        c_ix, c_values, c_shapes, c_dense = _parse_features(
            [example.context.feature], (), _keys(context_sparse_keys), context_sparse_types,
            _keys(context_dense_keys), context_dense_types, context_shapes, context_defaults)
        lists = example.feature_lists.feature_list
        f_ix, f_values, f_shapes = [], [], []
        for key, dtype in zip(_keys(list_sparse_keys), list_sparse_types):
            steps = list(lists[key].feature) if key in lists else []
            ix, values, shape, _ = _parse_features([{key: f} for f in steps], (len(steps),), [key], [dtype], [], [],
                                                   [], [])
            f_ix += ix
            f_values += values
            f_shapes += shape
        f_dense, f_lengths = [], []
        assumed_empty = np.asarray(missing_assumed_empty, bool).reshape(-1)
        for j, (key, dtype, shape) in enumerate(zip(_keys(list_dense_keys), list_dense_types, list_shapes)):
            if key not in lists and not assumed_empty[j]:
                raise _invalid(f"Name: <unknown>, Feature list '{key}' is required but could not be found.  Did you "
                               f"mean to include it in feature_list_dense_missing_assumed_empty or "
                               f"feature_list_dense_defaults?")
            steps = list(lists[key].feature) if key in lists else []
            required = np.empty([0], dtype.as_numpy_dtype if dtype != dtypes.string else object)
            _, _, _, dense = _parse_features([{key: f} for f in steps], (len(steps),), [], [], [key], [dtype], [shape],
                                             [required])
            f_dense += dense
            f_lengths.append(np.array(len(steps), np.int64))
        outputs = c_ix + c_values + c_shapes + c_dense + f_ix + f_values + f_shapes + f_dense + f_lengths
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
    return fn

# -- tf.io.serialize_tensor / parse_tensor: a tensor as a serialized TensorProto ------------------------------
def _type_string(dtype):
    """TensorFlow's DataTypeString: "float" and "double" for float32 and float64, else the dtype's name."""
    return {dtypes.float32: "float", dtypes.float64: "double"}.get(dtype, dtype.name)


@kernel("SerializeTensor", device_types=CPU_ONLY)
def _serialize_tensor(node):
    dtype = node.attrs["T"]

    def fn(x):
        x = np.asarray(x)
        proto = tensor_pb2.TensorProto(dtype=dtype.as_datatype_enum)
        proto.tensor_shape.SetInParent()  # TF writes the shape even for a scalar
        for d in x.shape:
            proto.tensor_shape.dim.add(size=d)
        if dtype == dtypes.string:  # strings go in string_val, everything else as raw content (TF's
            proto.string_val.extend(bytes(b) for b in x.reshape(-1))  # AsProtoTensorContent)
        else:
            proto.tensor_content = tensor_util.ndarray_bytes(x.astype(dtype.as_numpy_dtype, copy=False))
        out = np.empty((), object)
        out[()] = proto.SerializeToString()
        return out
    return fn


@kernel("ParseTensor", device_types=CPU_ONLY)
def _parse_tensor(node):
    dtype = node.attrs["out_type"]

    def fn(serialized):
        data = bytes(np.asarray(serialized, object).reshape(()).item())
        proto = tensor_pb2.TensorProto()
        try:
            proto.ParseFromString(data)
        except DecodeError:
            raise _invalid(f"Could not parse `serialized` as TensorProto, base64: "
                           f"{base64.urlsafe_b64encode(data).decode().rstrip('=')}") from None
        parsed = dtypes.as_dtype(proto.dtype)
        if parsed != dtype:
            raise _invalid(f"Type mismatch between parsed tensor ({_type_string(parsed)}) and dtype "
                           f"({_type_string(dtype)})")
        return np.asarray(tensor_util.make_ndarray(proto))
    return fn
