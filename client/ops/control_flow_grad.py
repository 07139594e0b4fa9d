"""Gradients through cond and while_loop.

cond: the gradient of a Switch is a Merge of its two sides' gradients (the untaken side's is a zeros_like
of that Switch output, live only when that side is taken), and the gradient of a cond's Merge is a Switch
of the gradient on the cond's predicate: each branch's gradient runs only when the branch ran.

while_loop: tf.gradients treats a loop as one unit (`loop_unit`), from its Enters' inputs to its Exits'
outputs, and differentiates it with a backward loop, as TensorFlow does:

- the forward loop gets a counter (`f_count`) of its body's runs;
- the backward loop runs that many times. Its variables are the count, the gradient of each float loop
  variable (starting from the Exits' gradients) and an accumulator per outside value the loop reads
  (a constant Enter); its body is the gradient of one forward body run;
- a forward value that the backward body needs is pushed on a stack (StackPushV2) by every forward body
  run and popped (StackPopV2) by the matching backward run, in reverse order. Outside values enter the
  backward loop as constants.

The graph is TensorFlow's form (StackV2/StackPushV2/StackPopV2, a second frame), so TensorFlow runs it.

A loop nested in another is differentiated as TF does: its backward loop is built inside the enclosing
loop's backward body; its stacks are made where the outermost gradient was asked for, so all runs of the
inner loop share them; each run's count (an Exit in the outer body) is pushed by the outer loop and popped by
the outer backward loop. Order is kept across runs: the inner count starts after the outer count's step
(whose next value waits for that run's pushes, the count's push among them), and the outer backward count's
next value waits for the inner backward loop's end. tf.gradients called inside a loop body builds an inner
loop's backward loop right there, with stacks made per run of the body.
"""
from tfmini.core.tensor_shape import TensorShape
from tfmini.gradients import RegisterGradient, _aggregate, _backprop_op, _backpropagatable
from tfmini.ops import control_flow_ops as cf
from tfmini.ops import stack_ops
from tfmini.ops.control_flow_context import context_of
from tfmini.ops.while_loop import WhileContext


# -- cond ----------------------------------------------------------------------------------------------
@RegisterGradient("Switch")
def _switch_grad(op, grad_false, grad_true):
    return cf.merge([grad_false, grad_true], name="cond_grad")[0], None


RegisterGradient("RefSwitch")(_switch_grad)


@RegisterGradient("Merge")
def _merge_grad(op, grad, _):
    pred = getattr(op, "_cond_pred", None)
    if pred is None:
        raise LookupError(f"No gradient defined for Merge '{op.name}' outside a tf.cond built in this process")
    grads = cf.switch(grad, pred, name="cond_grad")
    return list(grads) if len(op.inputs) == 2 else [None] * len(op.inputs)


RegisterGradient("RefMerge")(_merge_grad)


# -- while_loop ---------------------------------------------------------------------------------------
def _outermost_loop(ctx, boundary=None):
    loop = None
    while ctx is not None and ctx is not boundary:
        if isinstance(ctx, WhileContext):
            loop = ctx
        ctx = ctx.outer
    return loop


def loop_unit(op, boundary=None):
    """The LoopUnit of the outermost while loop (inside `boundary`, a loop) that `op` is part of, else `op`."""
    exit_of = getattr(op, "_loop_exit_of", None)
    ctx = exit_of if exit_of is not None else context_of(op)
    if exit_of is not None and boundary is not None and not _inside(exit_of, boundary):
        return op
    loop = _outermost_loop(ctx, boundary)
    if loop is None:
        return op
    if getattr(loop, "unit", None) is None:
        loop.unit = LoopUnit(loop)
    return loop.unit


def _inside(ctx, boundary):
    ctx = ctx.outer
    while ctx is not None:
        if ctx is boundary:
            return True
        ctx = ctx.outer
    return False


class LoopUnit:
    """A while loop as tf.gradients sees it: inputs are what enters it, outputs its Exits."""

    type = "while_loop"

    def __init__(self, ctx):
        self.ctx = ctx
        self.name = _scope(ctx)
        self._attrs = {}
        self.graph = ctx.graph
        # What enters the loop as it is now (its gradient adds constant Enters of its stacks' handles later).
        self.constant_enters = [e for e in ctx._values.values() if e.op.type in ("Enter", "RefEnter")]
        self.inputs = tuple([e.op.inputs[0] for e in ctx.loop_enters] +
                            [e.op.inputs[0] for e in self.constant_enters])

    @property
    def outputs(self):
        return list(self.ctx.loop_exits)

    def _as_graph_element(self):
        return self.ctx.loop_exits[0].op

    def __repr__(self):
        return f"<while loop '{self.name}'>"


def _while_loop_grad(unit, *exit_grads):
    return _BackpropLoop(unit).build(list(exit_grads))


LoopUnit.gradient_function = staticmethod(_while_loop_grad)


class _BackpropLoop:
    def __init__(self, unit):
        self.unit, self.forward = unit, unit.ctx
        self.constants = unit.constant_enters
        self.graph = unit.graph

    def build(self, exit_grads):
        fw, graph = self.forward, self.graph
        n_vars = len(fw.loop_enters)
        if not fw.back_prop:
            return [None] * (n_vars + len(self.constants))
        outer_state = _enclosing_backprop(graph, fw)
        count, forward_step, forward_next = _forward_count(fw, outer_state)
        float_vars = [k for k in range(n_vars) if fw.merges[k].dtype.base_dtype.is_floating]
        float_consts = [j for j, c in enumerate(self.constants) if c.dtype.base_dtype.is_floating]
        from tfmini.ops.array_ops import zeros_like
        start = [count] + [exit_grads[k] for k in float_vars] + \
            [zeros_like(self.constants[j].op.inputs[0]) for j in float_consts]
        invariants = [TensorShape([])] + [fw.merges[k].shape for k in float_vars] + \
            [self.constants[j].shape for j in float_consts]
        def cond(n, *_):
            from tfmini.ops.math_ops import greater
            return greater(n, 0)

        def body(n, *grads):
            from tfmini.ops.math_ops import subtract
            bw.count_step = subtract(n, 1)
            gx = list(grads[:len(float_vars)])
            acc = list(grads[len(float_vars):])
            var_grads, const_grads = self._body_gradient(gx, float_vars, float_consts)
            new_acc = [a if g is None else a + g for a, g in zip(acc, const_grads)]
            return [bw.count_step] + var_grads + new_acc

        bw = _BackpropContext(graph, fw, outer_state)
        bw.f_count_step, bw.f_count_next = forward_step, forward_next
        result = bw.build(cond, body, start, invariants)
        bw.merges[0].op.inputs[1].op._add_control_inputs(bw.pops)  # the count's NextIteration
        if outer_state is not None:
            # The inner backward loop's runs share its stacks: the next outer backward iteration (the one
            # before, in forward order) starts its inner loop only when this one has popped everything.
            outer_state.pops.append(bw.loop_exits[0].op)
        grads = [None] * (n_vars + len(self.constants))
        for pos, k in enumerate(float_vars):
            grads[k] = result[1 + pos]
        for pos, j in enumerate(float_consts):
            grads[n_vars + j] = result[1 + len(float_vars) + pos]
        return grads

    def _body_gradient(self, gx, float_vars, float_consts):
        """Inside the backward loop: the gradient of one forward body run, given the gradients of its results."""
        fw, graph = self.forward, self.graph
        from tfmini.ops.array_ops import zeros_like
        grads = {}
        ys = []
        for pos, k in enumerate(float_vars):
            y = fw.next_inputs[k]
            grads.setdefault(y, []).append(gx[pos])
            ys.append(y)
        sources = {i.op for i in fw.identities} | {c.op for c in self.constants}
        region = _region(fw, ys, sources)
        pending = {op: 0 for op in region}
        for op in region:
            for t in op.inputs:
                src = loop_unit(t.op, fw)
                if src in pending:
                    pending[src] += 1
        queue = [op for op in region if not pending[op]]
        between = region | sources | {loop_unit(fw.loop_exits[0].op)}  # tf.gradients' _unit maps body ops to it
        while queue:
            op = queue.pop(0)
            _backprop_op(graph, op, grads, set(), False, False, between)
            for t in op.inputs:
                src = loop_unit(t.op, fw)
                if src in pending:
                    pending[src] -= 1
                    if not pending[src]:
                        queue.append(src)
        var_grads = []
        for pos, k in enumerate(float_vars):
            g = _aggregate(grads.get(fw.identities[k]))
            var_grads.append(g if g is not None else zeros_like(gx[pos]))
        const_grads = [_aggregate(grads.get(self.constants[j])) for j in float_consts]
        return var_grads, const_grads


def _region(fw, ys, sources):
    """The ops of the forward body between its inputs (Identities, constant Enters) and `ys`; loops inside
    it as units."""
    region, stack = set(), [loop_unit(y.op, fw) for y in ys]
    own = {t.op for t in fw.merges} | {s[0].op for s in fw.switches} | {fw.loop_cond.op}
    while stack:
        op = stack.pop()
        if op in region or op in sources:
            continue
        if not (isinstance(op, LoopUnit) or fw.contains(op)) or op in own:
            continue  # outside the body, or the loop's own Merge/Switch/LoopCond
        region.add(op)
        stack.extend(loop_unit(t.op, fw) for t in op.inputs if _backpropagatable(t))
    return region


def _liveness(tensor):
    """(predicate, branch) under which a forward tensor has a value: a cond's, or a Switch's side; else None."""
    from tfmini.ops.cond import CondContext
    op = tensor.op
    if op.type in ("Switch", "RefSwitch") and op.inputs[1].op.type != "LoopCond":
        return op.inputs[1], tensor.value_index
    ctx = context_of(op)
    return (ctx.pred, ctx.branch) if isinstance(ctx, CondContext) else None


def _trigger(op):
    with op.graph.control_dependencies([op]):
        return cf.control_trigger(name=op.name.rsplit("/", 1)[0] + "/sync")


def building_in_loop(graph):
    """The forward loop whose body is being built now (tf.gradients called inside it), else None."""
    ctx = graph._control_flow_context
    while ctx is not None and not isinstance(ctx, WhileContext):
        ctx = ctx.outer
    return None if isinstance(ctx, _BackpropContext) else ctx


def _scope(loop):
    """The loop's name scope ("while"): its frame's name less "/while_context", or, for a loop read back from
    an imported graph (whose frame_name TF's importer leaves unprefixed), its nodes' scope."""
    return getattr(loop, "name_scope", None) or loop.frame_name.rsplit("/", 1)[0]


def _enclosing_backprop(graph, fw):
    """For a loop nested in another: the backward context of the enclosing forward loop, which tf.gradients
    is building now (the inner backward loop goes inside it); None for a loop in no other loop."""
    enclosing = fw.outer
    while enclosing is not None and not isinstance(enclosing, WhileContext):
        enclosing = enclosing.outer  # a cond inside the enclosing loop
    if enclosing is None:
        return None
    ctx = graph._control_flow_context
    while ctx is not None:
        if isinstance(ctx, _BackpropContext) and ctx.forward is enclosing:
            return ctx
        if ctx is enclosing:  # tf.gradients inside the enclosing loop's body: the backward loop goes there
            return None
        ctx = ctx.outer
    raise NotImplementedError(f"tf.gradients of a tf.while_loop nested in another loop ('{fw.frame_name}') is "
                              f"supported only as part of the enclosing loop's gradient (tfmini differentiates "
                              f"with respect to tensors outside the outermost loop)")


def _forward_count(fw, outer_state=None):
    """The number of body runs of the forward loop: a counter loop variable added to it (TF's f_count); one
    per backward loop, so a later tf.gradients only adds ops (a session may have run the earlier ones).
    In a nested loop the count starts after the enclosing loop's count step: one run of the inner loop
    pushes all its values before the next run's (all runs share one stack, as in TF).
    Returns (the count's Exit, its step, its NextIteration op)."""
    from tfmini.ops.array_ops import identity
    from tfmini.ops.core import constant
    from tfmini.ops.control_flow_context import update_input
    graph = fw.graph
    with fw.outside(), graph.name_scope(_scope(fw) + "/"):
        zero = constant(0, name="f_count")
        if outer_state is not None:
            zero.op._add_control_input(outer_state.f_count_step.op)
        enter = fw.mark_inside(cf.enter(fw.outer_value(zero), fw.frame_name, parallel_iterations=fw.parallel_iterations,
                                        name="f_count_enter"))
    with fw.inside(), graph.name_scope(_scope(fw) + "/"):
        merge = cf.merge([enter, enter], name="f_count_merge")[0]
        switch = cf.switch(merge, fw.loop_cond, name="f_count_switch")
        step = identity(switch[1], name="f_count_identity")
        from tfmini.ops.math_ops import add
        count_step = add(step, 1)  # each push runs after it, and before the count's NextIteration:
        nxt = cf.next_iteration(count_step, name="f_count_next")  # the pushes keep iteration order
        update_input(merge.op, 1, nxt)
        out = cf.exit(switch[0], name="f_count_exit")
    out.op._control_flow_context = fw.outer
    return out, count_step, nxt.op


class _BackpropContext(WhileContext):
    """The backward loop's context: a forward loop value its body reads comes off a stack."""

    def __init__(self, graph, forward, outer_state=None):
        super().__init__(graph, forward.parallel_iterations, True, forward.swap_memory)
        self.forward = forward
        # Stacks are made where the outermost loop's gradient was asked for, so that every run of a nested
        # loop pushes onto (and its backward loop pops from) the same stack.
        self.stack_context = outer_state.stack_context if outer_state is not None else forward.outer
        self.count_step, self.pops = None, []  # the pops run after the count's step, before its NextIteration
        self._pivots = {}

    def _grad_pivot(self, pred, branch):
        """In the backward body: a tensor live exactly when `pred` (popped) chose `branch` in the forward run."""
        key = (pred, branch)
        if key not in self._pivots:
            p = self.add_value(pred)
            with self.inside():
                from tfmini.ops.array_ops import identity
                self._pivots[key] = identity(cf.switch(p, p)[branch], name="cond_pivot")
        return self._pivots[key]

    def add_value(self, tensor):
        inner = self._values.get(tensor)
        if inner is not None:
            return inner
        fw = self.forward
        op = tensor.op
        if op.type in ("Enter", "RefEnter") and context_of(op) is fw and op.get_attr("is_constant"):
            inner = super().add_value(op.inputs[0])  # a loop invariant: the outside value, as a constant
        elif fw.contains(op) or getattr(op, "_loop_exit_of", None) is not None and _inside(op._loop_exit_of, fw):
            inner = self._pop(tensor)
        else:
            return super().add_value(tensor)
        self._values[tensor] = inner
        return inner

    def _pop(self, tensor):
        """Pushes `tensor` in every forward body run; pops it in the backward body."""
        fw, graph = self.forward, self.graph
        live = _liveness(tensor)  # (pred, branch) of a cond's tensor: pushed, and popped, only when it is live
        with graph.name_scope(tensor.op.name + "/"):
            saved = graph._control_flow_context
            graph._control_flow_context = self.stack_context
            try:
                with graph.control_dependencies(None):
                    handle = stack_ops.stack(tensor.dtype.base_dtype, stack_name=tensor.op.name, name="f_acc")
            finally:
                graph._control_flow_context = saved
            with fw.inside(), graph.control_dependencies([self.f_count_step.op]):
                push = stack_ops.stack_push(fw.add_value(handle), tensor, swap_memory=fw.swap_memory)
                # The count's next value waits for the push (through a ControlTrigger, live even when the push
                # was dead: a cond's untaken side), so pushes keep iteration order and are never pruned.
                self.f_count_next._add_control_input(_trigger(push.op) if live else push.op)
            controls = [self.count_step.op] + ([self._grad_pivot(*live).op] if live else [])
            with self.inside(), graph.control_dependencies(controls):
                value = stack_ops.stack_pop(WhileContext.add_value(self, handle), tensor.dtype.base_dtype)
                self.pops.append(_trigger(value.op) if live else value.op)
        value._shape = tensor.shape
        return value
