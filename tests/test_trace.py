"""Step stats with RunOptions.trace_level: per-node NodeExecStats grouped per device in RunMetadata."""
import time
import urllib.error

import numpy as np
import pytest

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


def _transfers(step_stats, op):
    """{(tensor, send device, recv device): NodeExecStats} of the `op` (_Send or _Recv) nodes, from their labels
    ("name = _Send(tensor to device)", "name = _Recv(tensor from device)")."""
    found = {}
    for dev in step_stats.dev_stats:
        for s in dev.node_stats:
            if f" = {op}(" in s.timeline_label:
                tensor, _, peer = s.timeline_label.split("(", 1)[1].rstrip(")").partition(" to " if op == "_Send"
                                                                                     else " from ")
                key = (tensor, dev.device, peer) if op == "_Send" else (tensor, peer, dev.device)
                found[key] = s
    return found


def test_cluster_full_trace_covers_every_task(tmp_path):
    from test_distributed import ProcessCluster
    c = ProcessCluster(str(tmp_path), num_ps=1, num_workers=2)
    try:
        with tf.Graph().as_default():
            with tf.device("/job:ps/task:0"):
                v = tf.Variable([1.0, 2.0], name="v")
            with tf.device("/job:worker/task:1"):
                b = tf.multiply(v, 2.0, name="b")
            with tf.device("/job:worker/task:0"):
                d = tf.add(b, v, name="d")
            with tf.Session(c.target()) as sess:
                sess.run(v.initializer)
                out, meta = _traced_run(sess, d)
                plain = tf.RunMetadata()
                sess.run(d, options=tf.RunOptions(trace_level=tf.RunOptions.SOFTWARE_TRACE), run_metadata=plain)
                graphs = tf.RunMetadata()
                sess.run(d, options=tf.RunOptions(output_partition_graphs=True), run_metadata=graphs)
    finally:
        c.stop()
    np.testing.assert_allclose(out, [3.0, 6.0])
    devices = [dev.device for dev in meta.step_stats.dev_stats]
    want = {f"/job:{t}/replica:0/task:{i}/device:CPU:0" for t, i in (("ps", 0), ("worker", 0), ("worker", 1))}
    assert sorted(devices) == sorted(want)
    assert sorted(dev.device for dev in plain.step_stats.dev_stats) == sorted(want)  # SOFTWARE_TRACE too
    by_device = {dev.device: {s.node_name for s in dev.node_stats} for dev in meta.step_stats.dev_stats}
    assert {"v", "v/read"} <= by_device["/job:ps/replica:0/task:0/device:CPU:0"]
    assert "b" in by_device["/job:worker/replica:0/task:1/device:CPU:0"]
    assert "d" in by_device["/job:worker/replica:0/task:0/device:CPU:0"]
    for dev in meta.step_stats.dev_stats:
        starts = [s.all_start_micros for s in dev.node_stats]
        assert starts == sorted(starts), dev.device  # recorded in the order they ran
        for s in dev.node_stats:
            assert s.all_start_micros > 0 and 0 <= s.op_end_rel_micros <= s.all_end_rel_micros
    # On the master's clock, every tensor arrives after it was sent: v/read from the ps to both workers, b
    # from worker 1 to worker 0.
    sends, recvs = _transfers(meta.step_stats, "_Send"), _transfers(meta.step_stats, "_Recv")
    assert len(recvs) == 3 and set(recvs) <= set(sends)
    for key, recv in recvs.items():
        assert recv.all_start_micros + recv.all_end_rel_micros >= sends[key].all_start_micros, key
    # output_partition_graphs: one GraphDef per device of the step, with its transfers.
    assert not meta.partition_graphs and not graphs.step_stats.dev_stats
    parts = {g.node[0].device: {n.op for n in g.node} for g in graphs.partition_graphs}
    assert set(parts) == want
    assert all("_Send" in ops for device, ops in parts.items() if "ps" in device)


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


def test_partition_graphs_of_a_step_with_no_transfers():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        inc = tf.assign_add(v, 1.0, name="inc").op  # a target only: its partition has no _Send/_Recv
        with tf.Session() as sess:
            sess.run(v.initializer)
            meta = tf.RunMetadata()
            sess.run(inc, options=tf.RunOptions(output_partition_graphs=True), run_metadata=meta)
            assert sess.run(v) == 2.0
    assert [n.name for g in meta.partition_graphs for n in g.node if n.op == "AssignAdd"] == ["inc"]


def test_timeline_module_paths():
    # TF-style code reaches the timeline either way: `from tensorflow.python.client import timeline`, or
    # through attributes of the top-level module.
    from tfmini.python.client import timeline
    assert tf.python.client.timeline is timeline
    assert tf.python.client.timeline.Timeline is timeline.Timeline
    assert timeline.Timeline.__module__ == "tfmini.timeline"


@pytest.mark.parametrize("load_fast", ["false", "true"], ids=["python_loader", "rust_loader"])
def test_add_run_metadata_is_listed_by_tensorboard(tmp_path, load_fast):
    pytest.importorskip("tensorboard")
    from test_tensorboard import _TensorBoard
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [2], name="x")
        z = tf.add(tf.multiply(x, 3.0, name="y"), 1.0, name="z")
        with tf.Session() as sess:
            meta = tf.RunMetadata()
            sess.run(z, {x: [1.0, 2.0]}, run_metadata=meta,
                     options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE, output_partition_graphs=True))
    assert meta.partition_graphs
    writer = tf.summary.FileWriter(str(tmp_path / "traced"), graph)
    writer.add_run_metadata(meta, "step_7", global_step=7)
    writer.close()
    with pytest.raises(ValueError):  # TF refuses a tag twice
        writer.add_run_metadata(meta, "step_7")

    tb = _TensorBoard(tmp_path, load_fast)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = tb.get("data/plugin/graphs/info")
            except (urllib.error.URLError, ConnectionError):
                info = {}
            if "step_7" in info.get("traced", {}).get("tags", {}) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        tag = info["traced"]["tags"]["step_7"]
        assert tag["profile"] is True and info["traced"]["run_graph"] is True
        text = tb.get("data/plugin/graphs/run_metadata?run=traced&tag=step_7")
    finally:
        tb.close()
    # TensorBoard parsed our bytes as its own RunMetadata and prints them back as text.
    for name in ("y", "z"):
        assert f'node_name: "{name}"' in text
    assert "partition_graphs" in text and "step_stats" in text
