"""tf.train.Optimizer and its subclasses (TF 1.x): gradients from tf.gradients, updates by fused Apply* ops.

`minimize` = `compute_gradients` + `apply_gradients`. Optimizer state lives in slot variables
(`<var>/Adam`, `<var>/Adam_1`, ...) colocated with their variable, and in non-slot variables such
as Adam's `beta1_power`.
"""
from tfmini.core import dtypes
from tfmini.gradients import gradients
from tfmini.graph import GraphKeys, Tensor, get_default_graph
from tfmini.ops import array_ops, control_flow_ops, math_ops, state_ops
from tfmini.ops.core import convert_to_tensor
from tfmini.train.training_ops import apply_op
from tfmini.train.sparse_training_ops import sparse_apply_op
from tfmini.indexed_slices import IndexedSlices
from tfmini.variables import Variable, trainable_variables

_VALID_DTYPES = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


class Optimizer:
    GATE_NONE, GATE_OP, GATE_GRAPH = 0, 1, 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking, self._name = use_locking, name
        self._slots = {}          # slot name -> {variable: slot variable}
        self._non_slot_dict = {}  # (name, graph) -> variable

    def get_name(self):
        return self._name

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, gate_gradients=gate_gradients,
                                                aggregation_method=aggregation_method,
                                                colocate_gradients_with_ops=colocate_gradients_with_ops,
                                                grad_loss=grad_loss)
        if not any(g is not None for g, _ in grads_and_vars):
            raise ValueError(f"No gradients provided for any variable, check your graph for ops that do not support "
                             f"gradients, between variables {[str(v) for _, v in grads_and_vars]} and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """[(gradient or None, variable)] for every variable in var_list (default: the trainable ones)."""
        if callable(loss):
            raise TypeError("`loss` passed to Optimizer.compute_gradients should not be callable in graph mode.")
        if gate_gradients not in (self.GATE_NONE, self.GATE_OP, self.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH. Not {gate_gradients}")
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        var_list = trainable_variables() if var_list is None else list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        refs = [v._ref() if isinstance(v, Variable) else v for v in var_list]
        grads = gradients(loss, refs, grad_ys=grad_loss, gate_gradients=gate_gradients == self.GATE_OP,
                          aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        if gate_gradients == self.GATE_GRAPH:
            from tfmini.gradients import gate
            grads = gate(grads)
        grads_and_vars = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in grads_and_vars if g is not None])
        return grads_and_vars

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """An op that applies the gradients (skipping None ones); also increments global_step when given."""
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None and not isinstance(g, IndexedSlices):
                g = convert_to_tensor(g)
            if not isinstance(v, Variable):
                raise TypeError(f"Can not apply gradients to {v!r}: not a tf.Variable")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[str(v) for _, v in converted]}.")
        graph = get_default_graph()
        with graph.control_dependencies(None), graph.name_scope(""):  # TF's init_scope: slots at the top level
            self._create_slots(var_list)
        update_ops = []
        with graph.name_scope(name or self._name) as scope:
            self._prepare()
            for grad, var in converted:
                if grad is None:
                    continue
                with graph.name_scope("update_" + var.op.name), graph.colocate_with(var.op):
                    if isinstance(grad, IndexedSlices):
                        update_ops.append(self._apply_sparse_duplicate_indices(grad, var))
                    else:
                        update_ops.append(self._apply_dense(grad, var))
            if global_step is None:
                return self._finish(update_ops, scope)
            with graph.control_dependencies([self._finish(update_ops, "update")]):
                with graph.colocate_with(global_step.op):
                    step = state_ops.assign_add(global_step, 1, name=scope)
        train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if step not in train_ops:
            train_ops.append(step)
        return step

    # -- slots ------------------------------------------------------------
    def get_slot(self, var, name):
        return self._slots.get(name, {}).get(var)

    def get_slot_names(self):
        return sorted(self._slots)

    def variables(self):
        """The optimizer's own variables: slots and non-slot variables, in creation order."""
        out = [v for (_, g), v in self._non_slot_dict.items() if g is get_default_graph()]
        for slots in self._slots.values():
            out.extend(slots.values())
        return sorted(out, key=lambda v: v.name)

    def _slot(self, var, slot_name, make_initial):
        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            graph = var.graph
            with graph.colocate_with(var.op):
                slots[var] = Variable(make_initial, name=f"{var.op.name}/{self._name}", trainable=False)
        return slots[var]

    def _zeros_slot(self, var, slot_name):
        shape, dtype = var.shape.as_list(), var.dtype.base_dtype
        return self._slot(var, slot_name, lambda: array_ops.zeros(shape, dtype=dtype))

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        key = (name, colocate_with.graph)
        if key not in self._non_slot_dict:
            with colocate_with.graph.colocate_with(colocate_with.op):
                self._non_slot_dict[key] = Variable(initial_value, name=name, trainable=False)
        return self._non_slot_dict[key]

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph or get_default_graph()))

    # -- what subclasses define -------------------------------------------
    def _create_slots(self, var_list):
        pass

    def _prepare(self):
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError(f"{type(self).__name__} must define _apply_dense")

    def _apply_sparse_duplicate_indices(self, grad, var):
        """An IndexedSlices gradient: its duplicate indices summed (Unique + UnsortedSegmentSum), then
        `_apply_sparse`, as TF's Optimizer does."""
        from tfmini.ops import embedding_ops
        unique_indices, new_index_positions = embedding_ops.unique(grad.indices)
        summed_values = embedding_ops.unsorted_segment_sum(grad.values, new_index_positions,
                                                           array_ops.shape(unique_indices)[0])
        return self._apply_sparse(IndexedSlices(summed_values, unique_indices, grad.dense_shape), var)

    def _apply_sparse(self, grad, var):
        """Optimizers without a sparse form update densely, from the gradient made a Tensor."""
        return self._apply_dense(convert_to_tensor(grad), var)

    def _finish(self, update_ops, name_scope):
        return control_flow_ops.group(*update_ops, name=name_scope)

    @staticmethod
    def _assert_valid_dtypes(tensors):
        for t in tensors:
            dtype = t.dtype.base_dtype
            if dtype not in _VALID_DTYPES:
                raise ValueError(f"Invalid type {dtype.name} for {t.name}, expected: "
                                 f"{[d.name for d in _VALID_DTYPES]}.")


def _hyper(value, name):
    value = value() if callable(value) else value
    return convert_to_tensor(value, name=name, dtype=None if isinstance(value, (Tensor, Variable)) else
                             dtypes.float32)


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")

    def _apply_dense(self, grad, var):
        return apply_op("ApplyGradientDescent", var, math_ops.cast(self._lr_t, var.dtype.base_dtype), grad,
                        use_locking=self._use_locking)

    def _apply_sparse_duplicate_indices(self, grad, var):
        # ScatterSub adds up duplicate rows itself: no deduplication (TF's GradientDescentOptimizer)
        from tfmini.ops import embedding_ops
        delta = math_ops.multiply(grad.values, math_ops.cast(self._lr_t, var.dtype.base_dtype))
        return embedding_ops.scatter_sub(var, grad.indices, delta, use_locking=self._use_locking)


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate, self._momentum, self._use_nesterov = learning_rate, momentum, use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum")

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")
        self._momentum_t = _hyper(self._momentum, "momentum")

    def _apply_dense(self, grad, var):
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        return apply_op("ApplyMomentum", var, self.get_slot(var, "momentum"), cast(self._lr_t), grad,
                        cast(self._momentum_t), use_locking=self._use_locking, use_nesterov=self._use_nesterov)

    def _apply_sparse(self, grad, var):
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        return sparse_apply_op("SparseApplyMomentum", var, self.get_slot(var, "momentum"), cast(self._lr_t),
                               grad.values, grad.indices, cast(self._momentum_t), use_locking=self._use_locking,
                               use_nesterov=self._use_nesterov)


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _get_beta_accumulators(self):
        graph = get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph), self._get_non_slot_variable("beta2_power", graph)

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(self._beta1, "beta1_power", first)
        self._create_non_slot_variable(self._beta2, "beta2_power", first)
        for v in var_list:
            self._zeros_slot(v, "m")
            self._zeros_slot(v, "v")

    def _prepare(self):
        self._lr_t = _hyper(self._lr, "learning_rate")
        self._beta1_t = _hyper(self._beta1, "beta1")
        self._beta2_t = _hyper(self._beta2, "beta2")
        self._epsilon_t = _hyper(self._epsilon, "epsilon")

    def _apply_dense(self, grad, var):
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        beta1_power, beta2_power = self._get_beta_accumulators()
        return apply_op("ApplyAdam", var, self.get_slot(var, "m"), self.get_slot(var, "v"), cast(beta1_power),
                        cast(beta2_power), cast(self._lr_t), cast(self._beta1_t), cast(self._beta2_t),
                        cast(self._epsilon_t), grad, use_locking=self._use_locking)

    def _apply_sparse(self, grad, var):
        """TF's _apply_sparse_shared: m and v decay densely, the rows' terms are scatter-added."""
        from tfmini.ops import embedding_ops
        graph = get_default_graph()
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        beta1_power, beta2_power = (cast(b) for b in self._get_beta_accumulators())
        lr_t, beta1_t, beta2_t = cast(self._lr_t), cast(self._beta1_t), cast(self._beta2_t)
        epsilon_t = cast(self._epsilon_t)
        lr = lr_t * math_ops.sqrt(1 - beta2_power) / (1 - beta1_power)
        values, indices = grad.values, grad.indices
        m = self.get_slot(var, "m")
        m_scaled_g_values = values * (1 - beta1_t)
        m_t = state_ops.assign(m, m * beta1_t, use_locking=self._use_locking)
        with graph.control_dependencies([m_t]):
            m_t = embedding_ops.scatter_add(m, indices, m_scaled_g_values, use_locking=self._use_locking)
        v = self.get_slot(var, "v")
        v_scaled_g_values = (values * values) * (1 - beta2_t)
        v_t = state_ops.assign(v, v * beta2_t, use_locking=self._use_locking)
        with graph.control_dependencies([v_t]):
            v_t = embedding_ops.scatter_add(v, indices, v_scaled_g_values, use_locking=self._use_locking)
        v_sqrt = math_ops.sqrt(v_t)
        var_update = state_ops.assign_sub(var, lr * m_t / (v_sqrt + epsilon_t), use_locking=self._use_locking)
        return control_flow_ops.group(*[var_update, m_t, v_t])

    def _finish(self, update_ops, name_scope):
        graph = get_default_graph()
        with graph.control_dependencies(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            with graph.colocate_with(beta1_power.op):
                update_beta1 = beta1_power.assign(beta1_power * self._beta1_t, use_locking=self._use_locking)
                update_beta2 = beta2_power.assign(beta2_power * self._beta2_t, use_locking=self._use_locking)
        return control_flow_ops.group(*(update_ops + [update_beta1, update_beta2]), name=name_scope)


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate, self._initial_accumulator_value = learning_rate, initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            shape, dtype, init = v.shape.as_list(), v.dtype.base_dtype, self._initial_accumulator_value
            self._slot(v, "accumulator", lambda: array_ops.fill(shape, convert_to_tensor(init, dtype=dtype)))

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")

    def _apply_dense(self, grad, var):
        return apply_op("ApplyAdagrad", var, self.get_slot(var, "accumulator"),
                        math_ops.cast(self._lr_t, var.dtype.base_dtype), grad, use_locking=self._use_locking)

    def _apply_sparse(self, grad, var):
        return sparse_apply_op("SparseApplyAdagrad", var, self.get_slot(var, "accumulator"),
                               math_ops.cast(self._lr_t, var.dtype.base_dtype), grad.values, grad.indices,
                               use_locking=self._use_locking)


class RMSPropOptimizer(Optimizer):
    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
                 name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate, self._decay, self._momentum = learning_rate, decay, momentum
        self._epsilon, self._centered = epsilon, centered

    def _create_slots(self, var_list):
        for v in var_list:
            shape, dtype = v.shape.as_list(), v.dtype.base_dtype
            self._slot(v, "rms", lambda: array_ops.ones(shape, dtype=dtype))
            if self._centered:
                self._zeros_slot(v, "mg")
            self._zeros_slot(v, "momentum")

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")
        self._decay_t = _hyper(self._decay, "decay")
        self._momentum_t = _hyper(self._momentum, "momentum")
        self._epsilon_t = _hyper(self._epsilon, "epsilon")

    def _apply_dense(self, grad, var):
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        hyper = [cast(self._lr_t), cast(self._decay_t), cast(self._momentum_t), cast(self._epsilon_t), grad]
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            return apply_op("ApplyCenteredRMSProp", var, self.get_slot(var, "mg"), rms, mom, *hyper,
                            use_locking=self._use_locking)
        return apply_op("ApplyRMSProp", var, rms, mom, *hyper, use_locking=self._use_locking)

    def _apply_sparse(self, grad, var):
        cast = lambda t: math_ops.cast(t, var.dtype.base_dtype)  # noqa: E731
        hyper = [cast(self._lr_t), cast(self._decay_t), cast(self._momentum_t), cast(self._epsilon_t), grad.values,
                 grad.indices]
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            return sparse_apply_op("SparseApplyCenteredRMSProp", var, self.get_slot(var, "mg"), rms, mom, *hyper,
                                   use_locking=self._use_locking)
        return sparse_apply_op("SparseApplyRMSProp", var, rms, mom, *hyper, use_locking=self._use_locking)
