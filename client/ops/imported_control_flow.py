"""Control-flow contexts for imported graphs, so tf.gradients differentiates through a TF-written cond or loop.

tf.import_graph_def gives back bare Switch/Merge/Enter/Exit/NextIteration nodes; the gradients
(ops/control_flow_grad.py) need what tf.cond and tf.while_loop record as they build: each op's context,
a loop's variables (Enter -> Merge -> Switch -> Identity / Exit, NextIteration), its LoopCond and the
constants it reads, a cond's predicate. As TF's importer does (it rebuilds the contexts from the graph's
structure when the WhileContext protos are absent), `rebuild` walks the imported ops in topological order:

- an Enter's output is in the loop context of its `frame_name` (one per frame and enclosing context), an
  Exit's in that loop's enclosing context;
- a Switch whose predicate is not a LoopCond opens a cond: its output k is in branch k of the cond on that
  predicate (all Switches on one `pred_id` share the two branch contexts);
- a cond's Merge is in the context around its branches; any other op is where its first input is (an op
  with no data inputs: where its first control input is, the pivot).

A loop whose nodes do not have tf.while_loop's shape is left without a context; its gradient then fails
with the LookupError of its Exit (no gradient for it), as before.
"""
from tfmini.ops.cond import CondContext
from tfmini.ops.control_flow_context import ControlFlowContext, context_of
from tfmini.ops.while_loop import WhileContext

_SWITCH = ("Switch", "RefSwitch")
_MERGE = ("Merge", "RefMerge")
_ENTER = ("Enter", "RefEnter")
_EXIT = ("Exit", "RefExit")
_NEXT = ("NextIteration", "RefNextIteration")


def has_control_flow(ops):
    return any(op.type in _ENTER or op.type in _SWITCH for op in ops)


class _ImportedLoop(WhileContext):
    """A WhileContext read back from a graph (not built by tf.while_loop in this process)."""

    def __init__(self, graph, outer, frame_name, parallel_iterations):
        ControlFlowContext.__init__(self, graph)
        self.outer = outer
        self.frame_name, self.parallel_iterations = frame_name, parallel_iterations
        self.back_prop, self.swap_memory = True, False
        self.loop_enters, self.loop_exits, self.merges, self.switches, self.identities = [], [], [], [], []
        self.loop_cond, self.next_inputs, self.external_controls, self.grad_state = None, [], [], None
        self.constant_enters = []


class _ImportedBranch(CondContext):
    def __init__(self, graph, outer, pred, branch):
        ControlFlowContext.__init__(self, graph)
        self.outer, self.pred, self.branch, self.pivot = outer, pred, branch, None


def rebuild(graph, ops):
    """Gives the imported `ops` (in the order they were made) their loop and cond contexts."""
    loops, branches = {}, {}
    tensor_ctx = {}  # imported tensor -> the context its value lives in

    def ctx_of_tensor(t):
        return tensor_ctx.get(t, context_of(t.op))

    for op in ops:
        data = list(op.inputs)
        if op.type in _MERGE and any(t.op.type in _NEXT for t in data):
            here = ctx_of_tensor(next(t for t in data if t.op.type not in _NEXT))
        elif op.type in _MERGE:
            inner = next((ctx_of_tensor(t) for t in data if isinstance(ctx_of_tensor(t), _ImportedBranch)), None)
            here = inner.outer if inner is not None else (ctx_of_tensor(data[0]) if data else None)
            if inner is not None and len(data) == 2:
                op._cond_pred = inner.pred  # the Merge's gradient switches on it
        elif data:
            here = ctx_of_tensor(data[0])
        elif op.control_inputs:
            here = context_of(op.control_inputs[0])
        else:
            here = None
        if op.type in _ENTER:
            frame = op.get_attr("frame_name")
            frame = frame.decode() if isinstance(frame, bytes) else frame
            key = (frame, here)
            loop = loops.get(key)
            if loop is None:
                loop = loops[key] = _ImportedLoop(graph, here, frame, int(op.get_attr("parallel_iterations") or 10))
                loop.name_scope = op.name.rsplit("/", 1)[0]  # an import's prefix included
            here = loop
            if op.get_attr("is_constant"):
                loop._values[op.inputs[0]] = op.outputs[0]
                loop.constant_enters.append(op.outputs[0])
            else:
                loop.loop_enters.append(op.outputs[0])
        elif op.type in _EXIT and isinstance(here, _ImportedLoop):
            op._loop_exit_of = here
            tensor_ctx[op.outputs[0]] = here.outer
            op._control_flow_context = here.outer
            continue
        elif op.type in _SWITCH and op.inputs[1].op.type != "LoopCond":
            pred = op.inputs[1]
            for k in (0, 1):
                key = (pred, k, here)
                if key not in branches:
                    branches[key] = _ImportedBranch(graph, here, pred, k)
                tensor_ctx[op.outputs[k]] = branches[key]
        op._control_flow_context = here
    for loop in loops.values():
        _read_loop_structure(loop)


def _read_loop_structure(loop):
    """The loop's Merges, Switches, Identities, Exits, next values and LoopCond, in its variables' order.
    A loop of another shape keeps no context (its ops are left as plain ops)."""
    variables = []
    try:
        for enter in loop.loop_enters:
            try:
                merge = _only(enter, _MERGE)
                switch = _only(merge, _SWITCH, loop_switch=True)
                identity = _only(switch, ("Identity", "RefIdentity"), port=1)
                exit_ = _only(switch, _EXIT, port=0)
                nxt = merge.op.inputs[1]
                if nxt.op.type not in _NEXT:
                    raise LookupError
            except LookupError:
                if enter.dtype.base_dtype.is_integer:
                    continue  # a counter of TF's own gradient (f_count: no Identity): nothing to differentiate
                raise
            variables.append(enter)
            loop.merges.append(merge)
            loop.switches.append(switch.op.outputs)
            loop.identities.append(identity)
            loop.loop_exits.append(exit_)
            loop.next_inputs.append(nxt.op.inputs[0])
            loop.loop_cond = switch.op.inputs[1]
    except LookupError:
        _forget(loop)
        return
    loop.loop_enters = variables
    if not variables:
        _forget(loop)
        return
    loop.pivot = loop.identities[0]


def _only(tensor, types, port=0, loop_switch=False):
    """The one consumer of `tensor` (or of output `port` of a Switch) of one of `types` (a Switch on a
    LoopCond, with `loop_switch`)."""
    source = tensor.op.outputs[port] if tensor.op.type in _SWITCH else tensor
    found = [c for c in source._consumers if c.type in types and
             (not loop_switch or c.inputs[1].op.type == "LoopCond")]
    if len(found) != 1:
        raise LookupError
    return found[0].outputs[0]


def _forget(loop):
    for op in loop.graph.get_operations():
        if context_of(op) is loop:
            op._control_flow_context = loop.outer
        if getattr(op, "_loop_exit_of", None) is loop:
            del op._loop_exit_of
