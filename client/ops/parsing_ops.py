"""tf.parse_example / tf.parse_single_example and the feature specs (TF 1.x names, TF 2.21's graph).

Both build one ParseExampleV2 op, as TF 2.21 does for v1 graphs: keys are sorted, VarLenFeatures become
`sparse_keys` (each parsed into a tf.SparseTensor) and FixedLenFeatures `dense_keys`, each with its default
(an empty Const when required, else `key_<name>` reshaped to the feature's shape).
"""
import collections
import re

import numpy as np

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of, name_scope
from tfmini.ops import array_ops
from tfmini.ops.core import constant, convert_to_tensor
from tfmini.sparse_tensor import SparseTensor


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A feature of any length, parsed into a SparseTensor."""


class FixedLenFeature(collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A feature of a fixed shape, parsed into a dense Tensor; with no default_value it is required."""

    def __new__(cls, shape, dtype, default_value=None):
        return super().__new__(cls, shape, dtype, default_value)


class FixedLenSequenceFeature(collections.namedtuple(
        "FixedLenSequenceFeature", ["shape", "dtype", "allow_missing", "default_value"])):
    """Any number of rows of `shape`: parsed into [rows] + shape (a batch pads to its longest with
    default_value, 0 or "" by default). A missing feature parses as no rows, whatever allow_missing says."""

    def __new__(cls, shape, dtype, allow_missing=False, default_value=None):
        return super().__new__(cls, shape, dtype, allow_missing, default_value)


_SUPPORTED = (dtypes.float32, dtypes.int64, dtypes.string)


def _check_dtype(key, dtype):
    dtype = dtypes.as_dtype(dtype)
    if dtype not in _SUPPORTED:
        raise ValueError(f"Unsupported dtype {dtype.name} in feature '{key}': expected float32, int64 or string.")
    return dtype


def _specs(features, allow_missing_required=True):
    """(sparse [(key, dtype)], dense [(key, dtype, shape, default)]) of `features`, in TF's sorted key order."""
    sparse, dense = [], []
    for key in sorted(features or {}):
        spec = features[key]
        if isinstance(spec, VarLenFeature):
            sparse.append((key, _check_dtype(key, spec.dtype)))
        elif isinstance(spec, FixedLenFeature):
            dense.append((key, _check_dtype(key, spec.dtype), TensorShape(spec.shape), spec.default_value))
        elif isinstance(spec, FixedLenSequenceFeature):
            if allow_missing_required and not spec.allow_missing:
                raise ValueError("Unsupported: FixedLenSequenceFeature requires allow_missing to be True.")
            shape = TensorShape([None]).concatenate(TensorShape(spec.shape))
            dense.append((key, _check_dtype(key, spec.dtype), shape, spec.default_value))
        else:
            raise ValueError(f"Unsupported feature type for '{key}': {type(spec).__name__}")
    return sparse, dense


def _dense_defaults(dense):
    """The default tensor of each dense feature, as TF makes them (in the caller's name scope)."""
    defaults = []
    for key, dtype, shape, default in dense:
        if shape.rank and shape[0] is None:  # a sequence feature's default is its scalar padding
            if default is None:
                defaults.append(convert_to_tensor("" if dtype == dtypes.string else 0, dtype=dtype))
            else:
                padding = convert_to_tensor(default, dtype=dtype, name=f"padding_{_safe(key)}")
                defaults.append(_reshape_to_scalar(padding))
        elif default is None:
            defaults.append(constant(np.zeros([0], dtype.as_numpy_dtype if dtype != dtypes.string else object),
                                     dtype=dtype))
        else:
            value = convert_to_tensor(default, dtype=dtype, name=f"key_{_safe(key)}")
            defaults.append(array_ops.reshape(value, shape.as_list()))
    return defaults


def _strings(name, values):
    """A vector of strings as a Const named `name` (a Tensor passes as it is)."""
    if hasattr(values, "op"):
        return values
    values = list(values)
    return constant(np.array(values, object).reshape([len(values)]), dtype=dtypes.string, name=name)


def _sparse_tensors(outputs, n):
    return [SparseTensor(outputs[i], outputs[n + i], outputs[2 * n + i]) for i in range(n)]


def _parse(serialized, features, example_names, name):
    if not features:
        raise ValueError("Missing: features was {}.")
    sparse, dense = _specs(features)
    graph = _graph_of([serialized])
    with graph.as_default(), name_scope(name, "ParseExample", [serialized, example_names]):
        serialized = convert_to_tensor(serialized, dtype=dtypes.string, name="serialized")
        defaults = _dense_defaults(dense)
        with name_scope("ParseExampleV2") as op_scope:
            names = [] if example_names is None else example_names
            inputs = [serialized, _strings("names", names), _strings("sparse_keys", [k for k, _ in sparse]),
                      _strings("dense_keys", [k for k, *_ in dense]), _strings("ragged_keys", [])] + defaults
            attrs = {"Tdense": [d for _, d, *_ in dense], "num_sparse": len(sparse),
                     "sparse_types": [d for _, d in sparse], "ragged_value_types": [], "ragged_split_types": [],
                     "dense_shapes": [s for _, _, s, _ in dense]}
            op = graph.create_op("ParseExampleV2", inputs, attrs, name=op_scope)
    n = len(sparse)
    out = dict(zip([k for k, _ in sparse], _sparse_tensors(op.outputs, n)))
    out.update({key: op.outputs[3 * n + i] for i, (key, *_) in enumerate(dense)})
    return out


def parse_example(serialized, features, name=None, example_names=None):
    """Parses a vector of serialized Examples: {key: Tensor [batch] + shape, or SparseTensor [batch, max_len]}."""
    return _parse(serialized, features, example_names, name)


def parse_single_example(serialized, features, name=None, example_names=None):
    """Parses one serialized Example (a scalar string): {key: Tensor of shape, or SparseTensor [max_len]}."""
    graph = _graph_of([serialized])
    with graph.as_default(), name_scope(name, "ParseSingleExample", [serialized, example_names]):
        serialized = convert_to_tensor(serialized, dtype=dtypes.string, name="serialized")
        if serialized.shape.rank not in (None, 0):
            raise ValueError("Input serialized must be a scalar")
        return _parse(serialized, features, example_names, name)  # TF passes `name` on too



def parse_single_sequence_example(serialized, context_features=None, sequence_features=None, example_name=None,
                                  name=None):
    """Parses one serialized SequenceExample: (context {key: Tensor or SparseTensor}, feature lists {key: Tensor
    [steps] + shape (FixedLenSequenceFeature) or SparseTensor [steps, max_len] (VarLenFeature)}).
    Op ParseSequenceExampleV2, as TF 2.21 writes it."""
    if not (context_features or sequence_features):
        raise ValueError("Both context_features and sequence_features are None, but at least one should have "
                         "values.")
    c_sparse, c_dense = _specs(context_features)
    f_sparse, f_dense = _specs(sequence_features, allow_missing_required=False)
    for key, _, _, default in f_dense:
        if default is not None:
            raise ValueError(f"Value feature_list.dense_defaults[{key}] must be None")
    assumed_empty = [sequence_features[key].allow_missing for key, *_ in f_dense]
    graph = _graph_of([serialized])
    with graph.as_default(), name_scope(name, "ParseSingleSequenceExample", [serialized, example_name]):
        with name_scope(name, "ParseSequenceExample", [serialized]):
            defaults = _dense_defaults(c_dense)
            serialized = convert_to_tensor(serialized, dtype=dtypes.string, name="serialized")
            if serialized.shape.rank not in (None, 0):
                raise ValueError("Input serialized must be a scalar")
            with name_scope("ParseSequenceExampleV2") as op_scope:
                debug = [] if example_name is None else example_name
                inputs = [serialized, _strings("debug_name", debug),
                          _strings("context_sparse_keys", [k for k, _ in c_sparse]),
                          _strings("context_dense_keys", [k for k, *_ in c_dense]),
                          _strings("context_ragged_keys", []),
                          _strings("feature_list_sparse_keys", [k for k, _ in f_sparse]),
                          _strings("feature_list_dense_keys", [k for k, *_ in f_dense]),
                          _strings("feature_list_ragged_keys", []),
                          constant(np.array(assumed_empty, bool).reshape([len(assumed_empty)]), dtype=dtypes.bool,
                                   name="feature_list_dense_missing_assumed_empty")] + defaults
                attrs = {"Ncontext_sparse": len(c_sparse), "Tcontext_dense": [d for _, d, *_ in c_dense],
                         "context_sparse_types": [d for _, d in c_sparse], "context_dense_shapes":
                         [s for _, _, s, _ in c_dense], "context_ragged_value_types": [],
                         "context_ragged_split_types": [], "Nfeature_list_sparse": len(f_sparse),
                         "Nfeature_list_dense": len(f_dense), "feature_list_sparse_types": [d for _, d in f_sparse],
                         "feature_list_dense_types": [d for _, d, *_ in f_dense],
                         "feature_list_dense_shapes": [s[1:] for _, _, s, _ in f_dense],
                         "feature_list_ragged_value_types": [], "feature_list_ragged_split_types": []}
                outputs = graph.create_op("ParseSequenceExampleV2", inputs, attrs, name=op_scope).outputs
    n, d = len(c_sparse), len(c_dense)
    context = dict(zip([k for k, _ in c_sparse], _sparse_tensors(outputs, n)))
    context.update({key: outputs[3 * n + i] for i, (key, *_) in enumerate(c_dense)})
    rest, m = outputs[3 * n + d:], len(f_sparse)
    lists = dict(zip([k for k, _ in f_sparse], _sparse_tensors(rest, m)))
    lists.update({key: rest[3 * m + i] for i, (key, *_) in enumerate(f_dense)})
    return context, lists


@op_registry.shape_fn("ParseSequenceExampleV2")
def _parse_sequence_example_v2_shape(op):
    batch = op.inputs[0].shape
    width = None if batch.rank is None else batch.rank + 1
    steps = None if batch.rank is None else batch.rank + 2

    def sparse(n, types, index_width):
        return ([(dtypes.int64, TensorShape([None, index_width]))] * n + [(t, TensorShape([None])) for t in types] +
                [(dtypes.int64, TensorShape([index_width]))] * n)
    out = sparse(op.get_attr("Ncontext_sparse"), op.get_attr("context_sparse_types") or [], width)
    out += [(t, batch.concatenate(TensorShape(s))) for t, s in
            zip(op.get_attr("Tcontext_dense") or [], op.get_attr("context_dense_shapes") or [])]
    out += sparse(op.get_attr("Nfeature_list_sparse"), op.get_attr("feature_list_sparse_types") or [], steps)
    dense_types = op.get_attr("feature_list_dense_types") or []
    out += [(t, batch.concatenate(TensorShape([None])).concatenate(TensorShape(s))) for t, s in
            zip(dense_types, op.get_attr("feature_list_dense_shapes") or [])]
    out += [(dtypes.int64, batch)] * len(dense_types)
    return out

@op_registry.shape_fn("ParseExampleV2")
def _parse_example_v2_shape(op):
    batch = op.inputs[0].shape
    rank = batch.rank
    n = op.get_attr("num_sparse")
    sparse_types = op.get_attr("sparse_types") or []
    dense_types = op.get_attr("Tdense") or []
    dense_shapes = [TensorShape(s) for s in op.get_attr("dense_shapes") or []]
    index_width = None if rank is None else rank + 1
    out = [(dtypes.int64, TensorShape([None, index_width]))] * n
    out += [(t, TensorShape([None])) for t in sparse_types]
    out += [(dtypes.int64, TensorShape([index_width]))] * n
    out += [(t, batch.concatenate(s)) for t, s in zip(dense_types, dense_shapes)]
    return out


def _reshape_to_scalar(t):
    """reshape(t, []) node for node as TF writes it: TF first converts `[]` as a float Const ("shape"), finds
    Reshape wants an int32 one ("shape_1") and leaves the first unused; tfmini writes both, so graphs compare."""
    graph = t.graph
    with name_scope(None, "Reshape", [t]) as scope:
        constant(np.zeros([0], np.float32), name="shape")
        shape = constant(np.zeros([0], np.int32), name="shape")
        return graph.create_op("Reshape", [t, shape], {"T": t.dtype.base_dtype, "Tshape": dtypes.int32},
                               name=scope).outputs[0]


def _safe(key):
    """A feature key as part of a node name (TF's re.sub of what names may not hold)."""
    return re.sub("[^A-Za-z0-9_.\\-/]", "_", key)


# -- tf.io.serialize_tensor / tf.io.parse_tensor --------------------------------------------------------------
def serialize_tensor(tensor, name=None):
    """A scalar string: `tensor` as a serialized TensorProto (op SerializeTensor)."""
    graph = _graph_of([tensor])
    with graph.as_default(), name_scope(name, "SerializeTensor", [tensor]) as scope:
        t = convert_to_tensor(tensor, name="tensor")
        return graph.create_op("SerializeTensor", [t], {"T": t.dtype.base_dtype}, name=scope).outputs[0]


def parse_tensor(serialized, out_type, name=None):
    """The tensor a serialized TensorProto holds; its dtype must be `out_type` (op ParseTensor)."""
    graph = _graph_of([serialized])
    with graph.as_default(), name_scope(name, "ParseTensor", [serialized]) as scope:
        s = convert_to_tensor(serialized, dtype=dtypes.string, name="serialized")
        attrs = {"out_type": dtypes.as_dtype(out_type)}
        return graph.create_op("ParseTensor", [s], attrs, name=scope).outputs[0]


op_registry.register("SerializeTensor", lambda op: [(dtypes.string, TensorShape([]))])
op_registry.register("ParseTensor", lambda op: [(op.get_attr("out_type"), TensorShape(None))])
