"""tf.nn.rnn_cell / tf.contrib.rnn cells and static_rnn / dynamic_rnn / bidirectional_dynamic_rnn: outputs, final
states and gradients equal TensorFlow 2.21's (tf.compat.v1, its legacy cells) for the same weights, with TF's
variable names; dropout, errors, and the char-level LSTM example's loss falling."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tfmini as tf
import rnn_golden_cases as cases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


@pytest.fixture(scope="module")
def golden(tf_python, tmp_path_factory):
    """TensorFlow's values, gradients and variable names for every case (one TF process for all of them)."""
    out = str(tmp_path_factory.mktemp("rnn") / "tf.npz")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([tf_python, os.path.join(ROOT, "tests", "rnn_golden_cases.py"), out], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out + ".names.json") as f:
        names = json.load(f)
    return dict(np.load(out)), names


@pytest.fixture(scope="module")
def ours():
    return cases.run_cases(tf, tf.nn.rnn_cell)


@pytest.mark.parametrize("case", sorted(cases._cases(tf, tf.nn.rnn_cell)))
def test_values_and_gradients_equal_tensorflows(case, golden, ours):
    theirs, their_names = golden
    mine, my_names = ours
    assert my_names[case] == their_names[case]  # rnn/basic_lstm_cell/kernel, ... exactly TF's
    keys = sorted(k for k in theirs if k.startswith(case + "/"))
    assert keys and keys == sorted(k for k in mine if k.startswith(case + "/"))
    assert any("/grad/" in k for k in keys)
    for key in keys:
        assert mine[key].shape == theirs[key].shape, key
        np.testing.assert_allclose(mine[key], theirs[key], rtol=2e-5, atol=2e-6, err_msg=key)


def test_dynamic_rnn_with_sequence_length_zeroes_outputs_and_keeps_states_past_each_length():
    x = np.random.RandomState(3).uniform(-1, 1, (3, 5, 2)).astype(np.float32)
    cell = tf.nn.rnn_cell.BasicLSTMCell(4)
    outputs, state = tf.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=[5, 2, 0], dtype=tf.float32)
    assert outputs.shape.as_list() == [3, 5, 4] and state.c.shape.as_list() == [3, 4]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out, (c, h) = sess.run([outputs, state])
    assert out[1, :2].all() and not out[1, 2:].any() and not out[2].any()
    np.testing.assert_array_equal(h[1], out[1, 1])  # the state stops at the last valid step
    assert not h[2].any() and not c[2].any()
    np.testing.assert_array_equal(h[0], out[0, 4])


def test_dropout_wrapper_drops_and_scales_and_variational_masks_are_shared_across_steps():
    ones = tf.ones([200, 6, 50])

    class Identity(tf.nn.rnn_cell.RNNCell):
        state_size = property(lambda self: 50)
        output_size = property(lambda self: 50)

        def call(self, inputs, state):
            return inputs, state

    per_step, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.DropoutWrapper(Identity(), output_keep_prob=0.5, seed=1), ones,
                                    dtype=tf.float32, scope="a")
    variational, _ = tf.nn.dynamic_rnn(
        tf.contrib.rnn.DropoutWrapper(Identity(), output_keep_prob=0.5, variational_recurrent=True,
                                      dtype=tf.float32, seed=2), ones, dtype=tf.float32, scope="b")
    with tf.Session() as sess:
        a, b = sess.run([per_step, variational])
    assert set(np.unique(a)) == {0.0, 2.0} and 0.45 < (a == 0).mean() < 0.55
    assert (a[:, 0] != a[:, 1]).any()  # a fresh mask each step
    assert set(np.unique(b)) == {0.0, 2.0}
    assert (b == b[:, :1]).all()  # one mask for the whole sequence
    with pytest.raises(ValueError, match="Parameter output_keep_prob must be between 0 and 1: 1.5"):
        tf.nn.rnn_cell.DropoutWrapper(Identity(), output_keep_prob=1.5)


def test_dropout_wrapper_state_dropout_spares_the_lstm_cell_state():
    x = tf.constant(np.random.RandomState(4).uniform(-1, 1, (50, 3)).astype(np.float32))
    cell = tf.nn.rnn_cell.BasicLSTMCell(40)
    zero = cell.zero_state(50, tf.float32)
    _, dropped = tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=0.5, seed=3)(x, zero)
    _, plain = cell(x, zero)  # the same variables, no dropout
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        (c, h), (c0, h0) = sess.run([dropped, plain])
    np.testing.assert_array_equal(c, c0)
    kept = h != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(h[kept], 2 * h0[kept], rtol=1e-6)


def test_multi_rnn_cell_state_and_contrib_names():
    cell = tf.contrib.rnn.MultiRNNCell([tf.contrib.rnn.LSTMCell(3), tf.contrib.rnn.GRUCell(2)])
    assert cell.state_size == (tf.contrib.rnn.LSTMStateTuple(3, 3), 2) and cell.output_size == 2
    zero = cell.zero_state(5, tf.float32)
    assert zero[0].c.shape.as_list() == [5, 3] and zero[1].shape.as_list() == [5, 2]
    assert tf.contrib.rnn.static_rnn is tf.nn.static_rnn
    outputs, state_fw, state_bw = tf.nn.static_bidirectional_rnn(tf.nn.rnn_cell.GRUCell(2), tf.nn.rnn_cell.GRUCell(3),
                                                    [tf.ones([4, 3])] * 2, dtype=tf.float32)
    assert [o.shape.as_list() for o in outputs] == [[4, 5], [4, 5]]
    assert state_fw.shape.as_list() == [4, 2] and state_bw.shape.as_list() == [4, 3]
    assert sorted(v.op.name for v in tf.trainable_variables())[0] == "bidirectional_rnn/bw/gru_cell/candidate/bias"


def test_residual_wrapper_adds_the_input_and_wrappers_keep_the_cells_variable_names():
    x = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 4) / 8.0)
    inner = tf.nn.rnn_cell.BasicRNNCell(4)
    output, state = tf.nn.rnn_cell.ResidualWrapper(inner)(x, inner.zero_state(2, tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out, new_state = sess.run([output, state])
    np.testing.assert_allclose(out, new_state + np.arange(8).reshape(2, 4) / 8.0, rtol=1e-6)
    assert [v.op.name for v in tf.trainable_variables()] == ["basic_rnn_cell/kernel", "basic_rnn_cell/bias"]


def test_errors_are_tfs():
    x = tf.ones([2, 3, 4])
    with pytest.raises(ValueError, match="If there is no initial_state, you must give a dtype."):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), x)
    with pytest.raises(ValueError, match="Must specify at least one cell for MultiRNNCell."):
        tf.nn.rnn_cell.MultiRNNCell([])
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        tf.nn.static_rnn(tf.nn.rnn_cell.GRUCell(2), x, dtype=tf.float32)
    with pytest.raises(ValueError, match="Input size \\(depth of inputs\\) must be accessible via shape inference"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), tf.placeholder(tf.float32, [2, 3, None]), dtype=tf.float32)
    tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), x, dtype=tf.float32)
    with pytest.raises(ValueError, match="Variable rnn/gru_cell/gates/kernel already exists, disallowed"):
        tf.nn.dynamic_rnn(tf.nn.rnn_cell.GRUCell(2), x, dtype=tf.float32)
    with pytest.raises(TypeError, match="is not an RNNCell"):
        tf.nn.dynamic_rnn(object(), x, dtype=tf.float32)


def test_char_rnn_example_trains_and_its_loss_falls(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "char_rnn.py"), "--steps=30",
                           "--log_every=10", f"--save_path={tmp_path / 'model.ckpt'}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [float(line.split("loss")[1]) for line in proc.stdout.splitlines() if line.startswith("step")]
    assert len(losses) >= 3, proc.stdout
    assert losses[-1] < losses[0] * 0.8, losses
    assert "sample:" in proc.stdout
    assert os.path.exists(str(tmp_path / "model.ckpt.index"))


# -- the stored TensorFlow golden (tools/make_tf_goldens.py: rnn_dynamic_lstm; tests/test_tf_interchange.py replays
# TF's own graph of it on tfmini): tfmini's build of the same model gives TF's numbers, no TensorFlow needed -----
def _golden_steps(case):
    import pathlib
    path = pathlib.Path(ROOT) / "tests" / "data" / "tf_graphs" / f"{case}.json"
    return json.loads(path.read_text())["steps"]


def test_tfmini_dynamic_rnn_lstm_with_sequence_length_equals_the_tf_golden():
    """The golden's model built by tfmini itself: the same values, gradients and trained loss."""
    rng = np.random.RandomState(7)
    x = tf.constant(rng.uniform(-1, 1, (3, 5, 4)).astype(np.float32), name="x")
    cell = tf.nn.rnn_cell.BasicLSTMCell(6)

    def weights(shape, dtype=None, partition_info=None):
        return tf.constant(rng.uniform(-0.4, 0.4, shape).astype(np.float32))
    with tf.variable_scope("rnn", initializer=weights):
        outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=[5, 3, 1], dtype=tf.float32, scope="rnn")
    loss = tf.reduce_sum(outputs * outputs) + tf.reduce_sum(state.c)
    kernel, bias = cell.variables
    assert [kernel.op.name, bias.op.name] == ["rnn/rnn/basic_lstm_cell/kernel", "rnn/rnn/basic_lstm_cell/bias"]
    grads = tf.gradients(loss, [x, kernel, bias])
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    steps = _golden_steps("rnn_dynamic_lstm")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run([outputs, state.c, state.h, loss] + grads)
        sess.run(train)
        sess.run(train)
        got.append(sess.run(loss))
    expected = steps[1]["values"] + steps[4]["values"]
    for mine, theirs, name in zip(got, expected, steps[1]["fetch"] + steps[4]["fetch"]):
        np.testing.assert_allclose(mine, np.asarray(theirs, dtype=np.float32), rtol=1e-5, atol=1e-6, err_msg=name)


# -- a real cluster: the LSTM's variables on the ps, the loop and its TensorArrays on the worker --------------
def test_dynamic_rnn_trains_on_a_cluster_with_its_variables_on_the_ps(tmp_path):
    from test_distributed import ProcessCluster

    def build():
        rng = np.random.RandomState(2)
        x = tf.constant(rng.uniform(-1, 1, (3, 4, 2)).astype(np.float32))

        def weights(shape, dtype=None, partition_info=None):
            return tf.constant(rng.uniform(-0.5, 0.5, shape).astype(np.float32))
        with tf.variable_scope("m", initializer=weights):
            out, _ = tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicLSTMCell(5), x, sequence_length=[4, 2, 3],
                                       dtype=tf.float32)
        loss = tf.reduce_sum(out * out)
        return loss, tf.train.GradientDescentOptimizer(0.1).minimize(loss)

    def losses(target, loss, train, metadata=None):
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(loss)
            sess.run(train, options=tf.RunOptions(output_partition_graphs=True), run_metadata=metadata)
            return first, sess.run(loss)

    with tf.Graph().as_default():
        embedded = losses("", *build())
    cluster = ProcessCluster(str(tmp_path), num_ps=1, num_workers=1)
    try:
        with tf.Graph().as_default():
            with tf.device(tf.train.replica_device_setter(ps_tasks=1, worker_device="/job:worker/task:0")):
                loss, train = build()
            assert {v.device for v in tf.global_variables()} == {"/job:ps/task:0"}
            metadata = tf.RunMetadata()
            remote = losses(cluster.target(), loss, train, metadata)
    finally:
        cluster.stop()
    np.testing.assert_allclose(remote, embedded, rtol=1e-6)
    assert remote[1] < remote[0]
    where = {(n.op, n.device.split("/")[1]) for p in metadata.partition_graphs for n in p.node}
    assert ("TensorArrayV3", "job:worker") in where and ("TensorArrayGradV3", "job:worker") in where
    assert ("VariableV2", "job:ps") in where and ("ApplyGradientDescent", "job:ps") in where
