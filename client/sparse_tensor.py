"""tf.SparseTensor: `values[i]` sits at `indices[i]` of a dense tensor of shape `dense_shape` (TF's COO form).

What tf.VarLenFeature parses into, and what tf.sparse.to_dense densifies. tfmini fetches one as TF's
SparseTensorValue; feeding a SparseTensor placeholder is not supported.
"""
import collections

import numpy as np

from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of, name_scope
from tfmini.ops.core import constant, constant_shape, convert_to_tensor

SparseTensorValue = collections.namedtuple("SparseTensorValue", ["indices", "values", "dense_shape"])


class SparseTensor:
    def __init__(self, indices, values, dense_shape):
        graph = _graph_of([indices, values, dense_shape])
        with graph.as_default(), name_scope(None, "SparseTensor", [indices, values, dense_shape]):
            self._indices = convert_to_tensor(indices, dtype=dtypes.int64, name="indices")
            self._values = convert_to_tensor(values, name="values")
            self._dense_shape = convert_to_tensor(dense_shape, dtype=dtypes.int64, name="dense_shape")

    @classmethod
    def from_value(cls, value):
        return value if isinstance(value, SparseTensor) else cls(*value)

    indices = property(lambda self: self._indices)
    values = property(lambda self: self._values)
    dense_shape = property(lambda self: self._dense_shape)
    dtype = property(lambda self: self._values.dtype)
    op = property(lambda self: self._values.op)
    graph = property(lambda self: self._values.graph)

    def get_shape(self):
        """The dense shape as far as it is known statically (its rank from dense_shape's length)."""
        known = constant_shape(self._dense_shape)
        if known.rank is None and self._dense_shape.shape.is_fully_defined():
            return TensorShape([None] * self._dense_shape.shape[0])
        return known

    shape = property(get_shape)

    def eval(self, feed_dict=None, session=None):
        from tfmini.session import get_default_session
        return (session or get_default_session()).run(self, feed_dict=feed_dict)

    def __repr__(self):
        return f"SparseTensor(indices={self._indices}, values={self._values}, dense_shape={self._dense_shape})"


def sparse_tensor_to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """The dense tensor of `sp_input`, `default_value` (0) where it holds no value (op SparseToDense)."""
    from tfmini.ops.embedding_ops import sparse_to_dense
    sp_input = SparseTensor.from_value(sp_input)
    if default_value is None:  # TF's array_ops.zeros([], dtype): a Const named "zeros"
        default_value = constant(np.zeros((), sp_input.dtype.base_dtype.as_numpy_dtype), name="zeros")
    return sparse_to_dense(sp_input.indices, sp_input.dense_shape, sp_input.values, default_value,
                           validate_indices=validate_indices, name=name)
