"""An op's three parts are one checked unit: its definition (tfmini.core.op_registry), its shape
function (client), its kernel (worker) and its gradient (client) all name the same defined op type."""
import subprocess
import sys

import numpy as np
import pytest

import tfmini as tf
from tfmini.core import op_registry
from tfmini.core.op_registry import APPLY_SLOTS
from tfmini.train.training_ops import APPLY_OPS, apply_op
from tfmini.worker import kernels


def _defined():
    tf.Session  # noqa: B018 - loads the whole client API, so every shape function is registered
    return [op_registry.lookup(name) for name in op_registry.registered_ops()]


def test_every_defined_op_has_a_kernel_and_every_kernel_a_definition():
    defined = {d.name for d in _defined()}
    assert sorted(defined - set(kernels.registered())) == []
    assert sorted(set(kernels.registered()) - defined) == []


def test_every_op_users_can_build_has_a_shape_function():
    missing = [d.name for d in _defined() if not d.internal and d.infer is None]
    assert missing == []
    assert all(d.infer is None for d in _defined() if d.internal)


def test_a_kernel_takes_refs_only_where_its_op_is_defined_with_them():
    for d in _defined():
        k = kernels.lookup(d.name, "check")
        assert set(k.ref_inputs) <= set(d.ref_inputs), d.name
        if k.produces_ref or k.ref_inputs:
            assert d.stateful or d.name == "IsVariableInitialized", d.name


def test_the_built_in_gradients_name_defined_ops():
    # A fresh interpreter: other tests register gradients for names of their own (gradient_override_map).
    code = ("import tfmini as tf, tfmini.gradients as g\n"
            "from tfmini.core import op_registry\n"
            "g._load_gradient_modules()\n"
            "print(' '.join(sorted(n for n in g._GRADIENTS if not op_registry.is_registered(n))) or 'none')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["none"]


def test_a_duplicate_gradient_fails_when_it_is_registered_as_in_tensorflow():
    code = ("import tfmini as tf\n"
            "try:\n"
            "    @tf.RegisterGradient('Square')\n"
            "    def _g(op, grad): return grad\n"
            "except KeyError as e: print('KeyError', e)\n"
            "x = tf.constant(3.0)\n"
            "print(tf.Session().run(tf.gradients(tf.square(x), x))[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.splitlines() == ["KeyError \"Registering two gradient with name 'Square'!\"", "6.0"]


def test_a_new_gradient_name_registers_once():
    name = "TestOpUnitsCustomSquare"
    tf.RegisterGradient(name)(lambda op, grad: grad * 3.0)
    with pytest.raises(KeyError, match="two gradient"):
        tf.RegisterGradient(name)(lambda op, grad: grad)
    g = tf.Graph()
    with g.as_default(), g.gradient_override_map({"Square": name}):
        x = tf.constant(2.0)
        y = tf.square(x)
    with g.as_default(), tf.Session() as sess:
        assert sess.run(tf.gradients(y, x)[0]) == 3.0


def test_registering_for_an_undefined_op_or_twice_raises():
    with pytest.raises(KeyError, match="not defined"):
        op_registry.register("NoSuchOpType", lambda op: [])
    with pytest.raises(KeyError, match="two shape functions"):
        op_registry.register("Add", lambda op: [])
    with pytest.raises(KeyError, match="defined twice"):
        op_registry.define("Add")
    with pytest.raises(KeyError, match="not defined"):
        kernels.simple("NoSuchOpType", lambda xp: lambda x: x)
    with pytest.raises(KeyError, match="two kernels"):
        kernels.simple("Add", lambda xp: lambda x, y: x + y)
    assert "NoSuchOpType" not in kernels.registered()


INPUTS = {"lr": 0.1, "alpha": 0.1, "momentum": 0.9, "beta1_power": 0.9, "beta2_power": 0.999, "beta1": 0.9,
          "beta2": 0.999, "epsilon": 1e-7, "rho": 0.9, "l1": 0.01, "l2": 0.01, "l2_shrinkage": 0.01, "lr_power": -0.5}


@pytest.mark.parametrize("name", sorted(APPLY_SLOTS))
def test_each_resource_apply_op_updates_as_its_ref_form(name):
    names = APPLY_OPS[f"Apply{name}"][0]
    n_vars = APPLY_SLOTS[name] + 1
    start = [np.array([1.0, 2.0, 3.0], np.float32)] + [np.full(3, 0.1 * i, np.float32) for i in range(1, n_vars)]
    grad = np.array([0.5, -1.0, 0.25], np.float32)
    g = tf.Graph()
    with g.as_default():
        refs = [tf.Variable(v, name=f"ref{i}") for i, v in enumerate(start)]
        values = [grad if n in ("grad", "delta") else np.float32(INPUTS[n]) for n in names[n_vars:]]
        ref_update = apply_op(f"Apply{name}", refs[0], *refs[1:], *values)
        handles = [g.create_op("VarHandleOp", [], {"dtype": tf.float32, "shape": [3], "shared_name": f"res{i}",
                                                   "container": ""}, name=f"res{i}").outputs[0]
                   for i in range(n_vars)]
        inits = [g.create_op("AssignVariableOp", [h, tf.constant(v)], {"dtype": tf.float32})
                 for h, v in zip(handles, start)]
        attrs = {"T": tf.float32, "use_locking": False}
        attrs.update(APPLY_OPS[f"Apply{name}"][2])
        res_update = g.create_op(f"ResourceApply{name}", handles + [tf.constant(v) for v in values], attrs)
        reads = [g.create_op("ReadVariableOp", [h], {"dtype": tf.float32}).outputs[0] for h in handles]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(inits)
            sess.run([ref_update, res_update])
            got_ref, got_res = sess.run([refs, reads])
    for i, (a, b) in enumerate(zip(got_ref, got_res)):
        np.testing.assert_allclose(b, a, rtol=1e-6, err_msg=f"{name} input {i}")
    assert np.isfinite(got_res[0]).all() and not np.allclose(got_res[0], start[0])
