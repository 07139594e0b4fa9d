"""tf.nn"""
from tfmini.ops.math_ops import sigmoid, tanh  # noqa: F401
from tfmini.ops.nn_ops import (bias_add, dropout, elu, in_top_k, l2_loss, leaky_relu, log_softmax, relu,  # noqa: F401
                               relu6, selu, softmax, softmax_cross_entropy_with_logits,
                               softmax_cross_entropy_with_logits_v2, softplus, softsign,
                               sparse_softmax_cross_entropy_with_logits)
