"""tf.cond and tf.case in TF 1.x's GraphDef form: Switch on the predicate, each branch in its context, Merge.

    cond/Switch = Switch(pred, pred)        cond/switch_t, cond/switch_f: Identity of its two sides (pivots)
    cond/pred_id = Identity(pred)           each outside value a branch reads: Switch(value, pred_id)[branch]
    cond/Merge = Merge(false result, true result)

The untaken branch's tensors are dead; Merge forwards the live one (worker/frames.py).
"""
from tfmini.core import dtypes
from tfmini.graph import Operation, Tensor, get_default_graph, name_scope
from tfmini.ops import control_flow_ops as cf
from tfmini.ops.array_ops import identity
from tfmini.ops.control_flow_context import ControlFlowContext, flatten, pack_as, skeleton
from tfmini.ops.core import convert_to_tensor


class CondContext(ControlFlowContext):
    def __init__(self, graph, pred, pivot, branch):
        super().__init__(graph)
        self.pred, self.pivot, self.branch = pred, pivot, branch

    def add_value(self, tensor):
        inner = self._values.get(tensor)
        if inner is None:
            outer = self.outer_value(tensor)
            with self.outside():
                inner = self.mark_inside(cf.switch(outer, self.pred)[self.branch])
            self._values[tensor] = inner
        return inner

    def build(self, fn):
        """Calls the branch function inside this context; its results as tensors of this branch."""
        with self.inside():
            result = fn()
            if result is None:
                result = []
            flat = [self._branch_tensor(v) for v in flatten(result)]
        return result, flat

    def _branch_tensor(self, v):
        if isinstance(v, Operation):  # an op as a result: the branch's pivot, after it
            return cf.with_dependencies([v], self.pivot)
        if v is None:
            raise ValueError("cond branch functions must not return None")
        v = convert_to_tensor(v)
        return v if self.contains(v.op) else self.add_value(v)


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """`true_fn()` if `pred` else `false_fn()`; both branches are built, only the taken one runs."""
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if true_fn is None:
        raise TypeError("cond(): true_fn argument required")
    if false_fn is None:
        raise TypeError("cond(): false_fn argument required")
    if not callable(true_fn):
        raise TypeError("true_fn must be callable.")
    if not callable(false_fn):
        raise TypeError("false_fn must be callable.")
    graph = get_default_graph()
    with name_scope(name, "cond", [pred]):
        pred = convert_to_tensor(pred)
        if pred.dtype.base_dtype != dtypes.bool:
            raise TypeError(f"pred must not be a Python bool or a non-bool tensor: {pred}")
        if pred.shape.ndims not in (None, 0):
            raise ValueError(f"Shape must be rank 0 but is rank {pred.shape.ndims} for 'cond/Switch' (op: "
                             f"'Switch') with input shapes: {pred.shape}, {pred.shape}.")
        p_false, p_true = cf.switch(pred, pred)
        pivot_true = identity(p_true, name="switch_t")
        pivot_false = identity(p_false, name="switch_f")
        pred = identity(pred, name="pred_id")
        true_ctx = CondContext(graph, pred, pivot_true, 1)
        true_result, true_flat = true_ctx.build(true_fn)
        false_ctx = CondContext(graph, pred, pivot_false, 0)
        false_result, false_flat = false_ctx.build(false_fn)
        if skeleton(true_result) != skeleton(false_result) or len(true_flat) != len(false_flat):
            raise ValueError(f"true_fn and false_fn must have the same type: {true_result} and {false_result}")
        for t, f in zip(true_flat, false_flat):
            if t.dtype.base_dtype != f.dtype.base_dtype:
                raise ValueError(f"Outputs of true_fn and false_fn must have the same type: "
                                 f"{t.dtype.base_dtype.name}, {f.dtype.base_dtype.name}")
        merged = [cf.merge([f, t])[0] for t, f in zip(true_flat, false_flat)]
        for m in merged:
            m.op._cond_pred = pred  # the gradient of a cond's Merge switches on it (control_flow_grad.py)
        if not merged:
            return None
        packed = pack_as(true_result, merged)
        if not strict and isinstance(packed, (list, tuple)) and not hasattr(packed, "_fields") and len(packed) == 1:
            return packed[0]  # TF 1.x unpacks a singleton unless strict
        return packed


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The function of the first pair whose predicate holds (else `default`), as nested conds."""
    if isinstance(pred_fn_pairs, dict):
        pairs = list(pred_fn_pairs.items())
    else:
        pairs = list(pred_fn_pairs)
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError("Each entry in pred_fn_pairs must be a 2-tuple")
        if not callable(pair[1]):
            raise TypeError("fn for pred %s must be callable." % pair[0].name)
    if default is None:
        if not pairs:
            raise ValueError("pred_fn_pairs must not be empty when default is None")
        # TF: with no default, the last function is the default (its predicate is not checked).
        pairs, default = pairs[:-1], pairs[-1][1]
    with name_scope(name, "case", [p for p, _ in pairs]):
        if exclusive and len(pairs) > 1:
            from tfmini.ops import math_ops
            from tfmini.ops.logging_ops import Assert
            preds = [convert_to_tensor(p) for p, _ in pairs]
            count = math_ops.reduce_sum(math_ops.cast(_stack(preds), dtypes.int32))
            check = Assert(math_ops.less_equal(count, 1), ["Input error: exclusive=True, more than 1 "
                                                           "conditions evaluated as True:", _stack(preds)])
            default = _after(check, default)
        fn = default
        for pred, branch in reversed(pairs):
            fn = _chain(pred, branch, fn, strict)
        return fn()


def _chain(pred, branch, otherwise, strict):
    return lambda: cond(pred, branch, otherwise, strict=strict)


def _stack(tensors):
    from tfmini.ops.array_ops import stack
    return stack(tensors)


def _after(op, fn):
    def run():
        with get_default_graph().control_dependencies([op]):
            result = fn()
        return cf.with_dependencies([op], result) if isinstance(result, Tensor) else result
    return run
