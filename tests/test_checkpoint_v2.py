"""Checkpoints in TensorFlow's V2 format, written and read where the variables live: the format both ways with
TensorFlow 2.21, sharded saves on a real 2-ps cluster whose client receives no variable bytes, restore into a
fresh cluster, and a server's refusal of paths outside its --checkpoint-dir."""
import json
import os
import struct
import subprocess

import numpy as np
import pytest

import tfmini as tf
from tfmini.core import errors, sstable, tensor_bundle
from tfmini.train.saver import read_checkpoint, write_checkpoint
from test_distributed import ProcessCluster


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


# -- the table and bundle formats --------------------------------------------------------------------
def test_sstable_round_trip_over_many_blocks_and_damage_is_data_loss():
    items = [(f"key{i:05d}".encode(), bytes([i % 251]) * (i % 37)) for i in range(2000)]
    data = sstable.build_table(items)
    assert len(data) > 4 * sstable.BLOCK_SIZE  # several data blocks, several index entries
    assert sstable.read_table(data) == items
    damaged = bytearray(data)
    damaged[100] ^= 0x01
    with pytest.raises(errors.DataLossError, match="checksum"):
        sstable.read_table(bytes(damaged))
    with pytest.raises(errors.DataLossError, match="magic"):
        sstable.read_table(data[:-1] + b"\0")


def test_snappy_block_is_refused_clearly():
    block = sstable._BlockBuilder(16)
    block.add(b"", b"x")
    raw = block.finish()
    # the same table, with its data block's type byte saying "snappy" (and a checksum to match)
    data = bytearray(sstable.build_table([(b"", b"x")]))
    data[len(raw)] = 1
    data[len(raw) + 1:len(raw) + 5] = struct.pack("<I", sstable.masked_crc32c(bytes(data[:len(raw) + 1])))
    with pytest.raises(errors.UnimplementedError, match="snappy"):
        sstable.read_table(bytes(data))


def test_bundle_string_tensors_and_corruption(tmp_path):
    prefix = str(tmp_path / "b")
    writer = tensor_bundle.BundleWriter(prefix)
    writer.add("s", np.array([b"ab", b"", b"xyz"], dtype=object), tf.string)
    writer.add("h", np.array([1.5, -2.0], np.float16), tf.float16)
    writer.finish()
    reader = tensor_bundle.BundleReader(prefix)
    assert list(reader.read("s")) == [b"ab", b"", b"xyz"]
    np.testing.assert_array_equal(reader.read("h"), np.array([1.5, -2.0], np.float16))
    data_path = tensor_bundle.data_filename(prefix, 0, 1)
    data = bytearray(open(data_path, "rb").read())
    data[-1] ^= 0xFF  # the last byte of "h"
    open(data_path, "wb").write(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match="Checksum does not match"):
        reader.read("h")


def test_a_version_1_checkpoint_gets_a_clear_error(tmp_path):
    (tmp_path / "old.index").write_text(json.dumps({"format": "tfmini-checkpoint", "version": 1, "tensors": []}))
    with pytest.raises(tf.errors.DataLossError, match="version-1 checkpoint"):
        tf.train.load_checkpoint(str(tmp_path / "old"))


def test_reader_api_and_init_from_checkpoint(tmp_path):
    prefix = str(tmp_path / "src")
    write_checkpoint(prefix, {"old/w": np.arange(4, dtype=np.float32), "old/b": np.array(3, np.int64),
                              "other": np.ones((2, 2))})
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "src"\nall_model_checkpoint_paths: "src"\n'
                                         'all_model_checkpoint_timestamps: 1700000000.5\n')
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
    assert tf.train.list_variables(str(tmp_path)) == [("old/b", []), ("old/w", [4]), ("other", [2, 2])]
    np.testing.assert_array_equal(tf.train.load_variable(prefix, "old/w"), np.arange(4, dtype=np.float32))
    reader = tf.train.NewCheckpointReader(prefix)
    assert reader.has_tensor("other") and not reader.has_tensor("nope")
    assert reader.get_variable_to_dtype_map()["other"] == tf.float64
    with pytest.raises(tf.errors.NotFoundError):
        reader.get_tensor("nope")
    with tf.Graph().as_default():
        with tf.variable_scope("new"):
            w = tf.get_variable("w", [4], tf.float32, initializer=tf.zeros_initializer())
            b = tf.get_variable("b", [], tf.int64, initializer=tf.zeros_initializer())
        kept = tf.Variable(7.0, name="kept")
        tf.train.init_from_checkpoint(str(tmp_path), {"old/": "new/"})
        with pytest.raises(ValueError, match="Shape of variable"):
            tf.train.init_from_checkpoint(prefix, {"other": "new/w"})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(w), np.arange(4, dtype=np.float32))
            assert sess.run(b) == 3 and sess.run(kept) == 7.0


# -- both ways with TensorFlow 2.21 -------------------------------------------------------------------
_TF_SCRIPT = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
v1 = tf.compat.v1
v1.disable_eager_execution()
v1.disable_resource_variables()
ours, out_dir = sys.argv[1], sys.argv[2]
result = {}
for label, prefix in json.loads(ours).items():   # read tfmini's checkpoints two ways
    reader = tf.train.load_checkpoint(prefix)
    old = v1.train.NewCheckpointReader(prefix)
    result[label] = {name: [old.get_variable_to_dtype_map()[name].name, shape, reader.get_tensor(name).tolist()]
                     for name, shape in reader.get_variable_to_shape_map().items()}
    with tf.Graph().as_default():             # and restore them into TF's own Saver
        w = v1.get_variable("w", [2, 3], tf.float32)
        step = v1.get_variable("layer/step", [], tf.int64)
        with v1.Session() as sess:
            v1.train.Saver([w, step]).restore(sess, prefix)
            result[label]["restored"] = [sess.run(w).tolist(), int(sess.run(step))]
from google.protobuf import text_format      # run tfmini's own Saver graph in TF: restore, then save
graph_def = text_format.Parse(open(sys.argv[3]).read(), v1.GraphDef())
with tf.Graph().as_default():
    v1.import_graph_def(graph_def, name="")
    with v1.Session() as sess:
        sess.run("save/restore_all", {"save/Const:0": json.loads(ours)["sharded=True"]})
        result["tfmini graph"] = sess.run("w:0").tolist()
        os.makedirs(f"{out_dir}/by_tf_from_tfmini_graph")
        sess.run("save_1/Identity:0", {"save_1/Const:0": f"{out_dir}/by_tf_from_tfmini_graph/model"})
for sharded in (False, True):                 # write TF checkpoints for tfmini to read
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            a = v1.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) * 10, name="w")
        with tf.device("/cpu:1" if sharded else "/cpu:0"):
            b = v1.Variable(np.int64(42), name="layer/step")
            c = v1.Variable(np.linspace(0, 1, 5), name="c")
        config = v1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=True)
        with v1.Session(config=config) as sess:
            sess.run(v1.global_variables_initializer())
            os.makedirs(f"{out_dir}/tf{int(sharded)}")
            v1.train.Saver(sharded=sharded).save(sess, f"{out_dir}/tf{int(sharded)}/model", global_step=7)
print(json.dumps(result))
"""


def _model():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    step = tf.Variable(np.int64(5), name="layer/step")
    c = tf.Variable(np.zeros(5), name="c")
    return w, step, c


def test_checkpoints_interchange_with_tensorflow(tmp_path, tf_python):
    ours = {}
    with tf.Graph().as_default() as g:
        w, step, c = _model()
        flag = tf.Variable([True, False], name="flag")
        savers = [tf.train.Saver(sharded=sharded) for sharded in (False, True)]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for sharded, saver in zip((False, True), savers):
                os.makedirs(tmp_path / f"ours{int(sharded)}")
                ours[f"sharded={sharded}"] = saver.save(sess, str(tmp_path / f"ours{int(sharded)}" / "model"))
        tf.io.write_graph(g, str(tmp_path), "saver_graph.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, json.dumps(ours), str(tmp_path),
                           str(tmp_path / "saver_graph.pbtxt")], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for label in ours:
        read = theirs[label]
        assert read["w"] == ["float32", [2, 3], [[0, 1, 2], [3, 4, 5]]]
        assert read["layer/step"] == ["int64", [], 5]
        assert read["flag"] == ["bool", [2], [True, False]]
        assert read["restored"] == [[[0, 1, 2], [3, 4, 5]], 5]
    assert theirs["tfmini graph"] == [[0, 1, 2], [3, 4, 5]]  # TF ran tfmini's RestoreV2/Assign graph
    by_tf = read_checkpoint(str(tmp_path / "by_tf_from_tfmini_graph" / "model"))  # and its sharded save
    assert sorted(by_tf) == ["c", "flag", "layer/step", "w"] and by_tf["layer/step"] == 5
    assert sorted(os.listdir(tmp_path / "tf1")) == ["checkpoint", "model-7.data-00000-of-00002",
                                                   "model-7.data-00001-of-00002", "model-7.index", "model-7.meta"]
    for sharded in (0, 1):
        directory = str(tmp_path / f"tf{sharded}")
        with tf.Graph().as_default():
            w, step, c = _model()
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                tf.train.Saver().restore(sess, tf.train.latest_checkpoint(directory))
                np.testing.assert_array_equal(sess.run(w), np.arange(6, dtype=np.float32).reshape(2, 3) * 10)
                assert sess.run(step) == 42
                np.testing.assert_allclose(sess.run(c), np.linspace(0, 1, 5))
        assert tf.train.get_checkpoint_state(directory).model_checkpoint_path.endswith("model-7")


# -- on a cluster: each ps writes its own variables ----------------------------------------------------
BIG = 16 * 1024 * 1024  # float32 elements: a 64 MB variable


class _CountingMaster:
    """The session's master, counting the bytes of every answer that reaches the client."""

    def __init__(self, master):
        self._master, self.received = master, 0

    def __getattr__(self, name):
        attr = getattr(self._master, name)
        if name not in ("run_step", "run_callable", "pull"):
            return attr

        def counted(*args, **kwargs):
            out = attr(*args, **kwargs)
            self.received += out.ByteSize() if hasattr(out, "ByteSize") else len(memoryview(out).cast("B"))
            return out
        return counted


def _counted(sess):
    sess._master = _CountingMaster(sess._master)
    return sess._master


def _ps_model(num_ps):
    with tf.device(tf.train.replica_device_setter(ps_tasks=num_ps)):
        big = tf.Variable(tf.fill([BIG], 0.5), name="big")       # ps0
        small = tf.Variable([1.0, 2.0, 3.0], name="small")      # ps1
        step = tf.Variable(np.int64(0), name="step")            # ps0
    bump = tf.group(big.assign_add(tf.fill([BIG], 1.0)), small.assign(small * 10), step.assign_add(1))
    return big, small, step, bump


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ckpts"))


@pytest.fixture(scope="module")
def flagged_cluster(tmp_path_factory, ckpt_dir):
    c = ProcessCluster(str(tmp_path_factory.mktemp("flagged")), num_ps=2, num_workers=1,
                       extra_args=["--checkpoint-dir", ckpt_dir])
    yield c
    c.stop()


def test_sharded_save_writes_on_each_ps_and_restores_in_a_fresh_cluster(flagged_cluster, ckpt_dir, tmp_path):
    prefix = os.path.join(ckpt_dir, "model")
    big, small, step, bump = _ps_model(2)
    assert big.device.startswith("/job:ps/task:0") and small.device.startswith("/job:ps/task:1")
    saver = tf.train.Saver(sharded=True)
    with tf.Session(flagged_cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(bump)
        counter = _counted(sess)
        path = saver.save(sess, prefix, global_step=1)
        assert path == prefix + "-1"
        assert counter.received < 4096, counter.received  # a path, never the 64 MB
        sess.run(bump)  # the variables move on; the checkpoint keeps step 1
    files = sorted(f for f in os.listdir(ckpt_dir) if f.startswith("model-1"))
    assert files == ["model-1.data-00000-of-00002", "model-1.data-00001-of-00002", "model-1.index", "model-1.meta"]
    assert not [f for f in os.listdir(ckpt_dir) if "_temp" in f]  # the merge removed the shards' directory
    # shard 0 is ps0's (big, step), shard 1 is ps1's (small)
    assert os.path.getsize(os.path.join(ckpt_dir, "model-1.data-00000-of-00002")) == BIG * 4 + 8
    assert os.path.getsize(os.path.join(ckpt_dir, "model-1.data-00001-of-00002")) == 3 * 4
    assert tf.train.latest_checkpoint(ckpt_dir) == path

    fresh = ProcessCluster(str(tmp_path), num_ps=2, num_workers=1, extra_args=["--checkpoint-dir", ckpt_dir])
    try:
        with tf.Session(fresh.target()) as sess:
            counter = _counted(sess)
            saver.restore(sess, path)
            assert counter.received < 4096, counter.received
            np.testing.assert_array_equal(sess.run(small), [10.0, 20.0, 30.0])
            assert sess.run(step) == 1
            head = sess.run(big[:3])
            np.testing.assert_array_equal(head, [1.5, 1.5, 1.5])
    finally:
        fresh.stop()


def test_default_saver_on_a_cluster_writes_one_file_without_the_client(flagged_cluster, ckpt_dir):
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        a = tf.Variable(np.arange(1000, dtype=np.float32), name="a")
        b = tf.Variable(np.float64(2.5), name="b")
    saver = tf.train.Saver()
    with tf.Session(flagged_cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        counter = _counted(sess)
        path = saver.save(sess, os.path.join(ckpt_dir, "plain"))
        assert counter.received < 1024
        sess.run([a.assign(a * 0), b.assign(0.0)])
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(a), np.arange(1000, dtype=np.float32))
    stored = read_checkpoint(path)
    assert sorted(stored) == ["a", "b"] and stored["b"] == 2.5
    assert os.path.exists(path + ".data-00000-of-00001")


def test_a_bad_checkpoint_changes_no_variable_on_any_ps(flagged_cluster, ckpt_dir):
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        a = tf.Variable([1.0, 2.0], name="bad_a")   # ps0 (the cluster's ps tasks keep earlier tests' variables)
        z = tf.Variable([5.0], name="bad_z")        # ps1
    write_checkpoint(os.path.join(ckpt_dir, "bad"), {"bad_a": np.array([9.0, 9.0], np.float32),
                                                     "bad_z": np.array([1.0, 2.0, 3.0], np.float32)})
    with tf.Session(flagged_cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="shapes of both tensors"):
            tf.train.Saver(sharded=True).restore(sess, os.path.join(ckpt_dir, "bad"))
        np.testing.assert_array_equal(sess.run(a), [1.0, 2.0])
        np.testing.assert_array_equal(sess.run(z), [5.0])
        with pytest.raises(tf.errors.NotFoundError, match="missing"):
            tf.train.Saver().restore(sess, os.path.join(ckpt_dir, "missing"))


def test_paths_outside_the_checkpoint_dir_are_refused(flagged_cluster, ckpt_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(ckpt_dir, "link"))
    with tf.device("/job:ps/task:0"):
        v = tf.Variable([1.0], name="v")
    saver = tf.train.Saver(sharded=True)
    with tf.Session(flagged_cluster.target()) as sess:
        sess.run(tf.global_variables_initializer())
        for path in (str(outside / "m"), os.path.join(ckpt_dir, "..", "escape", "m"),
                     os.path.join(ckpt_dir, "link", "m")):
            with pytest.raises(tf.errors.PermissionDeniedError, match="outside its --checkpoint-dir"):
                saver.save(sess, path)
            with pytest.raises(tf.errors.PermissionDeniedError):
                saver.restore(sess, path)
    assert os.listdir(outside) == []


def test_a_server_without_the_flag_refuses_saver_ops(tmp_path):
    server = tf.train.Server({"ps": ["127.0.0.1:0"]})
    try:
        v = tf.Variable([1.0], name="v")
        with tf.Session(server.target) as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.FailedPreconditionError, match="--checkpoint-dir"):
                tf.train.Saver().save(sess, str(tmp_path / "m"))
        assert os.listdir(tmp_path) == []
        del v
    finally:
        server.stop()


def test_a_control_dependency_across_tasks_waits_for_its_source(flagged_cluster):
    # What save/restore_checked relies on: a gate on the master's task waiting for both ps tasks, and a write on
    # ps0 waiting for the gate. A cut control edge is a Const after its source: it must not be folded into
    # "already done" when its partition is registered.
    with tf.device("/job:ps/task:1"):
        failing = tf.Assert(tf.constant(False), [tf.constant("no")], name="failing")
    with tf.device("/job:ps/task:0"):
        guarded = tf.Variable(1.0, name="guarded")
        fine = tf.identity(guarded.read_value(), name="fine")
    gate = tf.group(failing, fine, name="gate")
    with tf.device("/job:ps/task:0"), tf.control_dependencies([gate]):
        write = guarded.assign(2.0)
    with tf.Session(flagged_cluster.target()) as sess:
        sess.run(guarded.initializer)
        for _ in range(3):
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(write)
            assert sess.run(guarded) == 1.0
