"""tf.cond, tf.case and tf.while_loop (TF 1.x's Switch/Merge/Enter/Exit/NextIteration graphs), run by the
frame executor (worker/frames.py, worker/loop_compiler.py); their gradients; graphs moving to and from
TensorFlow. TF-written control-flow goldens (tests/data/tf_graphs/control_flow_*) replay in
tests/test_tf_interchange.py; the cluster cases are in tests/test_control_flow_distributed.py."""
import collections
import json
import subprocess
import time

import numpy as np
import pytest

import tfmini as tf
from tfmini.worker.frames import FramePlan


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def run(fetches, feed_dict=None, **kwargs):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict, **kwargs)


def numeric_gradient(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        g[idx] = (f(up) - f(down)) / (2 * eps)
    return g


# -- the graphs, as TensorFlow writes them --------------------------------------------------------------
def test_while_loop_writes_tensorflows_nodes():
    x = tf.placeholder(tf.float32, [2], name="x")
    tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), [tf.constant(0), x])
    nodes = {op.name: op for op in tf.get_default_graph().get_operations()}
    assert nodes["while/Enter"].type == "Enter" and nodes["while/Enter"].get_attr("frame_name") == \
        b"while/while_context"
    assert nodes["while/Enter"].get_attr("parallel_iterations") == 10
    assert not nodes["while/Enter"].get_attr("is_constant")
    assert [t.name for t in nodes["while/Merge"].inputs] == ["while/Enter:0", "while/NextIteration:0"]
    assert [t.name for t in nodes["while/Switch"].inputs] == ["while/Merge:0", "while/LoopCond:0"]
    assert [t.name for t in nodes["while/Identity"].inputs] == ["while/Switch:1"]
    assert [t.name for t in nodes["while/Exit_1"].inputs] == ["while/Switch_1:0"]
    assert [c.name for c in nodes["while/mul/y"].control_inputs] == ["while/Identity"]  # the body's pivot
    assert [c.name for c in nodes["while/Less/y"].control_inputs] == ["while/Merge"]    # the condition's


def test_cond_writes_tensorflows_nodes():
    x, p = tf.placeholder(tf.float32, [2], name="x"), tf.placeholder(tf.bool, [], name="p")
    tf.cond(p, lambda: x + 1.0, lambda: x - 1.0)
    nodes = {op.name: op for op in tf.get_default_graph().get_operations()}
    assert [t.name for t in nodes["cond/Switch"].inputs] == ["p:0", "p:0"]
    assert [t.name for t in nodes["cond/add/Switch"].inputs] == ["x:0", "cond/pred_id:0"]
    assert [t.name for t in nodes["cond/add"].inputs][0] == "cond/add/Switch:1"
    assert [t.name for t in nodes["cond/sub"].inputs][0] == "cond/sub/Switch:0"
    assert [t.name for t in nodes["cond/Merge"].inputs] == ["cond/sub:0", "cond/add:0"]


# -- values ---------------------------------------------------------------------------------------------
def test_cond_takes_one_branch_and_case_picks_the_first_true():
    x, p = tf.placeholder(tf.float32, [2]), tf.placeholder(tf.bool, [])
    c = tf.cond(p, lambda: x + 1.0, lambda: x - 1.0)
    k = tf.placeholder(tf.int32, [])
    picked = tf.case([(tf.less(k, 0), lambda: tf.constant(-1)), (tf.equal(k, 0), lambda: tf.constant(0))],
                     default=lambda: tf.constant(1))
    pair = tf.cond(p, lambda: (x, tf.constant(1)), lambda: (-x, tf.constant(2)))
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(c, {x: [1, 2], p: True}), [2, 3])
        np.testing.assert_array_equal(sess.run(c, {x: [1, 2], p: False}), [0, 1])
        assert [sess.run(picked, {k: v}) for v in (-3, 0, 4)] == [-1, 0, 1]
        got = sess.run(pair, {x: [1, 2], p: False})
        np.testing.assert_array_equal(got[0], [-1, -2])
        assert got[1] == 2


def test_case_exclusive_checks_that_one_predicate_holds():
    k = tf.placeholder(tf.int32, [])
    c = tf.case([(tf.less(k, 5), lambda: tf.constant(1)), (tf.less(k, 3), lambda: tf.constant(2))],
                default=lambda: tf.constant(3), exclusive=True)
    with tf.Session() as sess:
        assert sess.run(c, {k: 4}) == 1 and sess.run(c, {k: 9}) == 3
        with pytest.raises(tf.errors.InvalidArgumentError, match="more than 1 conditions evaluated as True"):
            sess.run(c, {k: 1})


def test_only_the_taken_branch_runs():
    v = tf.Variable(0, name="counter")
    p = tf.placeholder(tf.bool, [])
    out = tf.cond(p, lambda: tf.assign_add(v, 1), lambda: tf.assign_add(v, 100))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(out, {p: True})
        sess.run(out, {p: True})
        sess.run(out, {p: False})
        assert sess.run(v) == 102
    assert "RefSwitch" in {op.type for op in tf.get_default_graph().get_operations()}  # the variable's ref flows


def test_control_dependencies_inside_a_branch_and_a_loop_body():
    v = tf.Variable(0.0)
    p = tf.placeholder(tf.bool, [])

    def branch():
        with tf.control_dependencies([tf.assign_add(v, 5.0)]):
            return tf.constant(1.0)
    out = tf.cond(p, branch, lambda: tf.constant(-1.0))

    def body(i):
        with tf.control_dependencies([tf.assign_add(v, 1.0)]):
            return tf.identity(i + 1)
    loop = tf.while_loop(lambda i: i < 4, body, [tf.constant(0)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {p: False}) == -1.0 and sess.run(v) == 0.0
        sess.run(out, {p: True})
        assert sess.run(v) == 5.0
        assert sess.run(loop) == 4
        assert sess.run(v) == 9.0
    assert "RefEnter" in {op.type for op in tf.get_default_graph().get_operations()}


def test_while_loop_values_nested_structures_and_maximum_iterations():
    Pair = collections.namedtuple("Pair", "a b")
    counted = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), [tf.constant(0), tf.constant([1.0, 2.0])])
    capped = tf.while_loop(lambda v: v.a < 100, lambda v: Pair(v.a * 2, v.b + 1), [Pair(tf.constant(1), tf.constant(0))],
                           maximum_iterations=5)
    keyed = tf.while_loop(lambda d: d["x"] < 5.0, lambda d: {"x": d["x"] + 1.0, "y": d["y"] * 2},
                          [{"x": tf.constant(0.0), "y": tf.constant(1)}])
    nested = tf.while_loop(lambda i, xy: i < 2, lambda i, xy: (i + 1, (xy[0] + 1, [xy[1][0] * 3])),
                           (tf.constant(0), (tf.constant(0), [tf.constant(1.0)])))
    single = tf.while_loop(lambda v: v < 10, lambda v: v + 3, [tf.constant(1)])
    same = tf.while_loop(lambda v: v < 10, lambda v: v + 3, [tf.constant(1)], return_same_structure=True)
    got = run([counted, capped, keyed, nested, single, same])
    assert got[0][0] == 3
    np.testing.assert_array_equal(got[0][1], [8.0, 16.0])
    assert got[1] == Pair(32, 5)
    assert got[2] == {"x": 5.0, "y": 32}
    assert got[3][0] == 2 and got[3][1][0] == 2 and got[3][1][1][0] == 9.0
    assert got[4] == 10 and got[5] == [10]


def test_nested_loops_loops_in_conds_and_conds_in_loops():
    def outer_body(i, acc):
        _, inner = tf.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, a + tf.cast(j, tf.float32)),
                                 [tf.constant(0), acc])
        return i + 1, inner
    n = tf.placeholder(tf.int32, [])
    _, nested = tf.while_loop(lambda i, a: i < n, outer_body, [tf.constant(0), tf.constant(0.0)])
    p = tf.placeholder(tf.bool, [])
    loop_in_cond = tf.cond(p, lambda: tf.while_loop(lambda k: k < 10, lambda k: k + 2, [tf.constant(1)]),
                           lambda: tf.constant(-1))
    cond_in_loop = tf.while_loop(lambda k, s: k < 6, lambda k, s: (k + 1, tf.cond(tf.equal(k % 2, 0),
                                                                                  lambda: s + k, lambda: s - 1)),
                                 [0, 0])
    with tf.Session() as sess:
        assert sess.run(nested, {n: 5}) == sum(sum(range(i)) for i in range(5))
        assert sess.run(loop_in_cond, {p: True}) == 11
        assert sess.run(loop_in_cond, {p: False}) == -1  # the loop in the untaken branch runs dead
        assert sess.run(cond_in_loop) == [6, 3]


def test_tf_identity_and_group_inside_loops():
    def body(i, x):
        y = tf.identity(x * 2.0, name="doubled")
        done = tf.group(y)
        with tf.control_dependencies([done]):
            return i + 1, tf.identity(y)
    out = tf.while_loop(lambda i, x: i < 4, body, [tf.constant(0), tf.constant(1.0)])
    assert run(out) == [4, 16.0]


def test_compiled_and_interpreted_loops_agree():
    p = tf.placeholder(tf.bool, [])

    def body(k, x, y):
        side = tf.cond(tf.equal(k % 3, 0), lambda: x * 0.5 + 1.0, lambda: tf.cond(p, lambda: x - 1.0, lambda: x))
        inner = tf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, a + y), [tf.constant(0), side])[1]
        return k + 1, inner, y * 1.5
    out = tf.while_loop(lambda k, x, y: k < 50, body, [tf.constant(0), tf.constant(0.0), tf.constant(0.1)])
    graph_def = tf.get_default_graph().as_graph_def()
    compiled = FramePlan(graph_def, _Env())
    assert compiled.compiled_loops == ["while/while/while_context", "while/while_context"]  # inner one first
    assert compiled._compiled_step is not None  # and then the root frame: the step is straight-line code
    with tf.Session() as sess:
        for flag in (True, False):
            expected = _python_loop(flag)
            np.testing.assert_allclose(sess.run(out, {p: flag})[1:], expected, rtol=1e-5)
    interpreted = _run_plan(FramePlan(graph_def, _Env(), compile_loops=False), out, {p: True})
    np.testing.assert_allclose(interpreted[1:], _python_loop(True), rtol=1e-5)


def _python_loop(flag):
    x, y = 0.0, 0.1
    for k in range(50):
        side = x * 0.5 + 1.0 if k % 3 == 0 else (x - 1.0 if flag else x)
        x, y = side + 2 * y, y * 1.5
    return [x, y]


def _run_plan(plan, fetches, feeds):
    """Runs a FramePlan of the whole graph with `feeds` as its placeholders' values; the Exit values."""
    from tfmini.worker import frames
    index = {name: i for i, name in enumerate(plan.names)}
    for placeholder, value in feeds.items():
        plan.fns[index[placeholder.op.name]] = lambda v=value: np.asarray(v)
    got = {}
    for t in fetches:
        i = index[t.op.name]
        plan.out_edges[i][t.value_index].append((None, t.name))

    class Capturing(type(plan)):  # the fetched values reach the `None` node: kept here
        def _activate(self, dst, pos, value, dead, frame, it):
            if dst is None:
                got[pos] = value
            else:
                super()._activate(dst, pos, value, dead, frame, it)
    plan.__class__ = Capturing

    class _Step:
        rendezvous = deadline = None
    plan.run(_Step())
    assert all(v is not frames.DEAD for v in got.values())
    return [got[t.name] for t in fetches]


class _Env:
    task_name = "/job:localhost/replica:0/task:0"
    recv_timeout = 5.0


def test_parallel_iterations_bounds_the_iterations_alive():
    def body(i, x):  # a side chain lets iterations run ahead in the interpreter
        side = x
        for _ in range(20):
            side = side + 1.0
        return i + 1, tf.cond(tf.less(i, 100), lambda: x + 1.0, lambda: x)
    for bound in (1, 3):
        tf.reset_default_graph()
        out = tf.while_loop(lambda i, x: i < 30, body, [tf.constant(0), tf.constant(0.0)], parallel_iterations=bound)
        plan = FramePlan(tf.get_default_graph().as_graph_def(), _Env(), compile_loops=False)
        assert run(out) == [30, 30.0]

        class _Step:  # the plan alone, outside a worker: only its loop runs
            rendezvous = deadline = None
        plan.run(_Step())
        assert plan.most_iterations_alive == bound  # iterations run ahead, but no further than the bound


# -- errors ---------------------------------------------------------------------------------------------
def test_a_loop_that_never_ends_stops_at_the_step_deadline():
    forever = tf.while_loop(lambda k: k > -1, lambda k: k + 1, [tf.constant(0)])
    p = tf.placeholder(tf.bool, [])
    forever_with_cond = tf.while_loop(lambda k: k > -1, lambda k: tf.cond(p, lambda: k + 1, lambda: k - 1),
                                      [tf.constant(0)])
    with tf.Session() as sess:  # (the interpreter's deadline: tests/test_control_flow_distributed.py)
        for fetch, feed in ((forever, None), (forever_with_cond, {p: True})):
            start = time.monotonic()
            with pytest.raises(tf.errors.DeadlineExceededError, match="Deadline Exceeded"):
                sess.run(fetch, feed, options=tf.RunOptions(timeout_in_ms=300))
            assert time.monotonic() - start < 10
        assert sess.run(tf.constant(1)) == 1  # the session still serves


def test_a_shape_that_breaks_its_invariant_is_tensorflows_value_error():
    with pytest.raises(ValueError, match=r"Input tensor 'Const_1:0' enters the loop with shape \(1,\), but has "
                                         r"shape \(2,\) after one iteration. To allow the shape to vary across "
                                         r"iterations, use the `shape_invariants` argument of tf.while_loop"):
        tf.while_loop(lambda k, v: k < 3, lambda k, v: (k + 1, tf.concat([v, v], 0)),
                      [tf.constant(0), tf.constant([1.0])])
    grown = tf.while_loop(lambda k, v: k < 3, lambda k, v: (k + 1, tf.concat([v, v], 0)),
                          [tf.constant(0), tf.constant([1.0])],
                          shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])])
    assert grown[1].shape.as_list() == [None]
    np.testing.assert_array_equal(run(grown)[1], np.ones(8))
    with pytest.raises(ValueError, match="not compatible with the initial shape"):
        tf.while_loop(lambda v: v[0] < 3, lambda v: v, [tf.constant([1.0])], shape_invariants=[tf.TensorShape([2])])


def test_bad_arguments_are_tensorflows_errors():
    with pytest.raises(TypeError, match="cond must be callable"):
        tf.while_loop(1, lambda v: v, [tf.constant(1)])
    with pytest.raises(ValueError, match="'parallel_iterations' must be a positive integer"):
        tf.while_loop(lambda v: v < 1, lambda v: v, [tf.constant(1)], parallel_iterations=0)
    with pytest.raises(ValueError, match="same nested structure"):
        tf.while_loop(lambda a, b: a < 1, lambda a, b: (a,), [tf.constant(1), tf.constant(2)])
    with pytest.raises(TypeError, match="true_fn must be callable"):
        tf.cond(tf.constant(True), 1, lambda: 2)
    with pytest.raises(ValueError, match="must have the same type"):
        tf.cond(tf.constant(True), lambda: tf.constant(1), lambda: tf.constant(1.0))
    x = tf.constant(1.0)
    inside = []
    tf.cond(tf.constant(False), lambda: inside.append(x * 2.0) or inside[0], lambda: x)
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="dead"):
        sess.run(inside[0])  # a tensor of the untaken branch has no value


# -- gradients ------------------------------------------------------------------------------------------
def test_gradient_of_a_loop_of_matmul_and_tanh_matches_finite_differences():
    rng = np.random.RandomState(0)
    w0, x0 = rng.randn(3, 3) * 0.5, rng.randn(2, 3)
    w = tf.constant(w0)
    x = tf.placeholder(tf.float64, [2, 3])
    _, h = tf.while_loop(lambda i, h: i < 4, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w))), [tf.constant(0), x])
    gx, gw = tf.gradients(tf.reduce_sum(h * h), [x, w])

    def forward(xv, wv):
        for _ in range(4):
            xv = np.tanh(xv @ wv)
        return (xv * xv).sum()
    got_x, got_w = run([gx, gw], {x: x0})
    np.testing.assert_allclose(got_x, numeric_gradient(lambda v: forward(v, w0), x0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_w, numeric_gradient(lambda v: forward(x0, v), w0), rtol=1e-6, atol=1e-8)
    ops = {op.type for op in tf.get_default_graph().get_operations()}
    assert {"StackV2", "StackPushV2", "StackPopV2"} <= ops  # TF's stacks carry the forward values back


def test_gradient_with_maximum_iterations_and_a_data_dependent_count():
    x = tf.placeholder(tf.float64, [])
    capped = tf.while_loop(lambda v: v < 1e9, lambda v: v * v + 1.0, [x], maximum_iterations=3)
    until = tf.while_loop(lambda v: v < 50.0, lambda v: v * 3.0, [x])
    g_capped, g_until = tf.gradients(capped, x)[0], tf.gradients(until, x)[0]
    with tf.Session() as sess:
        def f(v):
            for _ in range(3):
                v = v * v + 1.0
            return v
        assert np.isclose(sess.run(g_capped, {x: 0.7}), numeric_gradient(lambda a: f(a[()]), np.array(0.7)))
        assert sess.run(g_until, {x: 1.0}) == 81.0   # four iterations: 3^4
        assert sess.run(g_until, {x: 20.0}) == 3.0   # one


def test_a_second_gradient_of_a_loop_after_a_run_only_adds_ops():
    x = tf.placeholder(tf.float64, [])
    _, y = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, tf.sin(a) * 2.0), [tf.constant(0), x])
    first = tf.gradients(y, x)[0]
    with tf.Session() as sess:
        g1 = sess.run(first, {x: 0.4})
        second = tf.gradients(y * y, x)[0]  # its own counter and stacks: the ops the session ran are unchanged
        g2, value = sess.run([second, y], {x: 0.4})
        assert np.isclose(g2, 2 * value * g1) and sess.run(first, {x: 0.4}) == g1


def test_gradient_through_cond_and_case():
    x = tf.placeholder(tf.float64, [3])
    p = tf.placeholder(tf.bool, [])
    c = tf.cond(p, lambda: tf.reduce_sum(x * x), lambda: tf.reduce_sum(3.0 * x))
    g = tf.gradients(c, x)[0]
    x0 = np.array([1.0, -2.0, 0.5])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: x0, p: True}), 2 * x0)
        np.testing.assert_allclose(sess.run(g, {x: x0, p: False}), [3.0, 3.0, 3.0])
    ops = [op for op in tf.get_default_graph().get_operations() if op.name.startswith("gradients/")]
    assert any(op.type == "Merge" for op in ops) and any(op.type == "Switch" for op in ops)


def test_gradient_through_conds_inside_a_loop():
    x = tf.placeholder(tf.float64, [])

    def body(i, a):  # a cond in a cond in the body: each branch's values are pushed only when it runs
        return i + 1, tf.cond(tf.equal(i % 2, 0), lambda: tf.sin(a) * a,
                              lambda: tf.cond(a > 0.5, lambda: a * a * 3.0, lambda: a + 1.0))
    _, z = tf.while_loop(lambda i, a: i < 5, body, [tf.constant(0), x])
    g = tf.gradients(z, x)[0]

    def forward(a):
        for i in range(5):
            a = np.sin(a) * a if i % 2 == 0 else (a * a * 3.0 if a > 0.5 else a + 1.0)
        return a
    with tf.Session() as sess:
        for v in (0.3, 0.9, 0.05):
            assert np.isclose(sess.run(g, {x: v}), (forward(v + 1e-6) - forward(v - 1e-6)) / 2e-6, rtol=1e-6)


def test_unsupported_gradients_fail_when_built_not_silently():
    x = tf.placeholder(tf.float64, [])  # nested loops' gradients: tests/test_nested_loop_gradients.py
    frozen = tf.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, [x], back_prop=False)
    assert tf.gradients(frozen, x) == [None]


def test_a_loop_reading_a_variable_trains():
    w = tf.Variable(np.full([2, 2], 0.3), name="w")
    x = tf.constant(np.array([[1.0, -1.0]]))
    _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w))), [tf.constant(0), x])
    loss = tf.reduce_sum(tf.square(h - 0.5))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(loss)
        for _ in range(20):
            sess.run(train)
        assert sess.run(loss) < before * 0.5


# -- TensorFlow interchange -----------------------------------------------------------------------------
_TF_RUN = r"""
import json, sys
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
tf.compat.v1.disable_v2_behavior()
graph_def = text_format.Parse(open(sys.argv[1]).read(), tf.compat.v1.GraphDef())
with tf.Graph().as_default() as g:
    tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=g) as sess:
        print(json.dumps([np.asarray(v).tolist() for v in sess.run(json.loads(sys.argv[2]))]))
"""


def test_a_tfmini_loop_and_its_gradient_run_on_tensorflow(tmp_path, tf_python):
    rng = np.random.RandomState(3)
    w = tf.constant(rng.randn(3, 3).astype(np.float32) * 0.5, name="w")
    x = tf.constant(rng.randn(2, 3).astype(np.float32), name="x")
    _, h = tf.while_loop(lambda i, h: i < 5, lambda i, h: (i + 1, tf.cond(
        tf.equal(i % 2, 0), lambda: tf.tanh(tf.matmul(h, w)), lambda: h * 0.9)), [tf.constant(0), x])
    loss = tf.reduce_sum(h * h, name="loss")
    gw = tf.identity(tf.gradients(loss, w)[0], name="gw")
    p = tf.constant(False)
    c = tf.identity(tf.cond(p, lambda: loss * 2.0, lambda: loss - 1.0), name="c")
    gc = tf.identity(tf.gradients(c, x)[0], name="gc")
    fetches = [h.name, loss.name, gw.name, c.name, gc.name]
    ours = run(fetches)
    tf.io.write_graph(tf.get_default_graph(), str(tmp_path), "loop.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_RUN, str(tmp_path / "loop.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, np.float32(b), rtol=2e-5, atol=1e-6)


def test_a_tensorflow_written_loop_imports_with_its_back_edges():
    from tfmini import importer
    import pathlib
    graph_def = importer.read_graph(str(pathlib.Path(__file__).parent / "data" / "tf_graphs" /
                                        "control_flow_while.pbtxt"))
    tf.import_graph_def(graph_def, name="")
    merge = tf.get_default_graph().get_operation_by_name("rnn/Merge_1")
    assert [t.op.type for t in merge.inputs] == ["Enter", "NextIteration"]
