"""Issue 16, items 1-3 (no hangs, bounded threads and memory), against real `tfmini-server` processes:
a frozen (SIGSTOP) or dead task is reported with UnavailableError in time and the session works again after
SIGCONT; client processes that exit with a session open always exit; never-answered RecvTensors and idle
Link streams leave the server's threads to others; a tensor declaring gigabytes, or a 50 GB Fill, is
RESOURCE_EXHAUSTED before anything is allocated."""
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tfmini as tf
from tfmini.core import errors, memory_limits, tensor_util
from tfmini.protos import graph_pb2, master_pb2, named_tensor_pb2, tensor_pb2, worker_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server import limits as server_limits
from tfmini.worker import executor
from tfmini.worker.worker import Worker

from test_distributed import ProcessCluster

PS, WORKER = "/job:ps/replica:0/task:0", "/job:worker/replica:0/task:0"
MAX_TENSOR, MAX_ALLOC = 1 << 30, 8 << 30  # given as --max-tensor-bytes 1G --max-alloc-bytes 8G
MAX_MEMORY = 400 << 20  # --max-memory-bytes 400M: the whole process (core/process_memory.py)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = ProcessCluster(str(tmp_path_factory.mktemp("reliability")), num_ps=1, num_workers=1,
                       extra_args=["--max-tensor-bytes", "1G", "--max-alloc-bytes", "8G", "--max-memory-bytes", "400M"])
    yield c
    for p in c.procs.values():  # a test that failed half-way may leave a task stopped
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
    c.stop()


def _graph():
    g = tf.Graph()
    with g.as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(1.0, name="v")
        with tf.device("/job:worker/task:0"):
            y = tf.multiply(v, 2.0, name="y")
    return g, v, y


def _health(address, timeout=1.0):
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status


def _vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


# -- item 3: memory bounds ----------------------------------------------------------------------------
def test_declared_3gib_feed_and_50gb_fill_are_resource_exhausted(cluster):
    address = cluster.spec["worker"][0]
    pid = cluster.procs["worker", 0].pid
    g = tf.Graph()
    with g.as_default(), tf.device("/job:worker/task:0"):
        x = tf.placeholder(tf.float32, [None], name="x")
        total = tf.reduce_sum(x, name="total")
        big = tf.fill([125000, 100000], 1.0, name="big")  # 12.5e9 floats: 50 GB
        small = tf.fill([3], 2.0, name="small")
    master = transport.MasterStub(address)
    handle = master.create_session(master_pb2.CreateSessionRequest(graph_def=g.as_graph_def())).session_handle
    hwm_before = _vm(pid, "VmHWM")

    feed = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum, float_val=[1.0])
    feed.tensor_shape.dim.add(size=3 << 28)  # 3 GiB of float32, in 22 bytes
    assert feed.ByteSize() < 30
    started = time.monotonic()
    with pytest.raises(tf.errors.ResourceExhaustedError, match=f"limit of {MAX_TENSOR} bytes per tensor"):
        master.run_step(master_pb2.RunStepRequest(
            session_handle=handle, feed=[named_tensor_pb2.NamedTensorProto(name="x:0", tensor=feed)],
            fetch=["total:0"]))
    with pytest.raises(tf.errors.ResourceExhaustedError, match=r"OOM when allocating tensor with "
                                                               r"shape\[125000, 100000\].*per allocation"):
        master.run_step(master_pb2.RunStepRequest(session_handle=handle, fetch=["big:0"]))
    # A Const in a GraphDef from the wire declaring 3 GiB in one value: refused when the graph is registered.
    graph_def = graph_pb2.GraphDef()
    const = graph_def.node.add(name="huge", op="Const", device="/job:worker/task:0")
    const.attr["dtype"].type = tf.float32.as_datatype_enum
    const.attr["value"].tensor.CopyFrom(feed)
    handle2 = master.create_session(master_pb2.CreateSessionRequest(graph_def=graph_def)).session_handle
    with pytest.raises(tf.errors.ResourceExhaustedError, match=f"limit of {MAX_TENSOR} bytes per tensor"):
        master.run_step(master_pb2.RunStepRequest(session_handle=handle2, fetch=["huge:0"]))
    elapsed = time.monotonic() - started
    growth = _vm(pid, "VmHWM") - hwm_before
    print(f"\nRESOURCE_EXHAUSTED for all three in {elapsed:.2f} s; worker peak RSS grew {growth / 2**20:.1f} MiB")
    assert growth < 100 << 20 and elapsed < 5
    # The server keeps serving, the same session included.
    response = master.run_step(master_pb2.RunStepRequest(session_handle=handle, fetch=["small:0"]))
    np.testing.assert_array_equal(tensor_util.make_ndarray(response.tensor[0].tensor), [2.0, 2.0, 2.0])
    assert _health(address) == health_pb2.HealthCheckResponse.SERVING
    for h in (handle, handle2):
        master.close_session(master_pb2.CloseSessionRequest(session_handle=h))


def test_memory_limits_are_checked_before_allocating():
    saved = memory_limits.limits()
    try:
        memory_limits.configure(max_tensor_bytes=1000, max_alloc_bytes=4000)
        proto = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum, float_val=[1.0])
        proto.tensor_shape.dim.add(size=251)
        with pytest.raises(tf.errors.ResourceExhaustedError, match="1004 bytes, over the limit of 1000"):
            tensor_util.make_ndarray(proto)
        proto.tensor_shape.dim[0].size = 250
        assert tensor_util.make_ndarray(proto).shape == (250,)
        with pytest.raises(tf.errors.ResourceExhaustedError, match=r"shape\[1001\] and type float32"):
            memory_limits.check_alloc([1001], 4, "Fill 'f'", "float32")
        assert memory_limits.check_alloc([1000], 4) == 1000
        with pytest.raises(ValueError):
            memory_limits.configure(max_alloc_bytes=0)
        with tf.Graph().as_default(), tf.Session() as sess:  # each kernel that allocates from a shape input
            for op in (tf.fill([1001], 1.0), tf.tile(tf.ones([10]), [101]), tf.range(0, 1001),
                       tf.random_uniform([501]), tf.one_hot([1, 2], 501), tf.zeros([1001])):
                with pytest.raises(tf.errors.ResourceExhaustedError, match="per allocation"):
                    sess.run(op)
            assert sess.run(tf.fill([1000], 1.0)).shape == (1000,)
    finally:
        memory_limits.configure(saved["tensor"], saved["alloc"])
    # What no limit catches (the machine itself runs out) is TF's OOM, not INTERNAL.
    error = executor._as_op_error(MemoryError("Unable to allocate 3.6 TiB"), "big")
    assert isinstance(error, tf.errors.ResourceExhaustedError) and "OOM when allocating tensor" in error.message

    def allocate(request, timeout=None):
        raise MemoryError("Unable to allocate 3.6 TiB")
    _, error = transport._invoke("RunGraph", allocate, None)
    assert isinstance(error, tf.errors.ResourceExhaustedError)


# -- item 2: threads ------------------------------------------------------------------------------------
def test_never_answered_recv_tensors_leave_threads_to_others(cluster):
    address = cluster.spec["worker"][0]
    g, v, y = _graph()
    with tf.Session(cluster.target(), graph=g) as sess:
        sess.run(v.initializer)
        assert sess.run(y) == 2.0
        channel = grpc.insecure_channel(address)
        recv = channel.unary_unary(f"/{transport.WORKER_SERVICE}/RecvTensor")
        key = f"{WORKER}/device:CPU:0;{0:016x};{WORKER}/device:CPU:0;never_sent;0:0"
        started = time.monotonic()
        calls = [recv.future(worker_pb2.RecvTensorRequest(step_id=1000 + i, rendezvous_key=key).SerializeToString(),
                             timeout=2.0) for i in range(600)]
        time.sleep(0.3)  # let them reach the server
        t = time.monotonic()
        assert _health(address) == health_pb2.HealthCheckResponse.SERVING
        health_s = time.monotonic() - t
        t = time.monotonic()
        assert sess.run(y) == 2.0
        step_s = time.monotonic() - t
        t = time.monotonic()
        with tf.Session(cluster.target(), graph=g) as fresh:
            assert fresh.run(y) == 2.0
        session_s = time.monotonic() - t
        codes = [c.exception().code() if c.exception() else grpc.StatusCode.OK for c in calls]
        all_done_s = time.monotonic() - started
        channel.close()
    counts = {code.name: codes.count(code) for code in set(codes)}
    print(f"\n600 RecvTensors: {counts}, all answered after {all_done_s:.1f} s; health {health_s * 1000:.0f} ms, "
          f"step {step_s * 1000:.0f} ms, new session + first step {session_s * 1000:.0f} ms")
    assert health_s < 1 and step_s < 1 and session_s < 3
    assert set(counts) <= {"DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"}
    assert counts.get("RESOURCE_EXHAUSTED", 0) >= 600 - server_limits.DEFAULT_WAITING_RECVS
    assert all_done_s < 10  # each waited its caller's 2 s, not the 60 s receive timeout


def test_idle_link_streams_are_bounded_per_peer(cluster):
    address = cluster.spec["worker"][0]
    channel = grpc.insecure_channel(address)
    open_link = channel.stream_stream(f"/{transport.WORKER_SERVICE}/Link")
    never = threading.Event()

    def idle():  # a request stream that sends nothing until the test ends
        never.wait(30)
        return
        yield
    rejected = []
    calls = []
    for _ in range(520):
        call = open_link(idle())
        call.add_done_callback(lambda c: rejected.append(c.code()))
        calls.append(call)
    try:
        deadline = time.monotonic() + 10
        while len(rejected) < 520 - server_limits.DEFAULT_STREAMS_PER_PEER and time.monotonic() < deadline:
            time.sleep(0.05)
        t = time.monotonic()
        assert _health(address) == health_pb2.HealthCheckResponse.SERVING
        health_s = time.monotonic() - t
        assert len(rejected) == 520 - server_limits.DEFAULT_STREAMS_PER_PEER
        assert set(rejected) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        details = next(c.details() for c in calls if c.done())
        assert "the limit is 16 per peer (--max-streams-per-peer)" in details
        # The session of another process (its own connection) still gets its streams and runs.
        g, v, y = _graph()
        with tf.Session(cluster.target(), graph=g) as sess:
            sess.run(v.initializer)
            assert sess.run(y) == 2.0
        print(f"\n520 idle Link streams: {len(rejected)} RESOURCE_EXHAUSTED; health probe in "
              f"{health_s * 1000:.0f} ms")
        assert health_s < 1
    finally:
        never.set()
        for call in calls:
            call.cancel()
        channel.close()


def test_parked_values_expire_on_one_reaper_thread():
    worker = Worker(recv_timeout=0.5)
    before = threading.active_count()
    for i in range(100):
        worker.park(i, f"key{i}", np.zeros(10))
    assert threading.active_count() <= before + 1  # one reaper, not a timer per value
    deadline = time.monotonic() + 5
    while worker._steps and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker._steps and not worker._parked
    worker.stop()


def test_link_stream_slots():
    slots = server_limits.Slots("Link streams", total=3, per_key=2, flag=" (--max-streams-per-peer)")
    slots.acquire("a")
    slots.acquire("a")
    with pytest.raises(errors.ResourceExhaustedError, match="limit is 2 per peer"):
        slots.acquire("a")
    slots.acquire("b")
    with pytest.raises(errors.ResourceExhaustedError, match="limit is 3 in all"):
        slots.acquire("c")
    slots.release("a")
    slots.acquire("c")
    assert slots.in_use() == 3


# -- item 1: frozen and dead tasks, and processes that exit --------------------------------------------
def _run_until_error(sess, fetch, limit_s=30):
    """Runs steps until one fails; returns (the error, when it was raised)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            sess.run(fetch)
        except tf.errors.OpError as e:
            return e, time.monotonic()
    raise AssertionError(f"no step failed in {limit_s} s")


@pytest.mark.parametrize("job", ["ps", "worker"])
def test_frozen_task_mid_step(cluster, job):
    """SIGSTOP the ps (the step's RunGraph and RecvTensor hang) or the master the client talks to."""
    g, v, y = _graph()
    address = cluster.spec[job][0]
    with tf.Session(cluster.target(), graph=g) as sess:
        sess.run(v.initializer)
        result = {}
        runner = threading.Thread(target=lambda: result.update(zip(("error", "at"), _run_until_error(sess, y))))
        runner.start()
        time.sleep(0.3)  # steps are running
        pid = cluster.procs[job, 0].pid
        os.kill(pid, signal.SIGSTOP)
        stopped = time.monotonic()
        runner.join(30)
        os.kill(pid, signal.SIGCONT)
        detected_s = result["at"] - stopped
        print(f"\nfrozen {job}: {type(result['error']).__name__} after {detected_s:.1f} s: "
              f"{result['error'].message.splitlines()[0]}")
        assert isinstance(result["error"], tf.errors.UnavailableError)
        assert address in result["error"].message
        if job == "ps":
            assert PS in result["error"].message
        assert detected_s < 10
        assert _usable_again(sess, y) < 10


def _usable_again(sess, fetch, expect=2.0):
    """Seconds until a step of `sess` succeeds again (the steps just after a failure may still see it)."""
    start = time.monotonic()
    for _ in range(20):
        try:
            assert sess.run(fetch) == expect
            return time.monotonic() - start
        except (tf.errors.UnavailableError, tf.errors.AbortedError):
            time.sleep(0.2)
    raise AssertionError("the session did not recover")


def test_frozen_task_during_session_creation(cluster):
    g, v, y = _graph()
    pid = cluster.procs["ps", 0].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        sess = tf.Session(cluster.target(), graph=g)
        started = time.monotonic()
        with pytest.raises(tf.errors.UnavailableError, match=f"{PS} at {cluster.spec['ps'][0]}") as caught:
            sess.run(v.initializer)
        detected_s = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"\nfrozen ps at session creation: UnavailableError after {detected_s:.1f} s: "
          f"{caught.value.message.splitlines()[0]}")
    assert detected_s < 10
    assert _usable_again(sess, v.initializer, expect=None) < 10  # after SIGCONT, the same session runs
    assert sess.run(y) == 2.0
    sess.close()


def test_dead_task_mid_step(cluster):
    g, v, y = _graph()
    with tf.Session(cluster.target(), graph=g) as sess:
        sess.run(v.initializer)
        result = {}
        runner = threading.Thread(target=lambda: result.update(zip(("error", "at"), _run_until_error(sess, y))))
        runner.start()
        time.sleep(0.3)
        cluster.kill("ps", 0)
        killed = time.monotonic()
        runner.join(30)
        detected_s = result["at"] - killed
        print(f"\ndead ps: {type(result['error']).__name__} after {detected_s:.1f} s")
        assert isinstance(result["error"], tf.errors.UnavailableError)
        assert PS in result["error"].message and cluster.spec["ps"][0] in result["error"].message
        assert detected_s < 5
        cluster.restart("ps", 0)
        # The master learns of the new incarnation from a step that fails (TaskRestartedError); later ones run.
        assert _usable_again(sess, v.initializer, expect=None) < 10
        assert sess.run(y) == 2.0


def test_a_task_lost_after_its_part_of_the_step_fails_the_step(cluster):
    """The ps's part of the step is done (it pushed v and answered its RunGraph) while the worker's part still
    waits (on a queue no one fills); then the ps dies. Its pushes could have been lost with it, so the step fails
    with the ps named, within the 5 s a dead task may take, not at the step's 30 s deadline."""
    g = tf.Graph()
    with g.as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(1.0)
        with tf.device("/job:worker/task:0"):
            y = tf.FIFOQueue(1, tf.float32, shared_name="filled_by_no_one").dequeue() + v
    with tf.Session(cluster.target(), graph=g) as sess:
        sess.run(v.initializer)
        result = {}

        def run():
            try:
                sess.run(y, options=tf.RunOptions(timeout_in_ms=30000))
            except tf.errors.OpError as e:
                result.update(error=e, at=time.monotonic())
        runner = threading.Thread(target=run)
        runner.start()
        time.sleep(1.0)  # the ps's part has long answered
        cluster.kill("ps", 0)
        killed = time.monotonic()
        runner.join(40)
        cluster.restart("ps", 0)
        print(f"\nps lost after its part: {type(result['error']).__name__} after {result['at'] - killed:.1f} s")
        assert isinstance(result["error"], tf.errors.UnavailableError)
        assert PS in result["error"].message and cluster.spec["ps"][0] in result["error"].message
        assert result["at"] - killed < 5
        assert _usable_again(sess, v.initializer, expect=None) < 10


def test_a_link_that_breaks_reports_its_recent_one_way_frames_and_their_steps_are_cleaned_up(cluster):
    """gRPC drops a one-way frame queued on a stream that is already dead without an error (a ps that was frozen
    while the worker cut the connection pushes onto it after SIGCONT), so its receiver would wait out its
    deadline. A link that breaks hands the tags (step ids) of its recent one-way frames to `on_lost`; the
    transport's on_lost cleans those steps up on the receiver, so they fail there at once."""
    from tfmini.server import grpc_link
    address = cluster.spec["worker"][0]
    pid = cluster.procs["worker", 0].pid
    channel = grpc.insecure_channel(address, options=transport.CHANNEL_OPTIONS)
    lost, reported = [], threading.Event()
    link = grpc_link.Link(channel, transport.WORKER_SERVICE, on_lost=lambda tags: (lost.extend(tags), reported.set()))
    try:
        for step_id in (77, 78, 77):  # pushes of no tensors: nothing waits for them
            link.send(transport.PUSH_METHOD, worker_pb2.PushTensorsRequest(step_id=step_id).SerializeToString(),
                      tag=step_id)
        time.sleep(0.3)  # let the frames reach the worker: a stream that is open
        os.kill(pid, signal.SIGSTOP)  # the keepalive (3 s) then breaks the stream
        try:
            assert reported.wait(10)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert lost == [77, 78]
        transport._pushes_lost(channel)(lost)
        stub = transport.WorkerStub(address, WORKER)
        key = f"{PS}/device:CPU:0;{0:016x};{WORKER}/device:CPU:0;never_sent;0:0"
        for step_id in lost:  # a pull of a cleaned-up step fails at once, with the cleanup's error
            started = time.monotonic()
            with pytest.raises(tf.errors.AbortedError, match=f"Step {step_id} was cleaned up"):
                stub.recv_array(step_id, key, timeout=10)
            assert time.monotonic() - started < 2
    finally:
        channel.close()


CLIENT = """
import sys, time
import tfmini as tf
with tf.device("/job:ps/task:0"):
    v = tf.Variable(1.0)
with tf.device("/job:worker/task:0"):
    y = v * 2.0
s = tf.Session(sys.argv[1])
s.run(v.initializer)
for _ in range(300):
    s.run(y)
print(time.time(), flush=True)
"""  # exits with `s` still open


def test_client_processes_exit_with_a_session_open(cluster):
    exits, failures = [], []

    def client():
        p = subprocess.Popen([sys.executable, "-c", CLIENT, cluster.target()], stdout=subprocess.PIPE, text=True)
        try:
            out, _ = p.communicate(timeout=120)  # returns when the process has exited
        except subprocess.TimeoutExpired:
            p.kill()
            failures.append("a client process hung")
            return
        ended = time.time()
        if p.returncode != 0 or not out.split():
            failures.append(f"a client exited with status {p.returncode}")
            return
        exits.append(ended - float(out.split()[-1]))
    for _ in range(7):  # 21 processes, three at a time: the machine has two cores
        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures
    print(f"\n{len(exits)} clients: exit after the last step in {min(exits):.2f}..{max(exits):.2f} s "
          f"(median {sorted(exits)[len(exits) // 2]:.2f} s)")
    assert max(exits) < 2


def test_server_and_cli_take_the_limits():
    from tfmini.server import cli
    from tfmini.server.server import Server
    assert [cli.BYTES.convert(v, None, None) for v in ("1048576", "512M", "2G", "1GiB")] == \
        [1 << 20, 512 << 20, 2 << 30, 1 << 30]
    with pytest.raises(Exception, match="not a byte count"):
        cli.BYTES.convert("lots", None, None)
    saved = memory_limits.limits()
    try:
        server = Server({"local": ["127.0.0.1:0"]}, start=False, host="127.0.0.1",
                        limits={"max_tensor_bytes": 1 << 20, "max_alloc_bytes": 3 << 20, "max_streams_per_peer": 4})
        assert memory_limits.limits() == {"tensor": 1 << 20, "alloc": 3 << 20}
        server.stop()
        with pytest.raises(ValueError, match="Unknown server limits"):
            Server({"local": ["127.0.0.1:0"]}, start=False, host="127.0.0.1", limits={"max_threads": 4})
    finally:
        memory_limits.configure(saved["tensor"], saved["alloc"])


# -- the process's memory across a step's allocations (--max-memory-bytes), and calls per Link stream ----
def test_a_step_past_the_process_memory_limit_fails_and_the_next_runs(cluster):
    pid = cluster.procs["worker", 0].pid
    mib = 1 << 18  # float32 elements in a MiB
    g = tf.Graph()
    with g.as_default(), tf.device("/job:worker/task:0"):
        n = tf.placeholder(tf.int32, [], name="n")
        fills = tf.reduce_sum(tf.stack([tf.fill([20 * mib], float(i)) for i in range(40)]))  # 40 x 20 MiB
        x = tf.random_uniform([20 * mib])  # adds are checked by no allocation limit: the executor catches them
        adds = tf.reduce_sum(tf.stack([x + float(i) for i in range(40)]))

        def body(i, ta):  # a loop that grows a TensorArray by 4 MiB an iteration, up to n iterations
            return i + 1, ta.write(i, tf.fill([4 * mib], 1.0) + tf.cast(i, tf.float32))
        _, grown = tf.while_loop(lambda i, ta: i < n, body, [0, tf.TensorArray(tf.float32, size=0, dynamic_size=True)])
        loop = tf.reduce_sum(grown.stack())
    rss_before = _vm(pid, "VmRSS")
    assert rss_before < MAX_MEMORY // 2
    figures = []
    with tf.Session(cluster.target(), graph=g) as sess:
        # Fills are refused before they allocate (memory_limits.check_alloc); the adds and the loop's TensorArray
        # writes fail at the next kernel once the watchdog sees the process past the limit.
        for name, fetch, feed, caught_by in (("40 fills", fills, {}, "OOM when allocating tensor with shape"),
                                             ("40 adds", adds, {}, "OOM when running the step"),
                                             ("loop", loop, {n: 1000}, "OOM when")):
            started = time.monotonic()
            with pytest.raises(tf.errors.ResourceExhaustedError, match=f"{caught_by}.*limit of {MAX_MEMORY} bytes "
                                                                       r"\(--max-memory-bytes\)"):
                sess.run(fetch, feed)
            failed_s = time.monotonic() - started
            peak = _vm(pid, "VmHWM")
            assert peak < MAX_MEMORY + (64 << 20)  # the limit plus the allocations in flight when it was passed
            assert sess.run(loop, {n: 3}) == 3 * 4 * mib + 3 * 4 * mib  # a normal step of the same session
            figures.append(f"{name}: {failed_s:.2f} s, RSS after {_vm(pid, 'VmRSS') >> 20} MiB")
        # The failed steps' values were dropped, and the pages they held handed back: the watchdog trims the heap
        # every 50 ms for a second after a step fails for memory (core/process_memory.py).
        deadline = time.monotonic() + 2
        while _vm(pid, "VmRSS") >= MAX_MEMORY // 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _vm(pid, "VmRSS") < MAX_MEMORY // 2
    print(f"\nRSS before {rss_before >> 20} MiB, peak {_vm(pid, 'VmHWM') >> 20} MiB; " + "; ".join(figures) +
          f"; at the end {_vm(pid, 'VmRSS') >> 20} MiB")


def test_a_link_stream_flooded_with_blocking_calls_leaves_the_pool_to_others(cluster):
    from tfmini.server import grpc_link
    address = cluster.spec["worker"][0]
    g = tf.Graph()
    with g.as_default(), tf.device("/job:worker/task:0"):
        never = tf.FIFOQueue(1, tf.float32, shared_name="never_filled").dequeue()
    master = transport.MasterStub(address)
    handle = master.create_session(master_pb2.CreateSessionRequest(graph_def=g.as_graph_def())).session_handle
    blocking = master_pb2.RunStepRequest(session_handle=handle, fetch=[never.name])
    blocking.options.timeout_in_ms = 4000
    channel = grpc.insecure_channel(address)
    link = grpc_link.Link(channel, transport.MASTER_SERVICE)
    try:
        calls = [link.start("RunStep", blocking.SerializeToString()) for _ in range(600)]  # the pool has 512
        gv, v, y = _graph()
        time.sleep(0.5)  # let the frames reach the server
        with tf.Session(cluster.target(), graph=gv) as sess:  # another client's session, on its own streams
            t = time.monotonic()
            sess.run(v.initializer)
            assert sess.run(y) == 2.0
            step_s = time.monotonic() - t
        codes = [c.result(15).code for c in calls]
        names = {code: sum(1 for c in codes if c == code) for code in set(codes)}
        rejected = next(c.frame.message for c in calls if c.frame.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0])
    finally:
        channel.close()
        master.close_session(master_pb2.CloseSessionRequest(session_handle=handle))
    print(f"\n600 blocking RunSteps on one Link stream: {names} (codes); another session's init + step "
          f"{step_s * 1000:.0f} ms")
    assert step_s < 1
    limit = server_limits.DEFAULT_CALLS_PER_STREAM
    assert names == {grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]: 600 - limit,
                     grpc.StatusCode.DEADLINE_EXCEEDED.value[0]: limit}
    assert f"the limit is {limit} per stream (--max-calls-per-stream)" in rejected


def test_process_memory_limit_in_process():
    from tfmini.core import process_memory
    from tfmini.server.server import Server
    with pytest.raises(ValueError, match="must be positive"):
        process_memory.configure(0)
    g = tf.Graph()
    with g.as_default():
        total = tf.add(tf.constant(1.0), tf.placeholder(tf.float32, [], name="p"))
    try:
        process_memory.configure(process_memory.resident_bytes() + (1 << 30))
        with tf.Session(graph=g) as sess:
            assert sess.run(total, {"p:0": 1.0}) == 2.0
            with pytest.raises(tf.errors.ResourceExhaustedError, match=r"shape\[536870912\].*--max-memory-bytes"):
                memory_limits.check_alloc([1 << 29], 4, "Fill 'f'", "float32")  # 2 GiB more than the limit leaves
            process_memory.configure(1 << 20)  # less than the process holds already
            deadline = time.monotonic() + 5
            while not process_memory.OVER[0] and time.monotonic() < deadline:
                time.sleep(0.01)
            assert process_memory.OVER[0]  # the watchdog saw it
            with pytest.raises(tf.errors.ResourceExhaustedError, match="OOM when running the step"):
                sess.run(total, {"p:0": 1.0})
            process_memory.turn_off()
            assert sess.run(total, {"p:0": 1.0}) == 2.0
        server = Server({"local": ["127.0.0.1:0"]}, start=False, host="127.0.0.1",
                        limits={"max_memory_bytes": 64 << 30, "max_calls_per_stream": 8})
        assert process_memory.limit() == 64 << 30
        server.stop()
    finally:
        process_memory.turn_off()
    assert server_limits.link_streams(calls_per_stream=8).calls_per_stream == 8
    assert server_limits.link_streams().calls_per_stream == server_limits.DEFAULT_CALLS_PER_STREAM
