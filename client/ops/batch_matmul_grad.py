"""Gradients of BatchMatMul and BatchMatMulV2, as TF's math_grad: matmuls of the incoming gradient, and for V2
a sum over the batch dimensions that were broadcast (Shape -> BroadcastGradientArgs -> Sum -> Reshape)."""
from tfmini.gradients import RegisterGradient
from tfmini.ops import array_ops, grad_ops, math_ops


def _local_grads(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
    mm = math_ops.matmul
    if not adj_x:
        if not adj_y:
            return mm(grad, y, adjoint_b=True), mm(x, grad, adjoint_a=True)
        return mm(grad, y), mm(grad, x, adjoint_a=True)
    if not adj_y:
        return mm(y, grad, adjoint_b=True), mm(x, grad)
    return mm(y, grad, adjoint_a=True, adjoint_b=True), mm(grad, x, adjoint_a=True, adjoint_b=True)


@RegisterGradient("BatchMatMul")
def _batch_matmul_grad(op, grad):
    return _local_grads(op, grad)


@RegisterGradient("BatchMatMulV2")
def _batch_matmul_v2_grad(op, grad):
    grad_x, grad_y = _local_grads(op, grad)
    x, y = op.inputs
    sx_static, sy_static = x.shape, y.shape
    may_have_batch = (sx_static.ndims is None or sx_static.ndims > 2 or sy_static.ndims is None
                      or sy_static.ndims > 2)
    batch_shapes_match = (sx_static.ndims is not None and sy_static.ndims is not None
                          and sx_static[:-2].is_fully_defined() and sy_static[:-2].is_fully_defined()
                          and sx_static[:-2] == sy_static[:-2])
    if not may_have_batch or batch_shapes_match:
        return grad_x, grad_y
    sx, sy = array_ops.shape(x), array_ops.shape(y)
    rx, ry = grad_ops.broadcast_gradient_args(sx[:-2], sy[:-2])
    grad_x = array_ops.reshape(math_ops.reduce_sum(grad_x, rx), sx)
    grad_y = array_ops.reshape(math_ops.reduce_sum(grad_y, ry), sy)
    return grad_x, grad_y
