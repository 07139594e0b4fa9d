"""Kernels of the Apply* and ResourceApply* optimizer ops (TF's training_ops formulas, in the variable's dtype).

Both forms get the variable and its slots as VariableRefs (a ref input, or a resource handle's value);
the Apply* form also outputs the variable's ref. Each writes new arrays into `ref.value` rather than
updating in place: an array fetched in an earlier step may be the very same object, and must not
change under the caller.
"""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, CPU_ONLY, kernel


def _check(name, var, grad):
    if var.shape != grad.shape:
        raise errors.InvalidArgumentError(None, None, f"{name}: var and grad do not have the same shape "
                                                      f"{list(var.shape)} {list(np.shape(grad))}")


def _apply(op_type, n_refs, grad_at=-1, resource_devices=CPU_ONLY):
    """Registers `update(node, xp, *values) -> new values for the refs` as the kernel of `op_type` and of
    its resource form; `grad_at` is the position of the gradient among the inputs."""
    def wrap(update):
        def factory(node):
            xp = node.xp

            if n_refs == 1:  # one variable, no slots (gradient descent): the short way
                def fn(ref, *rest):
                    var = ref.read()
                    _check(op_type, var, rest[grad_at - 1] if grad_at >= 0 else rest[grad_at])
                    new, = update(node, xp, var, *rest)
                    ref.value = new if new.dtype == var.dtype else xp.asarray(new).astype(var.dtype)
                    return ref
                return fn

            def fn(*args):
                refs, rest = args[:n_refs], args[n_refs:]
                values = [r.read() for r in refs]
                _check(op_type, values[0], args[grad_at])
                new = update(node, xp, *values, *rest)
                for r, old, v in zip(refs, values, new):
                    r.value = v if v.dtype == old.dtype else xp.asarray(v).astype(old.dtype)
                return refs[0]
            return fn

        kernel(op_type, ref_inputs=tuple(range(n_refs)), produces_ref=True)(factory)
        kernel("Resource" + op_type, num_outputs=0, device_types=resource_devices)(factory)
        return update
    return wrap


@_apply("ApplyGradientDescent", 1, resource_devices=ANY_DEVICE)  # a resource variable may live on a GPU
def _gd(node, xp, var, alpha, delta):
    return (var - delta * alpha,)


@_apply("ApplyMomentum", 2, grad_at=3)
def _momentum(node, xp, var, accum, lr, grad, momentum):
    accum = accum * momentum + grad
    if node.attrs.get("use_nesterov", False):
        return var - (grad * lr + accum * momentum * lr), accum
    return var - accum * lr, accum


@_apply("ApplyAdam", 3)
def _adam(node, xp, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    # TF's formulas, term for term; the in-place steps only save temporaries (same roundings).
    one = var.dtype.type(1)
    alpha = lr * xp.sqrt(one - beta2_power) / (one - beta1_power)
    m_new = grad - m
    m_new *= one - beta1
    m_new += m                       # m + (grad - m) * (1 - beta1)
    v_new = grad * grad
    v_new -= v
    v_new *= one - beta2
    v_new += v                       # v + (grad^2 - v) * (1 - beta2)
    denom = xp.sqrt(v_new)
    denom += epsilon
    if node.attrs.get("use_nesterov", False):
        step = m_new * beta1 + (one - beta1) * grad
        step *= alpha
    else:
        step = m_new * alpha
    step /= denom
    return var - step, m_new, v_new


@_apply("ApplyAdagrad", 2)
def _adagrad(node, xp, var, accum, lr, grad):
    if node.attrs.get("update_slots", True):
        accum = accum + grad * grad
    return var - grad * lr / xp.sqrt(accum), accum


@_apply("ApplyRMSProp", 3)
def _rmsprop(node, xp, var, ms, mom, lr, rho, momentum, epsilon, grad):
    one = np.ones((), dtype=var.dtype)
    ms = ms + (grad * grad - ms) * (one - rho)
    mom = mom * momentum + (grad * lr) / xp.sqrt(ms + epsilon)
    return var - mom, ms, mom


@_apply("ApplyCenteredRMSProp", 4)
def _centered_rmsprop(node, xp, var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    one = np.ones((), dtype=var.dtype)
    ms = ms + (grad * grad - ms) * (one - rho)
    mg = mg + (grad - mg) * (one - rho)
    mom = mom * momentum + (grad * lr) / xp.sqrt(ms - mg * mg + epsilon)
    return var - mom, mg, ms, mom
