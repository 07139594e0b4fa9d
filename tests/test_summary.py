"""Summary ops, the event-file writer and reader (TensorBoard itself is exercised in test_tensorboard.py)."""
import io
import math
import os
import re
import struct
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import tfmini as tf
from tfmini.protos import graph_pb2
from tfmini.summary import record
from tfmini.summary import writer as writer_mod
from tfmini.worker.kernels.summary import BUCKET_LIMITS, histogram_proto


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def _parse(blob):
    return tf.Summary.FromString(blob)


# -- framing -------------------------------------------------------------------
def test_crc_test_vectors():
    # From TensorBoard's data/server/masked_crc.rs tests.
    assert record.crc32c(b"123456789") == 0xE3069283
    assert record.crc32c(bytes(32)) == 0x8A9136AA
    assert record.masked_crc32c(b"\x1a\x11CRC test, one two") == 0x5794D08A
    assert tf.Event(file_version="CRC test, one two").SerializeToString() == b"\x1a\x11CRC test, one two"


def test_record_framing_round_trip(tmp_path):
    data = [b"", b"x", bytes(range(256)) * 40]
    rec = record.encode_record(data[1])
    assert rec[:8] == struct.pack("<Q", 1) and len(rec) == 8 + 4 + 1 + 4
    assert struct.unpack("<I", rec[8:12])[0] == record.masked_crc32c(rec[:8])
    assert struct.unpack("<I", rec[-4:])[0] == record.masked_crc32c(b"x")
    path = tmp_path / "f"
    path.write_bytes(b"".join(record.encode_record(d) for d in data))
    assert list(record.tf_record_iterator(str(path))) == data
    # A truncated tail (a record being written) ends the iteration without error.
    path.write_bytes(b"".join(record.encode_record(d) for d in data)[:-3])
    assert list(record.tf_record_iterator(str(path))) == data[:2]


@pytest.mark.parametrize("where", [9, -1])  # a length-CRC byte, a data-CRC byte
def test_corrupt_record_is_data_loss(tmp_path, where):
    blob = bytearray(record.encode_record(tf.Event(step=1).SerializeToString()) * 2)
    blob[where] ^= 0xFF
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(bytes(blob))
    with pytest.raises(tf.errors.DataLossError):
        list(tf.summary.summary_iterator(str(path)))


# -- summary ops -----------------------------------------------------------------
def test_scalar_summary_encoding_and_names():
    a = tf.summary.scalar("loss", tf.constant(1.5))
    b = tf.summary.scalar("loss", 3)  # a second node: tag made unique with it
    with tf.name_scope("outer"):
        c = tf.summary.scalar("loss", tf.constant(2.0), family="fam")
        d = tf.summary.scalar("bad name!", tf.constant(0.25))
    assert [a.op.name, b.op.name, c.op.name, d.op.name] == ["loss", "loss_1", "outer/fam/loss", "outer/bad_name_"]
    assert a.op.type == "ScalarSummary" and a.dtype == tf.string and a.shape.as_list() == []
    assert a.op.inputs[0].op.name == "loss/tags"
    # Byte-for-byte what TF's ScalarSummary kernel emits for tag "s", value int 3.
    assert _run(tf.summary.scalar("s", tf.constant(3))) == bytes.fromhex("0a080a01731500004040")
    values = [(v.tag, v.simple_value) for blob in _run([a, b, c, d]) for v in _parse(blob).value]
    assert values == [("loss", 1.5), ("loss_1", 3.0), ("fam/outer/fam/loss", 2.0), ("outer/bad_name_", 0.25)]
    assert tf.get_collection(tf.GraphKeys.SUMMARIES)[:4] == [a, b, c, d]


def test_scalar_summary_tf0_names_and_shapes():
    s = tf.scalar_summary(["a", "b"], tf.constant([1.0, 2.0]))
    assert s.op.name == "ScalarSummary" and s.op.inputs[0].op.name == "ScalarSummary/tags"
    assert [(v.tag, v.simple_value) for v in _parse(_run(s)).value] == [("a", 1.0), ("b", 2.0)]
    bad = tf.scalar_summary("a", tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape("not the same shape: [] != [3] (tag 'a')")):
        _run(bad)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape("[2] != [3]")):
        _run(tf.scalar_summary(["a", "b"], tf.constant([1.0, 2.0, 3.0])))
    with pytest.raises(TypeError):
        tf.summary.scalar("s", tf.constant("text"))


# What TF 2.21's HistogramSummary returned for these values (serialized Summary).
_TF_HISTO = bytes.fromhex(
    "0a87020a01682a8102090000000000000cc01100000000006af8401900000000000020402100c0cccc106af84029ebd1a4205fa00242"
    "326881444bf80ba70ec075f872caaddd0bc011ea2d81999771bd000000000000000011ea2d819997713d08996919155aed3f2b14facd"
    "be24f03f6349c61505c2f13f77603c0e66080340ea360f76a3ef0440997a3f3b4cd6f640426d5f74ed1ef940ffffffffffffef7f3a68"
    "0000000000000000000000000000f03f0000000000000000000000000000f03f00000000000000400000000000000000000000000000"
    "f03f000000000000f03f0000000000000000000000000000f03f0000000000000000000000000000f03f0000000000000000")
_TF_EMPTY_HISTO = bytes.fromhex("0a2b0a01652a2609ffffffffffffef7f11ffffffffffffefff3208ffffffffffffef7f3a0800000000"
                                "00000000")


def test_histogram_matches_tensorflow_bytes():
    h = tf.summary.histogram("h", tf.constant(np.array([-3.5, -1e-13, 0.0, 0.0, 1.0, 1.05, 2.5, 1e5], np.float32)))
    e = tf.summary.histogram("e", tf.zeros([0]))
    assert h.op.inputs[0].op.name == "h/tag"
    assert _run(h) == _TF_HISTO
    assert _run(e) == _TF_EMPTY_HISTO


def test_histogram_bucket_layout():
    limits = BUCKET_LIMITS
    pos = limits[limits > 0]
    assert limits[len(limits) // 2] == 0.0 and np.array_equal(limits[:len(limits) // 2], -pos[::-1])
    assert pos[0] == 1e-12 and pos[-1] == sys.float_info.max and pos[-2] < 1e20 <= pos[-2] * 1.1
    assert np.allclose(pos[1:-1] / pos[:-2], 1.1)
    assert len(pos) == math.ceil(32 * math.log(10) / math.log(1.1)) + 1 and len(limits) == 2 * len(pos) + 1
    # Bucket i counts [limit[i-1], limit[i]); each run of empty buckets collapses into one at its last limit.
    h = histogram_proto([0.0, 1.0, 1.0, 5.0])
    assert (h.num, h.sum, h.sum_squares, h.min, h.max) == (4, 7.0, 27.0, 0.0, 5.0)
    i1, i5 = np.searchsorted(limits, [1.0, 5.0], side="right")
    assert limits[i1 - 1] <= 1.0 < limits[i1] and limits[i5 - 1] <= 5.0 < limits[i5]
    assert list(h.bucket_limit) == [0.0, 1e-12, limits[i1 - 1], limits[i1], limits[i5 - 1], limits[i5],
                                    sys.float_info.max]
    assert list(h.bucket) == [0, 1, 0, 2, 0, 1, 0]


def test_histogram_rejects_nan_and_inf():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram for: n"):
        _run(tf.summary.histogram("n", tf.constant([1.0, np.nan])))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Infinity in summary histogram for: i"):
        _run(tf.summary.histogram("i", tf.constant([np.inf])))


def _pixels(value):
    from PIL import Image
    return np.array(Image.open(io.BytesIO(value.image.encoded_image_string))).tolist()


def test_image_summary_normalises_as_tensorflow():
    x = np.array([[[[-1.0], [0.5]], [[2.0], [np.inf]]], [[[1.0], [0.5]], [[2.0], [4.0]]],
                  [[[0.0], [0.0]], [[0.0], [0.0]]]], np.float32)
    s = _parse(_run(tf.summary.image("img", tf.constant(x), max_outputs=2)))
    # Pixel values TF 2.21 produced for the same input (mixed signs, all positive; inf -> bad_color).
    assert [v.tag for v in s.value] == ["img/image/0", "img/image/1"]
    assert [(v.image.height, v.image.width, v.image.colorspace) for v in s.value] == [(2, 2, 1)] * 2
    assert _pixels(s.value[0]) == [[64, 159], [255, 255]]
    assert _pixels(s.value[1]) == [[63, 31], [127, 255]]
    rgb = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3) * 7
    s = _parse(_run(tf.image_summary("rgb", tf.constant(rgb), max_images=1)))
    assert [v.tag for v in s.value] == ["rgb/image"] and s.value[0].image.colorspace == 3
    assert _pixels(s.value[0]) == rgb[0].tolist()
    with pytest.raises(tf.errors.InvalidArgumentError, match="4-D with last dim 1, 3, or 4"):
        _run(tf.summary.image("bad", tf.zeros([1, 2, 2, 2])))
    with pytest.raises(ValueError, match="rank 4"):
        tf.summary.image("bad", tf.zeros([2, 2, 2]))


def test_merge_and_merge_all():
    assert tf.summary.merge_all() is None and tf.merge_all_summaries() is None
    a = tf.summary.scalar("a", 1.0)
    h = tf.summary.histogram("h", tf.constant([1.0, 2.0]))
    m = tf.summary.merge_all()
    assert m.op.name == "Merge/MergeSummary" and m.op.get_attr("N") == 2
    assert tf.merge_all_summaries().op.name == "MergeSummary/MergeSummary"
    assert tf.summary.merge([a], name="m").op.name == "m/m"
    assert m not in tf.get_collection(tf.GraphKeys.SUMMARIES)
    assert [v.tag for v in _parse(_run(m)).value] == ["a", "h"]
    assert tf.summary.merge_all(key="other") is None
    dup = tf.summary.merge([a, a])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag a found in summary inputs"):
        _run(dup)


# -- writer ------------------------------------------------------------------------
def _events(path):
    return list(tf.summary.summary_iterator(str(path)))


def _only_file(logdir):
    files = sorted(os.listdir(logdir))
    assert len(files) == 1, files
    return os.path.join(logdir, files[0])


def test_file_writer_writes_tensorboard_events(tmp_path):
    x = tf.constant(1.0, name="input")
    with tf.device("/job:localhost/replica:0/task:0/device:CPU:0"):
        w = tf.Variable(tf.zeros([2, 3]), name="weight")
    y = tf.reduce_sum(w * x, name="output")
    s = tf.summary.scalar("y", y)
    before = time.time()
    writer = tf.summary.FileWriter(str(tmp_path), tf.get_default_graph(), filename_suffix=".v1")
    names = {op.name for op in tf.get_default_graph().get_operations()}
    path = _only_file(tmp_path)
    assert re.fullmatch(r"events\.out\.tfevents\.\d{10}\.[^/]+\.v1", os.path.basename(path))
    assert abs(int(os.path.basename(path).split(".")[3]) - before) <= 2
    first = _events(path)[0]  # the version record is on disk at once
    assert first.file_version == "brain.Event:2" and first.wall_time >= before - 1
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        blob = sess.run(s)
    writer.add_summary(blob, 7)
    writer.add_summary(np.array(blob, dtype=object), 8)
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="z", simple_value=2.5)]), global_step=np.int64(9))
    writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 10)
    writer.flush()
    events = _events(path)
    assert [e.WhichOneof("what") for e in events] == ["file_version", "graph_def", "summary", "summary", "summary",
                                                      "session_log"]
    assert [e.step for e in events[2:]] == [7, 8, 9, 10]
    assert [(v.tag, v.simple_value) for e in events[2:5] for v in e.summary.value] == [("y", 0), ("y", 0),
                                                                                        ("z", 2.5)]
    graph = graph_pb2.GraphDef.FromString(events[1].graph_def)
    nodes = {n.name: n for n in graph.node}
    assert set(nodes) == names
    assert nodes["weight"].device == "/job:localhost/replica:0/task:0/device:CPU:0"
    dims = [[d.size for d in shp.dim] for shp in nodes["weight"].attr["_output_shapes"].list.shape]
    assert dims == [[2, 3]] and len(nodes["output"].attr["_output_shapes"].list.shape[0].dim) == 0
    writer.close()
    writer.close()  # closing twice is fine
    assert writer.get_logdir() == str(tmp_path)


def test_add_after_close_is_dropped_until_reopen(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.close()
    with pytest.warns(UserWarning, match="closed FileWriter"):
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1)]), 1)
    assert [e.WhichOneof("what") for e in _events(_only_file(tmp_path))] == ["file_version"]
    writer.reopen()
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=2)]), 2)
    writer.close()
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 2  # reopen starts a new file, later in name order, never clobbering the first
    assert [e.step for e in _events(tmp_path / files[1])] == [0, 2]


def test_second_writer_in_the_same_second_gets_its_own_file(tmp_path):
    a, b = tf.summary.FileWriter(str(tmp_path)), tf.train.SummaryWriter(str(tmp_path))
    a.add_summary(tf.Summary(value=[tf.Summary.Value(tag="a", simple_value=1)]), 1)
    b.add_summary(tf.Summary(value=[tf.Summary.Value(tag="b", simple_value=1)]), 1)
    a.close(), b.close()
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 2
    tags = [[v.tag for e in _events(tmp_path / f) for v in e.summary.value] for f in files]
    assert sorted(tags) == [["a"], ["b"]]


def test_metadata_kept_only_on_first_value_of_a_tag(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    meta = tf.summary.SummaryMetadata(plugin_data=tf.summary.SummaryMetadata.PluginData(plugin_name="scalars"))
    summary = tf.Summary(value=[tf.Summary.Value(tag="m", simple_value=1, metadata=meta)])
    writer.add_summary(summary, 1)
    writer.add_summary(summary, 2)
    writer.close()
    values = [e.summary.value[0] for e in _events(_only_file(tmp_path))[1:]]
    assert [v.HasField("metadata") for v in values] == [True, False]
    assert summary.value[0].HasField("metadata")  # the caller's proto is left alone


def test_full_queue_blocks_until_written(tmp_path, monkeypatch):
    gate = threading.Event()
    real = writer_mod.encode_record

    def slow(data):
        gate.wait()
        return real(data)
    writer = tf.summary.FileWriter(str(tmp_path), max_queue=2)
    monkeypatch.setattr(writer_mod, "encode_record", slow)
    done = []
    ev = tf.Summary(value=[tf.Summary.Value(tag="q", simple_value=1)])

    def add_four():
        for i in range(4):
            writer.add_summary(ev, i)
        done.append(True)
    t = threading.Thread(target=add_four)
    t.start()
    t.join(0.3)
    assert t.is_alive() and not done  # the thread holds one event, the queue two: the fourth add blocks
    gate.set()
    t.join(5)
    assert done
    writer.close()
    assert [e.step for e in _events(_only_file(tmp_path))] == [0, 0, 1, 2, 3]


def test_write_failure_raises_on_next_call(tmp_path, monkeypatch):
    writer = tf.summary.FileWriter(str(tmp_path))

    def full_disk(data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(writer_mod, "encode_record", full_disk)
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1)]), 1)
    writer.event_writer._worker.join(5)  # the writer thread has died on the error
    with pytest.raises(OSError, match="No space left"):
        writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1)]), 2)
    writer.close()  # the writer is closed now: closing again is quiet, as in TF


def test_write_failure_raises_on_flush(tmp_path, monkeypatch):
    writer = tf.summary.FileWriter(str(tmp_path))
    monkeypatch.setattr(writer_mod, "encode_record", lambda data: (_ for _ in ()).throw(OSError(28, "disk full")))
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=1)]), 1)
    with pytest.raises(OSError, match="disk full"):
        writer.flush()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_real_full_disk_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_mod, "_new_event_file", lambda logdir, suffix: ("/dev/full", open("/dev/full", "wb")))
    with pytest.raises(OSError):
        tf.summary.FileWriter(str(tmp_path))


def test_unclosed_writer_is_flushed_at_exit(tmp_path):
    script = ("import tfmini as tf\n"
              f"w = tf.summary.FileWriter({str(tmp_path)!r}, flush_secs=1000)\n"
              "for i in range(5):\n"
              "    w.add_summary(tf.Summary(value=[tf.Summary.Value(tag='t', simple_value=i)]), i)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert [e.step for e in _events(_only_file(tmp_path))] == [0, 0, 1, 2, 3, 4]


def test_add_graph_arguments(tmp_path):
    tf.constant(1.0, name="c")
    writer = tf.summary.FileWriter(str(tmp_path))
    with pytest.raises(ValueError, match="only graph"):
        writer.add_graph(tf.get_default_graph(), graph_def=tf.get_default_graph().as_graph_def())
    with pytest.raises(TypeError):
        writer.add_graph("not a graph")
    with pytest.raises(TypeError):
        writer.add_summary(3.0)
    writer.add_graph(graph_def=tf.get_default_graph().as_graph_def())
    writer.close()
    assert [e.WhichOneof("what") for e in _events(_only_file(tmp_path))] == ["file_version", "graph_def"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer.close()
