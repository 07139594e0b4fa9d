"""tf.nn convolutions and pools (TF 1.x signatures) and the shape functions of their op types.

Wrappers take TensorFlow's arguments and build TensorFlow's nodes: Conv2D, Conv2DBackpropInput
(conv2d_transpose), DepthwiseConv2dNative, MaxPool, AvgPool, and conv1d as ExpandDims + Conv2D + Squeeze.
Shape functions raise ValueError with TensorFlow's graph-construction messages.
"""
import numpy as np

from tfmini.core import conv_geometry, dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of
from tfmini.ops import array_ops
from tfmini.ops.core import constant, constant_shape, convert_to_tensor, make_output

_FORMATS = ("NHWC", "NCHW")


# -- TF's argument handling (nn_ops.py: _get_sequence, convert_padding) ---------------------------------

def _get_sequence(value, n, channel_index, name):
    """strides/dilations/ksize as 4 values in data-format order from an int or a list of 1, n or n + 2."""
    if value is None:
        return [1] * (n + 2)
    value = list(value) if hasattr(value, "__len__") else [value]  # an int, or a numpy scalar
    if len(value) == n + 2:
        return [int(v) for v in value]
    if len(value) == 1:
        value = value * n
    elif len(value) != n:
        raise ValueError(f"{name} should be of length 1, {n} or {n + 2}. Received: {name}={value} of length "
                         f"{len(value)}")
    value = [int(v) for v in value]
    return [1, 1] + value if channel_index == 1 else [1] + value + [1]


def _convert_padding(padding):
    """(padding, explicit_paddings): a list of [before, after] pairs becomes EXPLICIT, as in TF."""
    if padding == "EXPLICIT":
        raise ValueError("'EXPLICIT' is not a valid value for `padding`. To use explicit padding, `padding` must "
                         "be a list.")
    if isinstance(padding, (list, tuple)):
        explicit = []
        for i, pair in enumerate(padding):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"When `padding` is a list, each element of `padding` must be a list/tuple of "
                                 f"size 2. Received: padding={padding} with element at index {i}")
            explicit.extend(int(p) for p in pair)
        if len(padding) != 4:
            raise ValueError(f"When padding is a list, it must be of size 4. Received: padding={padding} of size "
                             f"{len(padding)}")
        return "EXPLICIT", explicit
    return _check_padding(padding, ("SAME", "VALID", "EXPLICIT")), []


def _check_padding(padding, allowed):
    padding = conv_geometry.as_str(padding)
    if padding not in allowed:
        listed = ", ".join(f'"{p}"' for p in allowed)
        raise ValueError(f"Value for attr 'padding' of \"{padding}\" is not in the list of allowed values: {listed}")
    return padding


def _check_format(data_format):
    data_format = "NHWC" if data_format is None else conv_geometry.as_str(data_format)
    if data_format not in _FORMATS:
        raise ValueError(f"Value for attr 'data_format' of \"{data_format}\" is not in the list of allowed values: "
                         f"\"NHWC\", \"NCHW\"")
    return data_format


def _lookup(new_name, new, old_name, old):
    if new is not None and old is not None:
        raise ValueError(f"Cannot specify both '{new_name}' and '{old_name}'")
    return new if new is not None else old


def _conv_attrs(strides, padding, data_format, dilations, **extra):
    data_format = _check_format(data_format)
    channel_index = 1 if data_format == "NCHW" else 3
    padding, explicit = _convert_padding(padding)
    attrs = {"strides": _get_sequence(strides, 2, channel_index, "strides"), "padding": padding,
             "explicit_paddings": explicit, "data_format": data_format,
             "dilations": _get_sequence(dilations, 2, channel_index, "dilations")}
    attrs.update(extra)
    return attrs


def _pool_attrs(ksize, strides, padding, data_format, allowed):
    data_format = _check_format(data_format)
    channel_index = 1 if data_format == "NCHW" else 3
    return {"ksize": _get_sequence(ksize, 2, channel_index, "ksize"),
            "strides": _get_sequence(strides, 2, channel_index, "strides"),
            "padding": _check_padding(padding, allowed), "data_format": data_format}


# -- the public wrappers ------------------------------------------------------------------------------------

def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",  # noqa: A002
           dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006 - TF's default
    """tf.nn.conv2d: input [batch, h, w, in] (NHWC) or [batch, in, h, w] (NCHW), filter [kh, kw, in, out]."""
    filter = _lookup("filters", filters, "filter", filter)  # noqa: A001
    attrs = _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    return make_output("Conv2D", [input, filter], attrs, name=name or "Conv2D", arg_names=["input", "filter"])


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",  # noqa: A002
                     data_format="NHWC", name=None, input=None, filters=None, dilations=None):  # noqa: A002
    """tf.nn.conv2d_transpose: the gradient of conv2d with respect to its input, as Conv2DBackpropInput.
    filter is [kh, kw, out, in]: the output has `out` channels and `output_shape`."""
    value = _lookup("input", input, "value", value)
    filter = _lookup("filters", filters, "filter", filter)  # noqa: A001
    graph = _graph_of([value, filter, output_shape])
    with graph.as_default(), graph.name_scope(name or "conv2d_transpose") as scope:
        attrs = _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu=True)
        sizes = output_shape if hasattr(output_shape, "op") else convert_to_tensor(
            list(output_shape) if isinstance(output_shape, tuple) else output_shape, dtype=dtypes.int32,
            name="input_sizes")
        value = convert_to_tensor(value, name="out_backprop")
        filter = convert_to_tensor(filter, dtype=value.dtype.base_dtype, name="filter")  # noqa: A001
        attrs["T"] = value.dtype.base_dtype
        return graph.create_op("Conv2DBackpropInput", [sizes, filter, value], attrs, name=scope).outputs[0]


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC",  # noqa: A002
                            dilations=[1, 1, 1, 1], name=None):  # noqa: B006 - TF's default
    """tf.nn.depthwise_conv2d_native: filter [kh, kw, in, multiplier] -> in * multiplier output channels."""
    attrs = _conv_attrs(strides, padding, data_format, dilations)
    return make_output("DepthwiseConv2dNative", [input, filter], attrs, name=name or "DepthwiseConv2dNative",
                       arg_names=["input", "filter"])


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None, data_format=None,  # noqa: A002
                     dilations=None):
    """tf.nn.depthwise_conv2d: one DepthwiseConv2dNative under the name scope "depthwise"; a rate above 1
    goes into the op's dilations (TF rewrites the input with SpaceToBatchND around the op instead)."""
    rate = _lookup("dilations", dilations, "rate", rate)
    graph = _graph_of([input, filter])
    with graph.as_default(), graph.name_scope(name or "depthwise") as scope:
        input = convert_to_tensor(input, name="tensor_in")  # noqa: A001
        filter = convert_to_tensor(filter, name="filter_in")  # noqa: A001
        rate = [1, 1] if rate is None else list(rate)
        # TF's with_space_to_batch asks for these even at rate 1 (unused nodes, kept so the names match TF's).
        array_ops.shape(filter)
        constant(rate, dtype=dtypes.int32, name="dilation_rate")
        channel_index = 1 if _check_format(data_format) == "NCHW" else 3
        dilations = _get_sequence(rate, 2, channel_index, "dilations")
        return depthwise_conv2d_native(input, filter, strides, padding, data_format=data_format or "NHWC",
                                       dilations=dilations, name=scope)


def conv1d(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None, data_format=None,
           name=None, input=None, dilations=None):  # noqa: A002
    """tf.nn.conv1d: [batch, width, in] (NWC) or [batch, in, width] (NCW) with filters [k, in, out],
    as TF builds it: ExpandDims to 2-D, Conv2D, Squeeze."""
    value = _lookup("input", input, "value", value)
    graph = _graph_of([value, filters])
    with graph.as_default(), graph.name_scope(name or "conv1d") as scope:
        if data_format in (None, "NHWC", "NWC"):
            data_format, spatial_start, channel_index = "NHWC", -3, 2
        elif data_format in ("NCHW", "NCW"):
            data_format, spatial_start, channel_index = "NCHW", -2, 1
        else:
            raise ValueError(f"`data_format` must be 'NWC' or 'NCW'. Received: data_format={data_format}")
        strides = [1] + _get_sequence(stride, 1, channel_index, "stride")
        dilations = [1] + _get_sequence(dilations, 1, channel_index, "dilations")
        value = array_ops.expand_dims(value, spatial_start)
        filters = array_ops.expand_dims(filters, 0)
        result = conv2d(value, filters, strides, padding, use_cudnn_on_gpu=True if use_cudnn_on_gpu is None
                        else use_cudnn_on_gpu, data_format=data_format, dilations=dilations, name=scope)
        return array_ops.squeeze(result, [spatial_start])


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """tf.nn.max_pool over height and width windows of `ksize`."""
    value = _lookup("input", input, "value", value)
    if isinstance(padding, (list, tuple)):
        padding, explicit = _convert_padding(padding)
    else:
        explicit = []
    attrs = _pool_attrs(ksize, strides, padding, data_format, ("SAME", "VALID", "EXPLICIT"))
    if any(k == 0 for k in attrs["ksize"]):
        raise ValueError(f"`ksize` cannot be zero. Received: ksize={ksize}")
    attrs["explicit_paddings"] = explicit
    return make_output("MaxPool", [value], attrs, name=name or "MaxPool", arg_names=["input"])


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """tf.nn.avg_pool: the mean of each window, over the window's real (unpadded) elements."""
    value = _lookup("input", input, "value", value)
    attrs = _pool_attrs(ksize, strides, padding, data_format, ("SAME", "VALID"))
    return make_output("AvgPool", [value], attrs, name=name or "AvgPool", arg_names=["value"])


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    return max_pool(input, ksize, strides, padding, data_format=data_format, name=name or "MaxPool2d")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    return avg_pool(input, ksize, strides, padding, data_format=data_format, name=name or "AvgPool2D")


def _dtype_of(value):
    """The dtype `value` converts to, without adding a node for it outside the op's scope."""
    if hasattr(value, "dtype") and hasattr(value.dtype, "base_dtype"):
        return value.dtype.base_dtype
    return dtypes.as_dtype(np.asarray(value, dtype=np.float32 if not hasattr(value, "dtype") else None).dtype)


def _backprop(op_type, inputs, arg_names, attrs, name):
    return make_output(op_type, inputs, attrs, name=name or op_type, arg_names=arg_names, same_dtype=False)


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None, padding=None,  # noqa: A002
                          use_cudnn_on_gpu=True, data_format="NHWC", dilations=[1, 1, 1, 1],  # noqa: B006
                          name=None, filters=None):
    filter = _lookup("filters", filters, "filter", filter)  # noqa: A001
    attrs = _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    attrs["T"] = _dtype_of(out_backprop)
    return _backprop("Conv2DBackpropInput", [input_sizes, filter, out_backprop],
                     ["input_sizes", "filter", "out_backprop"], attrs, name)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, use_cudnn_on_gpu=True,  # noqa: A002
                           data_format="NHWC", dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    attrs = _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    attrs["T"] = _dtype_of(input)
    return _backprop("Conv2DBackpropFilter", [input, filter_sizes, out_backprop],
                     ["input", "filter_sizes", "out_backprop"], attrs, name)


def depthwise_conv2d_native_backprop_input(input_sizes, filter, out_backprop, strides, padding,  # noqa: A002
                                           data_format="NHWC", dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    attrs = _conv_attrs(strides, padding, data_format, dilations)
    attrs["T"] = _dtype_of(out_backprop)
    return _backprop("DepthwiseConv2dNativeBackpropInput", [input_sizes, filter, out_backprop],
                     ["input_sizes", "filter", "out_backprop"], attrs, name)


def depthwise_conv2d_native_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                                            data_format="NHWC", dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    attrs = _conv_attrs(strides, padding, data_format, dilations)
    attrs["T"] = _dtype_of(input)
    return _backprop("DepthwiseConv2dNativeBackpropFilter", [input, filter_sizes, out_backprop],
                     ["input", "filter_sizes", "out_backprop"], attrs, name)


# -- the backprop ops the gradients build (TF's gen_nn_ops signatures) -------------------------------------

def backprop_op(op_type, inputs, attrs, name=None):
    """One op of `op_type` on tensors `inputs` with `attrs` (T from the last float input)."""
    graph = _graph_of(inputs)
    with graph.as_default():
        inputs = [convert_to_tensor(t) for t in inputs]
    attrs = dict(attrs)
    attrs["T"] = next(t.dtype.base_dtype for t in reversed(inputs) if t.dtype.base_dtype.is_floating)
    return graph.create_op(op_type, list(inputs), attrs, name=name or op_type).outputs[0]


def shape_n(inputs, out_type=dtypes.int32, name=None):
    """TF's ShapeN: the shapes of several tensors, one op."""
    graph = _graph_of(inputs)
    attrs = {"N": len(inputs), "T": inputs[0].dtype.base_dtype, "out_type": dtypes.as_dtype(out_type)}
    return graph.create_op("ShapeN", list(inputs), attrs, name=name or "ShapeN").outputs


# -- shape functions ---------------------------------------------------------------------------------------

def _dims_str(shape):
    return "?" if shape.ndims is None else "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _fail(op, message):
    inputs = ", ".join(_dims_str(t.shape) for t in op.inputs)
    raise ValueError(f"{message} for '{op.name}' (op: '{op.type}') with input shapes: {inputs}.")


def _rank4(op, shape):
    if shape.ndims is not None and shape.ndims != 4:
        _fail(op, f"Shape must be rank 4 but is rank {shape.ndims}")
    return shape.as_list() if shape.ndims is not None else [None] * 4


def _attr_list(op, name, default=(1, 1, 1, 1)):
    try:
        values = list(op.get_attr(name))
    except ValueError:
        values = list(default)
    if len(values) != 4:
        what = "stride" if name == "strides" else "dilation" if name == "dilations" else name
        _fail(op, f"{op.type} requires the {what} attribute to contain 4 values, but got: {len(values)}")
    return values


def _format(op):
    try:
        return conv_geometry.as_str(op.get_attr("data_format"))
    except ValueError:
        return "NHWC"


def _to_nhwc(dims, fmt):
    return [dims[0], dims[2], dims[3], dims[1]] if fmt == "NCHW" else dims


def _from_nhwc(dims, fmt):
    return [dims[0], dims[3], dims[1], dims[2]] if fmt == "NCHW" else dims


def _spatial_out(op, in_hw, k_hw, dilation_hw):
    """Output height and width (None where unknown); ValueError where a VALID window does not fit."""
    fmt = _format(op)
    strides = conv_geometry.spatial(_attr_list(op, "strides"), fmt)
    padding = conv_geometry.as_str(op.get_attr("padding"))
    try:
        explicit = conv_geometry.spatial_explicit(list(op.get_attr("explicit_paddings")), fmt)
    except ValueError:
        explicit = None
    out = []
    for i in (0, 1):
        if in_hw[i] is None or k_hw[i] is None:
            out.append(None)
            continue
        pads = explicit[i] if explicit else None
        size, _, _ = conv_geometry.window(in_hw[i], k_hw[i], strides[i], dilation_hw[i], padding, pads)
        effective = conv_geometry.effective_size(k_hw[i], dilation_hw[i])
        padded = conv_geometry.padded_size(in_hw[i], padding, pads)
        if padding != "SAME" and padded < effective:
            _fail(op, f"Negative dimension size caused by subtracting {effective} from {padded}")
        out.append(size)
    return out


@op_registry.shape_fn("Conv2D", "DepthwiseConv2dNative")
def _conv2d_shape(op):
    x, f = op.inputs
    fmt = _format(op)
    n, h, w, c = _to_nhwc(_rank4(op, x.shape), fmt)
    kh, kw, fc, fo = _rank4(op, f.shape)
    dilations = conv_geometry.spatial(_attr_list(op, "dilations"), fmt)
    depthwise = op.type == "DepthwiseConv2dNative"
    if c is not None and fc is not None:
        if depthwise and c != fc:
            _fail(op, f"Dimensions must be equal, but are {c} and {fc}")
        if not depthwise and (fc == 0 or c % fc):
            _fail(op, f"Depth of input ({c}) is not a multiple of input depth of filter ({fc})")
    out_c = (None if fo is None or (fc if fc is not None else c) is None else (fc if fc is not None else c) * fo) \
        if depthwise else fo
    oh, ow = _spatial_out(op, [h, w], [kh, kw], dilations)
    return [(x.dtype.base_dtype, TensorShape(_from_nhwc([n, oh, ow, out_c], fmt)))]


@op_registry.shape_fn("Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropInput")
def _backprop_input_shape(op):
    sizes, f, dy = op.inputs
    filter_dims = _rank4(op, f.shape)
    dy_depth = _to_nhwc(_rank4(op, dy.shape), _format(op))[3]
    if op.type == "Conv2DBackpropInput" and None not in (dy_depth, filter_dims[3]) and dy_depth != filter_dims[3]:
        _fail(op, f"Dimensions must be equal, but are {dy_depth} and {filter_dims[3]}")
    out = constant_shape(sizes)
    if out.ndims is not None and out.ndims != 4:
        _fail(op, f"input_sizes must be 4-dimensional, got: {out.ndims}")
    return [(dy.dtype.base_dtype, out if out.ndims is not None else TensorShape([None] * 4))]


@op_registry.shape_fn("Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter")
def _backprop_filter_shape(op):
    x, sizes, dy = op.inputs
    _rank4(op, x.shape)
    _rank4(op, dy.shape)
    out = constant_shape(sizes)
    if out.ndims is not None and out.ndims != 4:
        _fail(op, f"filter_sizes must be 4-dimensional, got: {out.ndims}")
    return [(x.dtype.base_dtype, out if out.ndims is not None else TensorShape([None] * 4))]


@op_registry.shape_fn("MaxPool", "AvgPool")
def _pool_shape(op):
    x = op.inputs[0]
    fmt = _format(op)
    n, h, w, c = _to_nhwc(_rank4(op, x.shape), fmt)
    ksize = _attr_list(op, "ksize")
    kh, kw = conv_geometry.spatial(ksize, fmt)
    oh, ow = _spatial_out(op, [h, w], [kh, kw], (1, 1))
    return [(x.dtype.base_dtype, TensorShape(_from_nhwc([n, oh, ow, c], fmt)))]


@op_registry.shape_fn("MaxPoolGrad")
def _max_pool_grad_shape(op):
    x = op.inputs[0]
    return [(x.dtype.base_dtype, TensorShape(_rank4(op, x.shape)))]


@op_registry.shape_fn("MaxPoolGradGrad")
def _max_pool_grad_grad_shape(op):
    y = op.inputs[1]
    return [(y.dtype.base_dtype, TensorShape(_rank4(op, y.shape)))]


@op_registry.shape_fn("AvgPoolGrad")
def _avg_pool_grad_shape(op):
    sizes, dy = op.inputs
    out = constant_shape(sizes)
    return [(dy.dtype.base_dtype, out if out.ndims is not None else TensorShape([None] * 4))]


@op_registry.shape_fn("ShapeN")
def _shape_n_shape(op):
    out_type = op.get_attr("out_type")
    return [(out_type, TensorShape([t.shape.ndims])) for t in op.inputs]
