"""tf.train's Adadelta, Ftrl, ProximalGradientDescent and ProximalAdagrad optimizers (TF 1.x), on TF's fused ops
(ApplyAdadelta, ApplyFtrl/ApplyFtrlV2, ApplyProximalGradientDescent, ApplyProximalAdagrad) and TF's slot names."""
from tfmini.ops import array_ops, math_ops
from tfmini.ops.core import convert_to_tensor
from tfmini.train.optimizer import Optimizer, _hyper
from tfmini.train.training_ops import apply_op
from tfmini.variables import Variable


class _NamedSlots(Optimizer):
    """Slots whose variables are named `<var>/<op_name>` with an op name of the optimizer's choosing (Ftrl's
    accum_name/linear_name); a second slot under the same op name becomes `<op_name>_1`, as TF's."""

    def _named_slot(self, var, slot_name, make_initial, op_name):
        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            with var.graph.colocate_with(var.op):
                slots[var] = Variable(make_initial, name=f"{var.op.name}/{op_name}", trainable=False)
        return slots[var]

    def _filled_slot(self, var, slot_name, value, op_name):
        shape, dtype = var.shape.as_list(), var.dtype.base_dtype
        return self._named_slot(var, slot_name, lambda: array_ops.fill(shape, convert_to_tensor(value, dtype=dtype)),
                                op_name)

    def _cast(self, t, var):
        return math_ops.cast(t, var.dtype.base_dtype)


class AdadeltaOptimizer(_NamedSlots):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False, name="Adadelta"):
        super().__init__(use_locking, name)
        self._lr, self._rho, self._epsilon = learning_rate, rho, epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum")
            self._zeros_slot(v, "accum_update")

    def _prepare(self):
        self._lr_t = _hyper(self._lr, "lr")
        self._rho_t = _hyper(self._rho, "rho")
        self._epsilon_t = _hyper(self._epsilon, "epsilon")

    def _apply_dense(self, grad, var):
        c = lambda t: self._cast(t, var)  # noqa: E731
        return apply_op("ApplyAdadelta", var, self.get_slot(var, "accum"), self.get_slot(var, "accum_update"),
                        c(self._lr_t), c(self._rho_t), c(self._epsilon_t), grad, use_locking=self._use_locking)


class FtrlOptimizer(_NamedSlots):
    def __init__(self, learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0, use_locking=False, name="Ftrl",
                 accum_name=None, linear_name=None, l2_shrinkage_regularization_strength=0.0, beta=None):
        super().__init__(use_locking, name)
        if initial_accumulator_value < 0.0:
            raise ValueError(f"initial_accumulator_value {initial_accumulator_value} needs to be positive or zero")
        if learning_rate_power > 0.0:
            raise ValueError(f"learning_rate_power {learning_rate_power} needs to be negative or zero")
        for what, value in (("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"{what} {value} needs to be positive or zero")
        self._learning_rate, self._learning_rate_power = learning_rate, learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1, self._l2, self._l2_shrinkage = (l1_regularization_strength, l2_regularization_strength,
                                                  l2_shrinkage_regularization_strength)
        self._beta = 0.0 if beta is None else beta
        self._accum_name, self._linear_name = accum_name, linear_name

    def _create_slots(self, var_list):
        for v in var_list:
            self._filled_slot(v, "accum", self._initial_accumulator_value, self._accum_name or self._name)
            self._filled_slot(v, "linear", 0.0, self._linear_name or self._name)

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")
        self._l1_t = _hyper(self._l1, "l1_regularization_strength")
        # TF folds beta into l2 (l2 + beta / (2 lr)), so the fused ops need no beta input.
        lr = self._learning_rate() if callable(self._learning_rate) else self._learning_rate
        self._l2_t = convert_to_tensor(self._l2 + self._beta / (2. * math_ops.maximum(lr, 1e-36)),
                                       name="adjusted_l2_regularization_strength")
        self._l2_shrinkage_t = _hyper(self._l2_shrinkage, "l2_shrinkage_regularization_strength")
        self._lr_power_t = _hyper(self._learning_rate_power, "learning_rate_power")

    def _apply_dense(self, grad, var):
        c = lambda t: self._cast(t, var)  # noqa: E731
        accum, linear = self.get_slot(var, "accum"), self.get_slot(var, "linear")
        if self._l2_shrinkage <= 0.0:
            return apply_op("ApplyFtrl", var, accum, linear, grad, c(self._lr_t), c(self._l1_t), c(self._l2_t),
                            c(self._lr_power_t), use_locking=self._use_locking)
        return apply_op("ApplyFtrlV2", var, accum, linear, grad, c(self._lr_t), c(self._l1_t), c(self._l2_t),
                        c(self._l2_shrinkage_t), c(self._lr_power_t), use_locking=self._use_locking)


class ProximalGradientDescentOptimizer(_NamedSlots):
    def __init__(self, learning_rate, l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 use_locking=False, name="ProximalGradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._l1, self._l2 = l1_regularization_strength, l2_regularization_strength

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")
        self._l1_t = _hyper(self._l1, "l1_regularization_strength")
        self._l2_t = _hyper(self._l2, "l2_regularization_strength")

    def _apply_dense(self, grad, var):
        c = lambda t: self._cast(t, var)  # noqa: E731
        return apply_op("ApplyProximalGradientDescent", var, c(self._lr_t), c(self._l1_t), c(self._l2_t), grad,
                        use_locking=self._use_locking)


class ProximalAdagradOptimizer(_NamedSlots):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, use_locking=False, name="ProximalAdagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate, self._initial_accumulator_value = learning_rate, initial_accumulator_value
        self._l1, self._l2 = l1_regularization_strength, l2_regularization_strength

    def _create_slots(self, var_list):
        for v in var_list:
            self._filled_slot(v, "accumulator", self._initial_accumulator_value, self._name)

    def _prepare(self):
        self._lr_t = _hyper(self._learning_rate, "learning_rate")
        self._l1_t = _hyper(self._l1, "l1_regularization_strength")
        self._l2_t = _hyper(self._l2, "l2_regularization_strength")

    def _apply_dense(self, grad, var):
        c = lambda t: self._cast(t, var)  # noqa: E731
        return apply_op("ApplyProximalAdagrad", var, self.get_slot(var, "accumulator"), c(self._lr_t),
                        c(self._l1_t), c(self._l2_t), grad, use_locking=self._use_locking)


__all__ = ["AdadeltaOptimizer", "FtrlOptimizer", "ProximalAdagradOptimizer", "ProximalGradientDescentOptimizer"]
