"""TensorArray kernels (TensorArrayV3 and the ops on its handle), as TF's tensor_array_ops.cc.

TensorArrayV3 makes a new array each time it runs, so an array lives for one step (TF keeps it in the step's
resource container): its handle output is the `TensorArray` object itself, a value inside its task (the ops that
take it are placed with it), and the flow output is a float scalar that only orders the ops. A gradient array
(TensorArrayGradV3) is kept by its forward array under its `source`, and sums the writes to one index, so the
gradients of several reads of an element add up.

Errors are TF's, message for message: reading an unwritten element (zeros where the element shape is fully
known), writing an element twice, an index out of range, reading a cleared element, a dtype or shape mismatch.
"""
import itertools
import threading

import numpy as np

from tfmini.core import dtypes, errors
from tfmini.core.op_types import tf_name
from tfmini.worker.kernels import kernel
from tfmini.worker.kernels.queues import shape_of

_FLOW = np.float32(0.0)
_COUNTER = itertools.count()  # TF names each array "<node or tensor_array_name>_<n>" in its messages


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _shape_str(shape):
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _compatible(known, shape):
    return known is None or (len(known) == len(shape) and all(k is None or k == s for k, s in zip(known, shape)))


def _fully_defined(shape):
    return shape is not None and all(d is not None for d in shape)


class TensorArray:
    """One step's array of tensors; `values[i]` is None until index i is written (and again once cleared)."""

    def __init__(self, name, dtype, size, dynamic_size, clear_after_read, identical_shapes, element_shape,
                 aggregate_writes=False):
        self.name, self.dtype = name, dtype
        self.dynamic_size, self.clear_after_read = dynamic_size, clear_after_read
        self.identical_shapes, self.element_shape = identical_shapes, element_shape
        self.aggregate_writes = aggregate_writes
        self.values, self.cleared = [None] * size, [False] * size
        self.closed = False
        self.grads = {}  # source -> gradient TensorArray
        self.lock = threading.Lock()  # iterations of a while loop may touch one array from several threads

    def _error(self, msg):
        return _invalid(f"TensorArray {self.name}: {msg}")

    def _check_open(self):
        if self.closed:
            raise self._error("has already been closed.")

    def size(self):
        return len(self.values)

    def _grow(self, size):
        if size > len(self.values):
            extra = size - len(self.values)
            self.values.extend([None] * extra)
            self.cleared.extend([False] * extra)

    # -- writes -----------------------------------------------------------
    def write(self, index, value):
        with self.lock:
            self._check_open()
            self._write(index, value)

    def _write(self, index, value):
        value = np.asarray(value)
        if np.dtype(value.dtype) != np.dtype(self.dtype.as_numpy_dtype):
            raise _invalid(f"TensorArray dtype is {tf_name(self.dtype)} but Op is trying to write dtype "
                           f"{_tf_name_of(value.dtype)}.")
        if index < 0 or (index >= len(self.values) and not self.dynamic_size):
            raise self._error(f"Tried to write to index {index} but array is not resizeable and size is: "
                              f"{len(self.values)}")
        self._grow(index + 1)
        if not _compatible(self.element_shape, value.shape):
            raise self._error(f"Could not write to TensorArray index {index} because the value shape is "
                              f"{_shape_str(value.shape)} which is incompatible with the TensorArray's inferred "
                              f"element shape: {_shape_str(self.element_shape)} (consider setting "
                              f"infer_shape=False).")
        if self.identical_shapes and not _fully_defined(self.element_shape):
            self.element_shape = value.shape
        existing = self.values[index]
        if self.cleared[index]:
            raise self._error(f"Could not write to TensorArray index {index} because it has already been read.")
        if existing is not None:
            if not self.aggregate_writes:
                raise self._error(f"Could not write to TensorArray index {index} because it has already been "
                                  f"written to.")
            if existing.shape != value.shape:
                raise self._error(f"Could not aggregate to TensorArray index {index} because the existing shape is "
                                  f"{_shape_str(existing.shape)} but the new input shape is "
                                  f"{_shape_str(value.shape)}.")
            value = existing + value
        self.values[index] = value

    def scatter(self, indices, value):
        indices, value = np.asarray(indices).reshape(-1), np.asarray(value)
        with self.lock:
            self._check_open()
            if value.ndim == 0 or value.shape[0] != len(indices):
                raise _invalid(f"Expected len(indices) == values.shape[0], but saw: {len(indices)} vs. "
                               f"{value.shape[0] if value.ndim else 0}")
            if len(indices):
                top = int(indices.max())
                if not self.dynamic_size and top >= len(self.values):
                    raise _invalid(f"Max scatter index must be < array size ({top} vs. {len(self.values)})")
            for i, index in enumerate(indices):
                self._write(int(index), value[i])

    def split(self, value, lengths):
        value, lengths = np.asarray(value), [int(n) for n in np.asarray(lengths).reshape(-1)]
        with self.lock:
            self._check_open()
            if value.ndim == 0:
                raise _invalid(f"Expected value to be at least a vector, but received shape: {_shape_str(())}")
            if len(lengths) != len(self.values) and not self.dynamic_size:
                raise _invalid(f"TensorArray's size is not equal to the size of lengths ({len(self.values)} vs. "
                               f"{len(lengths)}), and the TensorArray is not marked as dynamically resizeable")
            if sum(lengths) != value.shape[0]:
                raise _invalid(f"Expected sum of lengths to be equal to values.shape[0], but sum of lengths is "
                               f"{sum(lengths)} and value's shape is: {_shape_str(value.shape)}")
            start = 0
            for i, n in enumerate(lengths):
                self._write(i, value[start:start + n])
                start += n

    # -- reads ------------------------------------------------------------
    def read(self, index):
        with self.lock:
            self._check_open()
            return self._read(index)

    def _read(self, index):
        if index < 0 or index >= len(self.values):
            raise _invalid(f"Tried to read from index {index} but array size is: {len(self.values)}")
        if self.cleared[index]:
            raise self._error(f"Could not read index {index} twice because it was cleared after a previous read "
                              f"(perhaps try setting clear_after_read = false?).")
        value = self.values[index]
        if value is None:
            if not _fully_defined(self.element_shape):
                raise self._error(f"Could not read from TensorArray index {index}.  Furthermore, the element "
                                  f"shape is not fully defined: {_shape_str(self.element_shape)}.  It is possible "
                                  f"you are working with a resizeable TensorArray and stop_gradients is not "
                                  f"allowing the gradients to be written.  If you set the full element_shape "
                                  f"property on the forward TensorArray, the proper all-zeros tensor will be "
                                  f"returned instead of incurring this error.")
            return np.zeros(self.element_shape, dtype=self.dtype.as_numpy_dtype)  # as TF: an unwritten gradient
        if self.clear_after_read:
            self.values[index], self.cleared[index] = None, True
        return value

    def gather(self, indices, element_shape):
        indices = [int(i) for i in np.asarray(indices).reshape(-1)]
        with self.lock:
            self._check_open()
            if not indices:
                shape = element_shape if _fully_defined(element_shape) else self.element_shape
                if not _fully_defined(shape):
                    raise errors.UnimplementedError(
                        None, None, f"TensorArray has size zero, but element shape {_shape_str(shape)} is not fully "
                                    f"defined. Currently only static shapes are supported when packing zero-size "
                                    f"TensorArrays.")
                return np.zeros((0,) + tuple(shape), dtype=self.dtype.as_numpy_dtype)
            values = [self._read(i) for i in indices]
        first = values[0].shape
        for i, v in zip(indices, values):
            if v.shape != first:
                raise _invalid(f"TensorArray has inconsistent shapes.  Index {indices[0]} has shape: "
                               f"{_shape_str(first)} but index {i} has shape: {_shape_str(v.shape)}")
        return np.stack(values)

    def concat(self, element_shape_except0):
        with self.lock:
            self._check_open()
            values = [self._read(i) for i in range(len(self.values))]
        for i, v in enumerate(values):
            if v.ndim == 0:
                raise _invalid(f"Concat saw a scalar shape at index {i} but requires at least vectors.  Did you mean "
                               f"to call stack instead?")
            if v.shape[1:] != values[0].shape[1:]:
                raise _invalid(f"TensorArray has inconsistent shapes.  Index 0 has (excepting dimension 0) shape: "
                               f"{_shape_str(values[0].shape[1:])} but index {i} has (excepting dimension 0) shape: "
                               f"{_shape_str(v.shape[1:])}")
        lengths = np.array([v.shape[0] for v in values], dtype=np.int64)
        if not values:
            if not _fully_defined(element_shape_except0):
                raise errors.UnimplementedError(
                    None, None, f"TensorArray has size zero, but element_shape_except0 "
                                f"{_shape_str(element_shape_except0)} is not fully defined. Currently only static "
                                f"shapes are supported when concatenating zero-size TensorArrays.")
            return np.zeros((0,) + tuple(element_shape_except0), dtype=self.dtype.as_numpy_dtype), lengths
        return np.concatenate(values), lengths

    # -- the rest ---------------------------------------------------------
    def grad(self, source):
        with self.lock:
            self._check_open()
            g = self.grads.get(source)
            if g is None:
                g = self.grads[source] = TensorArray(
                    f"{self.name}@{source}", self.dtype, len(self.values), False, True, self.identical_shapes,
                    self.element_shape, aggregate_writes=True)
            return g

    def close(self):
        with self.lock:
            self.closed = True
            self.values = [None] * len(self.values)


def _tf_name_of(np_dtype):
    try:
        return tf_name(dtypes.as_dtype(np_dtype))
    except TypeError:
        return str(np_dtype)


@kernel("TensorArrayV3", num_outputs=2)
def _tensor_array(node):
    attrs = node.attrs
    dtype, dynamic = attrs["dtype"], attrs.get("dynamic_size", False)
    clear, identical = attrs.get("clear_after_read", True), attrs.get("identical_element_shapes", False)
    element_shape = shape_of(attrs["element_shape"]) if "element_shape" in attrs else None
    base = attrs.get("tensor_array_name", b"").decode() or node.name

    def fn(size):
        size = int(size)
        if size < 0:
            raise _invalid(f"Size should be >= 0, but got {size}")
        return TensorArray(f"{base}_{next(_COUNTER)}", dtype, size, dynamic, clear, identical, element_shape), _FLOW
    return fn


@kernel("TensorArrayWriteV3")
def _write(node):
    def fn(ta, index, value, flow):
        ta.write(int(index), value)
        return _FLOW
    return fn


@kernel("TensorArrayReadV3")
def _read(node):
    return lambda ta, index, flow: ta.read(int(index))


@kernel("TensorArrayGatherV3")
def _gather(node):
    element_shape = shape_of(node.attrs["element_shape"]) if "element_shape" in node.attrs else None
    return lambda ta, indices, flow: ta.gather(indices, element_shape)


@kernel("TensorArrayScatterV3")
def _scatter(node):
    def fn(ta, indices, value, flow):
        ta.scatter(indices, value)
        return _FLOW
    return fn


@kernel("TensorArrayConcatV3", num_outputs=2)
def _concat(node):
    attrs = node.attrs
    except0 = shape_of(attrs["element_shape_except0"]) if "element_shape_except0" in attrs else None
    return lambda ta, flow: ta.concat(except0)


@kernel("TensorArraySplitV3")
def _split(node):
    def fn(ta, value, lengths, flow):
        ta.split(value, lengths)
        return _FLOW
    return fn


@kernel("TensorArraySizeV3")
def _size(node):
    return lambda ta, flow: np.array(ta.size(), dtype=np.int32)


@kernel("TensorArrayCloseV3", num_outputs=0)
def _close(node):
    return lambda ta: ta.close()


@kernel("TensorArrayGradV3", num_outputs=2)
def _grad(node):
    source = node.attrs["source"].decode()
    return lambda ta, flow: (ta.grad(source), _FLOW)
