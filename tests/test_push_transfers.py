"""Pushed transfers (worker/worker.py Step.push): the master marks the cross-task _Send/_Recv pairs of its
partitions, a _Send pushes its tensor to the receiving task in one one-way frame per peer and step, and the
_Recv waits for it in its own rendezvous. The servers run in this process (real gRPC on 127.0.0.1), so the
tests can look at RPC counts and at what a worker holds."""
import time

import grpc
import numpy as np
import pytest

import tfmini as tf
from tfmini.core import large_tensors, tensor_util
from tfmini.protos import link_pb2, worker_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server.server import ClusterSpec, Server
from tfmini.worker.worker import Worker
from test_distributed import free_ports, wait_serving


@pytest.fixture(scope="module")
def cluster():
    ports = free_ports(3)
    spec = ClusterSpec({"ps": [f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"],
                        "worker": [f"127.0.0.1:{ports[2]}"]})
    servers = [Server(spec, "ps", 0, host="127.0.0.1"), Server(spec, "ps", 1, host="127.0.0.1"),
               Server(spec, "worker", 0, host="127.0.0.1")]
    yield spec, servers
    for s in servers:
        s.stop()


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default():
        yield


def _held(servers):
    return [(s.worker._steps, s.worker._pushed_total) for s in servers]


def test_tensors_between_three_tasks_are_pushed_and_a_send_that_waits_on_a_receive_still_goes(cluster):
    """ps0 -> worker -> ps1 -> worker: the worker's send to ps1 depends on what ps0 pushed to it, and the
    worker also waits for ps1's answer. Every transfer is a push; nothing is pulled; the values are TF's."""
    spec, servers = cluster
    with tf.device("/job:ps/task:0"):
        x = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3)) * 1.0
    with tf.device("/job:worker/task:0"):
        y = x * 2.0
    with tf.device("/job:ps/task:1"):
        z = y + 10.0
    with tf.device("/job:worker/task:0"):
        out = z - x
    with tf.Session(servers[2].target) as sess:
        sess.run(out)
        transport.RPC_COUNTS.clear()
        got = sess.run(out)
        counts = dict(transport.RPC_COUNTS)
        # The worker's z waits on what it sends ps1, which waits on x: it waits for them in dataflow order.
        plan, = [plan for plan, _ in servers[2].worker._graphs.values() if len(plan.remote_recvs) == 2]
        assert plan.dataflow
        first = {key.split(";")[3]: n.sent_first for n in plan._nodes if n.remote for key in [n.remote[1]]}
        assert sorted(first.values()) == [False, True], first  # x comes whatever the worker does; z does not
    x_np = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(got, x_np * 2 + 10 - x_np)
    # ps0 pushes x to the worker; the worker pushes y to ps1; ps1 pushes z back: no RecvTensor at all.
    assert counts == {"RunGraph": 2, "PushTensors": 3}, counts
    assert all(not steps and not pushed for steps, pushed in _held(servers))  # nothing left behind


def test_a_large_pushed_tensor_stays_parked_at_its_sender_and_is_streamed(cluster):
    spec, servers = cluster
    n = (large_tensors.LARGE_TENSOR_BYTES // 4) + 1000
    with tf.device("/job:ps/task:0"):
        big = tf.range(n, dtype=tf.float32) * 1.0
        small = tf.constant([1.0, 2.0]) * 3.0
    with tf.device("/job:worker/task:0"):
        total = tf.reduce_sum(big[:10]) + tf.reduce_sum(small)
    with tf.Session(servers[2].target) as sess:
        sess.run(total)
        transport.RPC_COUNTS.clear()
        assert sess.run(total) == pytest.approx(45.0 + 9.0)
        counts = dict(transport.RPC_COUNTS)
    # One push frame carries the small tensor and the marker of the big one, which then comes by stream.
    assert counts == {"RunGraph": 1, "PushTensors": 1, transport.STREAM_METHOD: 1}, counts
    assert all(not steps and not pushed for steps, pushed in _held(servers))


def test_a_push_past_the_receivers_limit_fails_the_step_at_once_naming_it(cluster):
    spec, servers = cluster
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(tf.zeros([1000]))
    with tf.device("/job:worker/task:0"):
        doubled = v * 2.0
    worker = servers[2].worker
    with tf.Session(servers[2].target) as sess:
        sess.run(v.initializer)
        worker.max_pushed_bytes = 1000  # 4000 bytes come
        try:
            start = time.monotonic()
            with pytest.raises(tf.errors.ResourceExhaustedError, match="pushed tensors.*limit of 1000 bytes"):
                sess.run(doubled)
            assert time.monotonic() - start < 5
        finally:
            worker.max_pushed_bytes = Worker(worker.task_name).max_pushed_bytes
        np.testing.assert_array_equal(sess.run(doubled), np.zeros(1000))  # the next step is fine
    assert worker._pushed_total == 0


def test_pushes_to_a_step_that_never_runs_are_dropped():
    worker = Worker("/job:ps/replica:0/task:0", recv_timeout=0.2)
    worker.push_tensors(7, {"k1": np.zeros(3), "k2": np.ones(2)})
    assert 7 in worker._steps and worker._pushed_total == 40
    deadline = time.monotonic() + 2  # the reaper looks twice a second
    while 7 in worker._steps and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 7 not in worker._steps and worker._pushed_total == 0
    worker.fail_step(8, tf.errors.AbortedError(None, None, "cleaned up"))
    worker.push_tensors(8, {"k": np.zeros(3)})  # a push that comes after its step failed here: dropped at once
    assert 8 not in worker._steps and worker._pushed_total == 0


def test_bad_push_frames_fail_only_their_step_and_the_server_keeps_serving(cluster):
    spec, servers = cluster
    address = spec.task_address("worker", 0)
    bad_tensor = worker_pb2.PushTensorsRequest(step_id=424242)
    bad_tensor.tensor.add(rendezvous_key="k", tensor=tensor_util.make_tensor_proto(np.zeros(3, np.float32)))
    bad_tensor.tensor[0].tensor.tensor_content = b"\x00" * 5  # 5 bytes are not three float32s
    frames = [link_pb2.LinkFrame(method="PushTensors", payload=b"\xff\xff garbage", one_way=True),
              link_pb2.LinkFrame(method="NoSuchOneWay", payload=b"", one_way=True),
              link_pb2.LinkFrame(method="PushTensors", payload=bad_tensor.SerializeToString(), one_way=True),
              link_pb2.LinkFrame(id=9, method="GetStatus")]
    with grpc.insecure_channel(address) as channel:
        link = channel.stream_stream("/tensorflow.WorkerService/Link")
        replies = list(map(link_pb2.LinkFrame.FromString,
                           link(iter([f.SerializeToString() for f in frames]), timeout=5)))
    assert [r.id for r in replies] == [9] and not replies[0].code  # one-way frames get no answer
    # The step the bad tensor was pushed for failed here (its receives fail at once, saying why); no other did.
    failed = servers[2].worker._failed_steps.get(424242)
    assert isinstance(failed, tf.errors.InvalidArgumentError), failed
    assert "Unable to parse tensor proto for k" in failed.message
    assert 424242 not in servers[2].worker._steps
    wait_serving(address)


def test_without_pushes_the_same_step_pulls_every_tensor_in_dataflow_order(cluster, monkeypatch):
    """The partitions of a master that does not push (a TensorFlow master's) pull with RecvTensor; a partition
    with two receives from peers then runs in dataflow order, the pulls started together. Same values."""
    from tfmini.server import master_session
    monkeypatch.setattr(master_session, "PUSH_TRANSFERS", False)
    spec, servers = cluster
    with tf.device("/job:ps/task:0"):
        a = tf.constant([1.0, 2.0]) * 2.0
    with tf.device("/job:ps/task:1"):
        b = tf.constant([3.0, 4.0]) * 1.0
    with tf.device("/job:worker/task:0"):
        c = a + b
    with tf.Session(servers[2].target) as sess:
        sess.run(c)
        transport.RPC_COUNTS.clear()
        np.testing.assert_array_equal(sess.run(c), [5.0, 8.0])
        counts = dict(transport.RPC_COUNTS)
        plans = [plan for plan, _ in servers[2].worker._graphs.values() if len(plan.remote_recvs) == 2]
    assert counts == {"RunGraph": 2, "RecvTensor": 2}, counts
    assert plans and plans[-1].dataflow and not any(pushed for _, _, pushed in plans[-1].remote_recvs)


def test_the_pushed_bytes_limit_is_a_server_limit():
    ports = free_ports(2)
    server = Server(ClusterSpec({"worker": [f"127.0.0.1:{ports[0]}"]}), "worker", 0, host="127.0.0.1",
                    start=False, limits={"max_pushed_bytes": 12345})
    try:
        assert server.worker.max_pushed_bytes == 12345
    finally:
        server.stop()
    with pytest.raises(ValueError, match="max_pushed_bytes must be positive"):
        Server(ClusterSpec({"worker": [f"127.0.0.1:{ports[1]}"]}), "worker", 0, host="127.0.0.1", start=False,
               limits={"max_pushed_bytes": 0})
