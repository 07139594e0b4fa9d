"""The device layer: devices found per task, placement by kernel support, soft placement, and the
per-device split inside a worker. GPU tests need CuPy and a CUDA device, and skip without them."""
import logging
import subprocess
import sys

import numpy as np
import pytest

import tfmini as tf
from tfmini.protos import node_def_pb2
from tfmini.server.placement import place
from tfmini.worker import devices, kernels

TASK = "/job:localhost/replica:0/task:0"
CPU0, CPU1, GPU0 = f"{TASK}/device:CPU:0", f"{TASK}/device:CPU:1", f"{TASK}/device:GPU:0"
HAS_GPU = devices._cupy() is not None
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="CuPy cannot see a CUDA GPU on this host")


def _nodes(*specs):
    """NodeDefs from (name, op, device, inputs, colocate_with) tuples."""
    out = {}
    for name, op, device, inputs, coloc in specs:
        n = node_def_pb2.NodeDef(name=name, op=op, device=device, input=inputs)
        if coloc:
            n.attr["_class"].list.s.append(b"loc:@" + coloc.encode())
        out[name] = n
    return out


def test_placement_prefers_a_gpu_only_where_a_gpu_kernel_exists():
    nodes = _nodes(("m", "MatMul", "", [], None), ("r", "RandomUniform", "", [], None),
                   ("v", "VariableV2", "", [], None), ("init", "IsVariableInitialized", "", ["v"], None))
    placed = place(nodes, set(nodes), [CPU0, GPU0], CPU0, kernel_devices=kernels.device_types)
    assert placed["m"] == GPU0                        # TF's preference when the op can run there
    assert placed["r"] == CPU0                        # no GPU kernel: kept on the CPU
    assert placed["v"] == placed["init"] == CPU0      # a ref edge to a CPU-only op pulls the variable along


def test_explicit_gpu_request_without_a_gpu_kernel():
    nodes = _nodes(("r", "RandomUniform", "/device:GPU:0", [], None))
    with pytest.raises(tf.errors.InvalidArgumentError, match="no supported kernel for GPU"):
        place(nodes, {"r"}, [CPU0, GPU0], CPU0, kernel_devices=kernels.device_types)
    soft = place(nodes, {"r"}, [CPU0, GPU0], CPU0, allow_soft_placement=True, kernel_devices=kernels.device_types)
    assert soft["r"] == CPU0


@pytest.mark.skipif(HAS_GPU, reason="this host has a GPU")
def test_soft_placement_moves_gpu_ops_to_the_cpu_with_a_log_line(caplog):
    with tf.Graph().as_default():
        with tf.device("/gpu:0"):
            y = tf.constant([1.0, 2.0]) * 3.0
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="GPU:0.*available devices"):
                sess.run(y)
            assert sess.run(tf.constant(5.0)) == 5.0  # the session is still usable
        with caplog.at_level(logging.INFO, logger="tfmini.master"):
            with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
                np.testing.assert_array_equal(sess.run(y), [3.0, 6.0])
        assert any("Soft placement" in r.getMessage() and "GPU:0" in r.getMessage() for r in caplog.records)


def test_devices_follow_device_count_and_are_listed():
    with tf.Graph().as_default():
        with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as sess:
            names = [d.name for d in sess.list_devices()]
    assert names[:2] == [CPU0, CPU1]
    found = devices.discover(TASK, 7, {"CPU": 2})
    assert all(d.attributes.memory_limit > 0 and d.attributes.incarnation for d in found)


def test_a_task_is_split_per_device_with_counted_copies():
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            a = tf.placeholder(tf.float32, [2], name="a") * 2.0
        with tf.device("/cpu:1"):
            b = tf.add(a, 1.0, name="b")
        with tf.device("/cpu:0"):
            c = tf.multiply(b, 3.0, name="c")
        with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as sess:
            meta = tf.RunMetadata()
            out = sess.run(c, {"a:0": [1.0, 2.0]}, options=tf.RunOptions(output_partition_graphs=True),
                           run_metadata=meta)
            np.testing.assert_array_equal(out, [9.0, 15.0])
            worker = sess._master.worker
            assert worker.copies.counts[("CPU", "CPU")] == 2  # a to CPU:1, b back to CPU:0
            sess.run(c, {"a:0": [0.0, 0.0]})
            assert worker.copies.counts[("CPU", "CPU")] == 4
    graphs = {g.node[0].device: g for g in meta.partition_graphs}
    assert set(graphs) == {CPU0, CPU1}
    for device, graph in graphs.items():
        assert all(n.device == device for n in graph.node)
    sends = [n for g in graphs.values() for n in g.node if n.op == "_Send" and not n.attr["client_terminated"].b]
    recvs = [n for g in graphs.values() for n in g.node if n.op == "_Recv" and not n.attr["client_terminated"].b]
    assert len(sends) == len(recvs) == 2
    assert all("_G" in n.name for n in sends + recvs)  # the worker's split names them as TF's graph manager
    assert {(n.attr["send_device"].s.decode(), n.attr["recv_device"].s.decode()) for n in sends} == {
        (CPU0, CPU1), (CPU1, CPU0)}


def test_cupy_is_not_imported_without_a_gpu():
    code = ("import sys, tfmini as tf\n"
            "with tf.Session(config=tf.ConfigProto(device_count={'GPU': 0})) as s: s.run(tf.constant(1.0))\n"
            "print('cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@needs_gpu
def test_gpu_matmul_matches_cpu_and_counts_host_device_copies():
    x = np.random.RandomState(0).rand(64, 32).astype(np.float32)
    w = np.random.RandomState(1).rand(32, 16).astype(np.float32)
    with tf.Graph().as_default():
        xp = tf.placeholder(tf.float32, [64, 32])
        with tf.device("/gpu:0"):
            y = tf.nn.relu(tf.matmul(xp, tf.constant(w)))
        with tf.Session() as sess:
            got = sess.run(y, {xp: x})
            worker = sess._master.worker
            assert worker.copies.counts[("CPU", "GPU")] >= 1 and worker.copies.counts[("GPU", "CPU")] >= 1
    np.testing.assert_allclose(got, np.maximum(x @ w, 0), rtol=1e-5)


@needs_gpu
def test_gpu_is_reported_with_its_memory():
    gpus = [d for d in devices.discover(TASK, 7) if d.device_type == "GPU"]
    assert gpus and all(d.attributes.memory_limit > 0 for d in gpus)
