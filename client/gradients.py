"""tf.gradients: reverse-mode autodiff over the graph, as TF 1.x's `_GradientsHelper` does it.

Each op type owns its backward (`@RegisterGradient("Mul")` in client/ops/*_grad.py): a function
`grad_fn(op, *output_grads) -> one gradient (or None) per input` that adds ops to the graph. The walk
visits the ops between `xs` and `ys` in reverse topological order, under the name scope `gradients`
(`gradients/pow_grad/...`), summing the gradients a tensor gets from several consumers with AddN.
"""
from tfmini.core import dtypes, errors
from tfmini.graph import Tensor, _graph_of

_GRADIENTS = {}  # op type -> grad_fn, or None for ops registered as not differentiable


class RegisterGradient:
    """Decorator: `@tf.RegisterGradient("OpType")` registers `fn(op, *grads)` as OpType's gradient."""

    def __init__(self, op_type):
        if not isinstance(op_type, str):
            raise TypeError("op_type must be a string")
        self._op_type = op_type

    def __call__(self, fn):
        _register(self._op_type, fn)
        return fn


def NotDifferentiable(op_type):  # noqa: N802 - TensorFlow's name
    """Declares that ops of `op_type` pass no gradient to their inputs."""
    if not isinstance(op_type, str):
        raise TypeError("op_type must be a string")
    _register(op_type, None)


def _register(op_type, fn):
    """A gradient for `op_type`: any name (gradient_override_map maps op types to names of the user's), but
    only once. The built-in gradients load first, so a user's duplicate fails here, not in a later
    unrelated tf.gradients."""
    _load_gradient_modules()
    if op_type in _GRADIENTS:
        raise KeyError(f"Registering two gradient with name '{op_type}'!")
    _GRADIENTS[op_type] = fn


NoGradient = NotDifferentiable


def get_gradient_function(op):
    """The gradient function of `op` (honouring gradient_override_map); LookupError if there is none."""
    if hasattr(op, "gradient_function"):  # a while loop taken as one unit (ops/control_flow_grad.py)
        return op.gradient_function
    op_type = op.type
    if "_gradient_op_type" in op._attrs:
        op_type = op.get_attr("_gradient_op_type")
        op_type = op_type.decode() if isinstance(op_type, bytes) else op_type
    try:
        return _GRADIENTS[op_type]
    except KeyError:
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op_type})") from None


_builtin_loaded = False


def _load_gradient_modules():
    global _builtin_loaded
    if _builtin_loaded:
        return
    _builtin_loaded = True
    from tfmini.ops import array_grad, math_grad, nn_grad  # noqa: F401 - they register on import
    from tfmini.ops import batch_matmul_grad  # noqa: F401
    from tfmini.ops import conv_grad  # noqa: F401
    from tfmini.ops import array_utils_grad  # noqa: F401
    from tfmini.ops import embedding_grad  # noqa: F401
    from tfmini.ops import parsing_grad  # noqa: F401
    from tfmini.ops import control_flow_grad  # noqa: F401
    from tfmini.ops import sequence_ops, tensor_array_grad  # noqa: F401  (TensorArray, RNNs)


def _backpropagatable(t):
    d = t.dtype.base_dtype
    return d.is_floating or d.is_complex or d in (dtypes.resource, dtypes.variant)


def _as_tensor_list(values, what):
    from tfmini.ops.core import convert_to_tensor
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    out = []
    for v in values:
        if hasattr(v, "_ref") and not isinstance(v, Tensor) and what == "xs":
            v = v.value()  # a Variable: differentiate with respect to its snapshot, as TF 1.x's conversion does
        out.append(v if isinstance(v, Tensor) else convert_to_tensor(v))
    return out


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False, gate_gradients=False,
              aggregation_method=None, stop_gradients=None, unconnected_gradients="none"):
    """Symbolic d(sum(ys))/d(x) for each x in xs: a list of Tensors, None where x does not reach ys."""
    _load_gradient_modules()
    ys = _as_tensor_list(ys, "ys")
    xs = _as_tensor_list(xs, "xs")
    stop_tensors = _as_tensor_list(stop_gradients, "xs") if stop_gradients is not None else []
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    else:
        grad_ys = list(grad_ys) if isinstance(grad_ys, (list, tuple)) else [grad_ys]
    if len(grad_ys) != len(ys):
        raise ValueError(f"Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    if unconnected_gradients not in ("none", "zero"):
        raise ValueError(f"Unknown value for unconnected_gradients: {unconnected_gradients!r}")
    graph = _graph_of(ys + xs)
    with graph.as_default(), graph.name_scope(name or "gradients"):
        grad_ys = _default_grad_ys(ys, grad_ys, colocate_gradients_with_ops)
        from_ops = [_unit(x.op) for x in xs]
        _check_not_inside_a_loop(xs, from_ops)
        to_ops = [_unit(y.op) for y in ys]
        between, pending = _pending_count(to_ops, from_ops)
        stop_ops = _stop_ops(from_ops, {t.op for t in stop_tensors}, pending)

        grads = {}  # Tensor -> [gradient, ...] until aggregated, then the aggregated Tensor
        for y, g in zip(ys, grad_ys):
            grads.setdefault(y, []).append(g)
        queue = []
        seen = set()
        for op in to_ops:
            if op in between and op not in seen and pending.get(op, 0) == 0:
                seen.add(op)
                queue.append(op)
        while queue:
            op = queue.pop(0)
            _backprop_op(graph, op, grads, stop_ops, gate_gradients, colocate_gradients_with_ops, between)
            for t in op.inputs:
                src = _unit(t.op)
                if src in between:
                    pending[src] -= 1
                    if pending[src] == 0:
                        queue.append(src)
        result = []
        for x in xs:
            g = _aggregate(grads.get(x))
            if g is None and unconnected_gradients == "zero":
                from tfmini.ops.array_ops import zeros_like
                g = zeros_like(x)
            result.append(g)
        return result


def _default_grad_ys(ys, grad_ys, colocate):
    from tfmini.ops import array_ops
    from tfmini.ops.core import constant, convert_to_tensor
    out = []
    for i, (y, g) in enumerate(zip(ys, grad_ys)):
        if g is None:
            if not (y.dtype.is_floating or y.dtype.is_complex):
                raise TypeError(f"Gradients of complex or integer tensors: {y} (dtype {y.dtype.name}) must set "
                                f"grad_ys explicitly")
            # A static shape is written as a Const (still named "Shape"), so the worker folds the Fill once.
            shape = (constant(y.shape.as_list(), dtype=dtypes.int32, name="Shape") if y.shape.is_fully_defined()
                     else array_ops.shape(y))
            g = array_ops.fill(shape, constant(1, dtype=y.dtype.base_dtype, name=f"grad_ys_{i}"))
        else:
            g = convert_to_tensor(g, dtype=y.dtype.base_dtype, name=f"grad_ys_{i}")
            if not g.shape.is_compatible_with(y.shape):
                raise ValueError(f"grad_ys[{i}] has shape {g.shape}, which is not compatible with y's {y.shape}")
        out.append(g)
    return out


def _pending_count(to_ops, from_ops):
    """Ops on a backpropagatable path from `from_ops` to `to_ops`, and how many between-op consumers each has."""
    reached = set()
    stack = list(from_ops)
    while stack:
        op = stack.pop()
        if op in reached:
            continue
        reached.add(op)
        for out in op.outputs:
            if _backpropagatable(out):
                stack.extend(_unit(c) for c in out._consumers)
    between = set()
    stack = [op for op in to_ops if op in reached]
    while stack:
        op = stack.pop()
        if op in between:
            continue
        between.add(op)
        stack.extend(_unit(t.op) for t in op.inputs if _unit(t.op) in reached)
    pending = {}
    for op in between:
        for t in op.inputs:
            if _unit(t.op) in between:
                pending[_unit(t.op)] = pending.get(_unit(t.op), 0) + 1
    return between, pending


def _unit(op):
    """`op`, or the while loop it belongs to: a loop is differentiated as one unit (ops/control_flow_grad.py)."""
    if getattr(op, "_control_flow_context", None) is None and not hasattr(op, "_loop_exit_of"):
        return op
    from tfmini.ops.control_flow_grad import loop_unit, building_in_loop
    return loop_unit(op, building_in_loop(op.graph))  # tf.gradients inside a loop body: loops in that body


def _check_not_inside_a_loop(xs, from_ops):
    """A tensor made inside a loop's body, seen from outside the loop, has no gradient in tfmini (TF gives one of
    dubious meaning): say so rather than return None."""
    for x, unit in zip(xs, from_ops):
        if unit is not x.op and x not in unit.outputs:
            raise NotImplementedError(f"tf.gradients with respect to '{x.name}', a tensor inside the while loop "
                                      f"'{unit.name}', from outside that loop is not supported by tfmini: call "
                                      f"tf.gradients inside the loop's body, or differentiate with respect to a "
                                      f"tensor that enters the loop")


def _stop_ops(from_ops, stop_gradient_ops, pending):
    """from_ops that no other from_op feeds (the walk ends there), plus explicit stop_gradients ops."""
    stop = set(stop_gradient_ops)
    for op in from_ops:
        if not any(pending.get(t.op, 0) > 0 for t in op.inputs):
            stop.add(op)
    return stop


def _aggregate(grad_list):
    from tfmini.indexed_slices import IndexedSlices
    if grad_list is None:
        return None
    if isinstance(grad_list, (Tensor, IndexedSlices)):
        return grad_list
    grad_list = [g for g in grad_list if g is not None]
    if not grad_list:
        return None
    if len(grad_list) == 1:
        return grad_list[0]
    if any(isinstance(g, IndexedSlices) for g in grad_list):
        return _aggregate_indexed_slices(grad_list)
    from tfmini.ops.math_ops import add_n
    return add_n(grad_list)  # named gradients/AddN, as in TF


def _aggregate_indexed_slices(grad_list):
    """TF's _AggregateIndexedSlicesGradients: one IndexedSlices of all the rows, values and indices
    concatenated (dense gradients among them become slices of all their rows)."""
    from tfmini.indexed_slices import IndexedSlices
    from tfmini.ops import array_ops, math_ops
    slices = [g if isinstance(g, IndexedSlices) else
              IndexedSlices(g, array_ops.range(0, array_ops.shape(g)[0]), array_ops.shape(g)) for g in grad_list]
    if len({s.indices.dtype.base_dtype for s in slices}) > 1:
        slices = [IndexedSlices(s.values, math_ops.cast(s.indices, dtypes.int64), s.dense_shape) for s in slices]
    return IndexedSlices(array_ops.concat([s.values for s in slices], 0),
                         array_ops.concat([s.indices for s in slices], 0), slices[0].dense_shape)


def gate(grads):
    """control_flow_ops.tuple over gradients that may be IndexedSlices (their values and indices are gated)."""
    from tfmini.indexed_slices import IndexedSlices
    from tfmini.ops.control_flow_ops import tuple as tf_tuple
    flat = []
    for g in grads:
        flat.extend([g.values, g.indices] if isinstance(g, IndexedSlices) else [g])
    gated = iter(tf_tuple(flat))
    return [IndexedSlices(next(gated), next(gated), g.dense_shape) if isinstance(g, IndexedSlices) else next(gated)
            for g in grads]


def _backprop_op(graph, op, grads, stop_ops, gate_gradients, colocate, between):
    out_grads = []
    for t in op.outputs:
        g = _aggregate(grads.get(t))
        if t in grads:
            grads[t] = g
        out_grads.append(g)
    if op in stop_ops or all(g is None for g in out_grads):
        return
    grad_fn = get_gradient_function(op)
    if grad_fn is None:  # NotDifferentiable
        return
    with graph.name_scope(op.name + "_grad"):
        with (graph.colocate_with(op) if colocate else _null()):
            for i, g in enumerate(out_grads):
                if g is None and _backpropagatable(op.outputs[i]):
                    from tfmini.ops.array_ops import zeros_like
                    out_grads[i] = zeros_like(op.outputs[i])
                    out_grads[i]._is_zeros_tensor = True  # lets grad fns skip terms that are known to vanish
            in_grads = grad_fn(op, *out_grads)
            in_grads = list(in_grads) if isinstance(in_grads, (list, tuple)) else [in_grads]
            if len(in_grads) != len(op.inputs):
                raise ValueError(f"Num gradients {len(in_grads)} generated for op {op.node_def} do not match num "
                                 f"inputs {len(op.inputs)}")
            # Gradients for inputs off every path to xs are never used: drop them, so a gate does not
            # make each step compute them (the graph is otherwise TF's).
            in_grads = [g if _unit(t.op) in between else None for t, g in zip(op.inputs, in_grads)]
            if gate_gradients and sum(g is not None for g in in_grads) > 1:
                with graph.device(None):
                    in_grads = gate(in_grads)
    from tfmini.indexed_slices import IndexedSlices
    for t, g in zip(op.inputs, in_grads):
        if g is None or not _backpropagatable(t):
            continue
        if isinstance(g, IndexedSlices):  # rows of the input's gradient: checked by dtype only, as in TF
            if g.dtype.base_dtype != t.dtype.base_dtype:
                raise errors.InvalidArgumentError(None, None, f"Gradient for input {t.name} of {op.name} has dtype "
                                                              f"{g.dtype.name}, expected {t.dtype.base_dtype.name}")
            grads.setdefault(t, []).append(g)
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"Gradient function of {op.type} returned {type(g).__name__}, not a Tensor")
        if g.dtype.base_dtype != t.dtype.base_dtype:
            raise errors.InvalidArgumentError(None, None, f"Gradient for input {t.name} of {op.name} has dtype "
                                                          f"{g.dtype.name}, expected {t.dtype.base_dtype.name}")
        try:
            g.set_shape(t.shape)
        except ValueError:
            raise ValueError(f"Incompatible shapes between op input and calculated input gradient. Forward "
                             f"operation: {op.name}. Input index: {list(op.inputs).index(t)}. Original input "
                             f"shape: {t.shape}. Calculated input gradient shape: {g.shape}") from None
        grads.setdefault(t, []).append(g)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

