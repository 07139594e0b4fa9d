"""tf.layers, tf.nn's moments/batch_normalization family, initializers, learning-rate schedules, the Adadelta/
Ftrl/proximal optimizers and ExponentialMovingAverage: TF's names and collections, values against NumPy, numeric
gradients, and a TF 1.x-style digits program."""
import numpy as np
import pytest

import tfmini as tf
from test_gradients import numeric_check


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def run(fetches, feed=None, init=True):
    with tf.Session() as sess:
        if init:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        return sess.run(fetches, feed)


# -- tf.layers: names, scopes, collections ---------------------------------------------------------------------
def test_dense_variables_and_ops_are_named_as_tf():
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.dense(x, 5, activation=tf.nn.relu)
    y = tf.layers.dense(h, 3)
    z = tf.layers.dense(y, 2, name="logits", use_bias=False)
    assert [v.name for v in tf.trainable_variables()] == ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0",
                                                          "dense_1/bias:0", "logits/kernel:0"]
    assert h.op.name == "dense/Relu" and y.op.name == "dense_1/BiasAdd" and z.op.name == "logits/MatMul"
    assert h.shape.as_list() == [None, 5]
    with pytest.raises(ValueError, match="logits/kernel already exists"):
        tf.layers.dense(y, 2, name="logits", use_bias=False)
    again = tf.layers.dense(y, 2, name="logits", use_bias=False, reuse=True)
    assert len(tf.trainable_variables()) == 5 and again.op.name == "logits_2/MatMul"  # the failed try took logits_1


def test_dense_values_initializers_and_regularizer():
    x = np.random.RandomState(0).randn(3, 4).astype(np.float32)
    y = tf.layers.dense(x, 2, kernel_initializer=tf.constant_initializer(0.5),
                        bias_initializer=tf.constant_initializer(1.0),
                        kernel_regularizer=tf.contrib.layers.l2_regularizer(0.1))
    reg, = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert reg.op.name == "dense/kernel/Regularizer/l2_regularizer"
    got, penalty, total = run([y, reg, tf.losses.get_regularization_loss()])
    np.testing.assert_allclose(got, x @ np.full((4, 2), 0.5) + 1.0, rtol=1e-6)
    np.testing.assert_allclose(penalty, 0.1 * 8 * 0.25 / 2, rtol=1e-6)
    assert total == penalty


def test_default_kernel_initializer_is_glorot_uniform():
    tf.layers.dense(tf.zeros([2, 300]), 200)
    kernel = run(tf.trainable_variables()[0])
    limit = np.sqrt(6 / 500)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert run(tf.trainable_variables()[1]).tolist() == [0.0] * 200


def test_dense_class_reuses_its_variables():
    layer = tf.layers.Dense(3, name="fc")
    a = layer(tf.ones([2, 4]))
    b = layer(tf.zeros([5, 4]))
    assert [v.name for v in layer.variables] == ["fc/kernel:0", "fc/bias:0"]
    assert len(tf.global_variables()) == 2 and a.op.name == "fc/BiasAdd" and b.shape.as_list() == [5, 3]


def test_dropout_and_flatten():
    x = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4)
    off = tf.layers.dropout(x, 0.5, training=False)
    on = tf.layers.dropout(x, 0.5, training=True)
    training = tf.placeholder(tf.bool, [])
    maybe = tf.layers.dropout(x, 0.5, training=training)
    flat = tf.layers.flatten(x)
    assert off.op.type == "Identity" and off.op.name == "dropout/Identity" and flat.shape.as_list() == [2, 12]
    got_off, got_on, got_flat = run([off, on, flat])
    np.testing.assert_array_equal(got_off, x)
    assert set(np.unique(got_on / x)) <= {0.0, 2.0}
    np.testing.assert_array_equal(got_flat, x.reshape(2, 12))
    np.testing.assert_array_equal(run(maybe, {training: False}), x)
    assert set(np.unique(run(maybe, {training: True}) / x)) <= {0.0, 2.0}


def test_conv2d_and_pooling_layers():
    rng = np.random.RandomState(1)
    images = rng.randn(2, 6, 6, 3).astype(np.float32)
    kernel = rng.randn(3, 3, 3, 4).astype(np.float32)
    conv = tf.layers.conv2d(images, 4, 3, padding="same", activation=tf.nn.relu,
                            kernel_initializer=tf.constant_initializer(kernel))
    pooled = tf.layers.max_pooling2d(conv, 2, 2)
    averaged = tf.layers.average_pooling2d(conv, (3, 3), (3, 3), padding="valid")
    assert [v.name for v in tf.trainable_variables()] == ["conv2d/kernel:0", "conv2d/bias:0"]
    assert conv.op.name == "conv2d/Relu" and pooled.op.type == "MaxPool" and averaged.op.type == "AvgPool"
    assert pooled.shape.as_list() == [2, 3, 3, 4] and averaged.shape.as_list() == [2, 2, 2, 4]
    got_conv, got_pool, got_avg = run([conv, pooled, averaged])
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # [n, 6, 6, c, 3, 3]
    want = np.maximum(np.einsum("nhwcij,ijco->nhwo", windows, kernel), 0)
    np.testing.assert_allclose(got_conv, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_pool, want.reshape(2, 3, 2, 3, 2, 4).max(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_allclose(got_avg, want.reshape(2, 2, 3, 2, 3, 4).mean(axis=(2, 4)), rtol=1e-5)


def test_batch_normalization_training_updates_and_inference():
    rng = np.random.RandomState(2)
    x = (rng.randn(8, 3) * 2 + 5).astype(np.float32)
    ph = tf.placeholder(tf.float32, [None, 3])
    y = tf.layers.batch_normalization(ph, training=True, momentum=0.9)
    names = [v.name for v in tf.global_variables()]
    assert names == ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                     "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert [v.name for v in tf.trainable_variables()] == names[:2]
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert [u.op.name for u in updates] == ["batch_normalization/AssignMovingAvg",
                                            "batch_normalization/AssignMovingAvg_1"]
    inference = tf.layers.batch_normalization(ph, training=False, name="batch_normalization", reuse=True)
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with tf.control_dependencies(updates):
            train_y = tf.identity(y)
        got = sess.run(train_y, {ph: x})
        mean, var = x.mean(0), x.var(0)
        np.testing.assert_allclose(got, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
        moving_mean, moving_var = sess.run(names[2:])
        np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
        np.testing.assert_allclose(moving_var, 0.9 + 0.1 * var, rtol=1e-5)
        np.testing.assert_allclose(sess.run(inference, {ph: x}), (x - moving_mean) / np.sqrt(moving_var + 1e-3),
                                   rtol=1e-5, atol=1e-5)


def test_batch_normalization_over_channels_first_axis():
    x = np.random.RandomState(3).randn(4, 2, 3, 3).astype(np.float32)
    y = tf.layers.batch_normalization(x, axis=1, training=True, center=False, scale=False)
    assert [v.name for v in tf.global_variables()] == ["batch_normalization/moving_mean:0",
                                                       "batch_normalization/moving_variance:0"]
    mean, var = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(run(y), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)


# -- tf.nn composites ------------------------------------------------------------------------------------------
def test_nn_composites_against_numpy():
    rng = np.random.RandomState(4)
    x = rng.randn(4, 3).astype(np.float32)
    z = rng.randint(0, 2, (4, 3)).astype(np.float32)
    w, b = rng.randn(3, 2).astype(np.float32), rng.randn(2).astype(np.float32)
    mean, var = tf.nn.moments(x, [0])
    kept = tf.nn.moments(x, [0, 1], keep_dims=True)
    assert mean.shape.as_list() == [3] and kept[0].shape.as_list() == [1, 1]
    fetched = run([mean, var, kept[1], tf.nn.batch_normalization(x, mean, var, 0.5, 2.0, 1e-3),
                   tf.nn.l2_normalize(x, 1), tf.nn.xw_plus_b(x, w, b),
                   tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
                   tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=3.0)])
    sig = 1 / (1 + np.exp(-x))
    want = [x.mean(0), x.var(0), x.var().reshape(1, 1), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) * 2 + 0.5,
            x / np.linalg.norm(x, axis=1, keepdims=True), x @ w + b,
            -z * np.log(sig) - (1 - z) * np.log(1 - sig), -3 * z * np.log(sig) - (1 - z) * np.log(1 - sig)]
    for got, expected in zip(fetched, want):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("build", [
    lambda x: tf.nn.moments(x, [0])[1],
    lambda x: tf.nn.batch_normalization(x, *tf.nn.moments(x, [0]), 0.5, 2.0, 1e-3),
    lambda x: tf.nn.l2_normalize(x, 1),
    lambda x: tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(x) * 0.3, logits=x),
    lambda x: tf.layers.batch_normalization(x, training=True, center=False, scale=False),
], ids=["moments", "batch_normalization", "l2_normalize", "sigmoid_xent", "layers_bn"])
def test_nn_composite_gradients(build):
    numeric_check(build, [np.random.RandomState(5).randn(4, 3)])


def test_bias_add_gradient_is_tf_bias_add_grad():
    x = tf.placeholder(tf.float64, [None, 3])
    b = tf.constant(np.zeros(3))
    grad = tf.gradients(tf.reduce_sum(tf.nn.bias_add(x, b) * 2.0), b)[0]
    assert grad.op.type == "BiasAddGrad"
    np.testing.assert_allclose(run(grad, {x: np.ones((5, 3))}, init=False), [10.0] * 3)


# -- initializers ------------------------------------------------------------------------------------------------
def test_initializers_statistics():
    init = [tf.glorot_normal_initializer(seed=1)([400, 300]),
            tf.variance_scaling_initializer(2.0, "fan_in", "uniform", seed=2)([400, 300]),
            tf.uniform_unit_scaling_initializer(1.5, seed=3)([400, 300]),
            tf.orthogonal_initializer(gain=2.0, seed=4)([30, 20]),
            tf.orthogonal_initializer(seed=5)([3, 3, 4, 6]),
            tf.contrib.layers.xavier_initializer(seed=6)([400, 300]),
            tf.initializers.he_normal(seed=7)([400, 300])]
    glorot, scaled, unit, ortho, ortho4, xavier, he = run(init, init=False)
    np.testing.assert_allclose(glorot.std(), np.sqrt(2 / 700), rtol=0.05)
    assert np.abs(glorot).max() <= 2 * np.sqrt(2 / 700) / .87962566103423978
    assert np.abs(scaled).max() <= np.sqrt(6 / 400) and np.abs(unit).max() <= 1.5 * np.sqrt(3 / 400)
    np.testing.assert_allclose(ortho.T @ ortho, 4 * np.eye(20), atol=1e-4)
    flat = ortho4.reshape(36, 6)
    np.testing.assert_allclose(flat.T @ flat, np.eye(6), atol=1e-5)
    assert np.abs(xavier).max() <= np.sqrt(6 / 700)
    np.testing.assert_allclose(he.std(), np.sqrt(2 / 400), rtol=0.05)


# -- learning-rate schedules -------------------------------------------------------------------------------------
def test_schedules_follow_global_step():
    step = tf.train.get_or_create_global_step()
    lrs = [tf.train.exponential_decay(0.1, step, 3, 0.5), tf.train.exponential_decay(0.1, step, 3, 0.5, True),
           tf.train.natural_exp_decay(0.1, step, 3, 0.5), tf.train.inverse_time_decay(0.1, step, 3, 0.5, True),
           tf.train.polynomial_decay(0.1, step, 4, 0.01, power=2.0),
           tf.train.polynomial_decay(0.1, step, 2, 0.01, cycle=True),
           tf.train.cosine_decay(0.1, step, 4, alpha=0.1),
           tf.train.piecewise_constant(step, [2, 4], [1.0, 0.5, 0.25])]
    assert lrs[0].op.name == "ExponentialDecay" and lrs[3].op.name == "InverseTimeDecay"
    with pytest.raises(ValueError, match="global_step is required"):
        tf.train.exponential_decay(0.1, None, 3, 0.5)
    tick = tf.assign_add(step, 1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for s in range(7):
            got = sess.run(lrs)
            cyc = 2 * max(1, np.ceil(s / 2))
            want = [0.1 * 0.5 ** (s / 3), 0.1 * 0.5 ** (s // 3), 0.1 * np.exp(-0.5 * s / 3), 0.1 / (1 + 0.5 * (s // 3)),
                    0.09 * (1 - min(s, 4) / 4) ** 2 + 0.01, 0.09 * (1 - s / cyc) + 0.01,
                    0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * min(s, 4) / 4)) + 0.1),
                    1.0 if s <= 2 else 0.5 if s <= 4 else 0.25]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=f"step {s}")
            sess.run(tick)


# -- optimizers ---------------------------------------------------------------------------------------------
def _numpy_steps(name, var, grads, lr, **kw):
    """TF's training_ops formulas, in float64, applied for each gradient in turn."""
    var, accum = var.copy(), np.full_like(var, kw.get("init", 0.0))
    other = np.zeros_like(var)
    for g in grads:
        if name == "adadelta":
            rho, eps = 0.95, 1e-8
            accum = accum * rho + g * g * (1 - rho)
            update = np.sqrt(other + eps) / np.sqrt(accum + eps) * g
            other = other * rho + update ** 2 * (1 - rho)
            var = var - lr * update
        elif name == "ftrl":
            p, l1, l2, shrink = kw["power"], kw["l1"], kw["l2"], kw["shrink"]
            new_accum = accum + g * g
            other = other + g + 2 * shrink * var - (new_accum ** p - accum ** p) / lr * var
            quad = new_accum ** p / lr + 2 * l2
            var = np.where(np.abs(other) > l1, (np.clip(other, -l1, l1) - other) / quad, 0.0)
            accum = new_accum
        else:
            if name == "proximal_adagrad":
                accum = accum + g * g
                step = lr / np.sqrt(accum)
            else:
                step = lr
            prox = var - step * g
            var = np.sign(prox) * np.maximum(np.abs(prox) - step * kw["l1"], 0) / (1 + step * kw["l2"])
    return var


@pytest.mark.parametrize("name,make,kw", [
    ("adadelta", lambda: tf.train.AdadeltaOptimizer(2.0), {}),
    ("ftrl", lambda: tf.train.FtrlOptimizer(0.3, l1_regularization_strength=0.01, l2_regularization_strength=0.1),
     {"power": 0.5, "l1": 0.01, "l2": 0.1, "shrink": 0.0, "init": 0.1}),
    ("ftrl", lambda: tf.train.FtrlOptimizer(0.3, learning_rate_power=-0.6, l2_shrinkage_regularization_strength=0.2),
     {"power": 0.6, "l1": 0.0, "l2": 0.0, "shrink": 0.2, "init": 0.1}),
    ("proximal_gd", lambda: tf.train.ProximalGradientDescentOptimizer(0.3, 0.05, 0.1), {"l1": 0.05, "l2": 0.1}),
    ("proximal_adagrad", lambda: tf.train.ProximalAdagradOptimizer(0.3, 0.1, 0.05, 0.1),
     {"l1": 0.05, "l2": 0.1, "init": 0.1}),
], ids=["adadelta", "ftrl", "ftrl_v2", "proximal_gd", "proximal_adagrad"])
def test_optimizers_against_numpy(name, make, kw):
    start = np.array([1.5, -0.5, 0.2, -2.0])
    target = np.array([0.5, 0.5, -0.5, 0.0])
    w = tf.Variable(start, name="w")
    loss = tf.reduce_sum(tf.square(w - target))
    train = make().minimize(loss)
    values, grads = [], []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(4):
            grads.append(2 * (sess.run(w) - target))
            sess.run(train)
        values = sess.run(w)
    lr = {"adadelta": 2.0}.get(name, 0.3)
    # the float32 hyperparameters (TF's) cast to float64 differ from NumPy's float64 ones in the 8th digit
    np.testing.assert_allclose(values, _numpy_steps(name, start, grads, lr, **kw), rtol=1e-6, atol=1e-6)


def test_optimizer_slot_names_and_fused_op_types():
    w = tf.Variable(tf.zeros([3]), name="w")
    loss = tf.reduce_sum(tf.square(w - 1.0))
    ops = {}
    for opt in (tf.train.AdadeltaOptimizer(), tf.train.FtrlOptimizer(0.1),
                tf.train.FtrlOptimizer(0.1, l2_shrinkage_regularization_strength=0.1, name="FtrlV2"),
                tf.train.ProximalGradientDescentOptimizer(0.1), tf.train.ProximalAdagradOptimizer(0.1)):
        train = opt.minimize(loss)
        ops[opt.get_name()] = (sorted(v.op.name for v in opt.variables()), sorted(opt.get_slot_names()),
                               sorted({o.type for o in tf.get_default_graph().get_operations()
                                       if o.type.startswith("Apply") and o.name.startswith(train.name)}))
    assert ops == {
        "Adadelta": (["w/Adadelta", "w/Adadelta_1"], ["accum", "accum_update"], ["ApplyAdadelta"]),
        "Ftrl": (["w/Ftrl", "w/Ftrl_1"], ["accum", "linear"], ["ApplyFtrl"]),
        "FtrlV2": (["w/FtrlV2", "w/FtrlV2_1"], ["accum", "linear"], ["ApplyFtrlV2"]),
        "ProximalGradientDescent": ([], [], ["ApplyProximalGradientDescent"]),
        "ProximalAdagrad": (["w/ProximalAdagrad"], ["accumulator"], ["ApplyProximalAdagrad"])}


# -- ExponentialMovingAverage ------------------------------------------------------------------------------------
def test_exponential_moving_average():
    w = tf.Variable([1.0, 2.0], name="w")
    b = tf.Variable(3.0, name="b")
    step = tf.Variable(0, name="step", trainable=False)
    ema = tf.train.ExponentialMovingAverage(0.9, num_updates=step)
    with tf.control_dependencies([tf.assign(w, w * 2.0), tf.assign_add(step, 1)]):
        update = ema.apply([w, b])
    assert update.name == "ExponentialMovingAverage"
    assert ema.average(w).name == "w/ExponentialMovingAverage:0" and ema.average_name(b) == "b/ExponentialMovingAverage"
    assert tf.moving_average_variables() == [w, b]
    restore = ema.variables_to_restore()
    assert restore["w/ExponentialMovingAverage"] is w and restore["step"] is step
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(ema.average(w)).tolist() == [1.0, 2.0]
        shadow, value = np.array([1.0, 2.0]), np.array([1.0, 2.0])
        for n in range(1, 4):
            sess.run(update)
            value = value * 2
            decay = min(0.9, (1 + n) / (10 + n))
            shadow = shadow - (shadow - value) * (1 - decay)
            np.testing.assert_allclose(sess.run(ema.average(w)), shadow, rtol=1e-6)


# -- a TF 1.x program ---------------------------------------------------------------------------------------------
def test_digits_mlp_with_layers_batch_norm_decay_ema_and_metrics():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x_all = (digits.data / 16.0).astype(np.float32)
    y_all = digits.target.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x_all))
    train_idx, test_idx = order[:1400], order[1400:]

    tf.set_random_seed(1)
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    training = tf.placeholder_with_default(False, [], name="training")
    hidden = tf.layers.dense(x, 64, activation=tf.nn.relu)
    hidden = tf.layers.batch_normalization(hidden, training=training)
    hidden = tf.layers.dropout(hidden, 0.1, training=training)
    logits = tf.layers.dense(hidden, 10)
    loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.train.exponential_decay(0.5, global_step, 100, 0.7, staircase=True)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        opt_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss, global_step=global_step)
    ema = tf.train.ExponentialMovingAverage(0.99, num_updates=global_step)
    with tf.control_dependencies([opt_op]):
        train_op = ema.apply(tf.trainable_variables())
    predictions = tf.argmax(logits, 1)
    accuracy, update_accuracy = tf.metrics.accuracy(labels=y, predictions=predictions)

    rng = np.random.RandomState(1)
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        for _ in range(400):
            batch = rng.choice(train_idx, 64)
            sess.run(train_op, {x: x_all[batch], y: y_all[batch], training: True})
        # Evaluate with the averaged weights, as a TF program restoring variables_to_restore() would.
        for v in tf.trainable_variables():
            sess.run(v.assign(ema.average(v)))
        for chunk in np.array_split(test_idx, 4):
            sess.run(update_accuracy, {x: x_all[chunk], y: y_all[chunk]})
        assert sess.run(accuracy) >= 0.95


def test_contrib_layers_aliases():
    x = tf.placeholder(tf.float32, [None, 2, 3])
    flat = tf.contrib.layers.flatten(x)
    h = tf.contrib.layers.fully_connected(flat, 4, weights_regularizer=tf.contrib.layers.l2_regularizer(0.5))
    assert [v.name for v in tf.trainable_variables()] == ["fully_connected/weights:0", "fully_connected/biases:0"]
    assert h.op.type == "Relu" and flat.shape.as_list() == [None, 6]
    assert len(tf.losses.get_regularization_losses()) == 1
    with pytest.raises(ValueError, match="scale cannot be an integer"):
        tf.contrib.layers.l2_regularizer(1)
    assert tf.contrib.layers.l1_regularizer(0.0)(tf.trainable_variables()[0]) is None


def test_bias_add_honours_data_format_forward_and_backward():
    x = np.random.RandomState(0).rand(2, 3, 4, 5)
    b = np.array([1.0, 2.0, 3.0])
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(tf.nn.bias_add(tf.constant(x), tf.constant(b), data_format="NCHW"))
        np.testing.assert_allclose(got, x + b.reshape(3, 1, 1))
        with pytest.raises(tf.errors.InvalidArgumentError, match="as many biases"):
            sess.run(tf.nn.bias_add(tf.constant(x), tf.constant(b)))  # NHWC: 5 channels, 3 biases
    numeric_check(lambda v, c: tf.nn.bias_add(v, c, data_format="NCHW"), [x, b])
