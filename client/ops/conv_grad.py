"""Gradients of the convolutions and pools, as TensorFlow's nn_grad.py builds them (same op types, same
inputs), so a graph's gradient runs in TensorFlow and TF-written gradients run here."""
from tfmini.gradients import RegisterGradient
from tfmini.ops import array_ops
from tfmini.ops.conv_ops import backprop_op, shape_n

_CONV_ATTRS = ("strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu")
_POOL_ATTRS = ("ksize", "strides", "padding", "explicit_paddings", "data_format")


def _attrs(op, names):
    """The op's own window attrs, for the backprop ops (those it lacks keep their defaults)."""
    return {n: op.get_attr(n) for n in names if n in op._attrs}


def _conv(op):
    return _attrs(op, _CONV_ATTRS)


def _depthwise(op):
    return _attrs(op, _CONV_ATTRS[:-1])


@RegisterGradient("Conv2D")
def _conv2d_grad(op, grad):
    x_shape, f_shape = shape_n([op.inputs[0], op.inputs[1]])
    return [backprop_op("Conv2DBackpropInput", [x_shape, op.inputs[1], grad], _conv(op)),
            backprop_op("Conv2DBackpropFilter", [op.inputs[0], f_shape, grad], _conv(op))]


@RegisterGradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op, grad):
    return [None,
            backprop_op("Conv2DBackpropFilter", [grad, array_ops.shape(op.inputs[1]), op.inputs[2]], _conv(op)),
            backprop_op("Conv2D", [grad, op.inputs[1]], _conv(op))]


@RegisterGradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op, grad):
    return [backprop_op("Conv2DBackpropInput", [array_ops.shape(op.inputs[0]), grad, op.inputs[2]], _conv(op)),
            None,
            backprop_op("Conv2D", [op.inputs[0], grad], _conv(op))]


@RegisterGradient("DepthwiseConv2dNative")
def _depthwise_grad(op, grad):
    return [backprop_op("DepthwiseConv2dNativeBackpropInput", [array_ops.shape(op.inputs[0]), op.inputs[1], grad],
                        _depthwise(op)),
            backprop_op("DepthwiseConv2dNativeBackpropFilter", [op.inputs[0], array_ops.shape(op.inputs[1]), grad],
                        _depthwise(op))]


@RegisterGradient("DepthwiseConv2dNativeBackpropInput")
def _depthwise_backprop_input_grad(op, grad):
    return [None,
            backprop_op("DepthwiseConv2dNativeBackpropFilter", [grad, array_ops.shape(op.inputs[1]), op.inputs[2]],
                        _depthwise(op)),
            backprop_op("DepthwiseConv2dNative", [grad, op.inputs[1]], _depthwise(op))]


@RegisterGradient("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_backprop_filter_grad(op, grad):
    return [backprop_op("DepthwiseConv2dNativeBackpropInput", [array_ops.shape(op.inputs[0]), grad, op.inputs[2]],
                        _depthwise(op)),
            None,
            backprop_op("DepthwiseConv2dNative", [op.inputs[0], grad], _depthwise(op))]


@RegisterGradient("MaxPool")
def _max_pool_grad(op, grad):
    return backprop_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], grad], _attrs(op, _POOL_ATTRS))


@RegisterGradient("MaxPoolGrad")
def _max_pool_grad_grad(op, grad):
    attrs = _attrs(op, _POOL_ATTRS[:-2] + ("data_format",))  # MaxPoolGradGrad has no explicit_paddings
    return [array_ops.zeros_like(op.inputs[0]), array_ops.zeros_like(op.inputs[1]),
            backprop_op("MaxPoolGradGrad", [op.inputs[0], op.inputs[1], grad], attrs)]


@RegisterGradient("MaxPoolGradGrad")
def _max_pool_grad_grad_grad(op, grad):
    return [array_ops.zeros_like(op.inputs[0]), array_ops.zeros_like(op.inputs[1]),
            backprop_op("MaxPoolGrad", [op.inputs[0], op.inputs[1], grad], _attrs(op, _POOL_ATTRS))]


@RegisterGradient("AvgPool")
def _avg_pool_grad(op, grad):
    return backprop_op("AvgPoolGrad", [array_ops.shape(op.inputs[0]), grad], _attrs(op, _POOL_ATTRS))


@RegisterGradient("AvgPoolGrad")
def _avg_pool_grad_grad(op, grad):
    return [array_ops.stop_gradient(op.inputs[0]),
            backprop_op("AvgPool", [grad], _attrs(op, _POOL_ATTRS))]
