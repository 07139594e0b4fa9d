"""tf.train.Saver: round trips, the checkpoint state file, max_to_keep, and bad checkpoints that must
raise before any variable changes."""
import os

import numpy as np
import pytest

import tfmini as tf
from tfmini.train.saver import read_checkpoint, write_checkpoint


@pytest.fixture
def model():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
        b = tf.Variable(np.array([1, 2], dtype=np.int64), name="layer/b")
        d = tf.Variable(np.float64(2.5), name="d")
        change = tf.group(w.assign(w * 0.0 - 1.0), b.assign(b * 0 + 7), d.assign(0.0))
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
        yield sess, (w, b, d), change, tf.train.Saver()
        sess.close()


def values(sess, variables):
    return [np.array(v) for v in sess.run(list(variables))]


def test_round_trip_and_state_file(model, tmp_path):
    sess, variables, change, saver = model
    before = values(sess, variables)
    path = saver.save(sess, str(tmp_path / "model.ckpt"))
    assert path == str(tmp_path / "model.ckpt")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index",
                                            "model.ckpt.meta"]  # the meta graph, as TF's Saver writes it
    assert tf.train.list_variables(path) == [("d", []), ("layer/b", [2]), ("w", [2, 3])]
    assert tf.train.load_checkpoint(path).get_variable_to_dtype_map()["w"] == tf.float32
    sess.run(change)
    saver.restore(sess, path)
    after = values(sess, variables)
    for a, b in zip(before, after):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert tf.train.latest_checkpoint(str(tmp_path)) == path
    state = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt"' in state


def test_global_step_suffix_and_max_to_keep(model, tmp_path):
    sess, variables, change, _ = model
    saver = tf.train.Saver(max_to_keep=2)
    prefix = str(tmp_path / "m")
    paths = [saver.save(sess, prefix, global_step=step) for step in (1, 2, 3)]
    assert paths == [prefix + "-1", prefix + "-2", prefix + "-3"]
    assert not os.path.exists(prefix + "-1.index") and os.path.exists(prefix + "-2.index")
    assert saver.last_checkpoints == paths[1:]
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix + "-3"
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == paths[1:]


def test_global_step_tensor_and_var_dict(tmp_path):
    g = tf.Graph()
    with g.as_default():
        gs = tf.train.get_or_create_global_step()
        v = tf.Variable([1.0, 2.0], name="v")
        inc = gs.assign_add(5)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(inc)
            saver = tf.train.Saver({"renamed": v})
            path = saver.save(sess, str(tmp_path / "x"), global_step=gs)
            assert path.endswith("x-5")
            assert [name for name, _ in tf.train.list_variables(path)] == ["renamed"]


def test_latest_checkpoint_without_state_is_none(tmp_path):
    assert tf.train.latest_checkpoint(str(tmp_path)) is None


def _corrupt(path, how):
    data_path = path + ".data-00000-of-00001"
    if how == "bit flip":
        data = bytearray(open(data_path, "rb").read())
        data[5] ^= 0xFF
        open(data_path, "wb").write(bytes(data))
    elif how == "truncated data":
        data = open(data_path, "rb").read()
        open(data_path, "wb").write(data[:-4])
    elif how == "garbage index":
        open(path + ".index", "wb").write(b"not an sstable")
    elif how == "missing data":
        os.remove(data_path)
    elif how == "missing index":
        os.remove(path + ".index")
    elif how == "missing variable":
        stored = read_checkpoint(path)
        del stored["d"]
        write_checkpoint(path, stored)


@pytest.mark.parametrize("how,error", [
    ("bit flip", tf.errors.DataLossError), ("truncated data", tf.errors.DataLossError),
    ("garbage index", tf.errors.DataLossError), ("missing data", tf.errors.NotFoundError),
    ("missing index", tf.errors.NotFoundError), ("missing variable", tf.errors.NotFoundError),
])
def test_bad_checkpoint_raises_before_any_assign(model, tmp_path, how, error):
    sess, variables, change, saver = model
    path = saver.save(sess, str(tmp_path / "model.ckpt"))
    sess.run(change)
    changed = values(sess, variables)
    _corrupt(path, how)
    with pytest.raises(error):
        saver.restore(sess, path)
    for a, b in zip(changed, values(sess, variables)):
        np.testing.assert_array_equal(a, b)


def test_shape_mismatch_raises_before_any_assign(tmp_path):
    g = tf.Graph()
    with g.as_default():
        a = tf.Variable([1.0, 2.0], name="a")
        z = tf.Variable([5.0], name="z")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            write_checkpoint(str(tmp_path / "c"), {"a": np.array([9.0, 9.0], np.float32),
                                                   "z": np.array([1.0, 2.0, 3.0], np.float32)})
            with pytest.raises(tf.errors.InvalidArgumentError):
                tf.train.Saver().restore(sess, str(tmp_path / "c"))
            np.testing.assert_array_equal(sess.run(a), [1.0, 2.0])
            np.testing.assert_array_equal(sess.run(z), [5.0])


def test_save_into_missing_directory_and_empty_saver(model, tmp_path):
    sess, _, _, saver = model
    with pytest.raises(ValueError, match="doesn't exist"):
        saver.save(sess, str(tmp_path / "no" / "such" / "dir" / "m"))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
