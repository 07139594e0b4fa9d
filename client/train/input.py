"""TF 1.x input pipelines, as TF's training/input.py: input producers (a FIFO queue of file names, indices or
slices, refilled by a QueueRunner; `num_epochs` counted by a local variable) and batching queues
(tf.train.batch, shuffle_batch, batch_join, shuffle_batch_join), each with its QueueRunner.
Sparse tensors and keep_input (maybe_batch) are not supported.
"""
from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import GraphKeys, Tensor, control_dependencies, name_scope
from tfmini.ops import array_ops, math_ops
from tfmini.ops.core import convert_to_tensor
from tfmini.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue
from tfmini.train.queue_runner import QueueRunner, add_queue_runner


def _summary(name, value):
    from tfmini import summary
    summary.scalar(name, value)


def limit_epochs(tensor, num_epochs=None, name=None):
    """`tensor`, but only `num_epochs` times: then OutOfRangeError (a CountUpTo on a local variable)."""
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError("num_epochs must be > 0 not %d." % num_epochs)
    from tfmini.ops.state_ops import count_up_to
    from tfmini.variables import Variable
    with name_scope(name, "limit_epochs", [tensor]) as scope:
        zero64 = convert_to_tensor(0, dtype=dtypes.int64)
        epochs = Variable(zero64, name="epochs", trainable=False, collections=[GraphKeys.LOCAL_VARIABLES])
        counter = count_up_to(epochs, num_epochs)
        with control_dependencies([counter]):
            return array_ops.identity(tensor, name=scope)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None, capacity=32,
                   shared_name=None, summary_name=None, name=None, cancel_op=None):
    """A FIFOQueue of the rows of `input_tensor` (shuffled each epoch when `shuffle`)."""
    from tfmini.ops.random_ops import random_shuffle
    with name_scope(name, "input_producer", [input_tensor]):
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        rows = TensorShape(input_tensor.shape.as_list()[1:] if input_tensor.shape.ndims else None)
        element_shape = rows.merge_with(TensorShape(element_shape))
        if shuffle:
            input_tensor = random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        q = FIFOQueue(capacity=capacity, dtypes=[input_tensor.dtype.base_dtype], shapes=[element_shape],
                      shared_name=shared_name, name=name)
        enq = q.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(q, [enq], cancel_op=cancel_op))
        if summary_name is not None:
            _summary(summary_name, math_ops.cast(q.size(), dtypes.float32) * (1. / capacity))
        return q


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                          name=None, cancel_op=None):
    """A queue of file names for a reader: tf.train.string_input_producer."""
    if not isinstance(string_tensor, Tensor) and not string_tensor:
        raise ValueError("string_input_producer requires a non-null input tensor")
    with name_scope(name, "input_producer", [string_tensor]) as scope:
        string_tensor = convert_to_tensor(string_tensor, dtype=dtypes.string)
        return input_producer(string_tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              "fraction_of_%d_full" % capacity, scope, cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """A queue of the integers 0 .. limit-1."""
    with name_scope(name, "input_producer", [limit]) as scope:
        range_tensor = array_ops.range(limit)
        return input_producer(range_tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              "fraction_of_%d_full" % capacity, scope)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32, shared_name=None,
                         name=None):
    """One row of each tensor of `tensor_list` per dequeue (the same row of each), by a queue of indices."""
    from tfmini.ops.embedding_ops import gather
    with name_scope(name, "input_producer", tensor_list):
        tensor_list = [convert_to_tensor(t) for t in tensor_list]
        if not tensor_list:
            raise ValueError("Expected at least one tensor in slice_input_producer().")
        range_size = array_ops.shape(tensor_list[0])[0]
        queue = range_input_producer(range_size, num_epochs=num_epochs, shuffle=shuffle, seed=seed,
                                     capacity=capacity, shared_name=shared_name)
        index = queue.dequeue()
        return [gather(t, index) for t in tensor_list]


# -- batching -----------------------------------------------------------------------------------------------
def _as_tensor_list(tensors):
    if isinstance(tensors, dict):
        return [tensors[k] for k in sorted(tensors, key=str)]
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _as_original_type(original, dequeued):
    if isinstance(original, dict):
        if len(original) == 1:
            dequeued = [dequeued]  # a one-component queue dequeues a tensor, not a list (as TF)
        return {k: dequeued[i] for i, k in enumerate(sorted(original, key=str))}
    return dequeued


def _validate(tensor_list):
    if not tensor_list:
        raise ValueError("Expected at least one tensor in batch().")
    return [convert_to_tensor(t) for t in tensor_list]


def _shapes(tensor_list_list, shapes, enqueue_many):
    if shapes is not None:
        return shapes
    out = []
    for i in range(len(tensor_list_list[0])):
        merged = TensorShape(None)
        for tl in tensor_list_list:
            if tl[i].shape.ndims is None:
                raise ValueError("Cannot infer Tensor's rank: %s" % tl[i])
            shape = TensorShape(tl[i].shape.as_list()[1:]) if enqueue_many else tl[i].shape
            merged = merged.merge_with(shape)
        out.append(merged)
    return out


def _dtypes(tensor_list_list):
    types = [t.dtype.base_dtype for t in tensor_list_list[0]]
    for tl in tensor_list_list[1:]:
        if [t.dtype.base_dtype for t in tl] != types:
            raise TypeError("Expected types to be consistent: %s vs. %s." %
                            (", ".join(t.name for t in types), ", ".join(t.dtype.base_dtype.name for t in tl)))
    return types


def _enqueue(queue, tensor_list_list, enqueue_many, threads):
    """One enqueue op per list of tensors, each run by `threads` threads of the queue's QueueRunner."""
    enqueue = queue.enqueue_many if enqueue_many else queue.enqueue
    add_queue_runner(QueueRunner(queue, [enqueue(tl) for tl in tensor_list_list] * threads))


def _dequeue(queue, batch_size, allow_smaller_final_batch, name):
    if allow_smaller_final_batch:
        return queue.dequeue_up_to(batch_size, name=name)
    return queue.dequeue_many(batch_size, name=name)


def _batch(tensors_list, threads, batch_size, capacity, enqueue_many, shapes, dynamic_pad, allow_smaller_final_batch,
           shared_name, name, default, original):
    with name_scope(name, default, [t for tl in tensors_list for t in tl]) as scope:
        tensors_list = [_validate(tl) for tl in tensors_list]
        types = _dtypes(tensors_list)
        shapes = _shapes(tensors_list, shapes, enqueue_many)
        queue = (PaddingFIFOQueue if dynamic_pad else FIFOQueue)(capacity=capacity, dtypes=types, shapes=shapes,
                                                                 shared_name=shared_name)
        _enqueue(queue, tensors_list, enqueue_many, threads)
        _summary("fraction_of_%d_full" % capacity, math_ops.cast(queue.size(), dtypes.float32) * (1. / capacity))
        return _as_original_type(original, _dequeue(queue, batch_size, allow_smaller_final_batch, scope))


def _shuffle_batch(tensors_list, threads, batch_size, capacity, min_after_dequeue, seed, enqueue_many, shapes,
                   allow_smaller_final_batch, shared_name, name, default, original):
    with name_scope(name, default, [t for tl in tensors_list for t in tl]) as scope:
        tensors_list = [_validate(tl) for tl in tensors_list]
        types = _dtypes(tensors_list)
        shapes = _shapes(tensors_list, shapes, enqueue_many)
        queue = RandomShuffleQueue(capacity=capacity, min_after_dequeue=min_after_dequeue, seed=seed,
                                   dtypes=types, shapes=shapes, shared_name=shared_name)
        _enqueue(queue, tensors_list, enqueue_many, threads)
        full = math_ops.cast(math_ops.maximum(0, queue.size() - min_after_dequeue), dtypes.float32) * (
            1. / (capacity - min_after_dequeue))
        _summary("fraction_over_%d_of_%d_full" % (min_after_dequeue, capacity - min_after_dequeue), full)
        return _as_original_type(original, _dequeue(queue, batch_size, allow_smaller_final_batch, scope))


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
          allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches of `batch_size` from a FIFO queue that `num_threads` threads fill with `tensors`."""
    tensor_list = _as_tensor_list(tensors)
    return _batch([tensor_list], num_threads, batch_size, capacity, enqueue_many, shapes, dynamic_pad,
                  allow_smaller_final_batch, shared_name, name, "batch", tensors)


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None, dynamic_pad=False,
               allow_smaller_final_batch=False, shared_name=None, name=None):
    """As batch, with one enqueueing thread per list of tensors (of the same types)."""
    return _batch([_as_tensor_list(t) for t in tensors_list], 1, batch_size, capacity, enqueue_many, shapes,
                  dynamic_pad, allow_smaller_final_batch, shared_name, name, "batch_join", tensors_list[0])


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None, enqueue_many=False,
                  shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches drawn at random from a RandomShuffleQueue holding at least `min_after_dequeue` elements."""
    tensor_list = _as_tensor_list(tensors)
    return _shuffle_batch([tensor_list], num_threads, batch_size, capacity, min_after_dequeue, seed, enqueue_many,
                          shapes, allow_smaller_final_batch, shared_name, name, "shuffle_batch", tensors)


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None, enqueue_many=False,
                       shapes=None, allow_smaller_final_batch=False, shared_name=None, name=None):
    return _shuffle_batch([_as_tensor_list(t) for t in tensors_list], 1, batch_size, capacity, min_after_dequeue,
                          seed, enqueue_many, shapes, allow_smaller_final_batch, shared_name, name,
                          "shuffle_batch_join", tensors_list[0])
