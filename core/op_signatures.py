"""The op type signatures tfmini checks (TF's REGISTER_OP input, output and attr lines, for the ops tfmini runs),
as data for core/op_types.py, which loads this module. An op not listed here is not type-checked."""
from tfmini.core import dtypes as d
from tfmini.core.op_types import FLOAT, FLOAT_COMPLEX, INDEX, NUMBER, REAL, SIGNATURES, Attr, by_enum, sig

_UNARY = ["Abs", "Ceil", "Floor", "Neg", "Rint", "Round", "Sign", "Square"]
sig(_UNARY, "x:T -> y:T", T=NUMBER)
sig(["Acos", "Asin", "Atan", "Cos", "Cosh", "Erf", "Erfc", "Exp", "Expm1", "Inv", "Log", "Log1p", "Reciprocal",
     "Rsqrt", "Sigmoid", "Sin", "Sinh", "Sqrt", "Tan", "Tanh"], "x:T -> y:T", T=FLOAT_COMPLEX)
sig(["IsFinite", "IsInf", "IsNan"], "x:T -> y:bool", T=FLOAT)
sig(["Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "LeakyRelu"], "features:T -> activations:T", T=REAL)
sig(["ReluGrad", "Relu6Grad", "SoftplusGrad", "SoftsignGrad"], "gradients:T, features:T -> backprops:T", T=REAL)
sig(["EluGrad", "SeluGrad"], "gradients:T, outputs:T -> backprops:T", T=FLOAT)
sig(["SigmoidGrad", "TanhGrad", "RsqrtGrad", "SqrtGrad", "ReciprocalGrad", "InvGrad"], "y:T, dy:T -> z:T",
    T=FLOAT_COMPLEX)
sig(["Add", "AddV2", "Sub", "Mul", "Div", "RealDiv", "DivNoNan", "Maximum", "Minimum", "Pow", "SquaredDifference",
     "FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod", "Atan2"], "x:T, y:T -> z:T")
for _op, _types in {"Add": by_enum(*NUMBER, d.string), "AddV2": NUMBER, "Sub": NUMBER, "Mul": NUMBER, "Div": NUMBER,
                    "RealDiv": NUMBER, "DivNoNan": FLOAT_COMPLEX, "Maximum": REAL, "Minimum": REAL, "Pow": NUMBER,
                    "SquaredDifference": NUMBER, "FloorDiv": NUMBER, "FloorMod": REAL, "TruncateDiv": NUMBER,
                    "TruncateMod": REAL, "Atan2": FLOAT}.items():
    SIGNATURES[_op].attrs["T"] = Attr(_types)
sig(["Equal", "NotEqual"], "x:T, y:T -> z:bool")
sig(["Less", "LessEqual", "Greater", "GreaterEqual"], "x:T, y:T -> z:bool", T=REAL)
sig(["LogicalAnd", "LogicalOr"], "x:bool, y:bool -> z:bool")
sig("LogicalNot", "x:bool -> y:bool")
sig("AddN", "inputs:N*T -> sum:T", T=NUMBER)
sig("MatMul", "a:T, b:T -> product:T", T=NUMBER)
sig(["BatchMatMul", "BatchMatMulV2"], "x:T, y:T -> output:T", T=NUMBER)
sig(["Sum", "Mean", "Prod"], "input:T, reduction_indices:Tidx -> output:T", T=NUMBER, Tidx=Attr(INDEX, d.int32))
sig(["Max", "Min"], "input:T, reduction_indices:Tidx -> output:T", T=REAL, Tidx=Attr(INDEX, d.int32))
sig(["All", "Any"], "input:bool, reduction_indices:Tidx -> output:bool", Tidx=Attr(INDEX, d.int32))
sig(["ArgMax", "ArgMin"], "input:T, dimension:Tidx -> output:output_type", T=by_enum(*NUMBER, d.bool),
    Tidx=Attr(INDEX, d.int32), output_type=Attr((d.int16, d.uint16, d.int32, d.int64), d.int64))
sig("Cast", "x:SrcT -> y:DstT")
sig(["Identity", "StopGradient", "PreventGradient", "Snapshot"], "input:T -> output:T")
sig("Select", "condition:bool, t:T, e:T -> output:T")
sig("SelectV2", "condition:bool, t:T, e:T -> output:T")
sig("Where", "input:T -> index:int64", T=Attr(by_enum(*NUMBER, d.bool), d.bool))
# Arrays.
sig(["Const", "Placeholder"], "-> output:dtype")
sig("PlaceholderWithDefault", "input:dtype -> output:dtype")
sig("ConcatV2", "values:N*T, axis:Tidx -> output:T", Tidx=Attr(INDEX, d.int32))
sig("Pack", "values:N*T -> output:T")
sig("Unpack", "value:T -> output:num*T")
sig("ExpandDims", "input:T, dim:Tdim -> output:T", Tdim=Attr(INDEX, d.int32))
sig("Fill", "dims:index_type, value:T -> output:T", index_type=Attr(INDEX, d.int32))
sig("Gather", "params:Tparams, indices:Tindices -> output:Tparams", Tindices=INDEX)
sig("GatherV2", "params:Tparams, indices:Tindices, axis:Taxis -> output:Tparams", Tindices=(d.int16, d.int32, d.int64),
    Taxis=INDEX)
sig("OneHot", "indices:TI, depth:int32, on_value:T, off_value:T -> output:T",
    TI=Attr((d.uint8, d.int8, d.int32, d.int64), d.int64))
sig(["OnesLike", "ZerosLike"], "x:T -> y:T")
sig("Range", "start:Tidx, limit:Tidx, delta:Tidx -> output:Tidx", Tidx=Attr(REAL, d.int32))
sig("Rank", "input:T -> output:int32")
sig("Reshape", "tensor:T, shape:Tshape -> output:T", Tshape=Attr(INDEX, d.int32))
sig(["Shape", "Size"], "input:T -> output:out_type", out_type=Attr(INDEX, d.int32))
sig("ShapeN", "input:N*T -> output:N*out_type", out_type=Attr(INDEX, d.int32))
sig("Slice", "input:T, begin:Index, size:Index -> output:T", Index=INDEX)
sig("Squeeze", "input:T -> output:T")
sig("StridedSlice", "input:T, begin:Index, end:Index, strides:Index -> output:T", Index=INDEX)
sig("Tile", "input:T, multiples:Tmultiples -> output:T", Tmultiples=Attr(INDEX, d.int32))
sig("Transpose", "x:T, perm:Tperm -> y:T", Tperm=Attr(INDEX, d.int32))
sig("Pad", "input:T, paddings:Tpaddings -> output:T", Tpaddings=Attr(INDEX, d.int32))
sig("InvertPermutation", "x:T -> y:T", T=Attr(INDEX, d.int32))
sig("BroadcastGradientArgs", "s0:T, s1:T -> r0:T, r1:T", T=Attr(INDEX, d.int32))
sig("NoOp", "->")
# Neural nets.
sig("BiasAdd", "value:T, bias:T -> output:T", T=NUMBER)
sig("BiasAddGrad", "out_backprop:T -> output:T", T=NUMBER)
sig("L2Loss", "t:T -> output:T", T=FLOAT)
sig("Softmax", "logits:T -> softmax:T", T=FLOAT)
sig("LogSoftmax", "logits:T -> logsoftmax:T", T=FLOAT)
sig("SoftmaxCrossEntropyWithLogits", "features:T, labels:T -> loss:T, backprop:T", T=FLOAT)
sig("SparseSoftmaxCrossEntropyWithLogits", "features:T, labels:Tlabels -> loss:T, backprop:T", T=FLOAT,
    Tlabels=Attr(INDEX, d.int64))
sig("InTopK", "predictions:float32, targets:T -> precision:bool", T=Attr(INDEX, d.int32))
sig("Conv2D", "input:T, filter:T -> output:T", T=by_enum(*FLOAT, d.int32))
sig("Conv2DBackpropInput", "input_sizes:int32, filter:T, out_backprop:T -> output:T", T=by_enum(*FLOAT, d.int32))
sig("Conv2DBackpropFilter", "input:T, filter_sizes:int32, out_backprop:T -> output:T", T=FLOAT)
sig(["MaxPool", "AvgPool"], "input:T -> output:T", T=REAL)
sig("MaxPoolGrad", "orig_input:T, orig_output:T, grad:T -> output:T", T=REAL)
sig("AvgPoolGrad", "orig_input_shape:int32, grad:T -> output:T", T=FLOAT)
# Variables (a ref is typed as its base type) and the plainest of their updates.
sig(["Variable", "VariableV2"], "-> ref:Ref(dtype)")
sig("IsVariableInitialized", "ref:Ref(dtype) -> is_initialized:bool")  # dtype: the variable's, not the output's
sig(["Assign", "AssignAdd", "AssignSub"], "ref:Ref(T), value:T -> output_ref:Ref(T)")
sig("ApplyGradientDescent", "var:Ref(T), alpha:T, delta:T -> out:Ref(T)", T=NUMBER)
sig("VarHandleOp", "-> resource:resource")
sig("ReadVariableOp", "resource:resource -> value:dtype")
sig(["AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"], "resource:resource, value:dtype ->")
# The optimizers' fused updates: the variable, its slots and every hyperparameter have the variable's type T.
_APPLY_ARGS = {"GradientDescent": "var, alpha, delta", "Momentum": "var, accum, lr, grad, momentum",
               "Adam": "var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad",
               "Adagrad": "var, accum, lr, grad", "RMSProp": "var, ms, mom, lr, rho, momentum, epsilon, grad",
               "CenteredRMSProp": "var, mg, ms, mom, lr, rho, momentum, epsilon, grad",
               "Adadelta": "var, accum, accum_update, lr, rho, epsilon, grad",
               "Ftrl": "var, accum, linear, grad, lr, l1, l2, lr_power",
               "FtrlV2": "var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power",
               "ProximalGradientDescent": "var, alpha, l1, l2, delta", "ProximalAdagrad": "var, accum, lr, l1, l2, grad"}
_SLOT_NAMES = {"var", "accum", "m", "v", "ms", "mom", "mg", "accum_update", "linear"}
for _name, _args in _APPLY_ARGS.items():
    _names = [a.strip() for a in _args.split(",")]
    if _name != "GradientDescent":
        sig(f"Apply{_name}", ", ".join(f"{a}:T" for a in _names) + " -> out:T", T=NUMBER)
    sig(f"ResourceApply{_name}", ", ".join(f"{a}:{'resource' if a in _SLOT_NAMES else 'T'}" for a in _names)
        + " ->", T=NUMBER)
_SPARSE_APPLY_ARGS = {"Momentum": "var, accum, lr, grad, indices, momentum", "Adagrad": "var, accum, lr, grad, indices",
                      "RMSProp": "var, ms, mom, lr, rho, momentum, epsilon, grad, indices",
                      "CenteredRMSProp": "var, mg, ms, mom, lr, rho, momentum, epsilon, grad, indices"}
for _name, _args in _SPARSE_APPLY_ARGS.items():
    sig(f"SparseApply{_name}", ", ".join("indices:Tindices" if a.strip() == "indices" else f"{a.strip()}:T"
                                         for a in _args.split(",")) + " -> out:T", T=NUMBER, Tindices=INDEX)
sig(["ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv", "ScatterUpdate"],
    "ref:Ref(T), indices:Tindices, updates:T -> output_ref:Ref(T)", Tindices=INDEX)
sig("ResourceGather", "resource:resource, indices:Tindices -> output:dtype", Tindices=INDEX)
sig(["ResourceScatterAdd", "ResourceScatterUpdate"], "resource:resource, indices:Tindices, updates:dtype ->",
    Tindices=INDEX)
# Ops whose inputs their kernels check, declared by their outputs: a dataset, queue, reader or iterator handle
# cannot reach an op that computes on tensors, nor a string an op on numbers.
sig(["BatchDataset", "BatchDatasetV2", "CacheDataset", "ConcatenateDataset", "FixedLengthRecordDatasetV2",
     "PaddedBatchDatasetV2", "PrefetchDataset", "RangeDataset", "RepeatDataset", "ShardDataset", "SkipDataset",
     "TakeDataset", "TensorDataset", "TensorSliceDataset", "TextLineDataset", "TFRecordDataset", "ZipDataset",
     "ShuffleDataset", "FilterDataset", "FlatMapDataset", "InterleaveDataset", "MapDataset"], "... -> handle:variant")
sig(["FIFOQueueV2", "PaddingFIFOQueueV2", "PriorityQueueV2", "RandomShuffleQueueV2", "FixedLengthRecordReaderV2",
     "TextLineReaderV2", "TFRecordReaderV2", "WholeFileReaderV2", "Iterator", "IteratorV2", "OneShotIterator",
     "IteratorFromStringHandle", "IteratorFromStringHandleV2"], "... -> handle:resource")
sig(["AsString", "ReadFile", "MatchingFiles", "IteratorToStringHandle", "StringFormat"],
    "... -> output:string")
sig(["ReaderReadV2", "ReaderReadUpToV2"], "... -> key:string, value:string")
sig("ShardedFilename", "basename:string, shard:int32, num_shards:int32 -> filename:string")  # the Saver's
sig("ShardedFilespec", "basename:string, num_shards:int32 -> filename:string")
# Array utilities, random numbers, summaries and strings.
sig("TopKV2", "input:T, k:int32 -> values:T, indices:index_type", T=REAL,
    index_type=Attr((d.int16, d.int32, d.int64), d.int32))
sig(["Cumsum", "Cumprod"], "x:T, axis:Tidx -> out:T", T=NUMBER, Tidx=Attr(INDEX, d.int32))
sig("Split", "split_dim:int32, value:T -> output:num_split*T")
sig("SplitV", "value:T, size_splits:Tlen, split_dim:int32 -> output:num_split*T",
    Tlen=Attr((d.int8, d.int32, d.int64), d.int64))
sig("Unique", "x:T -> y:T, idx:out_idx", out_idx=Attr(INDEX, d.int32))
sig(["DynamicStitch", "ParallelDynamicStitch"], "indices:N*int32, data:N*T -> merged:T")
sig("UnsortedSegmentSum", "data:T, segment_ids:Tindices, num_segments:Tnumsegments -> output:T", T=NUMBER,
    Tindices=INDEX, Tnumsegments=Attr(INDEX, d.int32))
sig("GatherNd", "params:Tparams, indices:Tindices -> output:Tparams", Tindices=(d.int16, d.int32, d.int64))
sig("ScatterNd", "indices:Tindices, updates:T, shape:Tindices -> output:T", Tindices=(d.int16, d.int32, d.int64))
sig("ReverseV2", "tensor:T, axis:Tidx -> output:T", Tidx=Attr(INDEX, d.int32))
sig("Einsum", "inputs:N*T -> output:T", T=NUMBER)
sig("ConcatOffset", "concat_dim:int32, shape:N*shape_type -> offset:N*shape_type", shape_type=Attr(INDEX, d.int32))
sig("StridedSliceGrad", "shape:Index, begin:Index, end:Index, strides:Index, dy:T -> output:T", Index=INDEX)
sig("Qr", "input:T -> q:T, r:T", T=FLOAT_COMPLEX)
sig("MaxPoolGradGrad", "orig_input:T, orig_output:T, grad:T -> output:T", T=REAL)
sig("DepthwiseConv2dNative", "input:T, filter:T -> output:T", T=FLOAT)
sig("DepthwiseConv2dNativeBackpropInput", "input_sizes:int32, filter:T, out_backprop:T -> output:T", T=FLOAT)
sig("DepthwiseConv2dNativeBackpropFilter", "input:T, filter_sizes:int32, out_backprop:T -> output:T", T=FLOAT)
sig(["RandomUniform", "RandomStandardNormal", "TruncatedNormal"], "shape:T -> output:dtype", T=INDEX, dtype=FLOAT)
sig("RandomUniformInt", "shape:T, minval:Tout, maxval:Tout -> output:Tout", T=INDEX, Tout=INDEX)
sig("RandomShuffle", "value:T -> output:T")
sig("ScalarSummary", "tags:string, values:T -> summary:string", T=REAL)
sig("HistogramSummary", "tag:string, values:T -> summary:string", T=REAL)
sig("ImageSummary", "tag:string, tensor:T -> summary:string", T=Attr(by_enum(d.uint8, d.float32, d.float16, d.float64),
                                                                  d.float32))
sig("MergeSummary", "inputs:N*string -> summary:string")
sig("StringJoin", "inputs:N*string -> output:string")
sig("StringToNumber", "string_tensor:string -> output:out_type",
    out_type=Attr(by_enum(d.float32, d.float64, d.int32, d.int64), d.float32))
sig("CountUpTo", "ref:Ref(T) -> output:T", T=INDEX)
sig("VarIsInitializedOp", "resource:resource -> is_initialized:bool")
# Control flow (TF's while loops and conds): a frame's name has no default.
sig(["Enter", "RefEnter"], "data:T -> output:T", frame_name="string!", is_constant="bool", parallel_iterations="int")
sig(["Exit", "RefExit", "NextIteration", "RefNextIteration"], "data:T -> output:T")
sig(["Switch", "RefSwitch"], "data:T, pred:bool -> output_false:T, output_true:T")
sig(["Merge", "RefMerge"], "inputs:N*T -> output:T, value_index:int32")
sig("LoopCond", "input:bool -> output:bool")
sig("ControlTrigger", "->")
# The master's cut edges: what a partition receives has the type its _Recv says.
sig(["_Send", "_HostSend"], "tensor:T ->")
sig(["_Recv", "_HostRecv"], "-> tensor:tensor_type")

# The attrs that are no types, by kind, where a kernel reads them (TF's OpDef attr lines): checked when given.
_POOL = {"ksize": "list(int)", "strides": "list(int)", "padding": "string", "data_format": "string"}
_CONV = {"strides": "list(int)", "padding": "string", "data_format": "string", "dilations": "list(int)",
         "use_cudnn_on_gpu": "bool"}
_MASKS = {m: "int" for m in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
_SENDRECV = {"tensor_name": "string", "send_device": "string", "send_device_incarnation": "int",
             "recv_device": "string", "client_terminated": "bool"}
_VARIABLE = {"container": "string", "shared_name": "string"}  # shape: tfmini's client also takes a list of ints
for _ops, _kinds in [
        (["Const"], {"value": "tensor"}), (["Placeholder", "PlaceholderWithDefault"], {"shape": "shape"}),
        (["MatMul"], {"transpose_a": "bool", "transpose_b": "bool"}),
        (["BatchMatMul", "BatchMatMulV2"], {"adj_x": "bool", "adj_y": "bool"}),
        (["Sum", "Mean", "Prod", "Max", "Min", "All", "Any"], {"keep_dims": "bool"}),
        (["Pack", "Unpack", "OneHot"], {"axis": "int"}), (["Squeeze"], {"squeeze_dims": "list(int)"}),
        (["StridedSlice", "StridedSliceGrad"], _MASKS), (["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
         "DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"], _CONV),
        (["MaxPool", "AvgPool", "MaxPoolGrad", "AvgPoolGrad", "MaxPoolGradGrad"], _POOL),
        (["BiasAdd", "BiasAddGrad"], {"data_format": "string"}), (["Cumsum", "Cumprod"], {"exclusive": "bool",
                                                                                            "reverse": "bool"}),
        (["TopKV2"], {"sorted": "bool"}), (["StringJoin"], {"separator": "string"}), (["LeakyRelu"], {"alpha": "float"}),
        (["Variable", "VariableV2", "VarHandleOp"], _VARIABLE), (["Assign"], {"validate_shape": "bool"}),
        (["Cast"], {"Truncate": "bool"}), (["Gather"], {"validate_indices": "bool"}), (["GatherV2"], {"batch_dims": "int"}),
        (["RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "RandomShuffle"],
         {"seed": "int", "seed2": "int"}), (["InTopK"], {"k": "int"}),
        (["_Send", "_Recv", "_HostSend", "_HostRecv"], _SENDRECV)]:
    for _op in _ops:
        SIGNATURES[_op].other_attrs.update(_kinds)
for _op, _s in SIGNATURES.items():
    if _op.startswith(("Apply", "ResourceApply", "SparseApply", "Scatter", "ResourceScatter")) or \
            _op in ("Assign", "AssignAdd", "AssignSub"):
        _s.other_attrs["use_locking"] = "bool"
    if _op.endswith("ApplyMomentum"):
        _s.other_attrs["use_nesterov"] = "bool"
