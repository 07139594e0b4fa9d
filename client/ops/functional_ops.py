"""tf.map_fn, tf.scan, tf.foldl, tf.foldr: a tf.while_loop over TensorArrays, as TF 1.x builds them.

`elems` (and `initializer`, and `dtype` for map_fn) may be nested (lists, tuples, dicts, namedtuples); each
tensor of it is unstacked along dimension 0 into a TensorArray, the loop reads element i of each, calls `fn`,
and writes its results into output TensorArrays that are stacked at the end. Gradients flow through the loop
(tf.while_loop's gradient) and the TensorArrays (client/ops/tensor_array_grad.py).
"""
from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import name_scope
from tfmini.ops import array_ops
from tfmini.ops.control_flow_context import flatten, pack_as, skeleton
from tfmini.ops.core import constant, convert_to_tensor
from tfmini.ops.tensor_array_ops import TensorArray
from tfmini.ops.while_loop import while_loop


def _is_sequence(value):
    return isinstance(value, (list, tuple, dict))


class _Structure:
    """Flattens and packs values shaped like `template` (a single value is its own one-element list)."""

    def __init__(self, template):
        self.template, self.nested = template, _is_sequence(template)

    def flatten(self, value):
        return flatten(value) if self.nested else [value]

    def pack(self, flat):
        return pack_as(self.template, list(flat)) if self.nested else flat[0]

    def check(self, value):
        if (skeleton(value) != skeleton(self.template)) if self.nested else _is_sequence(value):
            raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: "
                             f"{self.template}\n\nSecond structure: {value}")


def _length(elems_flat):
    """The number of elements: static where dimension 0 is known, else a tensor."""
    first = elems_flat[0]
    if first.shape.ndims is not None and first.shape[0] is not None:
        return first.shape[0]
    return array_ops.shape(first)[0]


def _static_length(elems_flat):
    n = None
    for elem in elems_flat:
        d = elem.shape.with_rank_at_least(1)[0]
        if n is not None and d is not None and d != n:
            raise ValueError(f"Dimensions {n} and {d} are not compatible")
        n = d if n is None else n
    return n


def _unstacked(elems_flat, n, with_shapes=False):
    arrays = []
    for elem in elems_flat:
        shape = TensorShape(elem.shape.as_list()[1:]) if with_shapes and elem.shape.ndims else None
        ta = TensorArray(dtype=elem.dtype, size=n, dynamic_size=False, infer_shape=True, element_shape=shape)
        arrays.append(ta.unstack(elem))
    return arrays


def _stack_results(arrays, elems_flat):
    n_static = _static_length(elems_flat)
    results = [r.stack() for r in arrays]
    for r in results:
        rest = r.shape.as_list()[1:] if r.shape.ndims is not None else None
        r.set_shape(TensorShape([n_static]).concatenate(TensorShape(rest)))
    return results


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None):
    """[fn(elems[0]), fn(elems[1]), ...] stacked; `dtype` gives fn's output structure when it differs from elems'."""
    if not callable(fn):
        raise TypeError("fn must be callable.")
    parallel_iterations = 10 if parallel_iterations is None else parallel_iterations
    inputs = _Structure(elems)
    outputs = inputs if dtype is None else _Structure(dtype)
    elems_flat = inputs.flatten(elems)
    with name_scope(name, "map", [e for e in elems_flat]):
        elems_flat = [convert_to_tensor(elem, name="elem") for elem in elems_flat]
        dtype = dtype or inputs.pack([elem.dtype for elem in elems_flat])
        dtype_flat = [dtypes.as_dtype(d) for d in outputs.flatten(dtype)]
        static_shape = elems_flat[0].shape
        if static_shape.ndims is not None and static_shape.ndims < 1:
            if len(elems_flat) == 1:
                raise ValueError("elems must be a 1+ dimensional Tensor, not a scalar")
            raise ValueError("elements in elems must be 1+ dimensional Tensors, not scalars")
        n = _length(elems_flat)
        elems_ta = _unstacked(elems_flat, n)
        i = constant(0)
        accs_ta = [TensorArray(dtype=dt, size=n, dynamic_size=False, infer_shape=infer_shape) for dt in dtype_flat]

        def compute(i, tas):
            packed = inputs.pack([elem_ta.read(i) for elem_ta in elems_ta])
            result = fn(packed)
            outputs.check(result)
            tas = [ta.write(i, value) for ta, value in zip(tas, outputs.flatten(result))]
            return i + 1, tas

        _, r_a = while_loop(lambda i, _: i < n, compute, (i, accs_ta), parallel_iterations=parallel_iterations,
                            back_prop=back_prop, swap_memory=swap_memory, maximum_iterations=n)
        return outputs.pack(_stack_results(r_a, elems_flat))


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, infer_shape=True,
         reverse=False, name=None):
    """The running values a = fn(a, elems[i]), stacked (from the last element back with `reverse`)."""
    if not callable(fn):
        raise TypeError("fn must be callable.")
    inputs = _Structure(elems)
    outputs = inputs if initializer is None else _Structure(initializer)
    elems_flat = inputs.flatten(elems)
    with name_scope(name, "scan", elems_flat):
        elems_flat = [convert_to_tensor(elem, name="elem") for elem in elems_flat]
        n = _length(elems_flat)
        elems_ta = _unstacked(elems_flat, n, with_shapes=True)
        if initializer is None:
            a_flat = [ta.read(n - 1 if reverse else 0) for ta in elems_ta]
            start = 1
        else:
            a_flat = [convert_to_tensor(init) for init in outputs.flatten(initializer)]
            start = 0
        accs_ta = [TensorArray(dtype=a.dtype, size=n, element_shape=a.shape if infer_shape else None,
                               dynamic_size=False, infer_shape=infer_shape) for a in a_flat]
        if initializer is None:
            accs_ta = [ta.write(n - 1 if reverse else 0, a) for ta, a in zip(accs_ta, a_flat)]

        def compute(i, a_flat, tas):
            packed_elems = inputs.pack([elem_ta.read(i) for elem_ta in elems_ta])
            a_out = fn(outputs.pack(a_flat), packed_elems)
            outputs.check(a_out)
            flat_out = outputs.flatten(a_out)
            tas = [ta.write(i, value) for ta, value in zip(tas, flat_out)]
            return (i - 1 if reverse else i + 1), flat_out, tas

        if reverse:
            initial_i, condition = n - 1 - start, (lambda i, _1, _2: i >= 0)
        else:
            initial_i, condition = start, (lambda i, _1, _2: i < n)
        _, _, r_a = while_loop(condition, compute, (initial_i, a_flat, accs_ta),
                               parallel_iterations=parallel_iterations, back_prop=back_prop,
                               swap_memory=swap_memory, maximum_iterations=n)
        return outputs.pack(_stack_results(r_a, elems_flat))


def _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, default_name, backward):
    if not callable(fn):
        raise TypeError("fn must be callable.")
    with name_scope(name, default_name, flatten(elems)):
        elems_flat = [convert_to_tensor(elem, name="elem") for elem in flatten(elems)]
        n = _length(elems_flat)
        elems_ta = pack_as(elems, _unstacked(elems_flat, n)) if _is_sequence(elems) else _unstacked(elems_flat, n)[0]

        def read(i):
            return pack_as(elems_ta, [ta.read(i) for ta in flatten(elems_ta)]) if _is_sequence(elems) \
                else elems_ta.read(i)

        if backward:
            if initializer is None:
                i = convert_to_tensor(n - 1, dtype=dtypes.int32)
                a = read(i)
            else:
                i, a = convert_to_tensor(n, dtype=dtypes.int32), initializer

            def compute(i, a):
                i = i - 1
                return [i, fn(a, read(i))]
            condition = lambda i, a: i > 0  # noqa: E731
        else:
            if initializer is None:
                a, i = read(0), constant(1)
            else:
                a, i = initializer, constant(0)

            def compute(i, a):
                return [i + 1, fn(a, read(i))]
            condition = lambda i, a: i < n  # noqa: E731
        _, r_a = while_loop(condition, compute, [i, a], parallel_iterations=parallel_iterations,
                            back_prop=back_prop, swap_memory=swap_memory, maximum_iterations=n)
        return r_a


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1]) (initializer: elems[0], then from 1)."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, "foldl", False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """foldl from the last element back to the first."""
    return _fold(fn, elems, initializer, parallel_iterations, back_prop, swap_memory, name, "foldr", True)
