"""Queues (TF 1.x input pipelines): FIFO, random-shuffle, padding-FIFO and priority queues as task resources.

A queue op's output is the Queue itself, a value inside its task (as a resource variable's handle): the ops
that take it are placed with it. A queue with a `shared_name` lives in the worker's ResourceMgr, so every
session (and client) of the task sees the same one; without, it belongs to the worker session.

Blocking: a dequeue on a queue without enough elements (an enqueue on a full one) waits on the queue's
condition, but gives up at the step's deadline (DeadlineExceededError) and wakes, with its error, when the
step is aborted or cleaned up, the session closes or the worker stops (Worker.wait_error, polled while waiting).
It holds the thread of its own RunGraph and no other.
"""
import heapq
import itertools
import threading
import time

import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import kernel

_POLL = 0.05  # seconds between checks of the step's deadline and cancellation while blocked


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def shape_of(proto):
    """A shape proto as a tuple with None for unknown dims, or None for an unknown rank."""
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else d.size for d in proto.dim)


def wait_until(step, cond, ready, what=None):
    """Waits on `cond` (held) until `ready()`; raises at the step's deadline or when the step is cancelled.
    `step` is the running step (worker/worker.py Step; None outside one: no deadline). `what` (a string, or a
    function giving one) says what was awaited, in the deadline's message."""
    if not ready() and step is not None:
        step.flush()  # the step's pushed tensors leave before it blocks: a peer may need them to go on
    deadline = step.deadline if step is not None else None
    while not ready():
        error = step.wait_error() if step is not None else None
        if error is not None:
            raise type(error)(None, None, error.message)
        left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
        if left <= 0:
            detail = what() if callable(what) else what
            raise errors.DeadlineExceededError(None, None, "Timed out waiting for notification" +
                                               (f": {detail}" if detail else ""))
        cond.wait(left)


class Queue:
    """Elements are tuples of arrays, one per component."""

    kind = "FIFOQueue"

    def __init__(self, name, dtypes, shapes, capacity):
        self.name, self.dtypes, self.shapes = name, list(dtypes), shapes
        self.capacity = capacity if capacity > 0 else None
        self.cond = threading.Condition()
        self.closed = self.cancelled = False
        self._init_store()

    # -- storage: FIFO here, overridden by the other kinds ---------------------
    def _init_store(self):
        self._items = []

    def __len__(self):
        return len(self._items)

    def _put(self, element):
        self._items.append(element)

    def _take(self, n):
        taken, self._items[:n] = self._items[:n], []
        return taken

    def _available(self, n):
        return len(self) >= n

    # -- the ops ----------------------------------------------------------
    def _check_element(self, components, batched):
        if len(components) != len(self.dtypes):
            raise _invalid(f"Expected {len(self.dtypes)} components, got {len(components)}")
        for i, (value, dtype) in enumerate(zip(components, self.dtypes)):
            if np.dtype(value.dtype) != np.dtype(dtype.as_numpy_dtype):
                raise _invalid(f"Type mismatch in component {i}: expected {dtype.name}")
            shape = self.shapes[i] if self.shapes else None
            got = value.shape[1:] if batched else value.shape
            if shape is not None and (len(shape) != len(got) or any(s is not None and s != g
                                                                     for s, g in zip(shape, got))):
                what = "Shape mismatch in tuple component" if not batched else "Shape mismatch in component"
                raise _invalid(f"{what} {i}. Expected {list(shape)}, got {list(got)}")

    def _closed_error(self):
        return errors.CancelledError(None, None, f"{self.kind} '{self.name}' is closed.")

    def enqueue(self, step, components, many=False):
        components = [np.asarray(c) for c in components]
        self._check_element(components, many)
        if many:
            n = components[0].shape[0] if components[0].ndim else 0
            if any(c.ndim == 0 or c.shape[0] != n for c in components):
                raise _invalid("Dimension 0 of every component of enqueue_many must be the batch size")
            elements = [tuple(c[i] for c in components) for i in range(n)]
        else:
            elements = [tuple(components)]
        with self.cond:
            if self.closed:
                raise self._closed_error()
            for element in elements:  # as TF: a batch goes in element by element as room appears
                wait_until(step, self.cond, lambda: self.cancelled or self.capacity is None or
                           len(self) < self.capacity)
                if self.cancelled:
                    raise errors.CancelledError(None, None, "Enqueue operation was cancelled")
                self._put(tuple(np.array(c, copy=True) for c in element))
                self.cond.notify_all()

    def dequeue(self, step, n, up_to=False):
        """`n` elements (None: one, unbatched) as one array per component."""
        want = 1 if n is None else n
        with self.cond:
            wait_until(step, self.cond, lambda: self.closed or self._available(want),
                       what=lambda: f"{self.kind} '{self.name}' has {len(self)} of the {want} elements a dequeue "
                                    f"needs")
            if not self._available(want):  # closed
                if up_to and len(self) > 0:
                    want = len(self)
                else:
                    raise errors.OutOfRangeError(None, None, f"{self.kind} '{self.name}' is closed and has "
                                                 f"insufficient elements (requested {want}, current size "
                                                 f"{len(self)})")
            taken = self._take(want)
            self.cond.notify_all()
        if n is None:
            return taken[0]
        return self._batch(taken)

    def _batch(self, elements):
        out = []
        for i, dtype in enumerate(self.dtypes):
            if elements:
                out.append(np.stack([e[i] for e in elements]))
            else:
                shape = self.shapes[i] if self.shapes else ()
                out.append(np.zeros((0,) + tuple(d or 0 for d in shape or ()), dtype=dtype.as_numpy_dtype))
        return out

    def close(self, cancel_pending_enqueues):
        with self.cond:
            self.closed = True
            self.cancelled = self.cancelled or cancel_pending_enqueues
            self.cond.notify_all()


class RandomShuffleQueue(Queue):
    """Dequeues a uniformly random element, and (until closed) only while more than min_after_dequeue remain."""

    kind = "RandomShuffleQueue"

    def __init__(self, name, dtypes, shapes, capacity, min_after_dequeue, rng):
        self.min_after_dequeue, self.rng = min_after_dequeue, rng
        super().__init__(name, dtypes, shapes, capacity)

    def _available(self, n):
        return len(self) >= n + (0 if self.closed else self.min_after_dequeue)

    def _take(self, n):
        taken = []
        for _ in range(n):
            i = int(self.rng.integers(len(self._items)))
            self._items[i], self._items[-1] = self._items[-1], self._items[i]
            taken.append(self._items.pop())
        return taken


class PaddingFIFOQueue(Queue):
    """A FIFO queue whose batches pad each component with zeros to the largest element's shape."""

    kind = "PaddingFIFOQueue"

    def _batch(self, elements):
        out = []
        for i, dtype in enumerate(self.dtypes):
            values = [e[i] for e in elements]
            rank = len(self.shapes[i]) if self.shapes and self.shapes[i] is not None else values[0].ndim
            dims = [max([v.shape[d] for v in values] + [0]) for d in range(rank)]
            fill = b"" if dtype.as_numpy_dtype is np.object_ else 0
            batch = np.full([len(values)] + dims, fill, dtype=dtype.as_numpy_dtype)
            for j, v in enumerate(values):  # one slice assignment per element (not per entry)
                batch[(j,) + tuple(slice(0, s) for s in v.shape)] = v if v.ndim else v.item()
            out.append(batch)
        return out


class PriorityQueue(Queue):
    """Component 0 is an int64 scalar priority; the smallest comes out first (ties in insertion order)."""

    kind = "PriorityQueue"

    def _init_store(self):
        self._heap, self._counter = [], itertools.count()

    def __len__(self):
        return len(self._heap)

    def _put(self, element):
        heapq.heappush(self._heap, (int(element[0]), next(self._counter), element))

    def _take(self, n):
        return [heapq.heappop(self._heap)[2] for _ in range(n)]


def _make_queue(node):
    attrs = node.attrs
    shapes = [shape_of(s) for s in attrs.get("shapes", [])]
    dtypes = list(attrs["component_types"])
    capacity = attrs.get("capacity", -1)
    shared = attrs.get("shared_name", b"").decode()
    name = shared or node.name
    if node.op == "RandomShuffleQueueV2":
        seed, seed2 = attrs.get("seed", 0), attrs.get("seed2", 0)
        rng = np.random.default_rng([seed, seed2] if seed or seed2 else None)
        make = lambda: RandomShuffleQueue(name, dtypes, shapes, capacity, attrs.get("min_after_dequeue", 0), rng)  # noqa: E731
    elif node.op == "PriorityQueueV2":
        from tfmini.core import dtypes as dt
        shapes = [()] + shapes if shapes else []
        make = lambda: PriorityQueue(name, [dt.int64] + dtypes, shapes, capacity)  # noqa: E731
    else:
        cls = PaddingFIFOQueue if node.op == "PaddingFIFOQueueV2" else Queue
        make = lambda: cls(name, dtypes, shapes, capacity)  # noqa: E731
    if shared:
        queue = node.env.resources.resource(attrs.get("container", b"").decode(), f"queue:{shared}", make)
    else:  # one per session, shared by every plan of it
        state = node.env.kernel_state
        queue = state.get(("queue", node.name))
        if queue is None:
            queue = state.setdefault(("queue", node.name), make())
    return lambda: queue


kernel("FIFOQueueV2", "PaddingFIFOQueueV2", "PriorityQueueV2", "RandomShuffleQueueV2")(_make_queue)


def _check_types(node, queue):
    types = node.attrs.get("component_types")
    if types is not None and [t.name for t in types] != [t.name for t in queue.dtypes]:
        raise _invalid(f"Queue '{queue.name}' has component types {[t.name for t in queue.dtypes]} but "
                       f"requested component types were {[t.name for t in types]}")


def _outputs(node, values):
    return values[0] if len(values) == 1 else tuple(values)


def _num_components(attrs):
    return len(attrs["component_types"])


@kernel("QueueEnqueueV2", num_outputs=0, takes_step=True)
def _enqueue(node):
    return lambda step, queue, *components: queue.enqueue(step, components)


@kernel("QueueEnqueueManyV2", num_outputs=0, takes_step=True)
def _enqueue_many(node):
    return lambda step, queue, *components: queue.enqueue(step, components, many=True)


@kernel("QueueDequeueV2", num_outputs=_num_components, takes_step=True)
def _dequeue(node):
    def fn(step, queue):
        _check_types(node, queue)
        return _outputs(node, queue.dequeue(step, None))
    return fn


def _dequeue_n(up_to):
    def factory(node):
        def fn(step, queue, n):
            _check_types(node, queue)
            n = int(n)
            if n < 0:
                raise _invalid(f"DequeueManyOp requested {n} < 0 elements")
            return _outputs(node, queue.dequeue(step, n, up_to=up_to))
        return fn
    return factory


kernel("QueueDequeueManyV2", num_outputs=_num_components, takes_step=True)(_dequeue_n(False))
kernel("QueueDequeueUpToV2", num_outputs=_num_components, takes_step=True)(_dequeue_n(True))


@kernel("QueueCloseV2", num_outputs=0)
def _close(node):
    cancel = node.attrs.get("cancel_pending_enqueues", False)
    return lambda queue: queue.close(cancel)


@kernel("QueueSizeV2")
def _size(node):
    return lambda queue: np.array(len(queue), dtype=np.int32)


@kernel("QueueIsClosedV2")
def _is_closed(node):
    return lambda queue: np.array(queue.closed)
