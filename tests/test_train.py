"""tf.train optimizers: the seed's numbers exactly (float32), each optimizer against a numpy reference,
slots, the global step, and the clip ops."""
import numpy as np
import pytest

import tfmini as tf


@pytest.fixture
def graph():
    g = tf.Graph()
    with g.as_default():
        yield g


def test_seed_numbers_exactly(graph):
    weight = tf.Variable(0.8)  # noqa: F841 - the seed makes this first variable, which gets no gradient
    x = tf.constant(1.0, name="input")
    w = tf.Variable(0.8, name="weight")
    y = tf.mul(w, x, name="output")
    y_ = tf.constant(0.0)
    loss = (y - y_) ** 2
    optim = tf.train.GradientDescentOptimizer(learning_rate=0.025)
    grads_and_vars = optim.compute_gradients(loss)
    assert grads_and_vars[0][0] is None and grads_and_vars[1][1] is w
    sess = tf.Session()
    sess.run(tf.initialize_all_variables())
    grad = sess.run(grads_and_vars[1][0])
    assert grad.dtype == np.float32 and grad == np.float32(1.6)
    sess.run(optim.apply_gradients(grads_and_vars))
    w_val = sess.run(w)
    assert w_val.dtype == np.float32 and w_val == np.float32(0.76) and f"{w_val:.8f}" == "0.75999999"
    train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
    for _ in range(100):
        sess.run(train_step)
    assert sess.run(y) == np.float32(0.0044996012)
    sess.run(tf.initialize_all_variables())
    seen = []
    for _ in range(100):
        seen.append(sess.run(y))
        sess.run(train_step)
    assert seen[0] == np.float32(0.800000011921) and seen[1] == np.float32(0.759999990463)
    assert seen[98] == np.float32(0.00524811353534) and seen[99] == np.float32(0.00498570781201)
    assert "{}".format(float(seen[0])) == "0.800000011920929"


def test_seed_final_version_with_pow(graph):
    x = tf.constant(1.0, name="input")
    w = tf.Variable(0.8, name="weight")
    y = tf.mul(w, x, name="output")
    loss = tf.pow(y - tf.constant(0.0, name="correct_value"), 2, name="loss")
    train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
    names = [op.name for op in graph.get_operations()]
    assert "GradientDescent/update_weight/ApplyGradientDescent" in names and "GradientDescent" in names
    apply = graph.get_operation_by_name("GradientDescent/update_weight/ApplyGradientDescent")
    assert apply.get_attr("_class") == [b"loc:@weight"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(100):
            sess.run(train_step)
        # float32 reference of the same updates: w -= lr * (2 * (w * x - 0) * x); from 0.8 (the seed's
        # 0.0044996012 starts from 0.76, after its one manual apply_gradients step)
        ref, lr, one = np.float32(0.8), np.float32(0.025), np.float32(1.0)
        for _ in range(100):
            ref = ref - (np.float32(2.0) * (ref * one)) * one * lr
        assert sess.run(y) == ref * one and abs(ref - 0.8 * 0.95 ** 100) < 1e-6


def test_fetched_values_are_not_changed_by_later_updates(graph):
    w = tf.Variable([1.0, 2.0])
    step = tf.train.GradientDescentOptimizer(0.5).minimize(tf.reduce_sum(w * w))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(w)
        sess.run(step)
        np.testing.assert_array_equal(before, [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(w), [0.0, 0.0])


def _problem(dtype):
    rng = np.random.RandomState(0)
    return (rng.randn(5, 3).astype(dtype), rng.randn(3, 2).astype(dtype), rng.randn(2).astype(dtype))


def _numpy_grads(x, w, b):
    """Gradients of mean(square(x @ w + b))."""
    out = x @ w + b
    d = 2 * out / out.size
    return [x.T @ d, d.sum(0)]


def _f32(v):
    """Hyperparameters are float32 constants (and Adam's beta powers float32 variables), as in TF."""
    return float(np.float32(v))


def _adam(lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    lr, b1, b2, eps = _f32(lr), _f32(b1), _f32(b2), _f32(eps)

    def step(params, grads, state, t):
        state.setdefault("m", [np.zeros_like(p) for p in params])
        state.setdefault("v", [np.zeros_like(p) for p in params])
        b1p, b2p = np.float32(b1), np.float32(b2)
        for _ in range(t - 1):
            b1p, b2p = b1p * np.float32(b1), b2p * np.float32(b2)
        alpha = lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p))
        for i, g in enumerate(grads):
            state["m"][i] = state["m"][i] + (g - state["m"][i]) * (1 - b1)
            state["v"][i] = state["v"][i] + (g * g - state["v"][i]) * (1 - b2)
            params[i] = params[i] - alpha * state["m"][i] / (np.sqrt(state["v"][i]) + eps)
    return step


def _momentum(lr=0.1, mu=0.9, nesterov=False):
    lr, mu = _f32(lr), _f32(mu)

    def step(params, grads, state, t):
        state.setdefault("a", [np.zeros_like(p) for p in params])
        for i, g in enumerate(grads):
            a = state["a"][i] = state["a"][i] * mu + g
            params[i] = params[i] - (g * lr + a * mu * lr if nesterov else a * lr)
    return step


def _adagrad(lr=0.1, init=0.1):
    lr = _f32(lr)

    def step(params, grads, state, t):
        state.setdefault("acc", [np.full_like(p, init) for p in params])
        for i, g in enumerate(grads):
            acc = state["acc"][i] = state["acc"][i] + g * g
            params[i] = params[i] - lr * g / np.sqrt(acc)
    return step


def _rmsprop(lr=0.1, rho=0.9, mu=0.5, eps=1e-10, centered=False):
    lr, rho, mu, eps = _f32(lr), _f32(rho), _f32(mu), _f32(eps)

    def step(params, grads, state, t):
        state.setdefault("ms", [np.ones_like(p) for p in params])
        state.setdefault("mg", [np.zeros_like(p) for p in params])
        state.setdefault("mom", [np.zeros_like(p) for p in params])
        for i, g in enumerate(grads):
            ms = state["ms"][i] = state["ms"][i] + (g * g - state["ms"][i]) * (1 - rho)
            mg = state["mg"][i] = state["mg"][i] + (g - state["mg"][i]) * (1 - rho)
            denom = ms - mg * mg + eps if centered else ms + eps
            mom = state["mom"][i] = state["mom"][i] * mu + lr * g / np.sqrt(denom)
            params[i] = params[i] - mom
    return step


def _sgd(lr=0.1):
    lr = _f32(lr)

    def step(params, grads, state, t):
        for i, g in enumerate(grads):
            params[i] = params[i] - lr * g
    return step


OPTIMIZERS = {
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), _sgd()),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.1, 0.9), _momentum()),
    "nesterov": (lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True), _momentum(nesterov=True)),
    "adam": (lambda: tf.train.AdamOptimizer(0.1), _adam()),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.1), _adagrad()),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.1, momentum=0.5), _rmsprop()),
    "centered_rmsprop": (lambda: tf.train.RMSPropOptimizer(0.1, momentum=0.5, centered=True),
                         _rmsprop(centered=True)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_matches_numpy_reference(graph, name, dtype):
    make, reference = OPTIMIZERS[name]
    x, w0, b0 = _problem(dtype)
    w, b = tf.Variable(w0, name="w"), tf.Variable(b0, name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(x), w) + b))
    step = make().minimize(loss)
    params, state = [w0.astype(np.float64), b0.astype(np.float64)], {}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for t in range(1, 6):
            sess.run(step)
            reference(params, _numpy_grads(x.astype(np.float64), *params), state, t)
            got = sess.run([w, b])
            assert got[0].dtype == dtype
            tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got[0], params[0], **tol)
            np.testing.assert_allclose(got[1], params[1], **tol)


def test_slots_and_non_slot_variables(graph):
    w = tf.Variable(np.ones((2, 2), np.float32), name="weight")
    b = tf.Variable(np.zeros(2, np.float32), name="bias")
    opt = tf.train.AdamOptimizer(0.01)
    opt.minimize(tf.reduce_sum(tf.matmul(w, w) + b))
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(w, "m").op.name == "weight/Adam" and opt.get_slot(w, "v").op.name == "weight/Adam_1"
    assert opt.get_slot(b, "m").op.name == "bias/Adam"
    assert opt.get_slot(w, "m").op.get_attr("_class") == [b"loc:@weight"]
    names = {v.op.name for v in tf.global_variables()}
    assert {"beta1_power", "beta2_power"} <= names
    assert {v.op.name for v in tf.trainable_variables()} == {"weight", "bias"}
    rms = tf.train.RMSPropOptimizer(0.1)
    rms.minimize(tf.reduce_sum(w))
    assert rms.get_slot(w, "rms").op.name == "weight/RMSProp"
    assert rms.get_slot(w, "momentum").op.name == "weight/RMSProp_1"
    mom = tf.train.MomentumOptimizer(0.1, 0.9)
    mom.minimize(tf.reduce_sum(w))
    assert mom.get_slot(w, "momentum").op.name == "weight/Momentum"
    assert mom.get_slot(b, "momentum") is None


def test_global_step(graph):
    assert tf.train.get_global_step() is None
    gs = tf.train.get_or_create_global_step()
    assert gs.op.name == "global_step" and gs.dtype.base_dtype == tf.int64
    assert tf.train.get_or_create_global_step() is gs and tf.train.get_global_step() is gs
    with pytest.raises(ValueError):
        tf.train.create_global_step()
    w = tf.Variable(1.0)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(w * w, global_step=gs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train)
        assert tf.train.global_step(sess, gs) == 3
        np.testing.assert_allclose(sess.run(w), 0.8 ** 3, rtol=1e-6)


def test_errors(graph):
    w = tf.Variable(1.0)
    opt = tf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match="No gradients"):
        opt.minimize(tf.constant(1.0) * 2.0, var_list=[w])
    with pytest.raises(ValueError, match="No variables provided"):
        opt.apply_gradients([])
    with pytest.raises(ValueError, match="Invalid type int32"):
        opt.compute_gradients(tf.constant(1))


def test_clip_ops(graph):
    a = tf.constant([3.0, 4.0])
    b = tf.constant([[12.0]])
    clipped, norm = tf.clip_by_global_norm([a, None, b], 6.5)
    assert clipped[1] is None
    with tf.Session() as sess:
        c0, c2, n = sess.run([clipped[0], clipped[2], norm])
        assert n == pytest.approx(13.0)
        np.testing.assert_allclose(c0, [1.5, 2.0], rtol=1e-6)
        np.testing.assert_allclose(c2, [[6.0]], rtol=1e-6)
        np.testing.assert_allclose(sess.run(tf.global_norm([a, b])), 13.0, rtol=1e-6)
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(a, 1.0)), [0.6, 0.8], rtol=1e-6)
        np.testing.assert_allclose(sess.run(tf.clip_by_norm(a, 10.0)), [3.0, 4.0], rtol=1e-6)
        np.testing.assert_allclose(sess.run(tf.clip_by_value(a, 3.5, 3.8)), [3.5, 3.8])
        unclipped, _ = tf.clip_by_global_norm([a], 100.0)
        np.testing.assert_allclose(sess.run(unclipped[0]), [3.0, 4.0], rtol=1e-6)
