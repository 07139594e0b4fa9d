"""Meta graphs (`.meta`, tf.train.export_meta_graph / import_meta_graph) and partitioned variables saved as
slices, in tfmini and both ways with TensorFlow 2.21: TF imports a tfmini .meta, restores and trains; tfmini
imports a TF .meta, restores and trains; each restores the other's sliced checkpoint of a partitioned
variable and reads it whole through the checkpoint reader."""
import glob
import json
import os
import subprocess

import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tensor_bundle

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
T = np.array([[1.0], [2.0], [0.0]], np.float32)
W0 = np.array([[0.5], [-0.25]], np.float32)
B0 = 0.125
LR = 0.1
PV = np.arange(21, dtype=np.float32).reshape(7, 3)


def _one_step(w, b):
    """Gradient descent on mean((xw + b - t)^2), computed here."""
    err = X @ w + b - T
    return w - LR * 2 * X.T @ err / len(X), b - LR * 2 * err.sum() / len(X)


def _build_model():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    t = tf.placeholder(tf.float32, [None, 1], name="t")
    w = tf.Variable(W0, name="w")
    b = tf.Variable(B0, name="b")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - t), name="loss")
    train_op = tf.train.GradientDescentOptimizer(LR).minimize(loss, global_step=step)
    tf.add_to_collection("train_op", train_op)
    tf.add_to_collection("my_ints", 7)
    tf.add_to_collection("my_floats", 2.5)
    tf.add_to_collection("my_strings", "hello")
    return train_op


def _partitioned(name="pv"):
    return tf.get_variable(name, shape=[7, 3], partitioner=tf.fixed_size_partitioner(3))


def _load_shards(sess, pv, full):
    for shard in pv:
        info = shard._save_slice_info
        shard.load(full[info.var_offset[0]:info.var_offset[0] + info.var_shape[0]], sess)


def test_save_writes_a_meta_graph_that_import_restores_and_trains(tmp_path):
    with tf.Graph().as_default():
        train_op = _build_model()
        saver = tf.train.Saver(max_to_keep=1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op, {"x:0": X, "t:0": T})
            first = saver.save(sess, str(tmp_path / "model"), global_step=1)
            path = saver.save(sess, str(tmp_path / "model"), global_step=2)
        assert os.path.exists(path + ".meta")
        assert not os.path.exists(first + ".meta")  # max_to_keep drops the .meta with the checkpoint
    meta = tf.train.import_meta_graph  # the file alone rebuilds the graph: no model code below
    with tf.Graph().as_default() as graph:
        saver = meta(path + ".meta")
        assert sorted(v.op.name for v in tf.global_variables()) == ["b", "global_step", "w"]
        assert sorted(v.op.name for v in tf.trainable_variables()) == ["b", "w"]
        assert graph.get_collection("my_ints") == [7] and graph.get_collection("my_floats") == [2.5]
        assert graph.get_collection("my_strings") == [b"hello"]
        with tf.Session() as sess:
            saver.restore(sess, path)
            w1, b1 = _one_step(W0, B0)
            np.testing.assert_allclose(sess.run("w:0"), w1, rtol=1e-6)
            sess.run(tf.get_collection("train_op")[0], {"x:0": X, "t:0": T})
            w2, b2 = _one_step(w1, b1)
            np.testing.assert_allclose(sess.run("w:0"), w2, rtol=1e-5)
            assert sess.run(tf.train.get_global_step()) == 2
            assert saver.save(sess, str(tmp_path / "again")) == str(tmp_path / "again")  # the imported saver saves
    with tf.Graph().as_default() as graph:  # under a scope, devices cleared, from a text-format file
        tf.train.export_meta_graph(str(tmp_path / "m.pbtxt"), graph_def=None, as_text=True,
                                   graph=_graph_with_devices())
        saver = tf.train.import_meta_graph(str(tmp_path / "m.pbtxt"), clear_devices=True, import_scope="imp")
        assert [v.op.name for v in tf.global_variables()] == ["imp/v"]
        assert graph.get_operation_by_name("imp/v").device == ""
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run("imp/v:0") == 4.0
            assert saver is not None


def _graph_with_devices():
    graph = tf.Graph()
    with graph.as_default(), tf.device("/job:ps/task:3"):
        tf.Variable(4.0, name="v")
        tf.train.Saver()
    return graph


def test_import_meta_graph_errors(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        tf.train.import_meta_graph(str(tmp_path / "missing.meta"))
    (tmp_path / "junk.meta").write_bytes(b"\xff\xfe not a proto {")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot parse"):
        tf.train.import_meta_graph(str(tmp_path / "junk.meta"))


def test_monitored_training_session_writes_meta_graphs_and_graph_pbtxt(tmp_path):
    with tf.Graph().as_default():
        train_op = _build_model()
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_checkpoint_steps=2,
                                               save_summaries_steps=None, log_step_count_steps=None,
                                               hooks=[tf.train.StopAtStepHook(last_step=3)]) as sess:
            while not sess.should_stop():
                sess.run(train_op, {"x:0": X, "t:0": T})
    assert (tmp_path / "graph.pbtxt").exists()
    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert latest.endswith("model.ckpt-3") and os.path.exists(latest + ".meta")
    assert os.path.exists(str(tmp_path / "model.ckpt-0.meta"))
    events = [e for path in glob.glob(str(tmp_path / "events.out.tfevents.*")) for e in tf.train.summary_iterator(path)]
    metas = [e.meta_graph_def for e in events if e.WhichOneof("what") == "meta_graph_def"]
    assert len(metas) == 1 and b"save/restore_all" in metas[0]  # the hook's meta graph event, as TF's
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(latest + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, latest)
            assert sess.run(tf.train.get_global_step()) == 3


def test_partitioned_variables_are_saved_as_slices(tmp_path):
    with tf.Graph().as_default():
        pv = _partitioned()
        saver, sharded = tf.train.Saver(), tf.train.Saver(sharded=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _load_shards(sess, pv, PV)
            for path in (saver.save(sess, str(tmp_path / "plain")), sharded.save(sess, str(tmp_path / "sharded"))):
                reader = tensor_bundle.BundleReader(path)
                assert list(reader.entries) == ["pv"] and len(reader.entries["pv"].slices) == 3
                np.testing.assert_array_equal(tf.train.NewCheckpointReader(path).get_tensor("pv"), PV)
                assert tf.train.list_variables(path) == [("pv", [7, 3])]
    with tf.Graph().as_default():  # restored into differently cut shards: each shard reads its own part
        pv = tf.get_variable("pv", shape=[7, 3], partitioner=tf.fixed_size_partitioner(2))
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, str(tmp_path / "sharded"))
            np.testing.assert_array_equal(np.concatenate(sess.run(list(pv))), PV)


def test_slice_keys_match_tensorflows_encoding():
    # Keys read from a TensorFlow 2.21-written index (fixed_size_partitioner(3) of [7, 3] and [200, 2]).
    assert tensor_bundle.encode_tensor_name_slice("pv", [(3, 2), (0, 3)]) == b"\x00pv\x00\x01\x01\x02\x83\x82\x80\x83"
    assert tensor_bundle.encode_tensor_name_slice("big", [(67, 67), (0, 2)]) == \
        b"\x00big\x00\x01\x01\x02\xc0C\xc0C\x80\x82"
    with pytest.raises(tf.errors.InvalidArgumentError, match="shape and slice spec"):
        tensor_bundle.parse_slice_spec("7 3 0,9:-")


_TF_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
tf1.disable_resource_variables()
ours, theirs, data = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
X, T, PV = (np.array(data[k], np.float32) for k in ("x", "t", "pv"))
out = {}
# tfmini's .meta: import, restore, train one step.
with tf1.Graph().as_default():
    saver = tf1.train.import_meta_graph(ours + "/model-1.meta")
    with tf1.Session() as sess:
        saver.restore(sess, ours + "/model-1")
        out["restored_w"] = sess.run("w:0").tolist()
        sess.run(tf1.get_collection("train_op")[0], {"x:0": X, "t:0": T})
        out["trained_w"], out["trained_b"] = sess.run("w:0").tolist(), float(sess.run("b:0"))
        out["step"] = int(sess.run(tf1.train.get_global_step()))
        out["variables"] = sorted(v.op.name for v in tf1.global_variables())
# tfmini's sliced checkpoint: read whole, and restored into TF's own partitioned variable.
out["reader_pv"] = tf.train.load_checkpoint(ours + "/pv").get_tensor("pv").tolist()
with tf1.Graph().as_default():
    pv = tf1.get_variable("pv", shape=[7, 3], partitioner=tf1.fixed_size_partitioner(3))
    with tf1.Session() as sess:
        tf1.train.Saver().restore(sess, ours + "/pv")
        out["restored_pv"] = np.concatenate(sess.run(list(pv))).tolist()
# TF's own: a .meta + checkpoint of the same model, and a partitioned variable.
with tf1.Graph().as_default():
    x = tf1.placeholder(tf.float32, [None, 2], name="x")
    t = tf1.placeholder(tf.float32, [None, 1], name="t")
    w = tf1.Variable(np.array(data["w0"], np.float32), name="w")
    b = tf1.Variable(data["b0"], name="b")
    step = tf1.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - t), name="loss")
    train_op = tf1.train.GradientDescentOptimizer(data["lr"]).minimize(loss, global_step=step)
    tf1.add_to_collection("train_op", train_op)
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        sess.run(train_op, {x: X, t: T})
        tf1.train.Saver().save(sess, theirs + "/tf", global_step=1)
with tf1.Graph().as_default():
    pv = tf1.get_variable("pv", shape=[7, 3], partitioner=tf1.fixed_size_partitioner(3))
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        for shard in pv:
            info = shard._save_slice_info
            shard.load(PV[info.var_offset[0]:info.var_offset[0] + info.var_shape[0]], sess)
        tf1.train.Saver().save(sess, theirs + "/pv")
print("RESULT " + json.dumps(out))
"""


def test_meta_graphs_and_slices_interchange_with_tensorflow(tmp_path, tf_python):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    with tf.Graph().as_default():
        train_op = _build_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op, {"x:0": X, "t:0": T})
            tf.train.Saver().save(sess, str(ours / "model"), global_step=1)
    with tf.Graph().as_default():
        pv = _partitioned()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _load_shards(sess, pv, PV)
            tf.train.Saver().save(sess, str(ours / "pv"))
    data = {"x": X.tolist(), "t": T.tolist(), "pv": PV.tolist(), "w0": W0.tolist(), "b0": B0, "lr": LR}
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(ours), str(theirs), json.dumps(data)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    w1, b1 = _one_step(W0, B0)
    w2, b2 = _one_step(w1, b1)
    np.testing.assert_allclose(out["restored_w"], w1, rtol=1e-6)
    np.testing.assert_allclose(out["trained_w"], w2, rtol=1e-5)
    assert out["trained_b"] == pytest.approx(b2, rel=1e-5)
    assert out["step"] == 2 and out["variables"] == ["b", "global_step", "w"]
    np.testing.assert_array_equal(out["reader_pv"], PV)
    np.testing.assert_array_equal(out["restored_pv"], PV)
    # TensorFlow's .meta and checkpoint in tfmini: import, restore, train one step.
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(str(theirs / "tf-1.meta"))
        assert sorted(v.op.name for v in tf.global_variables()) == ["b", "global_step", "w"]
        with tf.Session() as sess:
            saver.restore(sess, str(theirs / "tf-1"))
            np.testing.assert_allclose(sess.run("w:0"), w1, rtol=1e-6)
            sess.run(tf.get_collection("train_op")[0], {"x:0": X, "t:0": T})
            np.testing.assert_allclose(sess.run("w:0"), w2, rtol=1e-5)
            assert sess.run("b:0") == pytest.approx(b2, rel=1e-5)
            assert sess.run(tf.train.get_global_step()) == 2
    # TensorFlow's sliced checkpoint: read whole, restored into tfmini's partitioned variable.
    np.testing.assert_array_equal(tf.train.NewCheckpointReader(str(theirs / "pv")).get_tensor("pv"), PV)
    assert tf.train.list_variables(str(theirs / "pv")) == [("pv", [7, 3])]
    with tf.Graph().as_default():
        pv = _partitioned()
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, str(theirs / "pv"))
            np.testing.assert_array_equal(np.concatenate(sess.run(list(pv))), PV)


def test_file_writer_cache_is_tfs_name_for_the_hooks_cache(tmp_path):
    with tf.Graph().as_default():
        writer = tf.summary.FileWriterCache.get(str(tmp_path))
        assert writer is tf.train.SummaryWriterCache.get(str(tmp_path))
        assert writer.get_logdir() == str(tmp_path)
        tf.summary.FileWriterCache.clear()
        assert tf.summary.FileWriterCache.get(str(tmp_path)) is not writer
        tf.summary.FileWriterCache.clear()


def test_init_from_checkpoint_fills_a_partitioned_variable_slice_by_slice(tmp_path):
    with tf.Graph().as_default():
        pv = _partitioned()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _load_shards(sess, pv, PV)
            path = tf.train.Saver().save(sess, str(tmp_path / "pv"))
    with tf.Graph().as_default():
        pv = tf.get_variable("other", shape=[7, 3], partitioner=tf.fixed_size_partitioner(2))
        tf.train.init_from_checkpoint(path, {"pv": pv})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(np.concatenate(sess.run(list(pv))), PV)
        with pytest.raises(ValueError, match="doesn't match with shape"):
            tf.train.init_from_checkpoint(path, {"pv": tf.get_variable(
                "wrong", shape=[6, 3], partitioner=tf.fixed_size_partitioner(2))})
