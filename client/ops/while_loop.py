"""tf.while_loop in TF 1.x's GraphDef form: one frame per loop, iterations inside it.

For each loop variable x (scope `while/`):

    Enter(x, frame_name="while/while_context") -> Merge(Enter, NextIteration) -> Switch(Merge, LoopCond)
    Switch:1 -> Identity (the body's input) ... body ... -> NextIteration -> back into the Merge
    Switch:0 -> Exit (the loop's result)

`cond` reads the Merges and feeds LoopCond. A tensor from outside that the body or cond reads enters
the frame once, through a constant Enter (`is_constant=True`); input-less ops inside depend on the
pivot (the first Merge in `cond`, the first Identity in `body`). worker/frames.py runs the frames.
"""
from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape, as_shape
from tfmini.graph import Tensor, get_default_graph, name_scope
from tfmini.ops import control_flow_ops as cf
from tfmini.ops.array_ops import identity
from tfmini.ops.control_flow_context import ControlFlowContext, flatten, pack_as, skeleton
from tfmini.ops.core import constant, convert_to_tensor


class WhileContext(ControlFlowContext):
    def __init__(self, graph, parallel_iterations, back_prop, swap_memory):
        super().__init__(graph)
        self.frame_name = graph.unique_name("while_context")
        self.parallel_iterations, self.back_prop, self.swap_memory = parallel_iterations, back_prop, swap_memory
        self.loop_enters, self.loop_exits, self.merges, self.switches, self.identities = [], [], [], [], []
        self.loop_cond = None
        self.next_inputs = []
        self.external_controls = []
        self.grad_state = None  # set by the gradient of this loop (client/ops/control_flow_grad.py)

    def add_value(self, tensor):
        inner = self._values.get(tensor)
        if inner is None:
            outer = self.outer_value(tensor)
            with self.outside():
                inner = self.mark_inside(cf.enter(outer, self.frame_name, is_constant=True,
                                                  parallel_iterations=self.parallel_iterations))
            self._values[tensor] = inner
        return inner

    def drop_external_controls(self, op):
        external = [c for c in op._control_inputs if not self.contains(c)]
        if external:
            op._control_inputs = [c for c in op._control_inputs if self.contains(c)]
            op._node_def = None
            self.external_controls.extend(c for c in external if c not in self.external_controls)

    def build(self, cond, body, loop_vars, shape_invariants):
        flat_vars = [_as_tensor(v) for v in flatten(loop_vars)]
        invariants = _flat_invariants(shape_invariants, loop_vars, flat_vars)
        for x, shape in zip(flat_vars, invariants):
            if shape is not None and not _shape_less_than_or_equal(x.shape, shape):
                raise ValueError(f"The shape invariant specified for {x.name} is not compatible with the initial "
                                 f"shape of the loop variable. It enters the loop with shape {x.shape}, but the "
                                 f"specified shape invariant is {shape}.")
        with self.outside():
            enters = []
            for x, shape in zip(flat_vars, invariants):
                e = self.mark_inside(cf.enter(self.outer_value(x), self.frame_name, is_constant=False,
                                              parallel_iterations=self.parallel_iterations))
                if shape is not None:
                    e._shape = shape
                enters.append(e)
        self.loop_enters = enters
        with self.inside():
            self.merges = [cf.merge([e, e])[0] for e in enters]
            for m, e in zip(self.merges, enters):
                m._shape = e.shape
            self.pivot = self.merges[0]
            pred = convert_to_tensor(cond(*_unpack(loop_vars, self.merges)))
            if pred.dtype.base_dtype != dtypes.bool or pred.shape.ndims not in (None, 0):
                raise ValueError(f"The loop condition must be a boolean scalar, got {pred}")
            self.loop_cond = cf.loop_cond(pred, name="LoopCond")
            self.switches = [cf.switch(m, self.loop_cond) for m in self.merges]
            self.identities = [identity(s[1]) for s in self.switches]
            self.pivot = self.identities[0]
            result = body(*_unpack(loop_vars, self.identities))
            result = _same_kind(loop_vars, result)
            if skeleton(result) != skeleton(loop_vars):
                raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: "
                                 f"{loop_vars}\n\nSecond structure: {result}")
            nexts = []
            for m, x, v in zip(self.merges, flat_vars, flatten(result)):
                v = _as_tensor(v)
                if not self.contains(v.op):
                    v = self.add_value(v)
                if v.dtype.base_dtype != m.dtype.base_dtype:
                    raise ValueError(f"Loop variable {x.name} enters the loop with type {m.dtype.base_dtype.name}, "
                                     f"but has type {v.dtype.base_dtype.name} after 1 iteration.")
                if not _shape_less_than_or_equal(v.shape, m.shape):
                    raise ValueError(f"Input tensor '{x.name}' enters the loop with shape {x.shape}, but has shape "
                                     f"{v.shape} after one iteration. To allow the shape to vary across iterations, "
                                     f"use the `shape_invariants` argument of tf.while_loop to specify a "
                                     f"less-specific shape.")
                nexts.append(cf.next_iteration(v))
            self.next_inputs = [n.op.inputs[0] for n in nexts]
            for m, n in zip(self.merges, nexts):
                from tfmini.ops.control_flow_context import update_input
                update_input(m.op, 1, n)
            self.loop_exits = [cf.exit(s[0]) for s in self.switches]
        for x, m in zip(self.loop_exits, self.merges):
            x.op._control_flow_context = self.outer
            x.op._loop_exit_of = self  # tf.gradients takes the loop as one unit (control_flow_grad.py)
            x._shape = m.shape
        for e in enters:  # control inputs from outside the loop: the loop starts after them
            e.op._add_control_inputs(self.external_controls)
            if self.outer is not None:
                self.outer.fix_control_inputs(e.op)
        return _unpack_structure(loop_vars, self.loop_exits)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, name=None, maximum_iterations=None, return_same_structure=False):
    """Repeats `body` while `cond` holds; returns the loop variables' final values (same structure)."""
    if not callable(cond):
        raise TypeError("cond must be callable.")
    if not callable(body):
        raise TypeError("body must be callable.")
    if isinstance(parallel_iterations, bool) or not isinstance(parallel_iterations, int) or parallel_iterations < 1:
        raise ValueError(f"'parallel_iterations' must be a positive integer: {parallel_iterations}")
    single = not isinstance(loop_vars, (list, tuple, dict))
    if single:
        loop_vars = [loop_vars]
        if shape_invariants is not None:
            shape_invariants = [shape_invariants]
    graph = get_default_graph()
    with name_scope(name, "while", [v for v in flatten(loop_vars) if isinstance(v, Tensor)]):
        if maximum_iterations is not None:
            limit = convert_to_tensor(maximum_iterations, name="maximum_iterations")
            if limit.shape.ndims not in (None, 0):
                raise ValueError(f"maximum_iterations must be a scalar, saw shape: {limit.shape}")
            counter = constant(0, dtype=limit.dtype, name="iteration_counter")
            user_cond, user_body, user_vars = cond, body, loop_vars
            cond = lambda i, lv: _logical_and(i < limit, user_cond(*_as_args(user_vars, lv)))  # noqa: E731
            body = lambda i, lv: (i + 1, _same_kind(user_vars, user_body(*_as_args(user_vars, lv))))  # noqa: E731
            loop_vars = (counter, loop_vars)
            if shape_invariants is not None:
                shape_invariants = (TensorShape([]), shape_invariants)
        ctx = WhileContext(graph, parallel_iterations, back_prop, swap_memory)
        result = ctx.build(cond, body, loop_vars, shape_invariants)
        if maximum_iterations is not None:
            result = result[1]
    if return_same_structure:
        return result[0] if single else result
    if isinstance(result, (list, tuple)) and not hasattr(result, "_fields") and len(result) == 1:
        return result[0]
    return result


def _logical_and(a, b):
    from tfmini.ops.math_ops import logical_and
    return logical_and(a, b)


def _as_args(loop_vars, values):
    return list(values) if isinstance(loop_vars, (list, tuple)) and not hasattr(loop_vars, "_fields") else [values]


def _plain_sequence(value):
    return isinstance(value, (list, tuple)) and not hasattr(value, "_fields")


def _same_kind(loop_vars, result):
    """The body's result as a sequence like `loop_vars` (a body of one variable may return it bare)."""
    if _plain_sequence(loop_vars):
        if not _plain_sequence(result) and len(loop_vars) == 1:
            return type(loop_vars)([result])
        return type(loop_vars)(result) if _plain_sequence(result) else result
    return result


def _unpack(loop_vars, flat):
    """The loop variables as cond and body take them: one argument per top-level loop variable."""
    packed = pack_as(loop_vars, [_rewrap(v, t) for v, t in zip(flatten(loop_vars), flat)])
    if isinstance(loop_vars, dict):
        return [packed]
    return list(packed) if not hasattr(loop_vars, "_fields") else list(packed)


def _unpack_structure(loop_vars, flat):
    return pack_as(loop_vars, [_rewrap(v, t) for v, t in zip(flatten(loop_vars), flat)])


def _as_tensor(v):
    """A loop variable's tensor: a TensorArray-like object travels as its flow (`_loop_var_flow()`)."""
    if hasattr(v, "_loop_var_flow"):
        return v._loop_var_flow()
    return convert_to_tensor(v)


def _rewrap(original, tensor):
    if hasattr(original, "_with_loop_var_flow"):
        return original._with_loop_var_flow(tensor)
    return tensor


def _flat_invariants(shape_invariants, loop_vars, flat_vars):
    if shape_invariants is None:
        return [None] * len(flat_vars)
    flat = _flatten_shapes(shape_invariants)
    if len(flat) != len(flat_vars):
        raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: "
                         f"{loop_vars}\n\nSecond structure: {shape_invariants}")
    return [as_shape(s) for s in flat]


def _flatten_shapes(value):
    if isinstance(value, TensorShape) or value is None:
        return [value]
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _flatten_shapes(value[k])]
    if isinstance(value, (list, tuple)) and value and all(isinstance(d, (int, type(None))) for d in value):
        return [TensorShape(list(value))]  # a shape written as a list of dims
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten_shapes(v)]
    return [value]


def _shape_less_than_or_equal(shape, invariant):
    """`shape` is at least as specific as `invariant` (TF's _ShapeLessThanOrEqual)."""
    if invariant.ndims is None:
        return True
    if shape.ndims != invariant.ndims:
        return False
    return all(b is None or a == b for a, b in zip(shape.as_list(), invariant.as_list()))
