"""The `import tfmini as tf` API: every public name, loaded by `tfmini.__getattr__` on first use."""
from tfmini.core import dtypes, errors
from tfmini.core.dtypes import (DType, as_dtype, bfloat16, bool, complex64, complex128, double, float16, float32,
                           float64, half, int8, int16, int32, int64, resource, string, uint8, uint16, uint32,
                           uint64, variant)
from tfmini.core.device import DeviceSpec
from tfmini.graph import (Graph, GraphKeys, Operation, Tensor, add_to_collection, add_to_collections,
                          colocate_with, control_dependencies, device, get_collection, get_collection_ref,
                          get_default_graph, get_seed, name_scope, reset_default_graph, set_random_seed)
from tfmini.core.tensor_shape import TensorShape
from tfmini.ops.core import constant, convert_to_tensor, register_tensor_conversion_function
from tfmini.ops.math_ops import (abs, acos, add, add_n, argmax, argmin, asin, atan, atan2, cast, ceil, cos, cosh,
                                 div, div_no_nan, divide, equal, erf, erfc, exp, expm1, floor, floor_div, floordiv,
                                 floormod, greater, greater_equal, is_finite, is_inf, is_nan, less, less_equal, log,
                                 log1p, logical_and, logical_not, logical_or, matmul, maximum, minimum, mod, mul,
                                 multiply, neg, negative, not_equal, pow, realdiv, reciprocal, reduce_all,
                                 reduce_any, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, rint,
                                 round, rsqrt, saturate_cast, select, sigmoid, sign, sin, sinh, sqrt, square,
                                 squared_difference, sub, subtract, tan, tanh, to_double, to_float, to_int32,
                                 to_int64, truediv, truncatediv, truncatemod, where)
from tfmini.ops.array_ops import (concat, expand_dims, fill, identity, one_hot, ones, ones_like, pack, placeholder,
                                  placeholder_with_default, range, rank, reshape, shape, size, slice, squeeze, stack,
                                  stop_gradient, strided_slice, tile, transpose, unpack, unstack, zeros, zeros_like)
from tfmini.ops.control_flow_ops import group, no_op, tuple, with_dependencies
from tfmini.ops.random_ops import random_normal, random_shuffle, random_uniform, truncated_normal
from tfmini.ops.state_ops import assign, assign_add, assign_sub, count_up_to, is_variable_initialized
from tfmini.ops import nn_ops as _nn_ops
from tfmini.variables import (Variable, all_variables, assert_variables_initialized, global_variables,
                              global_variables_initializer, initialize_all_variables, initialize_local_variables,
                              initialize_variables, local_variables, local_variables_initializer, model_variables,
                              report_uninitialized_variables, trainable_variables, variables_initializer)
from tfmini.variable_scope import AUTO_REUSE, VariableScope, get_variable, get_variable_scope, variable_scope
from tfmini.init_ops import (constant_initializer, glorot_uniform_initializer, ones_initializer,
                             random_normal_initializer, random_uniform_initializer, truncated_normal_initializer,
                             zeros_initializer)
from tfmini.session import InteractiveSession, Session, get_default_session
from tfmini.protos.config_pb2 import ConfigProto, GPUOptions, GraphOptions, RunMetadata, RunOptions
from tfmini import nn
from tfmini.ops import resource_variable_ops as _resource_variable_ops
from tfmini.importer import import_graph_def
from tfmini import io
from tfmini import summary
from tfmini.ops.summary_ops import (histogram_summary, image_summary, merge_all_summaries, merge_summary,
                                   scalar_summary)
from tfmini.summary import Event, HistogramProto, SessionLog, Summary
from tfmini.gradients import NoGradient, NotDifferentiable, RegisterGradient, gradients
from tfmini.ops import grad_ops as _grad_ops  # noqa: F401 - registers the *Grad op types imported graphs use
from tfmini.ops.clip_ops import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm
from tfmini import train

newaxis = None
