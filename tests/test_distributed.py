"""The distributed runtime with real `tfmini-server` processes on 127.0.0.1 (1 ps + 2 workers), plus a few
in-process clusters where the test must look inside (RPC counts)."""
import json
import os
import socket
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tensor_util
from tfmini.protos import graph_pb2, master_pb2, worker_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server.grpc_master import connect_master
from tfmini.server.server import ClusterSpec, Server
import tfmini.train  # noqa: F401  (tf.train may not be imported by tfmini yet)


train = sys.modules["tfmini.train"]
HAS_GD = hasattr(train, "GradientDescentOptimizer")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class ProcessCluster:
    """ps + workers as `python -m tfmini.server.cli` processes; `kill(job, i)`, `restart(job, i)`, `stop()`.
    `extra_args` are added to every task's command line, `env` to its environment."""
    extra_args, env = (), None

    def __init__(self, log_dir, num_ps=1, num_workers=2, extra_args=(), env=None):
        ports = iter(free_ports(num_ps + num_workers))
        self.spec = {"ps": [f"127.0.0.1:{next(ports)}" for _ in range(num_ps)],
                     "worker": [f"127.0.0.1:{next(ports)}" for _ in range(num_workers)]}
        self.log_dir, self.procs = log_dir, {}
        self.extra_args, self.env = list(extra_args), None if env is None else {**os.environ, **env}
        for job, tasks in self.spec.items():
            for i in range(len(tasks)):
                self._start(job, i)
        for job, tasks in self.spec.items():
            for i, address in enumerate(tasks):
                wait_serving(address)

    def _start(self, job, i):
        log = open(os.path.join(self.log_dir, f"{job}{i}.log"), "a")
        self.procs[job, i] = subprocess.Popen(
            [sys.executable, "-m", "tfmini.server.cli", "--cluster", json.dumps(self.spec), "--job", job,
             "--task", str(i), "--host", "127.0.0.1", *self.extra_args], stdout=log, stderr=subprocess.STDOUT,
            env=self.env)

    def restart(self, job, i):
        """Kills the task and starts a new process in its place (same address, new incarnation)."""
        self.kill(job, i)
        self._start(job, i)
        wait_serving(self.spec[job][i])

    def target(self, job="worker", i=0):
        return f"grpc://{self.spec[job][i]}"

    def kill(self, job, i):
        self.procs[job, i].kill()
        self.procs[job, i].wait()

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_serving(address, deadline_s=30):
    stub = transport.WorkerStub(address, "probe")
    deadline = time.monotonic() + deadline_s
    try:
        while True:
            try:
                return stub.get_status(worker_pb2.GetStatusRequest(), timeout=1)
            except tf.errors.UnavailableError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        stub.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = ProcessCluster(str(tmp_path_factory.mktemp("cluster")))
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def seed_forward(cluster_spec=None):
    with tf.device(train.replica_device_setter(cluster=cluster_spec) if cluster_spec else None):
        x = tf.constant(1.0, name="input")
        w = tf.Variable(0.8, name="weight")
        y = tf.mul(w, x, name="output")
        y_ = tf.constant(0.0, name="correct_value")
        loss = tf.pow(y - y_, 2, name="loss")
    return x, w, y, y_, loss


def manual_train_step(w, x, y, y_, lr=0.025):
    """The seed's train_step with the gradient written out (d loss / d w = 2 (y - y_) x)."""
    grad = 2.0 * (y - y_) * x
    return tf.assign_sub(w, lr * grad)


# -- the seed over gRPC ------------------------------------------------------------------------------------
def run_seed(target, spec, steps=0, use_optimizer=False):
    """[x, w, y, y_, loss] before training, and y after `steps` train steps, in a fresh graph."""
    with tf.Graph().as_default():
        x, w, y, y_, loss = seed_forward(spec)
        with tf.device(train.replica_device_setter(cluster=spec) if spec else None):
            step = (train.GradientDescentOptimizer(0.025).minimize(loss) if use_optimizer
                    else manual_train_step(w, x, y, y_))
        with tf.Session(target) as sess:
            sess.run(tf.initialize_all_variables())
            out = [float(v) for v in sess.run([x, w, y, y_, loss])]
            for _ in range(steps):
                sess.run(step)
            return out + [float(sess.run(y))]


def test_seed_forward_gives_the_embedded_numbers(cluster):
    x, w, y, y_, loss = seed_forward(cluster.spec)
    assert w.op.device == "/job:ps/task:0" and y.op.device == "/job:worker"
    got = run_seed(cluster.target(), cluster.spec)
    assert got == run_seed("", None)
    assert np.float32(got[2]) == np.float32(0.8) and np.float32(got[4]) == np.float32(0.64000005)


def test_manual_training_matches_embedded_bit_for_bit(cluster):
    got = run_seed(cluster.target("worker", 1), cluster.spec, steps=100)
    assert got == run_seed("", None, steps=100)
    assert abs(got[-1] - 0.8 * 0.95 ** 100) < 1e-6


@pytest.mark.skipif(not HAS_GD, reason="tf.train.GradientDescentOptimizer has not landed yet")
def test_seed_training_prints_the_seed_numbers(cluster):
    # The seed applies one gradient by hand, then runs train_step 100 times: 101 steps in all.
    got = run_seed(cluster.target(), cluster.spec, steps=101, use_optimizer=True)
    assert got == run_seed("", None, steps=101, use_optimizer=True)
    assert abs(got[-1] - 0.0044996012) < 1e-7


def test_extend_session_after_new_ops(cluster):
    x, w, y, y_, loss = seed_forward(cluster.spec)
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.initialize_all_variables())
        assert np.isclose(sess.run(loss), 0.64)
        with tf.device("/job:worker/task:1"):
            z = tf.add(loss, 1.0, name="later")
        with tf.device("/job:ps"):
            v = tf.Variable(2.0, name="later_var")
        sess.run(v.initializer)
        assert np.isclose(sess.run(z * v), 3.28)


def test_variables_outlive_sessions_and_reset_clears_them(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(1.0, name="shared_counter")
    inc = tf.assign_add(v, 1.0)
    with tf.Session(cluster.target("worker", 0)) as sess:
        sess.run(v.initializer)
        sess.run(inc)
    with tf.Session(cluster.target("worker", 1)) as sess:  # another client, another master
        assert sess.run(v) == 2.0
    tf.Session.reset(cluster.target(), ["localhost"])
    with tf.Session(cluster.target()) as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized"):
            sess.run(v)


def test_several_remote_receives_in_one_partition(cluster):
    with tf.device("/job:ps"):
        a = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="a")
        b = tf.Variable(np.ones((3, 2), np.float32), name="b")
    with tf.device("/job:worker/task:1"):
        c = tf.matmul(a, b) + tf.reduce_sum(a)
    with tf.device("/job:worker/task:0"):
        d = c * 2.0 + tf.reduce_sum(b)
    with tf.Session(cluster.target()) as sess:
        sess.run(tf.initialize_all_variables())
        got = sess.run(d)
    a_, b_ = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((3, 2), np.float32)
    np.testing.assert_allclose(got, (a_ @ b_ + a_.sum()) * 2 + b_.sum())


def test_a_256mb_tensor_crosses_between_tasks_intact(cluster):
    n = 64 << 20  # float32 elements: 256 MB
    with tf.device("/job:ps"):
        big = tf.cast(tf.range(n), tf.float32) * 0.5
        ps_sum = tf.reduce_sum(big)
    with tf.device("/job:worker/task:1"):
        w_sum = tf.reduce_sum(big)
        w_max_err = tf.reduce_max(tf.abs(big - tf.cast(tf.range(n), tf.float32) * 0.5))
        w_last = big[n - 1]
    with tf.Session(cluster.target()) as sess:
        a, b, err, last = sess.run([ps_sum, w_sum, w_max_err, w_last])
    assert a == b and err == 0.0 and last == (n - 1) * 0.5


def test_large_fetches_are_streamed_to_the_client_from_their_task(cluster):
    n = 4 << 20  # float32: 16 MB, over the 4 MB a RunStep carries
    with tf.device("/job:ps"):
        big = tf.cast(tf.range(n), tf.float32)
        small = tf.reduce_sum(big[:3])
    with tf.device("/job:worker/task:1"):
        doubled = big * 2.0
    expected = np.arange(n, dtype=np.float32)
    with tf.Session(cluster.target("worker", 0)) as sess:
        transport.RPC_COUNTS.clear()
        got, again, s, d = sess.run([big, big, small, doubled])
        assert transport.RPC_COUNTS[transport.STREAM_METHOD] == 2, transport.RPC_COUNTS  # big once, doubled
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(again, expected)
        np.testing.assert_array_equal(d, expected * 2)
        assert s == 3.0
        got[0] = -1.0  # results are the caller's to write into
        np.testing.assert_array_equal(sess.make_callable(big)(), expected)
        assert transport.RPC_COUNTS[transport.STREAM_METHOD] == 3


def test_a_fetch_left_on_an_unreachable_task_fails_naming_it():
    port, = free_ports(1)
    master = connect_master(f"grpc://127.0.0.1:{port}")
    where = master_pb2.TensorLocation(task="/job:ps/replica:0/task:0", address=f"127.0.0.1:{port}", step_id=1,
                                      rendezvous_key="k")
    start = time.monotonic()
    with pytest.raises(tf.errors.UnavailableError, match=f"/job:ps/replica:0/task:0 at 127.0.0.1:{port}"):
        master.pull(where)
    assert time.monotonic() - start < 5
    master.close()


def _async_recv(worker, step_id, key):
    got = []
    worker.recv_value_async(worker_pb2.RecvTensorRequest(step_id=step_id, rendezvous_key=key),
                            lambda value, error: got.append((value, error)))
    return got


def test_an_early_recvtensor_is_answered_by_the_send_and_holds_no_thread():
    from tfmini.core.names import make_key
    from tfmini.worker.worker import Worker
    import threading
    worker = Worker("/job:ps/replica:0/task:0", recv_timeout=0.3)
    device = worker.devices[0]
    key = make_key(device.name, device.incarnation, "/job:worker/replica:0/task:0/device:CPU:0", "edge_1_w")
    threads = threading.active_count()
    got = _async_recv(worker, 5, key)
    assert got == [] and threading.active_count() <= threads + 1  # at most the deadline thread, once
    worker._rendezvous(5).send(key, np.float32(2.5))  # the _Send of step 5
    assert got == [(np.float32(2.5), None)] and 5 not in worker._steps
    aborted = _async_recv(worker, 6, key)
    worker.cleanup_graph(worker_pb2.CleanupGraphRequest(step_id=6))  # the master aborts step 6
    assert isinstance(aborted[0][1], tf.errors.AbortedError)
    late = _async_recv(worker, 7, key)  # never sent: the deadline answers it
    time.sleep(1.2)
    assert isinstance(late[0][1], tf.errors.DeadlineExceededError) and "edge_1_w" in late[0][1].message
    assert 7 not in worker._steps
    stale = make_key(device.name, device.incarnation + 1, "/job:worker/replica:0/task:0/device:CPU:0", "x")
    with pytest.raises(tf.errors.AbortedError, match="incarnation"):
        _async_recv(worker, 8, stale)


def test_a_parked_value_nobody_pulls_is_dropped():
    from tfmini.worker.worker import Worker
    worker = Worker("/job:ps/replica:0/task:0", recv_timeout=0.2)
    worker.park(7, "k", np.zeros(3))
    assert not worker._rendezvous(7).empty()
    deadline = time.monotonic() + 2  # the reaper looks twice a second: gone within recv_timeout + 0.5 s
    while 7 in worker._steps and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 7 not in worker._steps


# -- bad input: clear errors, and the server keeps serving -------------------------------------------------
def test_malformed_bytes_get_invalid_argument(cluster):
    address = cluster.spec["worker"][0]
    with grpc.insecure_channel(address) as channel:
        for path in ("/tensorflow.MasterService/RunStep", "/tensorflow.WorkerService/RegisterGraph",
                     "/tensorflow.MasterService/CreateSession"):
            call = channel.unary_unary(path)
            with pytest.raises(grpc.RpcError) as info:
                call(b"\xff\xff\xff\xff garbage", timeout=5)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as info:
            channel.unary_unary("/tensorflow.MasterService/NoSuchMethod")(b"", timeout=5)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    wait_serving(address)


def test_link_frames_with_bad_input_get_clear_errors(cluster):
    from tfmini.protos import link_pb2
    address = cluster.spec["worker"][0]
    with grpc.insecure_channel(address) as channel:
        link = channel.stream_stream("/tensorflow.WorkerService/Link")
        frames = [link_pb2.LinkFrame(id=1, method="NoSuchMethod"),
                  link_pb2.LinkFrame(id=2, method="RunGraph", payload=b"\xff\xff garbage"),
                  link_pb2.LinkFrame(id=3, method="GetStatus")]
        replies = {f.id: f for f in map(link_pb2.LinkFrame.FromString,
                                         link(iter([f.SerializeToString() for f in frames]), timeout=5))}
        assert replies[1].code == grpc.StatusCode.UNIMPLEMENTED.value[0] and "NoSuchMethod" in replies[1].message
        assert replies[2].code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and "malformed" in replies[2].message
        status = worker_pb2.GetStatusResponse.FromString(replies[3].payload)
        assert status.device_attributes[0].name.startswith("/job:worker/replica:0/task:0")
        with pytest.raises(grpc.RpcError) as info:
            list(link(iter([b"\xff\xff\xff not a frame"]), timeout=5))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    wait_serving(address)


def _node(name, op, inputs=(), device="", **attrs):
    from tfmini.core import attrs as attr_lib
    from tfmini.protos import node_def_pb2
    node = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs), device=device)
    for k, v in attrs.items():
        node.attr[k].CopyFrom(attr_lib.to_attr(v))
    return node


def _const(name, value=1.0, device=""):
    return _node(name, "Const", device=device, dtype=tf.float32, value=tensor_util.make_tensor_proto(np.float32(value)))


@pytest.mark.parametrize("nodes,fetch,error,match", [
    (lambda: [_node("u", "NoSuchOp")], "u:0", tf.errors.NotFoundError, "NoSuchOp"),
    (lambda: [_const("a"), _const("a")], "a:0", tf.errors.InvalidArgumentError, "Duplicate node name"),
    (lambda: [_node("m", "Mul", ["a", "nowhere"], T=tf.float32), _const("a")], "m:0",
     tf.errors.InvalidArgumentError, "nowhere"),
    (lambda: [_node("p", "Add", ["q", "a"], T=tf.float32), _node("q", "Add", ["p", "a"], T=tf.float32),
              _const("a")], "p:0", tf.errors.InvalidArgumentError, "cycle"),
    (lambda: [_const("a", device="/job:nosuchjob")], "a:0", tf.errors.InvalidArgumentError,
     "Cannot assign a device"),
])
def test_bad_graphs_get_clear_errors(cluster, nodes, fetch, error, match):
    master = connect_master(cluster.target(), None)
    try:
        with pytest.raises(error, match=match):
            handle = master.create_session(master_pb2.CreateSessionRequest(
                graph_def=graph_pb2.GraphDef(node=nodes()))).session_handle
            master.run_step(master_pb2.RunStepRequest(session_handle=handle, fetch=[fetch]))
        # still serving
        ok = master.create_session(master_pb2.CreateSessionRequest(graph_def=graph_pb2.GraphDef(node=[_const("b", 2)])))
        got = master.run_step(master_pb2.RunStepRequest(session_handle=ok.session_handle, fetch=["b:0"]))
        assert got.tensor[0].tensor.float_val[0] == 2.0
    finally:
        master.close()


def test_unknown_session_and_fetch_errors(cluster):
    x, w, y, y_, loss = seed_forward(cluster.spec)
    with tf.Session(cluster.target()) as sess:
        for _ in range(3):  # the worker's pull of the value the ps failed to read must fail too, and fast
            start = time.monotonic()
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized"):
                sess.run(y)  # the ps's error, with its class, through two hops
            assert time.monotonic() - start < 10
        sess.run(tf.initialize_all_variables())
        assert np.isclose(sess.run(y), 0.8)  # the session is still usable
    master = connect_master(cluster.target(), None)
    with pytest.raises(tf.errors.AbortedError, match="not found"):
        master.run_step(master_pb2.RunStepRequest(session_handle="nope", fetch=["a:0"]))
    master.close()


# -- in-process cluster: count the RPCs of a step ----------------------------------------------------------
@pytest.fixture(scope="module")
def inproc():
    ports = free_ports(2)
    spec = ClusterSpec({"ps": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}"]})
    servers = [Server(spec, "ps", 0, host="127.0.0.1"), Server(spec, "worker", 0, host="127.0.0.1")]
    yield spec, servers
    for s in servers:
        s.stop()


def _train_step(spec):
    x, w, y, y_, loss = seed_forward(spec)
    if HAS_GD:
        with tf.device(train.replica_device_setter(cluster=spec)):
            return train.GradientDescentOptimizer(0.025).minimize(loss)
    with tf.device(train.replica_device_setter(cluster=spec)):
        return manual_train_step(w, x, y, y_)


def _count_rpcs(target, step, steps=10):
    with tf.Session(target) as sess:
        sess.run(tf.initialize_all_variables())
        sess.run(step)  # the first step registers the plan
        transport.RPC_COUNTS.clear()
        for _ in range(steps):
            sess.run(step)
        return dict(transport.RPC_COUNTS)


def test_train_step_needs_at_most_four_rpcs(inproc):
    spec, servers = inproc
    step = _train_step(spec)
    # "localhost" is not the address the worker's server was started with, so this session goes through
    # gRPC like a client in another process (TF's in-process lookup is by target, too).
    remote = _count_rpcs(f"grpc://localhost:{servers[1].address.rpartition(':')[2]}", step)
    # Everything this process sends: client -> master, master -> ps, worker <-> ps pulls.
    assert sum(remote.values()) <= 4 * 10, remote
    assert remote.get("RunStep") == 10 and remote.get("RunGraph") == 10, remote
    # Session(server.target) in the server's own process calls its master directly, as TF's LocalMaster.
    in_process = _count_rpcs(servers[1].target, step)
    assert "RunStep" not in in_process and sum(in_process.values()) <= 3 * 10, in_process


def test_in_process_session_pulls_large_fetches_too(inproc):
    spec, servers = inproc
    n = 4 << 20
    with tf.device("/job:ps/task:0"):
        on_ps = tf.range(n, dtype=tf.float32)
    with tf.device("/job:worker/task:0"):
        here = on_ps + 1.0
    with tf.Session(servers[1].target) as sess:
        transport.RPC_COUNTS.clear()
        a, b = sess.run([on_ps, here])
        assert transport.RPC_COUNTS[transport.STREAM_METHOD] == 2, transport.RPC_COUNTS  # on_ps to worker, to us
    np.testing.assert_array_equal(a, np.arange(n, dtype=np.float32))
    np.testing.assert_array_equal(b, np.arange(n, dtype=np.float32) + 1)
    assert not servers[1].worker._steps and not servers[0].worker._steps  # nothing left parked


def test_pushed_receives_run_in_fixed_order_yet_each_recv_still_converts_to_its_device(inproc):
    """Two pushed receives from a peer, and no send waits on them: the plan keeps its fixed order (everything
    it sends has left before it waits), and each value still goes through its _Recv kernel, the one place an
    array is moved to the receiving device (and counted)."""
    spec, servers = inproc
    with tf.device("/job:ps/task:0"):
        a, b = tf.constant([1.0, 2.0]) * 2.0, tf.constant([3.0, 4.0]) * 1.0
    with tf.device("/job:worker/task:0"):
        c = a + b
    worker = servers[1].worker
    with tf.Session(servers[1].target) as sess:
        np.testing.assert_array_equal(sess.run(c), [5.0, 8.0])
        plans = [plan for plan, _ in worker._graphs.values() if len(plan.remote_recvs) == 2]
        assert plans and not plans[0].dataflow and all(pushed for _, _, pushed in plans[0].remote_recvs)
        before = worker.copies.counts[("CPU", "CPU")]
        np.testing.assert_array_equal(sess.run(c), [5.0, 8.0])
        assert worker.copies.counts[("CPU", "CPU")] == before + 2


def test_server_basics(inproc):
    spec, servers = inproc
    assert servers[0].target == f"grpc://{spec.task_address('ps', 0)}"
    assert spec.jobs == ["ps", "worker"] and spec.num_tasks("worker") == 1
    assert spec.as_dict() == {"ps": [spec.task_address("ps", 0)], "worker": [spec.task_address("worker", 0)]}
    assert ClusterSpec(spec.as_cluster_def()) == spec
    local = Server.create_local_server()
    try:
        assert local.target.startswith("grpc://localhost:")
        with tf.Session(local.target) as sess:
            assert sess.run(tf.constant(3.0) * 2.0) == 6.0
            names = [d.name for d in sess.list_devices()]
        assert names == ["/job:localhost/replica:0/task:0/device:CPU:0"]
    finally:
        local.stop()


def test_replica_device_setter_round_robin():
    setter = train.replica_device_setter(cluster={"ps": ["a:1", "b:2"], "worker": ["c:3"]})
    with tf.device(setter):
        vs = [tf.Variable(float(i), name=f"v{i}") for i in range(3)]
        c = tf.constant(1.0)
        with tf.device("/job:ps/task:1"):
            pinned = tf.Variable(0.0, name="pinned")
    assert [v.op.device for v in vs] == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]
    assert c.op.device == "/job:worker" and pinned.op.device == "/job:ps/task:1"
    assert vs[0].value().op.device == "/job:ps/task:0"  # the read is colocated with its variable
    assert train.replica_device_setter(cluster={"worker": ["c:3"]}) is None
    assert train.replica_device_setter(ps_tasks=0) is None


MLP_CLIENT = """
import json, sys, time
import numpy as np
import tfmini as tf
import tfmini.train as train
spec, task, steps = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
spec, task, steps = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(task)
X = rng.uniform(-1, 1, (64, 2)).astype(np.float32)
Y = (X[:, :1] * X[:, 1:] > 0).astype(np.float32)  # XOR of signs
with tf.device(train.replica_device_setter(cluster=spec, worker_device="/job:worker/task:%d" % task)):
    x = tf.placeholder(tf.float32, [None, 2]); y = tf.placeholder(tf.float32, [None, 1])
    w1 = tf.Variable(np.random.default_rng(0).normal(0, 1, (2, 16)).astype(np.float32), name="w1")
    b1 = tf.Variable(np.zeros(16, np.float32), name="b1")
    w2 = tf.Variable(np.random.default_rng(1).normal(0, 1, (16, 1)).astype(np.float32), name="w2")
    b2 = tf.Variable(np.zeros(1, np.float32), name="b2")
    out = tf.sigmoid(tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2) + b2)
    loss = tf.reduce_mean(tf.square(out - y))
    step = train.GradientDescentOptimizer(0.5).minimize(loss)
with tf.Session("grpc://" + spec["worker"][task]) as sess:
    if task == 0:
        sess.run(tf.initialize_all_variables())
    else:
        while True:
            try:
                sess.run(b2); break
            except tf.errors.FailedPreconditionError:
                time.sleep(0.05)
    first = float(sess.run(loss, {x: X, y: Y}))
    for _ in range(steps):
        sess.run(step, {x: X, y: Y})
    print(json.dumps([first, float(sess.run(loss, {x: X, y: Y}))]))
"""


@pytest.mark.skipif(not HAS_GD, reason="tf.train.GradientDescentOptimizer has not landed yet")
def test_two_clients_train_one_mlp_against_shared_ps_variables(cluster):
    tf.Session.reset(cluster.target(), [])  # a fresh ps
    procs = [subprocess.Popen([sys.executable, "-c", MLP_CLIENT, json.dumps(cluster.spec), str(t), "300"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for t in (0, 1)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    for first, last in results:
        assert last < 0.5 * first, results
    # both trained the same variables: they live on the ps, in the default container
    with tf.Graph().as_default(), tf.Session(cluster.target()) as sess:
        with tf.device("/job:ps/task:0"):
            b2 = tf.Variable(np.zeros(1, np.float32), name="b2")
        assert sess.run(b2)[0] != 0.0


# -- a stock TensorFlow client against a tfmini cluster -------------------------------------------------------
TF_CLIENT = """
import json
import sys
import tensorflow as tf
tf.compat.v1.disable_v2_behavior()
tf = tf.compat.v1
x = tf.constant(1.0, name='input')
with tf.device('/job:ps/task:0'):
    w = tf.Variable(0.8, name='weight')
y = tf.multiply(w, x, name='output')
y_ = tf.constant(0.0, name='correct_value')
loss = tf.pow(y - y_, 2, name='loss')
optim = tf.train.GradientDescentOptimizer(learning_rate=0.025)
grads_and_vars = optim.compute_gradients(loss)
apply = optim.apply_gradients(grads_and_vars)
train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
with tf.Session(sys.argv[1]) as sess:
    sess.run(tf.global_variables_initializer())
    forward = [float(v) for v in sess.run([x, w, y, y_, loss])]
    assert float(sess.make_callable(y)()) == forward[2]  # MakeCallable / RunCallable
    grad = float(sess.run(grads_and_vars[0][0]))
    sess.run(apply)
    after_apply = float(sess.run(w))
    for _ in range(100):
        sess.run(train_step)
    with tf.device('/job:ps/task:0'):
        big = tf.range(4 << 20, dtype=tf.float32)  # 16 MB: a TF client gets it inside RunStep, as always
    assert (sess.run(big) == [float(i) for i in range(4 << 20)]).all()
    print(json.dumps([forward, grad, after_apply, float(sess.run(y))]))
"""


def test_stock_tensorflow_client_runs_the_seed_graph(cluster, tf_python):
    """TensorFlow's own Session, graph, gradients and optimizer, served by tfmini: the seed's numbers."""
    out = subprocess.run([tf_python, "-c", TF_CLIENT, cluster.target()], capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    forward, grad, after_apply, final = json.loads(out.stdout.strip().splitlines()[-1])
    assert forward == run_seed("", None)[:5]
    assert np.float32(grad) == np.float32(1.6)
    assert np.float32(after_apply) == np.float32(0.76)
    assert np.float32(final) == np.float32(0.0044996012)


# -- last, as it breaks the module's cluster: a killed worker ----------------------------------------------
def test_killed_worker_gives_unavailable_naming_it_and_the_session_lives_on(cluster):
    with tf.device("/job:ps"):
        w = tf.Variable(3.0, name="kw")
    with tf.device("/job:worker/task:1"):
        on_dead = w * 2.0
    with tf.device("/job:worker/task:0"):
        on_live = w + 1.0
    with tf.Session(cluster.target("worker", 0)) as sess:
        sess.run(w.initializer)
        assert sess.run(on_dead) == 6.0
        cluster.kill("worker", 1)
        start = time.monotonic()
        with pytest.raises(tf.errors.UnavailableError) as info:
            sess.run(on_dead)
        assert time.monotonic() - start < 5
        assert "/job:worker/replica:0/task:1" in str(info.value) and cluster.spec["worker"][1] in str(info.value)
        assert sess.run(on_live) == 4.0  # steps that do not need the dead task still run


def test_a_restarted_task_fails_one_step_with_a_typed_error_and_the_next_step_reregisters(tmp_path):
    c = ProcessCluster(str(tmp_path), num_ps=1, num_workers=2)
    try:
        with tf.device("/job:ps"):
            w = tf.Variable(3.0, name="rw")
        with tf.device("/job:worker/task:1"):
            doubled = w * 2.0
        with tf.Session(c.target("worker", 0)) as sess:
            sess.run(w.initializer)
            assert sess.run(doubled) == 6.0
            c.restart("worker", 1)  # it forgot the graph the master registered with it
            with pytest.raises(tf.errors.AbortedError, match="Graph handle is not found") as info:
                sess.run(doubled)
            assert type(info.value) is tf.errors.TaskRestartedError  # kept its class through two hops
            assert sess.run(doubled) == 6.0  # re-registered on the new process; the variable lives on the ps
            c.restart("ps", 0)  # a ps that restarts loses its variables (recovering them is a later issue)
            with pytest.raises(tf.errors.OpError):
                sess.run(doubled)
            with pytest.raises(tf.errors.FailedPreconditionError):
                sess.run(doubled)
    finally:
        c.stop()


def test_many_open_sessions_each_holding_a_link(cluster):
    """Each tfmini session keeps a link stream open to its master, and a stream holds a server thread for its
    life: a hundred open sessions must not use up the threads that serve new calls."""
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(5.0, name="many")
    config = tf.ConfigProto(operation_timeout_in_ms=20000)
    sessions = [tf.Session(cluster.target(), config=config) for _ in range(100)]
    try:
        sessions[0].run(v.initializer)
        assert [s.run(v) for s in sessions] == [5.0] * 100
    finally:
        for s in sessions:
            s.close()


def test_callables_over_grpc(cluster):
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [], name="a")
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(2.0, name="v")
        y = a * v
        with tf.Session(cluster.target()) as sess:
            sess.run(v.initializer)
            call = sess.make_callable(y, [a])
            assert call(3.0) == np.float32(6.0) and call(0.5) == np.float32(1.0)


def test_a_pull_that_comes_after_its_step_failed_fails_at_once():
    from tfmini.protos import worker_pb2
    from tfmini.core.names import make_key
    from tfmini.worker.worker import Worker
    worker = Worker("/job:ps/replica:0/task:0")
    device = worker.devices[0]
    key = make_key(device.name, device.incarnation, "/job:worker/replica:0/task:0/device:CPU:0", "edge_1_w")
    worker.cleanup_graph(worker_pb2.CleanupGraphRequest(step_id=7))  # the master aborted step 7
    start = time.monotonic()
    with pytest.raises(tf.errors.AbortedError, match="cleaned up"):
        worker.recv_value(worker_pb2.RecvTensorRequest(step_id=7, rendezvous_key=key), timeout=30)
    assert time.monotonic() - start < 1
