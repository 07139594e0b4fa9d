"""tf.contrib.layers: the regularizers and initializers TF 1.x code imports from contrib, and thin aliases of
tf.layers' flatten and dense (`fully_connected`)."""
import math
import numbers

from tfmini import init_ops
from tfmini.core import dtypes
from tfmini.graph import get_default_graph
from tfmini.ops import math_ops, nn_ops, random_ops
from tfmini.ops.core import convert_to_tensor


def _check_scale(scale):
    if isinstance(scale, numbers.Integral):
        raise ValueError(f"scale cannot be an integer: {scale}")
    if isinstance(scale, numbers.Real):
        if scale < 0.:
            raise ValueError(f"Setting a scale less than 0 on a regularizer: {scale}")
        return scale == 0.
    return False


def l2_regularizer(scale, scope=None):
    """scale * l2_loss(weights) (that is scale * sum(w^2) / 2), named `l2_regularizer`."""
    if _check_scale(scale):
        return lambda _: None

    def l2(weights):
        with get_default_graph().name_scope(scope or "l2_regularizer") as name:
            my_scale = convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return math_ops.multiply(my_scale, nn_ops.l2_loss(weights), name=name)
    return l2


def l1_regularizer(scale, scope=None):
    """scale * sum(|weights|), named `l1_regularizer`."""
    if _check_scale(scale):
        return lambda _: None

    def l1(weights):
        with get_default_graph().name_scope(scope or "l1_regularizer") as name:
            my_scale = convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return math_ops.multiply(my_scale, math_ops.reduce_sum(math_ops.abs(weights)), name=name)
    return l1


def sum_regularizer(regularizer_list, scope=None):
    regularizer_list = [r for r in regularizer_list if r is not None]
    if not regularizer_list:
        return None

    def sum_reg(weights):
        with get_default_graph().name_scope(scope or "sum_regularizer") as name:
            penalties = [p for p in (r(weights) for r in regularizer_list) if p is not None]
            return math_ops.add_n(penalties, name=name)
    return sum_reg


def apply_regularization(regularizer, weights_list=None):
    from tfmini.graph import GraphKeys
    from tfmini.variables import trainable_variables
    weights_list = trainable_variables() if weights_list is None else weights_list
    graph = get_default_graph()
    with graph.name_scope("get_regularization_penalty") as scope:
        penalties = [p for p in (regularizer(w) for w in weights_list) if p is not None]
        summed = math_ops.add_n(penalties, name=scope) if penalties else convert_to_tensor(0.0)
        graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, summed)
        return summed


class _ContribVarianceScaling(init_ops.Initializer):
    """contrib's variance_scaling_initializer: factor / n, mode in FAN_IN/FAN_OUT/FAN_AVG, its own constants."""

    def __init__(self, factor, mode, uniform, seed, dtype):
        if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
            raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")
        if not dtypes.as_dtype(dtype).is_floating:
            raise TypeError("Cannot create initializer for non-floating point type.")
        super().__init__(dtype)
        self.factor, self.mode, self.uniform, self.seed = factor, mode, uniform, seed

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = dtype or self.dtype
        fan_in, fan_out = init_ops._compute_fans(shape)
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[self.mode]
        if self.uniform:
            limit = math.sqrt(3.0 * self.factor / n)
            return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)
        return random_ops.truncated_normal(shape, 0.0, math.sqrt(1.3 * self.factor / n), dtype, seed=self.seed)


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=dtypes.float32):
    return _ContribVarianceScaling(factor, mode, uniform, seed, dtype)


def xavier_initializer(uniform=True, seed=None, dtype=dtypes.float32):
    return _ContribVarianceScaling(1.0, "FAN_AVG", uniform, seed, dtype)


xavier_initializer_conv2d = xavier_initializer


def flatten(inputs, outputs_collections=None, scope=None):
    from tfmini import layers
    return layers.flatten(inputs, name=scope or "Flatten")


def fully_connected(inputs, num_outputs, activation_fn=nn_ops.relu, normalizer_fn=None, normalizer_params=None,
                    weights_initializer=None, weights_regularizer=None, biases_initializer=init_ops.Zeros(),
                    biases_regularizer=None, reuse=None, variables_collections=None, outputs_collections=None,
                    trainable=True, scope=None):
    """contrib's fully_connected as tf.layers.dense under the scope `fully_connected` (variables `weights`,
    `biases`), xavier-initialized, ReLU by default."""
    from tfmini import layers
    return layers.dense(inputs, num_outputs, activation=activation_fn,
                        use_bias=biases_initializer is not None and normalizer_fn is None,
                        kernel_initializer=weights_initializer or xavier_initializer(),
                        bias_initializer=biases_initializer or init_ops.Zeros(),
                        kernel_regularizer=weights_regularizer, bias_regularizer=biases_regularizer,
                        trainable=trainable, name=scope, reuse=reuse, _base_name="fully_connected",
                        _kernel_name="weights", _bias_name="biases", _normalizer=(normalizer_fn, normalizer_params))
