"""RNN cases built the same way on tfmini and on TensorFlow (tf.compat.v1): the same cells, inputs and weights
(each variable's value comes from its name), and the values and gradients they give.

tests/test_rnn.py imports `run_cases(tfmini)` and runs this file under TensorFlow 2.21's python
(`python tests/rnn_golden_cases.py out.npz`), then compares the two, variable names included.
"""
import sys
import zlib

import numpy as np

BATCH, TIME, DEPTH, UNITS = 3, 4, 3, 4
SEQ_LEN = [4, 2, 1]


def weight_value(name, shape):
    """A variable's value, from its name alone, so both sides get the same weights."""
    return np.random.RandomState(zlib.crc32(name.encode())).uniform(-0.6, 0.6, shape).astype(np.float32)


def _cases(tf, rc):
    nn = tf.nn
    lstm, gru = rc.BasicLSTMCell, rc.GRUCell

    def unstacked(x):
        return tf.unstack(x, axis=1)

    return {
        "basic_rnn": lambda x: nn.dynamic_rnn(rc.BasicRNNCell(UNITS), x, dtype=tf.float32),
        "gru": lambda x: nn.dynamic_rnn(gru(UNITS), x, dtype=tf.float32),
        "gru_time_major": lambda x: nn.dynamic_rnn(gru(UNITS), tf.transpose(x, [1, 0, 2]), dtype=tf.float32,
                                                   time_major=True),
        "basic_lstm_seq_len": lambda x: nn.dynamic_rnn(lstm(UNITS), x, sequence_length=SEQ_LEN, dtype=tf.float32),
        "basic_lstm_concat_state": lambda x: nn.dynamic_rnn(lstm(UNITS, forget_bias=0.5, state_is_tuple=False), x,
                                                            dtype=tf.float32),
        "lstm_peepholes_proj_clip": lambda x: nn.dynamic_rnn(
            rc.LSTMCell(UNITS, use_peepholes=True, num_proj=3, cell_clip=0.3), x, sequence_length=SEQ_LEN,
            dtype=tf.float32),
        "lstm_concat_state_proj": lambda x: nn.dynamic_rnn(
            rc.LSTMCell(UNITS, num_proj=3, proj_clip=0.2, forget_bias=0.3, state_is_tuple=False), x,
            dtype=tf.float32),
        "multi_static_seq_len": lambda x: nn.static_rnn(rc.MultiRNNCell([lstm(UNITS), gru(UNITS)]), unstacked(x),
                                                        sequence_length=SEQ_LEN, dtype=tf.float32),
        "static_lstm": lambda x: nn.static_rnn(lstm(UNITS), unstacked(x), dtype=tf.float32),
        "dropout_keep_1": lambda x: nn.dynamic_rnn(rc.DropoutWrapper(rc.LSTMCell(UNITS), input_keep_prob=1.0,
                                                                     output_keep_prob=1.0), x, dtype=tf.float32),
        "bidirectional_seq_len": lambda x: nn.bidirectional_dynamic_rnn(lstm(UNITS), gru(UNITS), x,
                                                                        sequence_length=SEQ_LEN, dtype=tf.float32),
    }


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    return [value]


def run_cases(tf, rc, names=None):
    """{case/what/i: array}: outputs and final states, then d(loss)/d(inputs) and d(loss)/d(each variable),
    plus {case: [variable names]}."""
    x_value = np.random.RandomState(0).uniform(-1, 1, (BATCH, TIME, DEPTH)).astype(np.float32)
    results, variable_names = {}, {}
    for name, build in _cases(tf, rc).items():
        if names is not None and name not in names:
            continue
        graph = tf.Graph()
        with graph.as_default():
            x = tf.constant(x_value)
            values = _flat(build(x))
            loss = tf.add_n([tf.reduce_sum(v * weight_value(f"loss{i}", v.shape.as_list()))
                             for i, v in enumerate(values)])
            variables = tf.trainable_variables()
            grads = tf.gradients(loss, [x] + variables)
            assigns = [tf.assign(v, weight_value(v.op.name, v.shape.as_list())) for v in variables]
            with tf.Session() as sess:
                sess.run(assigns)
                got_values, got_grads = sess.run([values, grads])
        variable_names[name] = [v.op.name for v in variables]
        for i, v in enumerate(got_values):
            results[f"{name}/value/{i}"] = v
        for i, g in enumerate(got_grads):
            results[f"{name}/grad/{i}"] = g
    return results, variable_names


def _tensorflow():
    import tensorflow as tf_module
    from tensorflow.python.keras.layers.legacy_rnn import rnn_cell_impl
    v1 = tf_module.compat.v1
    v1.disable_eager_execution()
    v1.disable_control_flow_v2()
    v1.disable_resource_variables()
    v1.logging.set_verbosity(v1.logging.ERROR)
    return v1, rnn_cell_impl


if __name__ == "__main__":
    import json
    import warnings
    warnings.simplefilter("ignore")
    v1, cells = _tensorflow()
    values, var_names = run_cases(v1, cells)
    np.savez(sys.argv[1], **values)
    with open(sys.argv[1] + ".names.json", "w") as f:
        json.dump(var_names, f)
