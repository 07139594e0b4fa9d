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
from tfmini.ops.cond import case, cond
from tfmini.ops.while_loop import while_loop
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
from tfmini import data
from tfmini import summary
from tfmini.ops.summary_ops import (histogram_summary, image_summary, merge_all_summaries, merge_summary,
                                   scalar_summary)
from tfmini.summary import Event, HistogramProto, SessionLog, Summary
from tfmini.gradients import NoGradient, NotDifferentiable, RegisterGradient, gradients
from tfmini.ops import grad_ops as _grad_ops  # noqa: F401 - registers the *Grad op types imported graphs use
from tfmini.ops.clip_ops import clip_by_global_norm, clip_by_norm, clip_by_value, global_norm
from tfmini import train
# Program scaffolding (tf.app, tf.flags, tf.logging, tf.gfile, tf.compat) and TF 0.x/1.x aliases.
from tfmini import app, compat, flags, gfile
from tfmini import tf_logging as logging
from tfmini.compat import (disable_eager_execution, disable_resource_variables, disable_v2_behavior,
                           enable_eager_execution, enable_v2_behavior, executing_eagerly,
                           resource_variables_enabled)
from tfmini.legacy_ops import (Dimension, arg_max, arg_min, batch_matmul, dimension_at_index, dimension_value,
                               op_scope, variable_op_scope)
# Embeddings the parameter-server way: row reads and writes, sparse gradients, partitioned variables.
from tfmini.indexed_slices import IndexedSlices
from tfmini.ops.embedding_ops import (dynamic_partition, dynamic_stitch, gather, parallel_dynamic_stitch,
                                      scatter_add, scatter_div, scatter_mul, scatter_sub, scatter_update,
                                      sparse_to_dense, unique, unsorted_segment_sum)
from tfmini.partitioned_variables import (PartitionedVariable, fixed_size_partitioner,
                                          min_max_variable_partitioner, variable_axis_size_partitioner)
# Array and utility ops: printing, assertions, split, nd-indexing, masks, top-k, scans, einsum.
from tfmini.ops.logging_ops import Assert, Print, print_v2 as print  # noqa: A001 - TF's name
from tfmini.ops.check_ops import (assert_equal, assert_greater, assert_greater_equal, assert_integer, assert_less,
                                  assert_less_equal, assert_negative, assert_non_negative, assert_non_positive,
                                  assert_none_equal, assert_positive, assert_rank, assert_rank_at_least, assert_type)
from tfmini.ops.array_utils import (boolean_mask, gather_nd, reverse, reverse_v2, scatter_nd, sequence_mask, split,
                                    where_v2)
from tfmini.ops.math_utils import cumprod, cumsum, einsum
from tfmini import debugging, math

# tf.layers, tf.losses, tf.metrics, tf.contrib.layers, and the initializers under their core names.
from tfmini import contrib, layers, losses, metrics
from tfmini import initializers
from tfmini.init_ops import (glorot_normal_initializer, orthogonal_initializer, uniform_unit_scaling_initializer,
                             variance_scaling_initializer)
from tfmini.ops.linalg_ops import qr
from tfmini.train.moving_averages import moving_average_variables

# TFRecord files, tf.train.Example parsing, tf.SparseTensor (what VarLenFeature parses into).
from tfmini import python_io, sparse
from tfmini.sparse_tensor import SparseTensor, SparseTensorValue, sparse_tensor_to_dense
from tfmini.ops.parsing_ops import (FixedLenFeature, FixedLenSequenceFeature, VarLenFeature, parse_example,
                                    parse_single_example, parse_single_sequence_example, parse_tensor,
                                    serialize_tensor)

# Queues, readers and the string ops of TF 1.x input pipelines (tf.train has the producers and batching).
from tfmini.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, PriorityQueue, QueueBase, RandomShuffleQueue
from tfmini.ops.io_ops import (FixedLengthRecordReader, ReaderBase, TextLineReader, TFRecordReader,
                               WholeFileReader, matching_files, read_file)
from tfmini.ops.string_ops import (as_string, decode_csv, decode_raw, string_join, string_split, string_to_number,
                                   substr)
from tfmini import strings
from tfmini.train.queue_runner import add_queue_runner, start_queue_runners
# Conditional accumulators (what SyncReplicasOptimizer aggregates in; issue 17).
from tfmini.ops.accumulator_ops import (ConditionalAccumulator, ConditionalAccumulatorBase,  # noqa: E402
                                        SparseConditionalAccumulator)
# TensorArray, the functional ops over it, and what the RNNs need (issue 15).
from tfmini.ops.tensor_array_ops import TensorArray  # noqa: E402
from tfmini.ops.sequence_ops import reverse_sequence  # noqa: E402
from tfmini.ops.functional_ops import foldl, foldr, map_fn, scan  # noqa: E402

newaxis = None
