"""tf.gradients: graph structure, the seed's numbers, and a numeric check (central differences, float64)
of every op gradient on random shapes, with static and unknown (dynamic) shapes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tfmini as tf
from tfmini.ops import math_ops, nn_ops

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def numeric_check(build, inputs, dynamic=False, eps=1e-6, rtol=1e-4, atol=1e-5, wrt=None):
    """Compares tf.gradients of sum(build(*xs) * w) with central differences, for the inputs in `wrt`."""
    wrt = range(len(inputs)) if wrt is None else wrt
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(x.dtype), _placeholder_shape(x, dynamic)) for x in inputs]
        y = build(*phs)
        with tf.Session() as sess:
            feed = dict(zip(phs, inputs))
            y_val = sess.run(y, feed)
            weights = np.random.RandomState(1).uniform(0.5, 1.5, np.shape(y_val))
            loss = tf.reduce_sum(y * tf.constant(weights, dtype=y.dtype))
            grads = tf.gradients(loss, [phs[i] for i in wrt])
            assert all(gr is not None for gr in grads)
            symbolic = sess.run(grads, feed)
            for k, i in enumerate(wrt):
                assert symbolic[k].shape == inputs[i].shape
                numeric = np.zeros(inputs[i].shape)
                for idx in np.ndindex(*inputs[i].shape):
                    vals = []
                    for sign in (1, -1):
                        x = np.array(inputs[i], copy=True)
                        x[idx] += sign * eps
                        vals.append(sess.run(loss, {**feed, phs[i]: x}))
                    numeric[idx] = (vals[0] - vals[1]) / (2 * eps)
                np.testing.assert_allclose(symbolic[k], numeric, rtol=rtol, atol=atol,
                                           err_msg=f"gradient of input {i}")


def _placeholder_shape(x, dynamic):
    """dynamic: False = static shape, True = unknown rank, "partial" = known rank, unknown first dim."""
    if dynamic is True:
        return None
    if dynamic == "partial" and np.ndim(x):
        return [None] + list(np.shape(x)[1:])
    return np.shape(x)


DYNAMIC = st.sampled_from([False, True, "partial"])


def rand(seed, shape, low=-2.0, high=2.0, away_from_zero=False):
    x = np.asarray(np.random.RandomState(seed).uniform(low, high, shape))
    if away_from_zero:
        x = np.where(np.abs(x) < 0.2, np.sign(x + 1e-9) * 0.2 + x, x)
    return np.asarray(x)


UNARY = {
    "Neg": (tf.negative, {}), "Square": (tf.square, {}), "Sqrt": (tf.sqrt, {"low": 0.5}),
    "Rsqrt": (tf.rsqrt, {"low": 0.5}), "Exp": (tf.exp, {}), "Log": (tf.log, {"low": 0.5}),
    "Abs": (tf.abs, {"away_from_zero": True}), "Sign": (tf.sign, {"away_from_zero": True}),
    "Reciprocal": (tf.reciprocal, {"away_from_zero": True}), "Sigmoid": (tf.sigmoid, {}),
    "Tanh": (tf.tanh, {}), "Relu": (tf.nn.relu, {"away_from_zero": True}), "Identity": (tf.identity, {}),
    "Softplus": (tf.nn.softplus, {}), "Expm1": (tf.expm1, {}), "Log1p": (tf.log1p, {"low": 0.0}),
    "Sin": (tf.sin, {}), "Cos": (tf.cos, {}), "Elu": (tf.nn.elu, {"away_from_zero": True}),
    "Softmax": (tf.nn.softmax, {}), "LogSoftmax": (tf.nn.log_softmax, {}),
    "Cast": (lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64), {}),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), seed=st.integers(0, 2**16), dynamic=st.booleans())
def test_unary_gradients(op, shape, seed, dynamic):
    fn, domain = UNARY[op]
    kw = dict(rtol=1e-2, atol=1e-3) if op == "Cast" else {}  # a float32 round trip is only float32-precise
    numeric_check(fn, [rand(seed, shape, **domain)], dynamic, eps=1e-3 if op == "Cast" else 1e-6, **kw)


BINARY = {
    "Add": (tf.add, {}), "AddV2": (math_ops.add_v2, {}), "Sub": (tf.subtract, {}), "Mul": (tf.multiply, {}),
    "RealDiv": (tf.realdiv, {"away_from_zero": True}), "Div": (tf.div, {"away_from_zero": True}),
    "Pow": (tf.pow, {"low": 0.5}), "Maximum": (tf.maximum, {}), "Minimum": (tf.minimum, {}),
    "SquaredDifference": (tf.squared_difference, {}),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=st.integers(0, 2**16),
       dynamic=DYNAMIC)
def test_binary_broadcast_gradients(op, shapes, seed, dynamic):
    fn, domain = BINARY[op]
    x, y = rand(seed, shapes.input_shapes[0], **domain), rand(seed + 1, shapes.input_shapes[1], **domain)
    if op in ("Maximum", "Minimum"):  # keep ties (where the gradient jumps) out of the finite differences
        if np.size(x) and np.size(y) and np.min(np.abs(np.subtract(*np.broadcast_arrays(x, y)))) < 1e-3:
            return
    numeric_check(fn, [x, y], dynamic)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@SETTINGS
@given(m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_matmul_gradients(ta, tb, m, k, n, seed):
    a = rand(seed, (k, m) if ta else (m, k))
    b = rand(seed + 1, (n, k) if tb else (k, n))
    numeric_check(lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb), [a, b])


@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min", "Prod"])
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data(), keep=st.booleans(),
       dynamic=DYNAMIC)
def test_reduction_gradients(op, shape, data, keep, dynamic):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape), unique=True)
                     | st.none())
    fn = {"Sum": tf.reduce_sum, "Mean": tf.reduce_mean, "Max": tf.reduce_max, "Min": tf.reduce_min,
          "Prod": tf.reduce_prod}[op]
    if axes is not None and len({a % len(shape) for a in axes}) != len(axes):
        return
    x = rand(data.draw(st.integers(0, 2**16)), shape, away_from_zero=op == "Prod")
    numeric_check(lambda t: fn(t, axis=axes, keepdims=keep), [x], dynamic if axes is not None else
                  dynamic == "partial" and "partial")


def test_prod_gradient_with_a_zero():
    numeric_check(lambda t: tf.reduce_prod(t, axis=1), [np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0]])])


SHAPE_OPS = {
    "Reshape": (lambda x: tf.reshape(x, [-1]), (2, 3)),
    "Transpose": (lambda x: tf.transpose(x, [2, 0, 1]), (2, 3, 2)),
    "ExpandDims": (lambda x: tf.expand_dims(x, 1), (2, 3)),
    "Squeeze": (lambda x: tf.squeeze(x, [1]), (2, 1, 3)),
    "ConcatV2": (lambda x: tf.concat([x, x * 2.0, x[:, :1]], 1), (2, 3)),
    "Pack": (lambda x: tf.stack([x, x * 3.0], axis=1), (2, 3)),
    "Unpack": (lambda x: tf.unstack(x, num=2, axis=0)[1] * 2.0, (2, 3)),
    "Slice": (lambda x: tf.slice(x, [1, 0], [1, 2]), (3, 3)),
    "StridedSlice": (lambda x: x[1:, ::2], (3, 4)),
    "StridedSliceShrink": (lambda x: x[1, None, 1:3], (3, 4)),
    "Tile": (lambda x: tf.tile(x, [2, 3]), (2, 2)),
    "Select": (lambda x: tf.where(x > 0.1, x * 2.0, x * x), (3, 3)),
    "AddN": (lambda x: tf.add_n([x, x * x, tf.exp(x)]), (2, 2)),
    "Fill": (lambda x: tf.fill([2, 3], tf.reduce_sum(x)), (2,)),
    "L2Loss": (lambda x: tf.nn.l2_loss(x), (3, 2)),
    "BiasAdd": (lambda x: tf.nn.bias_add(x, x[0] * 2.0), (3, 2)),
    "ClipByValue": (lambda x: tf.clip_by_value(x, -0.5, 0.7), (3, 3)),
    "ClipByNorm": (lambda x: tf.clip_by_norm(x, 0.5), (3, 3)),
}


@pytest.mark.parametrize("op", sorted(SHAPE_OPS))
@pytest.mark.parametrize("dynamic", [False, True])
def test_shape_op_gradients(op, dynamic):
    fn, shape = SHAPE_OPS[op]
    x = rand(7, shape)
    if op.startswith("Clip"):
        x = np.where(np.abs(np.abs(x) - 0.6) < 0.1, x + 0.3, x)
    numeric_check(fn, [x], dynamic and op not in ("Unpack",))


@SETTINGS
@given(batch=st.integers(1, 4), classes=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_softmax_cross_entropy_gradients(batch, classes, seed):
    logits = rand(seed, (batch, classes))
    labels = np.random.RandomState(seed).dirichlet(np.ones(classes), batch)
    numeric_check(lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits(labels=lb, logits=lg), [logits, labels])
    ids = np.random.RandomState(seed).randint(0, classes, batch)
    numeric_check(lambda lg: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(ids), logits=lg),
                  [logits])


def test_xent_second_order_term():
    """d/dlogits of the xent's backprop output (TF's grad_grad path)."""
    labels = np.array([[0.2, 0.8], [0.5, 0.5]])
    numeric_check(lambda lg: nn_ops.softmax_cross_entropy_with_logits(labels=labels, logits=lg).op.outputs[1] * 3.0,
                  [rand(3, (2, 2))])


def test_seed_gradient_and_names():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(1.0, name="input")
        w = tf.Variable(0.8, name="weight")
        y = tf.mul(w, x, name="output")
        loss = (y - tf.constant(0.0)) ** 2
        grad, = tf.gradients(loss, [w])
        names = [op.name for op in g.get_operations()]
        for expected in ("gradients/Shape", "gradients/grad_ys_0", "gradients/Fill"):
            assert expected in names
        assert any(n.startswith("gradients/pow_grad/") for n in names)
        assert grad.op.name.startswith("gradients/output_grad/")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(grad) == np.float32(1.6)


def test_several_consumers_are_summed_with_add_n():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [])
        y = x * x + tf.sin(x) + x
        grad, = tf.gradients(y, x)
        assert any(op.type == "AddN" and op.name.startswith("gradients/AddN") for op in g.get_operations())
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(grad, {x: 0.5}), 2 * 0.5 + np.cos(0.5) + 1, rtol=1e-6)


def test_unconnected_integer_and_stopped_paths_give_none():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3])
        unrelated = tf.placeholder(tf.float32, [3])
        n = tf.placeholder(tf.int32, [3])
        y = tf.reduce_sum(x * tf.cast(n, tf.float32)) + tf.reduce_sum(tf.stop_gradient(x) * 2.0)
        gx, gu, gn = tf.gradients(y, [x, unrelated, n])
        assert gu is None and gn is None
        a = tf.placeholder(tf.float32, [])
        b = a * 2.0
        c = b * 3.0
        ga, = tf.gradients(c, a, stop_gradients=[b])
        assert ga is None
        ga0, = tf.gradients(c, a, stop_gradients=[b], unconnected_gradients="zero")
        fl = tf.floordiv(a, 2.0)
        assert tf.gradients(fl, a) == [None]
        assert tf.gradients(tf.one_hot(n, 3), x) == [None]
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(gx, {x: [1, 2, 3], n: [4, 5, 6]}), [4, 5, 6])
            assert sess.run(ga0, {a: 1.0}) == 0.0


def test_grad_ys_and_registry():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2])
        y = x * 3.0
        gx, = tf.gradients(y, x, grad_ys=tf.constant([1.0, 10.0]))

        @tf.RegisterGradient("TestDoubleGrad")
        def _double(op, grad):
            return grad * 2.0

        with g.gradient_override_map({"Identity": "TestDoubleGrad"}):
            z = tf.identity(x)
        gz, = tf.gradients(z, x)
        tf.NotDifferentiable("TestNoGradOp")
        with pytest.raises(KeyError):
            tf.NotDifferentiable("TestNoGradOp")
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(gx, {x: [0, 0]}), [3, 30])
            np.testing.assert_array_equal(sess.run(gz, {x: [0, 0]}), [2, 2])


def test_missing_gradient_raises_lookup_error():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2])
        y = tf.erf(x)
        with pytest.raises(LookupError, match="No gradient defined"):
            tf.gradients(y, x)


def test_relu_grads_multiply_by_the_mask_as_tf_does():
    """TF's ReluGrad/Relu6Grad are gradients * mask: a NaN or inf gradient where the unit is off gives NaN (a
    select would give 0). Values from TF 2.21's raw ops."""
    from tfmini.ops import grad_ops
    dy = tf.constant(np.float32([np.nan, np.inf, 1.0, 2.0]))
    x = tf.constant(np.float32([-1.0, -1.0, 2.0, 7.0]))
    with tf.Session() as sess:
        relu, relu6 = sess.run([grad_ops.relu_grad(dy, x), grad_ops.relu6_grad(dy, x)])
    np.testing.assert_array_equal(relu, np.float32([np.nan, np.nan, 1.0, 2.0]))
    np.testing.assert_array_equal(relu6, np.float32([np.nan, np.nan, 1.0, 0.0]))
