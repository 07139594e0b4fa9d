"""tf.IndexedSlices: a sparse set of rows of a dense tensor, as TF's gather gradient makes them.

`values[i]` is row `indices[i]` of a tensor of shape `dense_shape`; an index may repeat (its rows add up).
The gradient of a gather stays in this form through tf.gradients (aggregated by concatenation) to the
optimizers, whose sparse updates then touch only those rows. Converting one to a Tensor densifies it
with UnsortedSegmentSum, as TF does.
"""
import collections
import warnings

import numpy as np

from tfmini.core.tensor_shape import TensorShape
from tfmini.ops.core import constant_shape, constant_value, register_tensor_conversion_function

_LARGE_SPARSE_NUM_ELEMENTS = 100000000

IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue", ["values", "indices", "dense_shape"])


class IndexedSlices:
    def __init__(self, values, indices, dense_shape=None):
        self._values, self._indices, self._dense_shape = values, indices, dense_shape

    values = property(lambda self: self._values)
    indices = property(lambda self: self._indices)
    dense_shape = property(lambda self: self._dense_shape)
    name = property(lambda self: self._values.name)
    device = property(lambda self: self._values.device)
    op = property(lambda self: self._values.op)
    dtype = property(lambda self: self._values.dtype)
    graph = property(lambda self: self._values.graph)

    def get_shape(self):
        """The dense shape, as far as it is known statically."""
        tail = TensorShape([None]).concatenate(self._values.shape[1:])
        return tail if self._dense_shape is None else constant_shape(self._dense_shape).merge_with(tail)

    @property
    def shape(self):
        return self.get_shape()

    def __neg__(self):
        from tfmini.ops import math_ops
        return IndexedSlices(math_ops.negative(self._values), self._indices, self._dense_shape)

    def __str__(self):
        shape = f", dense_shape={self._dense_shape}" if self._dense_shape is not None else ""
        return f"IndexedSlices(indices={self._indices}, values={self._values}{shape})"

    __repr__ = __str__


def _to_tensor(value, dtype=None, name=None):
    """TF's _indexed_slices_to_tensor: UnsortedSegmentSum of the rows into dense_shape[0] segments."""
    from tfmini.ops import embedding_ops
    if value.dense_shape is None:
        raise ValueError(f"Tensor conversion requested for IndexedSlices without dense_shape: {value}")
    if dtype is not None and value.dtype.base_dtype != dtype.base_dtype:
        raise ValueError(f"Tensor conversion requested dtype {dtype.base_dtype.name} for Tensor with dtype "
                         f"{value.dtype.base_dtype.name}: {value}")
    shape = constant_value(value.dense_shape)
    if shape is None:
        warnings.warn("Converting sparse IndexedSlices to a dense Tensor of unknown shape. This may consume a "
                      "large amount of memory.")
    elif np.prod(shape) >= _LARGE_SPARSE_NUM_ELEMENTS:
        warnings.warn(f"Converting sparse IndexedSlices to a dense Tensor with {int(np.prod(shape))} elements. "
                      f"This may consume a large amount of memory.")
    return embedding_ops.unsorted_segment_sum(value.values, value.indices, value.dense_shape[0], name=name)


register_tensor_conversion_function(IndexedSlices, _to_tensor)
