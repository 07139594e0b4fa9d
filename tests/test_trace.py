"""Step stats with RunOptions.trace_level: per-node NodeExecStats grouped per device in RunMetadata."""
import numpy as np

import tfmini as tf


def _traced_run(sess, fetch, feed=None):
    meta = tf.RunMetadata()
    out = sess.run(fetch, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=meta)
    return out, meta


def test_embedded_full_trace_records_every_node():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.multiply(x, 3.0, name="y")
        z = tf.add(y, 1.0, name="z")
        with tf.Session() as sess:
            out, meta = _traced_run(sess, z, {x: [1.0, 2.0]})
            np.testing.assert_allclose(out, [4.0, 7.0])
            names = {s.node_name for d in meta.step_stats.dev_stats for s in d.node_stats}
            assert {"y", "z"} <= names
            for d in meta.step_stats.dev_stats:
                assert d.device
                for s in d.node_stats:
                    assert s.all_start_micros > 0
                    assert 0 <= s.op_start_rel_micros <= s.op_end_rel_micros <= s.all_end_rel_micros
                    assert s.timeline_label.startswith(s.node_name + " = ")
            z_stats = next(s for d in meta.step_stats.dev_stats for s in d.node_stats if s.node_name == "z")
            assert z_stats.output[0].tensor_description.allocation_description.requested_bytes == 8
            # untraced: no step stats
            plain = tf.RunMetadata()
            sess.run(z, {x: [1.0, 2.0]}, options=tf.RunOptions(trace_level=tf.RunOptions.NO_TRACE),
                     run_metadata=plain)
            assert not plain.step_stats.dev_stats


def test_cluster_full_trace_covers_every_task(tmp_path):
    from tests.test_distributed import ProcessCluster
    c = ProcessCluster(str(tmp_path), num_ps=1, num_workers=2)
    try:
        with tf.Graph().as_default():
            with tf.device("/job:ps/task:0"):
                a = tf.constant([1.0, 2.0], name="a")
            with tf.device("/job:worker/task:1"):
                b = tf.multiply(a, 2.0, name="b")
            with tf.device("/job:worker/task:0"):
                d = tf.add(b, 1.0, name="d")
            with tf.Session(c.target()) as sess:
                out, meta = _traced_run(sess, d)
        np.testing.assert_allclose(out, [3.0, 5.0])
        tasks = {dev.device.split("/device:")[0] for dev in meta.step_stats.dev_stats}
        assert {"/job:worker/replica:0/task:0", "/job:worker/replica:0/task:1"} <= tasks
        for dev in meta.step_stats.dev_stats:
            for s in dev.node_stats:
                assert s.all_start_micros > 0 and s.all_end_rel_micros >= 0
    finally:
        c.stop()


def test_chrome_trace_is_trace_event_json():
    import json
    from tfmini.python.client import timeline
    with tf.Graph().as_default():
        z = tf.add(tf.placeholder(tf.float32, [2], name="x"), 1.0, name="z")
        with tf.Session() as sess:
            _, meta = _traced_run(sess, z, {"x:0": [1.0, 2.0]})
    trace = json.loads(timeline.Timeline(meta.step_stats).generate_chrome_trace_format(show_dataflow=True))
    events = trace["traceEvents"]
    meta_pids = {e["pid"] for e in events if e["ph"] == "M"}
    assert len(meta_pids) == len(meta.step_stats.dev_stats)
    for e in events:
        assert {"name", "ph", "pid"} <= set(e)
        if e["ph"] == "X":
            assert e["pid"] in meta_pids and e["dur"] >= 0 and "ts" in e
    starts = sorted(e["id"] for e in events if e["ph"] == "s")
    assert starts == sorted(e["id"] for e in events if e["ph"] == "f")
