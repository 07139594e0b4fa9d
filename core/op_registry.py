"""Op types as data: each is defined once (at the end of this file), and each role registers its part by name.

The client attaches shape inference (`register`/`shape_fn`: how outputs' dtypes and static shapes
follow from inputs and attrs), the worker a kernel, the client a gradient. Registering for an op type
that is not defined, or twice, raises at once; `tests/test_op_units.py` checks that every defined op
has its shape function and kernel.
"""
from tfmini.core import errors


class OpDef:
    __slots__ = ("name", "infer", "ref_inputs", "stateful")

    def __init__(self, name, ref_inputs, stateful):
        self.name, self.infer = name, None
        self.ref_inputs, self.stateful = tuple(ref_inputs), stateful

    @property
    def internal(self):
        return self.name.startswith("_")


_OPS = {}


def define(*names, ref_inputs=(), stateful=False):
    for name in names:
        if name in _OPS:
            raise KeyError(f"Op type '{name}' is defined twice")
        _OPS[name] = OpDef(name, ref_inputs, stateful)


def defined(name, what):
    """The OpDef of `name`, for a role registering `what` for it; KeyError if it is not defined."""
    op_def = _OPS.get(name)
    if op_def is None:
        raise KeyError(f"Registering {what} for op type '{name}', which is not defined in tfmini.core.op_registry")
    return op_def


def register(names, infer):
    """Sets the shape function of one or several op types: `infer(op)` returns [(dtype, TensorShape), ...]."""
    for name in [names] if isinstance(names, str) else names:
        op_def = defined(name, "a shape function")
        if op_def.infer is not None:
            raise KeyError(f"Registering two shape functions for op type '{name}'")
        op_def.infer = infer


def shape_fn(*names):
    """Decorator form of `register`."""
    def wrap(fn):
        register(names, fn)
        return fn
    return wrap


def lookup(name, node_name=None):
    try:
        return _OPS[name]
    except KeyError:
        where = f" (node '{node_name}')" if node_name else ""
        raise errors.NotFoundError(None, None, f"Op type not registered '{name}'{where}") from None


def infer(op):
    """[(dtype, TensorShape), ...] of a graph op's outputs, by the shape function of its type."""
    op_def = lookup(op.type)
    if op_def.infer is None:
        raise errors.NotFoundError(None, None, f"Op type '{op.type}' has no shape function: it cannot be built "
                                               f"in a graph (node '{op.name}')")
    return op_def.infer(op)


def is_registered(name):
    return name in _OPS


def registered_ops():
    return sorted(_OPS)


# -- the definitions (TF's REGISTER_OP, as data) -----------------------------------------------------------
# `ref_inputs`: the inputs an op reads or writes a variable through (a ref or a resource handle); the
# placer puts the op with that variable. `stateful`: the op has effects or draws randomness, so it is
# never folded into a constant. Op types starting with "_" are internal: the master adds them, users
# never build them, and they have no shape function.

# Element-wise math, reductions, matmul, comparisons and casts.
define("Abs", "Acos", "Add", "AddN", "AddV2", "All", "Any", "ArgMax", "ArgMin", "Asin", "Atan", "Atan2", "Cast",
       "Ceil", "Cos", "Cosh", "Div", "DivNoNan", "Elu", "Equal", "Erf", "Erfc", "Exp", "Expm1", "Floor",
       "FloorDiv", "FloorMod", "Greater", "GreaterEqual", "Identity", "Inv", "IsFinite", "IsInf", "IsNan", "Less",
       "LessEqual", "Log", "Log1p", "LogicalAnd", "LogicalNot", "LogicalOr", "MatMul", "Max", "Maximum", "Mean",
       "Min", "Minimum", "Mul", "Neg", "NotEqual", "Pow", "PreventGradient", "Prod", "RealDiv", "Reciprocal",
       "Relu", "Relu6", "Rint", "Round", "Rsqrt", "Select", "Selu", "Sigmoid", "Sign", "Sin", "Sinh", "Snapshot",
       "Softplus", "Softsign", "Sqrt", "Square", "SquaredDifference", "StopGradient", "Sub", "Sum", "Tan", "Tanh",
       "TruncateDiv", "TruncateMod", "Where")
define("BatchMatMul", "BatchMatMulV2")  # tf.matmul of rank >= 3 (V2 broadcasts the batch dimensions)
# Arrays: constants, placeholders, shapes, slicing, joining.
define("ConcatV2", "Const", "ExpandDims", "Fill", "Gather", "GatherV2", "OneHot", "OnesLike", "Pack", "Placeholder",
       "PlaceholderWithDefault", "Range", "Rank", "Reshape", "Shape", "Size", "Slice", "Squeeze", "StridedSlice",
       "Tile", "Transpose", "Unpack", "ZerosLike")
define("NoOp")
# Neural-net ops.
define("BiasAdd", "InTopK", "L2Loss", "LeakyRelu", "LogSoftmax", "Softmax", "SoftmaxCrossEntropyWithLogits",
       "SparseSoftmaxCrossEntropyWithLogits")
# Convolution and pooling, with the backprop ops their gradients emit.
define("AvgPool", "AvgPoolGrad", "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "DepthwiseConv2dNative",
       "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "MaxPool", "MaxPoolGrad",
       "MaxPoolGradGrad")
define("ShapeN")  # the shapes of several tensors at once: Conv2D's gradient asks for its two inputs' shapes
# The gradient helpers TF's gradients emit (and TF-written graphs carry).
define("BroadcastGradientArgs", "ConcatOffset", "EluGrad", "InvGrad", "InvertPermutation", "Pad", "ReciprocalGrad",
       "Relu6Grad", "ReluGrad", "RsqrtGrad", "SeluGrad", "SigmoidGrad", "SoftplusGrad", "SoftsignGrad", "SqrtGrad",
       "StridedSliceGrad", "TanhGrad")
define("RandomShuffle", "RandomStandardNormal", "RandomUniform", "RandomUniformInt", "TruncatedNormal", stateful=True)
define("HistogramSummary", "ImageSummary", "MergeSummary", "ScalarSummary")
# Array and utility ops: splitting, nd-indexing, top-k, scans, einsum (client/ops/array_utils.py, math_utils.py).
define("Cumprod", "Cumsum", "Einsum", "GatherNd", "ReverseV2", "ScatterNd", "SelectV2", "Split", "SplitV",
       "StringFormat", "TensorSummaryV2", "TopKV2")
# Printing and assertions: effects, so never folded into constants.
define("Assert", "Print", "PrintV2", stateful=True)

# Ref variables (TF 1.x) and the optimizers' fused updates through them.
define("Variable", "VariableV2", stateful=True)
define("Assign", "AssignAdd", "AssignSub", "CountUpTo", ref_inputs=(0,), stateful=True)
define("IsVariableInitialized", ref_inputs=(0,))
# Resource variables (as TF 2 writes tf.compat.v1 graphs): the handle is input 0.
define("VarHandleOp", stateful=True)
define("AssignAddVariableOp", "AssignSubVariableOp", "AssignVariableOp", "DestroyResourceOp", "ReadVariableOp",
       "VarIsInitializedOp", ref_inputs=(0,), stateful=True)

# The fused optimizer updates: the variable and its slots come first, in both forms.
APPLY_SLOTS = {"GradientDescent": 0, "Momentum": 1, "Adam": 2, "Adagrad": 1, "RMSProp": 2, "CenteredRMSProp": 3}
APPLY_SLOTS.update({"Adadelta": 2, "Ftrl": 2, "FtrlV2": 2, "ProximalGradientDescent": 0, "ProximalAdagrad": 1})
define("Qr")  # linear algebra: tf.orthogonal_initializer's QR decomposition
define("BiasAddGrad")  # the gradient of BiasAdd's bias, as TF emits it
for _name, _slots in APPLY_SLOTS.items():
    define(f"Apply{_name}", f"ResourceApply{_name}", ref_inputs=tuple(range(_slots + 1)), stateful=True)

# Embeddings the parameter-server way: sparse reads and writes of a variable's rows, partitioned lookups,
# sampled losses. The Scatter* and SparseApply* ops write through the variable (and slots) they take first.
define("DynamicPartition", "DynamicStitch", "ParallelDynamicStitch", "SparseToDense", "Unique",
       "UnsortedSegmentSum")
define("ScatterAdd", "ScatterDiv", "ScatterMul", "ScatterSub", "ScatterUpdate", ref_inputs=(0,), stateful=True)
define("ResourceGather", ref_inputs=(0,))
define("ResourceScatterAdd", "ResourceScatterUpdate", ref_inputs=(0,), stateful=True)
SPARSE_APPLY_SLOTS = {"GradientDescent": 0, "Momentum": 1, "Adagrad": 1, "RMSProp": 2, "CenteredRMSProp": 3}
define(*[f"SparseApply{_name}" for _name in SPARSE_APPLY_SLOTS if _name != "GradientDescent"], stateful=True,
       ref_inputs=(0, 1))
_OPS["SparseApplyRMSProp"].ref_inputs = (0, 1, 2)
_OPS["SparseApplyCenteredRMSProp"].ref_inputs = (0, 1, 2, 3)
define("ComputeAccidentalHits", "FixedUnigramCandidateSampler", "LogUniformCandidateSampler",
       "UniformCandidateSampler", stateful=True)

# Queues and readers (TF 1.x input pipelines): the queue or reader is a resource of its task, and every op that
# takes its handle (input 0; a reader's read also takes the queue it reads file names from) is placed with it.
define("FIFOQueueV2", "PaddingFIFOQueueV2", "PriorityQueueV2", "RandomShuffleQueueV2", stateful=True)
define("QueueCloseV2", "QueueDequeueManyV2", "QueueDequeueUpToV2", "QueueDequeueV2", "QueueEnqueueManyV2",
       "QueueEnqueueV2", "QueueIsClosedV2", "QueueSizeV2", ref_inputs=(0,), stateful=True)
define("FixedLengthRecordReaderV2", "TextLineReaderV2", "TFRecordReaderV2", "WholeFileReaderV2", stateful=True)
define("ReaderReadUpToV2", "ReaderReadV2", ref_inputs=(0, 1), stateful=True)
define("ReaderNumRecordsProducedV2", "ReaderResetV2", ref_inputs=(0,), stateful=True)
# String and parsing ops of the input pipelines; reading the file system is an effect (never folded).
define("AsString", "DecodeCSV", "DecodeRaw", "StringJoin", "StringSplit", "StringToNumber", "Substr")
define("MatchingFiles", "ReadFile", stateful=True)
# Checkpoints in TF's V2 format, written and read on the variables' own tasks (issue 17; core/tensor_bundle.py).
define("MergeV2Checkpoints", "RestoreV2", "SaveV2", stateful=True)
define("ShardedFilename", "ShardedFilespec")
# tf.train.Example parsing (tf.parse_example / parse_single_example both build ParseExampleV2, as TF 2 does).
define("ParseExampleV2", "ParseSequenceExampleV2", "ParseTensor", "SerializeTensor")

# tf.data: dataset ops output a DT_VARIANT handle (a worker object describing the pipeline); the iterator is a
# resource (input 0 of GetNext, input 1 of MakeIterator) that walks one.
define("BatchDataset", "BatchDatasetV2", "CacheDataset", "ConcatenateDataset", "FixedLengthRecordDatasetV2",
       "PaddedBatchDatasetV2", "PrefetchDataset", "RangeDataset", "RepeatDataset", "ShardDataset", "SkipDataset",
       "TakeDataset", "TensorDataset", "TensorSliceDataset", "TextLineDataset", "TFRecordDataset", "ZipDataset")
define("ShuffleDataset", stateful=True)
define("FilterDataset", "FlatMapDataset", "InterleaveDataset", "MapDataset")  # run a graph function per element
define("Iterator", "IteratorFromStringHandle", "IteratorFromStringHandleV2", "IteratorV2", "OneShotIterator",
       stateful=True)
define("IteratorGetNext", "IteratorToStringHandle", ref_inputs=(0,), stateful=True)
define("MakeIterator", ref_inputs=(1,), stateful=True)

# Conditional accumulators (SyncReplicasOptimizer, issue 17): the accumulator is a resource of its task (the ps
# of its variable), and every op taking it (input 0) is placed with it. TF's dense accumulator is the Resource*
# family, its sparse one and older graphs' dense one the string-ref family; the kernels are shared.
define("ConditionalAccumulator", "ResourceConditionalAccumulator", "SparseConditionalAccumulator", stateful=True)
define("AccumulatorApplyGradient", "AccumulatorNumAccumulated", "AccumulatorSetGlobalStep", "AccumulatorTakeGradient",
       "ResourceAccumulatorApplyGradient", "ResourceAccumulatorNumAccumulated", "ResourceAccumulatorSetGlobalStep",
       "ResourceAccumulatorTakeGradient", "SparseAccumulatorApplyGradient", "SparseAccumulatorTakeGradient",
       ref_inputs=(0,), stateful=True)

# Internal: the master's cut edges and the client's feeds and fetches.
define("_Send", "_Recv", "_HostSend", "_HostRecv", stateful=True)
# Control flow (TF 1.x's v1 representation: frames, iterations, dead tensors; worker/frames.py runs them).
# The Ref* forms carry a variable reference through (input 0 is a ref; they are placed with the variable).
define("ControlTrigger", "Enter", "Exit", "LoopCond", "Merge", "NextIteration", "Switch")
define("RefEnter", "RefExit", "RefMerge", "RefNextIteration", "RefSwitch", ref_inputs=(0,), stateful=True)
# The stacks of while_loop gradients: the forward loop pushes each iteration's value, the backward loop pops.
define("StackV2", stateful=True)
define("StackCloseV2", "StackPopV2", "StackPushV2", ref_inputs=(0,), stateful=True)
# TensorArray (tf.TensorArray, map_fn, scan, dynamic_rnn): a step's array is a resource of its task made by
# TensorArrayV3; every op that takes its handle (input 0) is placed with it. The flow tensor orders the ops.
define("TensorArrayV3", stateful=True)
define("TensorArrayCloseV3", "TensorArrayConcatV3", "TensorArrayGatherV3", "TensorArrayGradV3", "TensorArrayReadV3",
       "TensorArrayScatterV3", "TensorArraySizeV3", "TensorArraySplitV3", "TensorArrayWriteV3", ref_inputs=(0,),
       stateful=True)
define("ReverseSequence")  # bidirectional_dynamic_rnn reverses each sequence up to its length
