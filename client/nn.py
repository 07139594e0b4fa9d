"""tf.nn"""
from tfmini.ops.math_ops import sigmoid, tanh  # noqa: F401
from tfmini.ops.nn_ops import (bias_add, dropout, elu, in_top_k, l2_loss, leaky_relu, log_softmax, relu,  # noqa: F401
                               relu6, selu, softmax, softmax_cross_entropy_with_logits,
                               softmax_cross_entropy_with_logits_v2, softplus, softsign,
                               sparse_softmax_cross_entropy_with_logits)
from tfmini.ops.conv_ops import (avg_pool, avg_pool2d, conv1d, conv2d, conv2d_backprop_filter,  # noqa: F401
                                 conv2d_backprop_input, conv2d_transpose, depthwise_conv2d, depthwise_conv2d_native,
                                 depthwise_conv2d_native_backprop_filter, depthwise_conv2d_native_backprop_input,
                                 max_pool, max_pool2d)
from tfmini.ops.nn_impl import (batch_normalization, l2_normalize, moments,  # noqa: F401,E402
                                sigmoid_cross_entropy_with_logits, weighted_cross_entropy_with_logits, xw_plus_b)
from tfmini.ops.embedding_ops import embedding_lookup  # noqa: F401,E402
from tfmini.ops.sampled_losses import (compute_accidental_hits, fixed_unigram_candidate_sampler,  # noqa: F401,E402
                                       log_uniform_candidate_sampler, nce_loss, sampled_softmax_loss,
                                       uniform_candidate_sampler)
from tfmini.ops.math_utils import top_k  # noqa: F401,E402
# RNNs: tf.nn.rnn_cell, static/dynamic/bidirectional rnn (issue 15).
from tfmini import rnn_cell  # noqa: F401,E402
from tfmini.rnn import (bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn,  # noqa: F401,E402
                        static_rnn)
