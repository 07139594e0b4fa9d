"""The contexts of the cond branches and while loops being built (TF 1.x's CondContext / WhileContext base).

While a context is the graph's current one, every new op is handed to it (`Graph.create_op` calls
`add_op`): an input made outside the context is routed in (a cond branch reads it through a `Switch` on
the predicate, a loop body through a constant `Enter` into its frame), and an op with no inputs gets a
control input from the context's pivot, so that it runs in the branch's deadness or the loop's frame.
"""
import contextlib


def context_of(op):
    return getattr(op, "_control_flow_context", None)


def update_input(op, index, tensor):
    """Points input `index` of `op` at `tensor` (TF's Operation._update_input)."""
    old = op._inputs[index]
    if op in old._consumers:
        old._consumers.remove(op)
    op._inputs[index] = tensor
    tensor._consumers.append(op)
    op._node_def = None


class ControlFlowContext:
    def __init__(self, graph):
        self.graph = graph
        self.outer = graph._control_flow_context
        self.pivot = None      # the tensor whose op input-less ops inside depend on
        self._values = {}      # a tensor from outside -> the tensor that carries it inside

    def contains(self, op):
        ctx = context_of(op)
        while ctx is not None:
            if ctx is self:
                return True
            ctx = ctx.outer
        return False

    @contextlib.contextmanager
    def inside(self):
        saved, self.graph._control_flow_context = self.graph._control_flow_context, self
        try:
            yield self
        finally:
            self.graph._control_flow_context = saved

    @contextlib.contextmanager
    def outside(self):
        """Builds helper ops (Switch, Enter) in the outer context, free of the caller's control dependencies."""
        saved, self.graph._control_flow_context = self.graph._control_flow_context, self.outer
        try:
            with self.graph.control_dependencies(None):
                yield
        finally:
            self.graph._control_flow_context = saved

    def mark_inside(self, tensor):
        tensor.op._control_flow_context = self
        return tensor

    def add_op(self, op):
        op._control_flow_context = self
        for i, t in enumerate(op.inputs):
            if not self.contains(t.op):
                inner = self.add_value(t)
                if inner is not t:
                    update_input(op, i, inner)
        self.fix_control_inputs(op)

    def fix_control_inputs(self, op):
        self.drop_external_controls(op)
        if not op.inputs and self.pivot is not None and not any(self.contains(c) for c in op.control_inputs):
            op._add_control_input(self.pivot.op)

    def drop_external_controls(self, op):
        """A loop moves control inputs from outside it onto its Enters (an edge cannot enter a frame but
        through an Enter); a cond branch passes the question to the loop around it, if any."""
        if self.outer is not None:
            self.outer.drop_external_controls(op)

    def outer_value(self, tensor):
        """`tensor` as the outer context sees it (routed into the outer context first, where it is outside it)."""
        if self.outer is not None and not self.outer.contains(tensor.op):
            return self.outer.add_value(tensor)
        return tensor

    def add_value(self, tensor):
        raise NotImplementedError


# -- nested structures of loop variables and branch results: tuples, lists, namedtuples, dicts ---------------
def flatten(value):
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in flatten(value[k])]
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in flatten(v)]
    return [value]


def pack_as(structure, flat):
    it = iter(flat)
    packed = _pack(structure, it)
    return packed


def _pack(structure, it):
    if isinstance(structure, dict):
        return type(structure)((k, _pack(structure[k], it)) for k in sorted(structure))
    if isinstance(structure, (tuple, list)):
        items = [_pack(s, it) for s in structure]
        if hasattr(structure, "_fields"):
            return type(structure)(*items)
        return type(structure)(items)
    return next(it)


def skeleton(value):
    if isinstance(value, dict):
        return {k: skeleton(value[k]) for k in sorted(value)}
    if isinstance(value, (tuple, list)):
        return (type(value).__name__ if hasattr(value, "_fields") else "seq", tuple(skeleton(v) for v in value))
    return None
