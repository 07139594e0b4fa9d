"""Partitioned variables: tf.get_variable(..., partitioner=...) as shards `name/part_0`, `name/part_1`, ...

A partitioner maps (shape, dtype) to how many pieces each axis is cut into (one axis only). Each shard is
an ordinary Variable, so tf.train.replica_device_setter spreads the shards round robin over the ps tasks,
embedding_lookup reads each where it lives, and the Saver keeps them under the full name (see saver.py).
"""
import math

import numpy as np

from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops.core import register_tensor_conversion_function
from tfmini.variables import Variable


class _PartitionInfo:
    """What a shard's initializer is told: the full variable's shape and the shard's offset in it."""

    def __init__(self, full_shape, var_offset):
        self.full_shape, self.var_offset = list(full_shape), list(var_offset)

    def single_offset(self, shape):
        axis = self.single_slice_dim(shape)
        return 0 if axis is None else self.var_offset[axis]

    def single_slice_dim(self, shape):
        for i, (full, part) in enumerate(zip(self.full_shape, shape)):
            if full != part:
                return i
        return None


class SaveSliceInfo:
    """Where a shard sits in its full variable (TF's Variable.SaveSliceInfo): the Saver keys on full_name."""

    def __init__(self, full_name, full_shape, var_offset, var_shape):
        self.full_name, self.full_shape = full_name, list(full_shape)
        self.var_offset, self.var_shape = list(var_offset), list(var_shape)

    @property
    def spec(self):
        full = " ".join(str(d) for d in self.full_shape)
        return f"{full} " + ":".join(f"{o},{s}" for o, s in zip(self.var_offset, self.var_shape))


class PartitionedVariable:
    """The shards of one variable, in order; iterate it for the Variables."""

    def __init__(self, name, shape, dtype, variable_list, partitions):
        self._name, self._shape, self._dtype = name, TensorShape(shape), dtypes.as_dtype(dtype)
        self._variable_list, self._partitions = list(variable_list), list(partitions)

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self):
        num_partition_axes = len([p for p in self._partitions if p > 1])
        if num_partition_axes > 1:
            raise ValueError("Cannot get a length for %d > 1 partition axes" % num_partition_axes)
        return len(self._variable_list)

    name = property(lambda self: self._name)
    dtype = property(lambda self: self._dtype)
    shape = property(lambda self: self._shape)
    graph = property(lambda self: self._variable_list[0].graph)

    def get_shape(self):
        return self._shape

    def _get_variable_list(self):
        return self._variable_list

    def _get_partitions(self):
        return self._partitions

    def _partition_axes(self):
        axes = [i for i, p in enumerate(self._partitions) if p > 1]
        return axes or [0]

    def as_tensor(self):
        """The whole variable: the shards concatenated (`<name>/ConcatPartitions/concat`), named `<name>`."""
        from tfmini.ops import array_ops
        graph = get_default_graph()
        if len(self._variable_list) == 1:
            with graph.name_scope(None):
                return array_ops.identity(self._variable_list[0].value(), name=self._name)
        with graph.name_scope(self._name + "/ConcatPartitions/"):
            concatenated = array_ops.concat([v.value() for v in self._variable_list], self._partition_axes()[0])
        with graph.name_scope(None):
            return array_ops.identity(concatenated, name=self._name)

    def __repr__(self):
        return f"<tf.PartitionedVariable '{self._name}' shape={self._shape} dtype={self._dtype.name} " \
               f"shards={len(self._variable_list)}>"


register_tensor_conversion_function(PartitionedVariable, lambda v, dtype=None, name=None: v.as_tensor())


def create_partitioned_variable(name, shape, dtype, initializer, partitioner, trainable, collections,
                                validate_shape, caching_device):
    """The shards of `name`: TF's _get_partitioned_variable (the first `shape[axis] % n` shards get one more)."""
    shape = TensorShape(shape)
    if not shape.is_fully_defined():
        raise ValueError(f"Shape of a new partitioned variable ({name}) must be fully defined, but instead was "
                         f"{shape}.")
    if shape.ndims < 1:
        raise ValueError(f"A partitioned Variable must have rank at least 1, shape: {shape}")
    partitions = list(partitioner(shape=shape, dtype=dtype))
    if len(partitions) != shape.ndims:
        raise ValueError(f"Partitioner returned a partition list that does not match the Variable's rank: "
                         f"{partitions} vs. {shape}")
    if any(p < 1 for p in partitions):
        raise ValueError(f"Partitioner returned zero partitions for some axes: {partitions}")
    axes = [i for i, p in enumerate(partitions) if p > 1]
    if len(axes) > 1:
        raise ValueError(f"Can only slice a variable along one dimension: shape: {shape.as_list()}, "
                         f"partitioning: {partitions}")
    full = shape.as_list()
    axis = axes[0] if axes else 0
    n = partitions[axis]
    base, excess = divmod(full[axis], n)
    shards, offset = [], 0
    for i in range(n):
        var_shape = list(full)
        var_shape[axis] = base + (1 if i < excess else 0)
        var_offset = [0] * len(full)
        var_offset[axis] = offset
        info = _PartitionInfo(full, var_offset)
        if callable(initializer):
            init = (lambda s=var_shape, p=info: initializer(s, dtype=dtype, partition_info=p))
        else:
            index = [slice(None)] * len(full)
            index[axis] = slice(offset, offset + var_shape[axis])
            init = np.asarray(initializer)[tuple(index)]
        v = Variable(init, trainable=trainable, collections=collections, name=f"{name}/part_{i}/", dtype=dtype,
                     validate_shape=validate_shape, caching_device=caching_device)
        v._save_slice_info = SaveSliceInfo(name, full, var_offset, var_shape)
        shards.append(v)
        offset += var_shape[axis]
    return PartitionedVariable(name, full, dtype, shards, partitions)


# -- partitioners (TF's partitioned_variables.py) ---------------------------------------------------------
def _element_size(dtype, bytes_per_string_element):
    dtype = dtypes.as_dtype(dtype).base_dtype
    return bytes_per_string_element if dtype == dtypes.string else np.dtype(dtype.as_numpy_dtype).itemsize


def fixed_size_partitioner(num_shards, axis=0):
    """`num_shards` shards along `axis` (fewer if the axis is shorter)."""
    def _partitioner(shape, **unused_args):
        partitions_list = [1] * len(shape)
        partitions_list[axis] = min(num_shards, shape.as_list()[axis])
        return partitions_list
    return _partitioner


def variable_axis_size_partitioner(max_shard_bytes, axis=0, bytes_per_string_element=16, max_shards=None):
    """As many shards along `axis` as keep each under `max_shard_bytes` (at most `max_shards`)."""
    if max_shard_bytes < 1 or bytes_per_string_element < 1:
        raise ValueError("Both max_shard_bytes and bytes_per_string_element must be positive.")
    if max_shards and max_shards < 1:
        raise ValueError("max_shards must be positive.")

    def _partitioner(shape, dtype):
        if not isinstance(shape, TensorShape):
            raise ValueError(f"shape is not a TensorShape: {shape}")
        if not shape.is_fully_defined():
            raise ValueError(f"shape is not fully defined: {shape}")
        if not isinstance(dtype, dtypes.DType):
            raise ValueError(f"dtype is not a DType: {dtype}")
        element_size = _element_size(dtype, bytes_per_string_element)
        partitions = [1] * shape.ndims
        bytes_per_slice = 1.0 * (shape.num_elements() / shape.as_list()[axis]) * element_size
        slices_per_shard = max(1, math.floor(max_shard_bytes / bytes_per_slice))
        axis_shards = int(math.ceil(1.0 * shape.as_list()[axis] / slices_per_shard))
        if max_shards:
            axis_shards = min(max_shards, axis_shards)
        partitions[axis] = axis_shards
        return partitions
    return _partitioner


def min_max_variable_partitioner(max_partitions=1, axis=0, min_slice_size=256 << 10, bytes_per_string_element=16):
    """Shards of at least `min_slice_size` bytes, at most `max_partitions` of them."""
    def _partitioner(shape, dtype):
        if axis >= len(shape):
            raise ValueError(f"Can not partition variable along axis {axis} when shape is only {shape}")
        bytes_per_element = _element_size(dtype, bytes_per_string_element)
        total_size_bytes = shape.num_elements() * bytes_per_element
        partitions = total_size_bytes / min_slice_size
        partitions_list = [1] * len(shape)
        partitions_list[axis] = max(1, min(shape.as_list()[axis], max_partitions, int(math.ceil(partitions))))
        return partitions_list
    return _partitioner
