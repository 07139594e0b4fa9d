"""tf.ConditionalAccumulator and tf.SparseConditionalAccumulator (TF 1.x's data_flow_ops), what
SyncReplicasOptimizer aggregates gradients in.

An accumulator sums the gradients applied to it whose `local_step` is not older than its own global step
(stale ones are dropped), and `take_grad(n)` waits until n have arrived, returns their mean (or sum) and
starts over one global step later. The op types, attrs and op names are those TF 2.21's tf.compat.v1 builds
(the dense accumulator is the Resource* family, the sparse one the string-ref family); a TF 1.x graph's
string-ref dense ops (ConditionalAccumulator, AccumulatorApplyGradient, ...) run too.
"""
from tfmini.core import dtypes as _dtypes
from tfmini.core import op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph, name_scope
from tfmini.ops.core import convert_to_tensor


def _accumulator_op(op_type, dtype, shape, shared_name, name, reduction_type):
    if reduction_type not in ("MEAN", "SUM"):
        raise ValueError(f"reduction_type must be MEAN or SUM, got {reduction_type!r}")
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        return graph.create_op(op_type, [], {"dtype": dtype, "shape": shape, "container": "",
                                             "shared_name": shared_name or "", "reduction_type": reduction_type},
                               name=scope).outputs[0]


def _local_step(local_step):
    from tfmini.ops import math_ops
    return math_ops.cast(convert_to_tensor(local_step), _dtypes.int64)


class ConditionalAccumulatorBase:
    """What both accumulators share; `_ops` names the op types of the accumulator's family. As TF: the local step
    is cast outside the op's name scope, and an op without a name takes its op type's."""

    _ops = {"num": "AccumulatorNumAccumulated", "set_step": "AccumulatorSetGlobalStep"}

    def __init__(self, dtype, shape, accumulator_ref):
        self._dtype, self._shape, self._accumulator_ref = dtype, TensorShape(shape), accumulator_ref
        self._name = accumulator_ref.op.name

    accumulator_ref = property(lambda self: self._accumulator_ref)
    name = property(lambda self: self._name)
    dtype = property(lambda self: self._dtype)

    def _op(self, kind, inputs, attrs, name, default_name):
        graph = self._accumulator_ref.graph
        with graph.as_default(), name_scope(name, default_name) as scope:
            inputs = [self._accumulator_ref] + [f() if callable(f) else f for f in inputs]
            return graph.create_op(self._ops[kind], inputs, attrs, name=scope)

    def num_accumulated(self, name=None):
        return self._op("num", [], {}, name, f"{self._name}_NumAccumulated").outputs[0]

    def set_global_step(self, new_global_step, name=None):
        return self._op("set_step", [_local_step(new_global_step)], {}, name, self._ops["set_step"])


class ConditionalAccumulator(ConditionalAccumulatorBase):
    """A dense accumulator: TF's Resource* op family."""

    _ops = {"num": "ResourceAccumulatorNumAccumulated", "set_step": "ResourceAccumulatorSetGlobalStep",
            "apply": "ResourceAccumulatorApplyGradient", "take": "ResourceAccumulatorTakeGradient"}

    def __init__(self, dtype, shape=None, shared_name=None, name="conditional_accumulator", reduction_type="MEAN"):
        dtype = _dtypes.as_dtype(dtype)
        shape = TensorShape(shape)
        ref = _accumulator_op("ResourceConditionalAccumulator", dtype, shape, shared_name, name, reduction_type)
        super().__init__(dtype, shape, ref)

    def apply_grad(self, grad, local_step=0, name=None):
        grad = convert_to_tensor(grad, dtype=self._dtype)
        grad.shape.assert_is_compatible_with(self._shape)
        return self._op("apply", [_local_step(local_step), grad], {"dtype": self._dtype}, name,
                        self._ops["apply"])

    def take_grad(self, num_required, name=None):
        n = lambda: convert_to_tensor(num_required, dtype=_dtypes.int32, name="num_required")  # noqa: E731
        return self._op("take", [n], {"dtype": self._dtype}, name, self._ops["take"]).outputs[0]


class SparseConditionalAccumulator(ConditionalAccumulatorBase):
    """A sparse accumulator (IndexedSlices gradients): TF's string-ref op family."""

    _ops = {"num": "AccumulatorNumAccumulated", "set_step": "AccumulatorSetGlobalStep",
            "apply": "SparseAccumulatorApplyGradient", "take": "SparseAccumulatorTakeGradient"}

    def __init__(self, dtype, shape=None, shared_name=None, name="sparse_conditional_accumulator",
                 reduction_type="MEAN"):
        dtype = _dtypes.as_dtype(dtype)
        shape = TensorShape(shape)
        ref = _accumulator_op("SparseConditionalAccumulator", dtype, shape, shared_name, name, reduction_type)
        super().__init__(dtype, shape, ref)

    def apply_indexed_slices_grad(self, grad, local_step=0, name=None):
        return self.apply_grad(grad_indices=grad.indices, grad_values=grad.values, grad_shape=grad.dense_shape,
                               local_step=local_step, name=name)

    def apply_grad(self, grad_indices, grad_values, grad_shape=None, local_step=0, name=None):
        has_known_shape = grad_shape is not None
        from tfmini.ops import math_ops
        inputs = [_local_step(local_step),
                  lambda: math_ops.cast(convert_to_tensor(grad_indices), _dtypes.int64),
                  lambda: convert_to_tensor(grad_values, dtype=self._dtype),
                  lambda: math_ops.cast(convert_to_tensor(grad_shape if has_known_shape else [], dtype=None
                                                          if has_known_shape else _dtypes.int64), _dtypes.int64)]
        return self._op("apply", inputs, {"dtype": self._dtype, "has_known_shape": has_known_shape}, name,
                        self._ops["apply"])

    def take_grad(self, num_required, name=None):
        """(indices, values, dense shape) of the mean of `num_required` applied gradients."""
        n = lambda: convert_to_tensor(num_required, dtype=_dtypes.int32, name="num_required")  # noqa: E731
        return self._op("take", [n], {"dtype": self._dtype}, name, self._ops["take"]).outputs

    def take_indexed_slices_grad(self, num_required, name=None):
        from tfmini.indexed_slices import IndexedSlices
        indices, values, shape = self.take_grad(num_required, name=name)
        return IndexedSlices(values, indices, shape)


def _dense_take_shape(op):
    return [(op.get_attr("dtype"), _handle_shape(op))]


def _handle_shape(op):
    handle = op.inputs[0].op
    try:
        return TensorShape(handle.get_attr("shape"))
    except (KeyError, ValueError):
        return TensorShape(None)


def _sparse_take_shape(op):
    value_shape = _handle_shape(op)
    values = TensorShape([None]).concatenate(value_shape[1:]) if value_shape.ndims else TensorShape(None)
    return [(_dtypes.int64, TensorShape([None])), (op.get_attr("dtype"), values), (_dtypes.int64, TensorShape([None]))]


op_registry.register("ResourceConditionalAccumulator", lambda op: [(_dtypes.resource, TensorShape([]))])
op_registry.register(["ConditionalAccumulator", "SparseConditionalAccumulator"],
                     lambda op: [(_dtypes.string._as_ref, TensorShape([2]))])  # TF's ref handle: a string pair
op_registry.register(["AccumulatorApplyGradient", "AccumulatorSetGlobalStep", "SparseAccumulatorApplyGradient",
                      "ResourceAccumulatorApplyGradient", "ResourceAccumulatorSetGlobalStep"], lambda op: [])
op_registry.register(["AccumulatorNumAccumulated", "ResourceAccumulatorNumAccumulated"],
                     lambda op: [(_dtypes.int32, TensorShape([]))])
op_registry.register(["AccumulatorTakeGradient", "ResourceAccumulatorTakeGradient"], _dense_take_shape)
op_registry.register("SparseAccumulatorTakeGradient", _sparse_take_shape)
