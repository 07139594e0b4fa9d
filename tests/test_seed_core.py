"""The seed tutorial up to the gradient part, snippet by snippet, with the names and values it prints."""
import numpy as np
import pytest

import tfmini as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


def test_seed_snippets_in_order():
    graph = tf.get_default_graph()
    assert graph.get_operations() == []

    input_value = tf.constant(1.0)
    operations = graph.get_operations()
    assert len(operations) == 1
    node_def = operations[0].node_def
    text = str(node_def)
    assert 'name: "Const"' in text and 'op: "Const"' in text
    assert 'key: "dtype"' in text and "type: DT_FLOAT" in text
    assert 'key: "value"' in text and "float_val: 1" in text and "tensor_shape {" in text
    assert node_def.attr["value"].tensor.float_val == [1.0]
    # Exactly the tutorial's printout (TF's text format: sorted attrs, float_val: 1.0).
    assert text == ('name: "Const"\nop: "Const"\nattr {\n  key: "dtype"\n  value {\n    type: DT_FLOAT\n  }\n}\n'
                    'attr {\n  key: "value"\n  value {\n    tensor {\n      dtype: DT_FLOAT\n      tensor_shape {\n'
                    '      }\n      float_val: 1.0\n    }\n  }\n}\n')
    assert str(input_value) == 'Tensor("Const:0", shape=(), dtype=float32)'
    assert repr(input_value) == "<tf.Tensor 'Const:0' shape=() dtype=float32>"

    sess = tf.Session()
    one = sess.run(input_value)
    assert one == 1.0 and one.dtype == np.float32

    weight = tf.Variable(0.8)
    assert [op.name for op in graph.get_operations()] == [
        "Const", "Variable/initial_value", "Variable", "Variable/Assign", "Variable/read"]
    assert [op.type for op in graph.get_operations()] == ["Const", "Const", "VariableV2", "Assign", "Identity"]

    output_value = weight * input_value
    op = graph.get_operations()[-1]
    assert len(graph.get_operations()) == 6
    assert op.name == "mul" and op.type == "Mul"
    assert [str(t) for t in op.inputs] == ['Tensor("Variable/read:0", shape=(), dtype=float32)',
                                           'Tensor("Const:0", shape=(), dtype=float32)']

    init = tf.initialize_all_variables()
    assert sess.run(init) is None
    result = sess.run(output_value)
    assert isinstance(result, np.float32)
    assert result == np.float32(0.8)
    assert float(result) == 0.800000011920929

    x = tf.constant(1.0, name="input")
    w = tf.Variable(0.8, name="weight")
    y = tf.mul(w, x, name="output")
    assert (x.op.name, w.op.name, y.op.name) == ("input", "weight", "output")
    assert [t.name for t in y.op.inputs] == ["weight/read:0", "input:0"]
    sess.run(tf.initialize_all_variables())
    assert float(sess.run(y)) == 0.800000011920929

    y_ = tf.constant(0.0)
    loss = (y - y_) ** 2
    assert loss.op.type == "Pow" and loss.dtype == tf.float32
    assert float(sess.run(loss)) == pytest.approx(0.64)
    sess.close()


def test_final_script_graph_names():
    x = tf.constant(1.0, name="input")
    w = tf.Variable(0.8, name="weight")
    y = tf.mul(w, x, name="output")
    y_ = tf.constant(0.0, name="correct_value")
    loss = tf.pow(y - y_, 2, name="loss")
    assert [v.op.name for v in (x, w, y, y_, loss)] == ["input", "weight", "output", "correct_value", "loss"]
    with tf.Session() as sess:
        sess.run(tf.initialize_all_variables())
        assert sess.run([y, loss]) == [pytest.approx(0.8), pytest.approx(0.64)]
        assert sess.run(w) == np.float32(0.8)
