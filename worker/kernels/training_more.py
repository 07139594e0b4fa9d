"""Kernels of the Adadelta, Ftrl, proximal gradient descent and proximal Adagrad updates (TF's training_ops
formulas), in both forms (Apply* through refs, ResourceApply* through handles), via training.py's `_apply`."""
from tfmini.worker.kernels.training import _apply


@_apply("ApplyAdadelta", 3)
def _adadelta(node, xp, var, accum, accum_update, lr, rho, epsilon, grad):
    one = var.dtype.type(1)
    accum = accum * rho + grad * grad * (one - rho)
    update = xp.sqrt(accum_update + epsilon) / xp.sqrt(accum + epsilon) * grad
    accum_update = accum_update * rho + update * update * (one - rho)
    return var - update * lr, accum, accum_update


def _ftrl(xp, var, accum, linear, grad, lr, l1, l2, lr_power, shrunk_grad, multiply_linear_by_lr):
    new_accum = accum + grad * grad
    if lr_power == -0.5:
        sigma = xp.sqrt(new_accum) - xp.sqrt(accum)
        y = xp.sqrt(new_accum)
    else:
        sigma = new_accum ** -lr_power - accum ** -lr_power
        y = new_accum ** -lr_power
    if multiply_linear_by_lr:  # linear holds lr * linear; l1 and the step scale with it
        linear = linear + shrunk_grad * lr - sigma * var
        l1, y = l1 * lr, y + 2 * l2 * lr
    else:
        linear = linear + shrunk_grad - sigma / lr * var
        y = y / lr + 2 * l2
    x = xp.clip(linear, -l1, l1) - linear
    var = xp.where(xp.abs(linear) > l1, x / y, xp.zeros_like(var))
    return var, new_accum, linear


@_apply("ApplyFtrl", 3, grad_at=3)
def _apply_ftrl(node, xp, var, accum, linear, grad, lr, l1, l2, lr_power):
    return _ftrl(xp, var, accum, linear, grad, lr, l1, l2, lr_power, grad,
                 node.attrs.get("multiply_linear_by_lr", False))


@_apply("ApplyFtrlV2", 3, grad_at=3)
def _apply_ftrl_v2(node, xp, var, accum, linear, grad, lr, l1, l2, l2_shrinkage, lr_power):
    shrunk = grad + 2 * l2_shrinkage * var  # the shrinkage acts on linear only; accum sees the raw gradient
    return _ftrl(xp, var, accum, linear, grad, lr, l1, l2, lr_power, shrunk,
                 node.attrs.get("multiply_linear_by_lr", False))


def _proximal(xp, prox_var, step, l1, l2):
    """TF's proximal step: soft-threshold by step * l1 (when l1 > 0), then shrink by 1 + step * l2."""
    one = prox_var.dtype.type(1)
    if l1 > 0:
        return xp.sign(prox_var) * xp.maximum(xp.abs(prox_var) - step * l1, 0) / (one + step * l2)
    return prox_var / (one + step * l2)


@_apply("ApplyProximalGradientDescent", 1)
def _proximal_gd(node, xp, var, alpha, l1, l2, delta):
    return (_proximal(xp, var - delta * alpha, alpha, l1, l2),)


@_apply("ApplyProximalAdagrad", 2)
def _proximal_adagrad(node, xp, var, accum, lr, l1, l2, grad):
    accum = accum + grad * grad
    step = lr * (1 / xp.sqrt(accum))  # TF's lr * rsqrt(accum), rounded the same way
    return _proximal(xp, var - grad * step, step, l1, l2), accum
