"""Queues, as TF 1.x's data_flow_ops: tf.FIFOQueue, RandomShuffleQueue, PaddingFIFOQueue, PriorityQueue.

The queue op (FIFOQueueV2, ...) outputs a resource handle; the op types, attrs and op names
(`<queue>_enqueue`, `<queue>_Dequeue`, `<queue>_DequeueMany`, ...) are TF's, so graphs interchange.
"""
import hashlib

from tfmini.core import dtypes as _dtypes
from tfmini.core import op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph, get_seed, name_scope
from tfmini.ops.core import convert_to_tensor

_QUEUE_OPS = ("FIFOQueueV2", "PaddingFIFOQueueV2", "PriorityQueueV2", "RandomShuffleQueueV2")


def _as_shape_list(shapes, n, unknown_dim_allowed=False):
    """TF's rules: a flat list of ints (or []) is one shape; every shape needs a known rank, and all its
    dims unless `unknown_dim_allowed` (PaddingFIFOQueue)."""
    if shapes is None:
        return None
    if isinstance(shapes, TensorShape):
        shapes = [shapes]
    if not isinstance(shapes, (list, tuple)):
        raise TypeError("shapes must be a TensorShape or a list or tuple of TensorShapes.")
    if all(shape is None or isinstance(shape, int) for shape in shapes):
        shapes = [shapes]
    shapes = [TensorShape(s) for s in shapes]
    if not unknown_dim_allowed and any(not s.is_fully_defined() for s in shapes):
        raise ValueError("All shapes must be fully defined: %s" % shapes)
    if any(s.ndims is None for s in shapes):
        raise ValueError("All shapes must have a defined rank: %s" % shapes)
    if len(shapes) != n:
        raise ValueError("Queue shapes must have the same length as dtypes")
    return shapes


class QueueBase:
    """tf.QueueBase: the operations every queue kind shares."""

    def __init__(self, dtypes, shapes, names, queue_ref):
        self._dtypes, self._shapes, self._names = dtypes, shapes, names
        self._queue_ref = queue_ref
        self._name = queue_ref.op.name.split("/")[-1]

    queue_ref = property(lambda self: self._queue_ref)
    name = property(lambda self: self._queue_ref.op.name)
    dtypes = property(lambda self: self._dtypes)
    shapes = property(lambda self: self._shapes or [TensorShape(None)] * len(self._dtypes))
    names = property(lambda self: self._names)

    @staticmethod
    def from_list(index, queues):
        raise NotImplementedError("tf.QueueBase.from_list needs control flow (QueueSelect), which tfmini lacks")

    def _check_enqueue_dtypes(self, vals):
        if isinstance(vals, dict):
            if not self._names:
                raise ValueError("Queue must have names to enqueue a dictionary")
            if sorted(self._names) != sorted(vals):
                raise ValueError(f"Keys in dictionary to enqueue do not match names of Queue.  Dictionary: "
                                 f"{sorted(vals)}, Queue: {sorted(self._names)}")
            vals = [vals[k] for k in self._names]
        elif not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"Expected {len(self._dtypes)} components, got {len(vals)}")
        return [convert_to_tensor(v, dtype=dt, name=f"component_{i}")
                for i, (v, dt) in enumerate(zip(vals, self._dtypes))]

    def enqueue(self, vals, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_enqueue") as scope:
            tensors = self._check_enqueue_dtypes(vals)
            for t, shape in zip(tensors, self.shapes):
                if not shape.is_compatible_with(t.shape):
                    raise ValueError(f"Shapes {shape} and {t.shape} are incompatible")
            return graph.create_op("QueueEnqueueV2", [self._queue_ref] + tensors,
                                   {"Tcomponents": [t.dtype.base_dtype for t in tensors], "timeout_ms": -1},
                                   name=scope)

    def enqueue_many(self, vals, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_EnqueueMany") as scope:
            tensors = self._check_enqueue_dtypes(vals)
            for t, shape in zip(tensors, self.shapes):
                if t.shape.ndims == 0:
                    raise ValueError(f"Shape {t.shape} must have rank at least 1")
                if t.shape.ndims is not None and not shape.is_compatible_with(TensorShape(t.shape.as_list()[1:])
                                                                             if t.shape.ndims else t.shape):
                    raise ValueError(f"Shapes {shape} and {TensorShape(t.shape.as_list()[1:])} are incompatible")
            return graph.create_op("QueueEnqueueManyV2", [self._queue_ref] + tensors,
                                   {"Tcomponents": [t.dtype.base_dtype for t in tensors], "timeout_ms": -1},
                                   name=scope)

    def _outputs(self, op, batch):
        outs = list(op.outputs)
        for t, shape in zip(outs, self.shapes):
            t.set_shape(shape if batch is False else TensorShape([batch]).concatenate(shape))
        if self._names:
            return dict(zip(self._names, outs))
        return outs[0] if len(outs) == 1 else outs

    def _dequeue_attrs(self):
        return {"component_types": list(self._dtypes), "timeout_ms": -1}

    def dequeue(self, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_Dequeue") as scope:
            op = graph.create_op("QueueDequeueV2", [self._queue_ref], self._dequeue_attrs(), name=scope)
        return self._outputs(op, False)

    def _dequeue_n(self, op_type, default, n, name):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_{default}") as scope:
            n_t = convert_to_tensor(n, dtype=_dtypes.int32, name="n")
            op = graph.create_op(op_type, [self._queue_ref, n_t], self._dequeue_attrs(), name=scope)
        from tfmini.ops.core import constant_value
        known = constant_value(n_t) if op_type == "QueueDequeueManyV2" else None
        return self._outputs(op, None if known is None else int(known))

    def dequeue_many(self, n, name=None):
        return self._dequeue_n("QueueDequeueManyV2", "DequeueMany", n, name)

    def dequeue_up_to(self, n, name=None):
        return self._dequeue_n("QueueDequeueUpToV2", "DequeueUpTo", n, name)

    def close(self, cancel_pending_enqueues=False, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_Close") as scope:
            return graph.create_op("QueueCloseV2", [self._queue_ref],
                                   {"cancel_pending_enqueues": bool(cancel_pending_enqueues)}, name=scope)

    def is_closed(self, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_IsClosed") as scope:
            return graph.create_op("QueueIsClosedV2", [self._queue_ref], {}, name=scope).outputs[0]

    def size(self, name=None):
        graph = self._queue_ref.graph
        with graph.as_default(), name_scope(name, f"{self._name}_Size") as scope:
            return graph.create_op("QueueSizeV2", [self._queue_ref], {}, name=scope).outputs[0]


def _queue_op(op_type, name, dtypes, shapes, capacity, shared_name, extra=None):
    attrs = {"component_types": dtypes, "shapes": shapes or [], "capacity": int(capacity),
             "container": "", "shared_name": shared_name or ""}
    attrs.update(extra or {})
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        return graph.create_op(op_type, [], attrs, name=scope).outputs[0]


def _dtype_list(dtypes):
    dtypes = dtypes if isinstance(dtypes, (list, tuple)) else [dtypes]
    return [_dtypes.as_dtype(d) for d in dtypes]


def _names(names, n):
    if names is None:
        return None
    names = list(names) if isinstance(names, (list, tuple)) else [names]
    if len(names) != n:
        raise ValueError(f"Queue names must have the same length as dtypes, got {len(names)} and {n}")
    return names


class FIFOQueue(QueueBase):
    def __init__(self, capacity, dtypes, shapes=None, names=None, shared_name=None, name="fifo_queue"):
        dtypes = _dtype_list(dtypes)
        shapes = _as_shape_list(shapes, len(dtypes))
        ref = _queue_op("FIFOQueueV2", name, dtypes, shapes, capacity, shared_name)
        super().__init__(dtypes, shapes, _names(names, len(dtypes)), ref)


class PaddingFIFOQueue(QueueBase):
    """dequeue_many pads each component to the largest shape in the batch; shapes may have None dims."""

    def __init__(self, capacity, dtypes, shapes, names=None, shared_name=None, name="padding_fifo_queue"):
        dtypes = _dtype_list(dtypes)
        shapes = _as_shape_list(shapes, len(dtypes), unknown_dim_allowed=True)
        if shapes is None:
            raise ValueError("Shapes must be provided for PaddingFIFOQueue")
        ref = _queue_op("PaddingFIFOQueueV2", name, dtypes, shapes, capacity, shared_name)
        super().__init__(dtypes, shapes, _names(names, len(dtypes)), ref)


class RandomShuffleQueue(QueueBase):
    def __init__(self, capacity, min_after_dequeue, dtypes, shapes=None, names=None, seed=None, shared_name=None,
                 name="random_shuffle_queue"):
        dtypes = _dtype_list(dtypes)
        shapes = _as_shape_list(shapes, len(dtypes))
        seed1, seed2 = get_seed(seed)
        if seed1 is None and seed2 is None:
            seed1, seed2 = 0, 0
        elif seed is None and shared_name is not None:  # as TF: a shared queue's seed2 depends on its name only
            seed2 = int(hashlib.md5((str(seed1) + shared_name).encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF
        extra = {"min_after_dequeue": int(min_after_dequeue), "seed": seed1 or 0, "seed2": seed2 or 0}
        ref = _queue_op("RandomShuffleQueueV2", name, dtypes, shapes, capacity, shared_name, extra)
        super().__init__(dtypes, shapes, _names(names, len(dtypes)), ref)


class PriorityQueue(QueueBase):
    """Elements come out smallest priority first; the first component of each is its int64 scalar priority."""

    def __init__(self, capacity, types, shapes=None, names=None, shared_name=None, name="priority_queue"):
        types = _dtype_list(types)
        shapes = _as_shape_list(shapes, len(types))
        ref = _queue_op("PriorityQueueV2", name, types, shapes, capacity, shared_name)
        super().__init__([_dtypes.int64] + types, [TensorShape([])] + shapes if shapes else None,
                         _names(names, len(types) + 1), ref)  # as TF: names cover the priority too


# -- shape functions ----------------------------------------------------------------------------------------
op_registry.register(_QUEUE_OPS, lambda op: [(_dtypes.resource, TensorShape([]))])
op_registry.register(["QueueEnqueueV2", "QueueEnqueueManyV2", "QueueCloseV2"], lambda op: [])
op_registry.register("QueueSizeV2", lambda op: [(_dtypes.int32, TensorShape([]))])
op_registry.register("QueueIsClosedV2", lambda op: [(_dtypes.bool, TensorShape([]))])


def _queue_shapes(op, n):
    """The element shapes of the queue feeding `op` (from its queue op's attrs), else unknown."""
    handle = op.inputs[0].op
    if handle.type in _QUEUE_OPS:
        try:
            shapes = [TensorShape(s) for s in handle.get_attr("shapes")]
        except (KeyError, ValueError):
            shapes = []
        if handle.type == "PriorityQueueV2" and shapes:
            shapes = [TensorShape([])] + shapes
        if len(shapes) == n:
            return shapes
    return [TensorShape(None)] * n


def _dequeue_shape(batched):
    def infer(op):
        types = op.get_attr("component_types")
        shapes = _queue_shapes(op, len(types))
        if batched:
            from tfmini.ops.core import constant_value
            n = constant_value(op.inputs[1]) if op.type == "QueueDequeueManyV2" else None
            lead = TensorShape([None if n is None else int(n)])
            shapes = [lead.concatenate(s) if s.ndims is not None else TensorShape(None) for s in shapes]
        return list(zip(types, shapes))
    return infer


op_registry.register("QueueDequeueV2", _dequeue_shape(False))
op_registry.register(["QueueDequeueManyV2", "QueueDequeueUpToV2"], _dequeue_shape(True))

