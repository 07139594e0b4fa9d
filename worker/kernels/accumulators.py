"""Conditional accumulators (TF's ConditionalAccumulator and SparseConditionalAccumulator) as task resources.

Applying a gradient adds it unless its local_step is older than the accumulator's global step (a stale
gradient, dropped); taking waits until `num_required` gradients are in, returns their mean (or sum), resets
and advances the global step by one. The wait is a queue's wait (queues.wait_until): it gives up at the
step's deadline and wakes when the step is cancelled, so a replica that never sends cannot hang the chief.
"""
import logging
import threading

import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import kernel
from tfmini.worker.kernels.queues import shape_of, wait_until

log = logging.getLogger("tfmini.worker")


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value or "")


class _Accumulator:
    kind = "ConditionalAccumulator"

    def __init__(self, name, dtype, shape, reduction_type):
        self.name, self.dtype, self.shape = name, np.dtype(dtype.as_numpy_dtype), shape
        self.mean = reduction_type == "MEAN"
        self.cond = threading.Condition()
        self.global_step, self.count = 0, 0
        self._reset()

    def _reset(self):
        self.count, self.total = 0, None

    def _check_shape(self, shape):
        if self.shape is not None and (len(self.shape) != len(shape) or
                                       any(s is not None and s != g for s, g in zip(self.shape, shape))):
            raise _invalid(f"Shape mismatch: expected {list(self.shape)}, got {list(shape)}")

    def _is_stale(self, local_step):
        if local_step < self.global_step:
            log.debug("%s '%s': dropped a stale gradient (local step %d < global step %d)", self.kind, self.name,
                      local_step, self.global_step)
            return True
        return False

    def apply(self, local_step, grad):
        grad = np.asarray(grad)
        if grad.dtype != self.dtype:
            raise _invalid(f"Type mismatch: the gradient is {grad.dtype.name}, the accumulator {self.dtype.name}")
        self._check_shape(grad.shape)
        with self.cond:
            if self._is_stale(int(local_step)):
                return
            if self.total is not None and self.total.shape != grad.shape:
                raise _invalid(f"Shape mismatch: expected {list(self.total.shape)}, got {list(grad.shape)}")
            self.total = grad.astype(self.dtype, copy=True) if self.total is None else self.total + grad
            self.count += 1
            self.cond.notify_all()

    def _wait_for(self, step, num_required):
        num_required = int(num_required)
        if num_required < 1:
            raise _invalid(f"Argument num_required must be positive, but was {num_required}")
        wait_until(step, self.cond, lambda: self.count >= num_required,
                   what=lambda: f"{self.kind} '{self.name}' has {self.count} of the {num_required} gradients it needs")

    def take(self, step, num_required):
        with self.cond:
            self._wait_for(step, num_required)
            result = self.total / self.count if self.mean else self.total
            self._reset()
            self.global_step += 1
        return np.asarray(result, dtype=self.dtype)

    def set_global_step(self, new_global_step):
        with self.cond:
            new_global_step = int(new_global_step)
            if new_global_step < self.global_step:
                log.warning("%s '%s': new global step %d is lower than the current one %d", self.kind, self.name,
                            new_global_step, self.global_step)
            self.global_step = new_global_step


class _SparseAccumulator(_Accumulator):
    """Sums rows by index; the mean of a row divides by the number of gradients that had that index. Duplicate
    indices within one gradient are summed into one row (TF hands the first gradient back as it came; applied,
    both are the same update)."""

    kind = "SparseConditionalAccumulator"

    def _reset(self):
        self.count, self.rows, self.row_counts = 0, {}, {}

    def apply_sparse(self, local_step, indices, values, shape, has_known_shape):
        indices, values = np.asarray(indices, dtype=np.int64).ravel(), np.asarray(values)
        if values.dtype != self.dtype:
            raise _invalid(f"Type mismatch: the gradient is {values.dtype.name}, the accumulator {self.dtype.name}")
        if values.ndim == 0 or values.shape[0] != indices.shape[0]:
            raise _invalid(f"Shape mismatch: {indices.shape[0]} indices but values of shape {list(values.shape)}")
        shape = [int(d) for d in np.asarray(shape).ravel()] if has_known_shape else None
        if shape is not None:
            self._check_shape(shape)
            if list(values.shape[1:]) != shape[1:]:
                raise _invalid(f"Shape mismatch: values of shape {list(values.shape)} for a gradient of shape "
                               f"{shape}")
            if indices.size and (indices.min() < 0 or indices.max() >= shape[0]):
                raise _invalid(f"Gradient index out of range [0, {shape[0]})")
        with self.cond:
            if self._is_stale(int(local_step)):
                return
            unique, where = np.unique(indices, return_inverse=True)
            summed = np.zeros((len(unique), *values.shape[1:]), dtype=self.dtype)
            np.add.at(summed, where, values)
            for i, row in zip(unique.tolist(), summed):
                if i in self.rows:
                    self.rows[i] = self.rows[i] + row
                    self.row_counts[i] += 1
                else:
                    self.rows[i], self.row_counts[i] = row, 1
            self.count += 1
            self.cond.notify_all()

    def take_sparse(self, step, num_required):
        with self.cond:
            self._wait_for(step, num_required)
            order = sorted(self.rows)
            if order:
                row_shape = self.rows[order[0]].shape
                values = np.stack([self.rows[i] / self.row_counts[i] if self.mean else self.rows[i] for i in order])
            else:  # every gradient was empty
                row_shape = tuple(d or 0 for d in (self.shape or (0,))[1:])
                values = np.zeros((0, *row_shape), dtype=self.dtype)
            # As TF: the accumulator's shape where it is known, else -1 for the first dim and the rows' shape.
            known = self.shape is not None and all(d is not None for d in self.shape)
            shape = list(self.shape) if known else [-1, *row_shape]
            self._reset()
            self.global_step += 1
        return (np.asarray(order, dtype=np.int64), np.asarray(values, dtype=self.dtype),
                np.asarray(shape, dtype=np.int64))


def _make_accumulator(node):
    attrs = node.attrs
    cls = _SparseAccumulator if node.op == "SparseConditionalAccumulator" else _Accumulator
    shape = shape_of(attrs["shape"]) if attrs.get("shape") is not None else None
    if cls is _SparseAccumulator and shape == ():  # as TF: SyncReplicasOptimizer's shape=() means "any"
        shape = None
    shared = _text(attrs.get("shared_name", b""))
    reduction = _text(attrs.get("reduction_type", b"MEAN"))
    make = lambda: cls(shared or node.name, attrs["dtype"], shape, reduction)  # noqa: E731
    if shared:
        accumulator = node.env.resources.resource(_text(attrs.get("container", b"")), f"accumulator:{shared}", make)
    else:  # one per session, as an unshared queue
        state = node.env.kernel_state
        accumulator = state.get(("accumulator", node.name))
        if accumulator is None:
            accumulator = state.setdefault(("accumulator", node.name), make())
    return lambda: accumulator


kernel("ConditionalAccumulator", "ResourceConditionalAccumulator", "SparseConditionalAccumulator")(_make_accumulator)


def _expect(accumulator, cls, node):
    if getattr(accumulator, "kind", None) != cls.kind:
        raise _invalid(f"{node.op} needs a {cls.kind}, got {type(accumulator).__name__}")
    return accumulator


@kernel("AccumulatorApplyGradient", "ResourceAccumulatorApplyGradient", num_outputs=0)
def _apply(node):
    return lambda acc, local_step, grad: _expect(acc, _Accumulator, node).apply(local_step, grad)


@kernel("AccumulatorTakeGradient", "ResourceAccumulatorTakeGradient", takes_step=True)
def _take(node):
    return lambda step, acc, num_required: _expect(acc, _Accumulator, node).take(step, num_required)


@kernel("AccumulatorNumAccumulated", "ResourceAccumulatorNumAccumulated")
def _num_accumulated(node):
    return lambda acc: np.array(acc.count, dtype=np.int32)


@kernel("AccumulatorSetGlobalStep", "ResourceAccumulatorSetGlobalStep", num_outputs=0)
def _set_global_step(node):
    return lambda acc, step: acc.set_global_step(step)


@kernel("SparseAccumulatorApplyGradient", num_outputs=0)
def _sparse_apply(node):
    known = bool(node.attrs.get("has_known_shape", False))
    return lambda acc, local_step, indices, values, shape: _expect(acc, _SparseAccumulator, node).apply_sparse(
        local_step, indices, values, shape, known)


@kernel("SparseAccumulatorTakeGradient", num_outputs=3, takes_step=True)
def _sparse_take(node):
    return lambda step, acc, num_required: _expect(acc, _SparseAccumulator, node).take_sparse(step, num_required)
