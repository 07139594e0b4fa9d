"""Gradients of activations, softmax and the cross-entropy losses (TF's nn_grad.py formulas)."""
from tfmini.gradients import RegisterGradient
from tfmini.ops import array_ops, grad_ops, math_ops, nn_ops
from tfmini.ops.core import constant

RegisterGradient("Relu")(lambda op, grad: grad_ops.relu_grad(grad, op.outputs[0]))
RegisterGradient("Relu6")(lambda op, grad: grad_ops.relu6_grad(grad, op.outputs[0]))
RegisterGradient("Elu")(lambda op, grad: grad_ops.elu_grad(grad, op.outputs[0]))
RegisterGradient("Selu")(lambda op, grad: grad_ops.selu_grad(grad, op.outputs[0]))
RegisterGradient("Softplus")(lambda op, grad: grad_ops.softplus_grad(grad, op.inputs[0]))
RegisterGradient("Softsign")(lambda op, grad: grad_ops.softsign_grad(grad, op.inputs[0]))


@RegisterGradient("LeakyRelu")
def _leaky_relu_grad(op, grad):
    x = op.inputs[0]
    alpha = constant(op.get_attr("alpha"), dtype=grad.dtype.base_dtype)
    return math_ops.where(math_ops.greater(x, 0), grad, math_ops.multiply(grad, alpha))


@RegisterGradient("Softmax")
def _softmax_grad(op, grad):
    softmax = op.outputs[0]
    sum_channels = math_ops.reduce_sum(math_ops.multiply(grad, softmax), -1, keepdims=True)
    return math_ops.multiply(math_ops.subtract(grad, sum_channels), softmax)


@RegisterGradient("LogSoftmax")
def _log_softmax_grad(op, grad):
    softmax = math_ops.exp(op.outputs[0])
    return math_ops.subtract(grad, math_ops.multiply(math_ops.reduce_sum(grad, -1, keepdims=True), softmax))


def _broadcast_mul(vec, mat):
    """vec [batch] times mat [batch, classes], row by row."""
    return math_ops.multiply(array_ops.expand_dims(vec, -1), mat)


@RegisterGradient("SoftmaxCrossEntropyWithLogits")
def _xent_grad(op, grad_loss, grad_grad):
    logits = op.inputs[0]
    grad = _broadcast_mul(grad_loss, op.outputs[1])  # the kernel's backprop: softmax - labels
    if grad_grad is not None and not getattr(grad_grad, "_is_zeros_tensor", False):
        softmax = nn_ops.softmax(logits)
        inner = math_ops.reduce_sum(math_ops.multiply(grad_grad, softmax), -1, keepdims=True)
        grad = math_ops.add(grad, math_ops.multiply(math_ops.subtract(grad_grad, inner), softmax))
    return grad, _broadcast_mul(grad_loss, math_ops.negative(nn_ops.log_softmax(logits)))


@RegisterGradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_grad(op, grad_loss, grad_grad):
    return _broadcast_mul(grad_loss, op.outputs[1]), None


@RegisterGradient("BiasAdd")
def _bias_add_grad(op, grad):
    from tfmini.ops.nn_impl import bias_add_grad
    return grad, bias_add_grad(grad, data_format=op.get_attr("data_format"))


RegisterGradient("L2Loss")(lambda op, grad: math_ops.multiply(op.inputs[0], grad))
