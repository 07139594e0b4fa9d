"""Gradients of a while loop nested in another (client/ops/control_flow_grad.py): TF's scheme, the inner
backward loop built inside the outer backward loop, one stack per inner value shared by all the inner
loop's runs, each run's count pushed by the outer loop. Checked against finite differences, on the
compiled and the interpreted executor, and against TensorFlow 2.21 running tfmini's graph (TF's own
nested-gradient graph replays in tests/test_tf_interchange.py: golden control_flow_nested_grad)."""
import json
import subprocess

import numpy as np
import pytest

import tfmini as tf
from test_control_flow import _TF_RUN, _Env, _run_plan, numeric_gradient
from tfmini.worker.frames import FramePlan


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


RNG = np.random.RandomState(11)
X0, W0 = RNG.randn(2, 3), RNG.randn(3, 3) * 0.5


def _double_loop(x, w, parallel_iterations=10):
    """Outer iteration i runs the inner loop i + 1 times (so the runs push different counts); a cond in
    the inner body takes a matmul/tanh or a scaling by the outer counter."""
    def outer_body(i, h):
        def inner_body(j, g):
            return j + 1, tf.cond(j % 2 > 0, lambda: tf.tanh(tf.matmul(g, w)),
                                  lambda: g * tf.cast(i + 1, g.dtype))
        _, g = tf.while_loop(lambda j, g: j < i + 1, inner_body, [tf.constant(0), h],
                             parallel_iterations=parallel_iterations)
        return i + 1, g + h
    return tf.while_loop(lambda i, h: i < 3, outer_body, [tf.constant(0), x],
                         parallel_iterations=parallel_iterations)[1]


def _double_loop_numpy(x, w):
    h = x
    for i in range(3):
        g = h
        for j in range(i + 1):
            g = np.tanh(g @ w) if j % 2 else g * (i + 1)
        h = g + h
    return h


def _loss_numpy(x, w):
    return float((_double_loop_numpy(x, w) ** 2).sum())


@pytest.mark.parametrize("parallel_iterations", [1, 10])
def test_double_loop_gradients_match_finite_differences(parallel_iterations):
    x = tf.placeholder(tf.float64, [2, 3])
    w = tf.placeholder(tf.float64, [3, 3])
    y = _double_loop(x, w, parallel_iterations)
    loss = tf.reduce_sum(y * y)
    gx, gw = tf.gradients(loss, [x, w])
    with tf.Session() as sess:
        got_loss, got_x, got_w = sess.run([loss, gx, gw], {x: X0, w: W0})
    assert np.isclose(got_loss, _loss_numpy(X0, W0))
    np.testing.assert_allclose(got_x, numeric_gradient(lambda v: _loss_numpy(v, W0), X0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_w, numeric_gradient(lambda v: _loss_numpy(X0, v), W0), rtol=1e-6, atol=1e-8)


def test_the_interpreter_and_the_compiled_loops_agree_on_a_nested_gradient():
    x = tf.constant(X0, name="x")
    w = tf.constant(W0, name="w")
    loss = tf.reduce_sum(tf.square(_double_loop(x, w)))
    gx, gw = tf.gradients(loss, [x, w])
    graph_def = tf.get_default_graph().as_graph_def()
    with tf.Session() as sess:
        compiled = sess.run([gx, gw])
    interpreted = _run_plan(FramePlan(graph_def, _Env(), compile_loops=False), [gx, gw], {})
    for a, b in zip(compiled, interpreted):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(compiled[1], numeric_gradient(lambda v: _loss_numpy(X0, v), W0), rtol=1e-6, atol=1e-8)


def test_three_loops_deep():
    a = tf.placeholder(tf.float64, [])

    def level(depth, v):
        if depth == 0:
            return tf.sin(v) * a
        return tf.while_loop(lambda k, u: k < 2, lambda k, u: (k + 1, level(depth - 1, u)), [tf.constant(0), v])[1]
    y = level(3, a)
    g = tf.gradients(y, a)[0]

    def f(v):
        def lv(depth, u):
            if depth == 0:
                return np.sin(u) * v
            for _ in range(2):
                u = lv(depth - 1, u)
            return u
        return lv(3, v)
    with tf.Session() as sess:
        for v in (0.4, 1.1):
            assert np.isclose(sess.run(g, {a: v}), (f(v + 1e-6) - f(v - 1e-6)) / 2e-6, rtol=1e-6)


def test_map_fn_inside_map_fn_gradient():
    e = tf.placeholder(tf.float64, [3, 4])
    s = tf.placeholder(tf.float64, [])
    out = tf.map_fn(lambda row: tf.map_fn(lambda v: tf.sin(v) * v * s, row), e)
    ge, gs = tf.gradients(tf.reduce_sum(out), [e, s])
    ev = RNG.randn(3, 4)
    with tf.Session() as sess:
        got, got_e, got_s = sess.run([out, ge, gs], {e: ev, s: 1.5})
    np.testing.assert_allclose(got, np.sin(ev) * ev * 1.5, rtol=1e-12)
    np.testing.assert_allclose(got_e, (np.cos(ev) * ev + np.sin(ev)) * 1.5, rtol=1e-12)
    np.testing.assert_allclose(got_s, (np.sin(ev) * ev).sum(), rtol=1e-12)


def test_a_variable_read_in_an_inner_loop_trains():
    w = tf.Variable(np.full([3, 3], 0.2), name="w")
    loss = tf.reduce_sum(tf.square(_double_loop(tf.constant(X0), w) - 0.3))
    train = tf.train.GradientDescentOptimizer(0.002).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(loss)
        for _ in range(5):
            sess.run(train)
        after = sess.run(loss)
    assert after < before * 0.9


def test_a_tfmini_nested_loop_gradient_runs_on_tensorflow(tmp_path, tf_python):
    x = tf.constant(X0.astype(np.float32), name="x")
    w = tf.constant(W0.astype(np.float32), name="w")
    loss = tf.reduce_sum(tf.square(_double_loop(x, w)), name="loss")
    gx, gw = tf.gradients(loss, [x, w])
    gx, gw = tf.identity(gx, name="gx"), tf.identity(gw, name="gw")
    e = tf.constant(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), name="e")
    mapped = tf.map_fn(lambda row: tf.map_fn(lambda v: tf.sin(v) * v * w[0, 0], row), e)
    ge = tf.identity(tf.gradients(tf.reduce_sum(mapped * mapped), e)[0], name="ge")
    fetches = [loss.name, gx.name, gw.name, ge.name]
    with tf.Session() as sess:
        ours = sess.run(fetches)
    tf.io.write_graph(tf.get_default_graph(), str(tmp_path), "nested.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_RUN, str(tmp_path / "nested.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, a, b in zip(fetches, ours, theirs):
        np.testing.assert_allclose(a, np.float32(b), rtol=2e-5, atol=1e-6, err_msg=name)


def test_a_nested_loop_gradient_on_a_cluster_reads_its_variable_on_the_ps(tmp_path):
    from test_distributed import ProcessCluster
    cluster = ProcessCluster(str(tmp_path), num_ps=1, num_workers=1)
    try:
        with tf.device("/job:ps/task:0"):
            w = tf.Variable(W0, name="w")
        with tf.device("/job:worker/task:0"):
            loss = tf.reduce_sum(tf.square(_double_loop(tf.constant(X0), w)))
            gw = tf.gradients(loss, w)[0]
        with tf.Session(cluster.target()) as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(gw)
    finally:
        cluster.stop()
    np.testing.assert_allclose(got, numeric_gradient(lambda v: _loss_numpy(X0, v), W0), rtol=1e-6, atol=1e-8)


def test_gradients_taken_inside_a_loop_body_with_a_loop_in_it():
    """tf.gradients called inside a body differentiates that body (its inner loop's backward loop is built in
    it, its stacks made per run of the body), as in TF."""
    x = tf.placeholder(tf.float64, [])

    def outer_body(i, a):
        inner = tf.while_loop(lambda j, b: j < 3, lambda j, b: (j + 1, tf.sin(b) * a), [tf.constant(0), a])[1]
        d_inner = tf.gradients(inner, a)[0]
        d_plain = tf.gradients(tf.sin(a) * a, a)[0]
        return i + 1, inner + 0.01 * d_inner + 0.1 * d_plain
    _, y = tf.while_loop(lambda i, a: i < 2, outer_body, [tf.constant(0), x])

    def inner_numpy(u, v):
        for _ in range(3):
            u = np.sin(u) * v
        return u

    def f(v):
        for _ in range(2):
            d_inner = (inner_numpy(v + 1e-6, v + 1e-6) - inner_numpy(v - 1e-6, v - 1e-6)) / 2e-6
            v = inner_numpy(v, v) + 0.01 * d_inner + 0.1 * (np.cos(v) * v + np.sin(v))
        return v
    with tf.Session() as sess:
        for v in (0.7, -0.4):
            assert np.isclose(sess.run(y, {x: v}), f(v), rtol=1e-8)


def test_a_gradient_with_respect_to_a_tensor_inside_a_loop_from_outside_it_is_refused():
    x = tf.placeholder(tf.float64, [])
    inside = []

    def body(i, a):
        inside.append(a * 2.0)
        return i + 1, tf.sin(inside[-1])
    _, y = tf.while_loop(lambda i, a: i < 3, body, [tf.constant(0), x])
    with pytest.raises(NotImplementedError, match="tensor inside the while loop 'while'"):
        tf.gradients(y, inside[0])
    assert tf.gradients(y, y)[0] is not None  # a loop's result is outside it
