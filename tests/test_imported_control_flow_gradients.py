"""tf.gradients through a TF-written graph with loops and conds (client/ops/imported_control_flow.py): the
importer gives the imported Switch/Merge/Enter/Exit nodes their cond and loop contexts back, so tfmini's
gradient (its own backward loops and stacks) is built as for a loop made in this process. The golden
control_flow_import_grad (tools/make_tf_goldens.py) is a loop holding a cond and a nested loop, then a cond;
TF's own gradients, stored with it, are the reference."""
import json
import pathlib

import numpy as np
import pytest

import tfmini as tf
from tfmini import importer
from test_control_flow import numeric_gradient

DATA = pathlib.Path(__file__).parent / "data" / "tf_graphs"


@pytest.fixture
def imported():
    """The golden's forward graph, imported under the scope "tf_written"; its x, w, p and out."""
    tf.reset_default_graph()
    graph_def = importer.read_graph(str(DATA / "control_flow_import_grad.pbtxt"))
    tf.import_graph_def(graph_def, name="tf_written")
    g = tf.get_default_graph()
    return [g.get_tensor_by_name(f"tf_written/{n}:0") for n in ("x", "w", "p", "out")]


def _tf_values():
    step, = json.loads((DATA / "control_flow_import_grad.json").read_text())["steps"]
    return [np.asarray(v) for v in step["values"]]


def test_gradients_of_an_imported_loop_and_cond_equal_tensorflows(imported):
    x, w, p, out = imported
    gx, gw = tf.gradients(out, [x, w])
    assert gx.op.name.startswith("gradients/")  # tfmini's gradient, not the one TF stored in the graph
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert "tf_written/loop/f_count" in names  # tfmini's forward counter, in the imported loop's scope
    want_out, want_gx, want_gw = _tf_values()
    with tf.Session() as sess:
        got_out, got_gx, got_gw = sess.run([out, gx, gw])
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12)
    np.testing.assert_allclose(got_gx, want_gx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got_gw, want_gw, rtol=1e-9, atol=1e-12)


def test_the_other_side_of_the_imported_cond_matches_finite_differences(imported):
    x, w, p, out = imported
    gx, gw = tf.gradients(out, [x, w])
    with tf.Session() as sess:
        x0, w0 = sess.run([x, w])

        def f(xv, wv):
            return sess.run(out, {x: xv, w: wv, p: True})
        got_gx, got_gw = sess.run([gx, gw], {p: True})
        np.testing.assert_allclose(got_gx, numeric_gradient(lambda v: f(v, w0), x0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got_gw, numeric_gradient(lambda v: f(x0, v), w0), rtol=1e-6, atol=1e-8)


def test_imported_ops_carry_their_contexts(imported):
    from tfmini.ops.control_flow_context import context_of
    g = tf.get_default_graph()
    op = g.get_operation_by_name
    outer = context_of(op("tf_written/loop/Merge_1"))
    assert outer.frame_name == "loop/while_context" and outer.outer is None  # TF's importer leaves it as is
    assert outer.name_scope == "tf_written/loop"
    inner = context_of(op("tf_written/loop/inner/Merge_1"))
    assert inner.outer is outer and [t.op.name for t in inner.loop_exits] == ["tf_written/loop/inner/Exit",
                                                                              "tf_written/loop/inner/Exit_1"]
    branch = context_of(op("tf_written/loop/cond/Tanh"))
    assert branch.branch == 1 and branch.outer is outer and branch.pred.op.name == "tf_written/loop/cond/pred_id"
    assert op("tf_written/top/Merge")._cond_pred.op.name == "tf_written/top/pred_id"
    assert context_of(op("tf_written/out")) is None


def test_a_loop_of_another_shape_gets_no_context_and_its_gradient_says_so():
    """A float loop variable without tf.while_loop's Identity (a hand-made or foreign loop): no context is
    guessed for the loop; tf.gradients fails naming its Exit."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [], name="x")
    tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2.0), [tf.constant(0), x])
    graph_def = tf.get_default_graph().as_graph_def()
    identity = next(n for n in graph_def.node if n.name == "while/Identity_1")
    for n in graph_def.node:
        n.input[:] = [identity.input[0] if i == identity.name else i for i in n.input]
    del graph_def.node[list(graph_def.node).index(identity)]
    tf.reset_default_graph()
    tf.import_graph_def(graph_def, name="")
    g = tf.get_default_graph()
    out = g.get_tensor_by_name("while/Exit_1:0")
    with tf.Session() as sess:
        assert sess.run(out, {"x:0": 1.5}) == 12.0  # it still runs
    with pytest.raises(LookupError, match=r"No gradient defined for operation 'while/Exit_1' \(op type: Exit\)"):
        tf.gradients(out, g.get_tensor_by_name("x:0"))
