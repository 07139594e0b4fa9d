"""Mutated and random requests against real `tfmini-server` processes: every master method, every worker
method and the Link frames. However malformed a request, the answer is a TF error class a client can act on
(INVALID_ARGUMENT, NOT_FOUND, ...), never INTERNAL or UNKNOWN; no server crashes, and each still answers its
health probe afterwards.

The requests start from valid ones (a small training graph built with tfmini, its sessions, steps, callables and
a worker's partition of it), and each is mutated in one place: a node's op, attr, input, name or device, a
tensor's dtype, shape or bytes, a handle, a name, a step id, a key; or its bytes are flipped. Seeded: a failure
names the seed and the case, and reruns the same way (TFMINI_FUZZ_SEED, TFMINI_FUZZ_CASES change them).
"""
import concurrent.futures
import os
import random
import resource
import sys
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tfmini as tf
from tfmini.core import op_registry, tensor_util
from tfmini.core.partition import partition
from tfmini.protos import attr_value_pb2, config_pb2, link_pb2, master_pb2, tensor_pb2, worker_pb2
from tfmini.server import grpc_transport as transport

sys.path.insert(0, os.path.dirname(__file__))
from test_distributed import ProcessCluster  # noqa: E402

SEED = int(os.environ.get("TFMINI_FUZZ_SEED", "16"))
CASES = int(os.environ.get("TFMINI_FUZZ_CASES", "2400"))
CALL_TIMEOUT = 10.0  # seconds; a step of a mutated graph that waits is cut by its own 1.5 s step timeout first
STEP_TIMEOUT_MS = 1500
BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
# Small memory limits (a mutated shape asks for terabytes: RESOURCE_EXHAUSTED), and an address-space cap as the
# last guard of a shared machine: an allocation that no limit checks fails with MemoryError, not the OOM killer.
SERVER_ARGS = ["--insecure", "--max-tensor-bytes", "64M", "--max-alloc-bytes", "64M"]
SERVER_ADDRESS_SPACE = 6 << 30
OPS = op_registry.registered_ops()
A = attr_value_pb2.AttrValue

MASTER = {rpc: (req, resp) for rpc, req, resp, _ in transport.MASTER_METHODS}
WORKER = {rpc: (req, resp) for rpc, req, resp, _ in transport.WORKER_METHODS}
DTYPE_ENUMS = [1, 2, 3, 4, 5, 6, 7, 9, 10, 19, 20, 21, 0, 101, 999, -1]


# -- the valid requests mutations start from ------------------------------------------------------------------
def seed_graph():
    """A small training graph (GraphDef) and the names a step feeds, fetches and runs."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        w = tf.Variable(np.ones([3, 2], np.float32), name="w")
        b = tf.Variable(np.zeros([2], np.float32), name="b")
        logits = tf.nn.bias_add(tf.matmul(x, w), b, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                              name="loss")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        shaped = tf.reshape(tf.concat([logits, logits], 1), [-1, 2, 2], name="shaped")
        picked = tf.gather(tf.transpose(shaped, [1, 0, 2]), tf.argmax(logits, 1), name="picked")
        stats = tf.stack([tf.reduce_max(x), tf.cast(tf.size(x), tf.float32), tf.reduce_sum(tf.tile(x, [2, 1]))],
                         name="stats")
        tf.unstack(tf.fill([2, 2], 3.0), name="parts")
        tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32, name="hits")
        tf.range(0, 10, 2, name="evens")
        image = tf.reshape(tf.tile(x, [1, 12]), [-1, 6, 6, 1])
        conv = tf.nn.conv2d(image, tf.ones([3, 3, 1, 2]), [1, 1, 1, 1], "SAME")
        pooled = tf.nn.max_pool(tf.nn.relu(conv), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        tf.identity(tf.squeeze(tf.expand_dims(pooled[:, 1:, ::2, 0], 3), [3]), name="pooled")
        tf.split(tf.concat([tf.slice(x, [0, 0], [-1, 2]), x[:, :2]], 1), 2, axis=1, name="split")
        tf.one_hot(labels, 4, name="onehot")
        tf.nn.top_k(tf.cumsum(x, axis=1), 2, name="topk")
        tf.strings.join([tf.as_string(labels), "x"], name="joined")
        init = tf.global_variables_initializer()
    names = {"feeds": ["x:0", "labels:0"], "fetches": [loss.name, picked.name, stats.name, "hits:0", "parts:1",
                                                        "evens:0", "pooled:0", "split:1", "onehot:0", "topk:1",
                                                        "joined:0"],
             "targets": [train.name, init.name]}
    return g.as_graph_def(), names


def seed_feeds():
    return [("x:0", tensor_util.make_tensor_proto(np.arange(6, dtype=np.float32).reshape(2, 3))),
            ("labels:0", tensor_util.make_tensor_proto(np.array([0, 1], np.int64)))]


def seed_partition(graph_def, device):
    """The graph on one device as a worker gets it (RegisterGraph), with its feed and fetch keys."""
    nodes = {n.name: n for n in graph_def.node}
    fetches = ["loss:0", "stats:0"]
    parts = partition(nodes, list(nodes), {name: device for name in nodes}, ["x:0", "labels:0"], fetches,
                      lambda d: 1)
    (task_graph,) = parts.graphs.values()
    (feed_keys,) = parts.feed_keys.values()
    (fetch_keys,) = parts.fetch_keys.values()
    return task_graph, [k for _, k in feed_keys], [k for _, k in fetch_keys]


# -- mutations -----------------------------------------------------------------------------------------------
class Mutator:
    def __init__(self, rnd):
        self.rnd = rnd

    def choice(self, seq):
        return seq[self.rnd.randrange(len(seq))]

    def junk(self):
        return self.choice(["", "x", "x:0", "x:1", "x:999999", "x:-1", "x:abc", "^x", "^", ":", "w/read:0",
                            "no_such_node", "loss:0", "a;b;c", "\u00e9:0", "x:00", "x: 1", "x:1:2"])

    def int_value(self):
        return self.choice([-2**63, -2**31, -5, -1, 0, 1, 2, 3, 7, 2**31, 2**62, 2**63 - 1])

    def dims(self):
        return self.choice([[], [0], [1], [2], [3], [2, 3], [-1], [-5], [3, 0], [2, 2, 2], [1 << 40], [1 << 20, 1 << 20]])

    def tensor(self):
        t = tensor_pb2.TensorProto(dtype=self.choice(DTYPE_ENUMS))
        if self.rnd.random() < 0.9:
            for d in self.dims():
                t.tensor_shape.dim.add(size=d)
        else:
            t.tensor_shape.unknown_rank = True
        kind = self.rnd.randrange(6)
        if kind == 0:
            t.tensor_content = self.rnd.randbytes(self.choice([0, 1, 4, 7, 8, 24, 100]))
        elif kind == 1:
            t.float_val.extend([self.rnd.uniform(-5, 5) for _ in range(self.rnd.randrange(5))])
        elif kind == 2:
            t.int_val.extend([self.rnd.randrange(-5, 5) for _ in range(self.rnd.randrange(5))])
        elif kind == 3:
            t.int64_val.extend([self.int_value() for _ in range(self.rnd.randrange(3))])
        elif kind == 4:
            t.string_val.extend([self.rnd.randbytes(3) for _ in range(self.rnd.randrange(3))])
        else:
            t.bool_val.extend([True] * self.rnd.randrange(3))
        return t

    def attr(self):
        kind = self.rnd.randrange(9)
        if kind == 0:
            return A(type=self.choice(DTYPE_ENUMS))
        if kind == 1:
            return A(i=self.int_value())
        if kind == 2:
            return A(f=self.choice([float("nan"), float("inf"), -1.0, 0.0, 1e30]))
        if kind == 3:
            return A(b=self.rnd.random() < 0.5)
        if kind == 4:
            return A(s=self.choice([b"", b"\xff\xfe", b"NHWC", b"NCHW", b"VALID", b"SAME", b"loc:@w", b"x" * 300]))
        if kind == 5:
            value = A()
            if self.rnd.random() < 0.2:
                value.shape.unknown_rank = True
            for d in self.dims():
                value.shape.dim.add(size=d)
            return value
        if kind == 6:
            return A(tensor=self.tensor())
        value = A()
        which = self.rnd.randrange(4)
        if which == 0:
            value.list.i.extend([self.int_value() for _ in range(self.rnd.randrange(5))])
        elif which == 1:
            value.list.type.extend([self.choice(DTYPE_ENUMS) for _ in range(self.rnd.randrange(4))])
        elif which == 2:
            value.list.s.extend([self.rnd.randbytes(2) for _ in range(self.rnd.randrange(3))])
        else:
            value.list.shape.add().dim.add(size=self.choice([-1, 2]))
        return value

    def graph(self, graph_def):
        """`graph_def` with one to three nodes changed (or added, or removed)."""
        for _ in range(self.choice([1, 1, 1, 2, 3])):
            self.node(graph_def)
        return graph_def

    def node(self, graph_def):
        node = self.choice(graph_def.node)
        kind = self.rnd.randrange(10)
        if kind == 0:
            node.op = self.choice(OPS + ["NoSuchOp", ""])
        elif kind in (1, 2, 3):
            keys = sorted(node.attr)  # sorted: a map's order changes from process to process
            key = self.choice(keys) if keys and self.rnd.random() < 0.8 else self.choice(
                ["T", "dtype", "N", "num", "out_type", "Tidx", "value", "shape", "axis", "_class", "strides",
                 "ksize", "padding", "data_format", "k", "num_split", "begin_mask", "shrink_axis_mask"])
            if self.rnd.random() < 0.3:
                node.attr.pop(key, None)
            else:
                node.attr[key].CopyFrom(self.attr())
        elif kind == 4:
            if node.input and self.rnd.random() < 0.7:
                node.input[self.rnd.randrange(len(node.input))] = self.choice(
                    [self.junk(), self.choice(graph_def.node).name + self.choice(["", ":1", ":2", ":7"])])
            else:
                node.input.append(self.junk())
        elif kind == 5:
            if node.input:
                del node.input[self.rnd.randrange(len(node.input))]
        elif kind == 6:
            node.name = self.choice(["", self.choice(graph_def.node).name, "new", "a b", "x" * 500])
        elif kind == 7:
            node.device = self.choice(["/job:nope/task:9", "/device:GPU:7", "garbage", "/job:ps/task:0",
                                       "/job:worker/task:0/device:CPU:5"])
        elif kind == 8:
            extra = graph_def.node.add(name=f"extra{self.rnd.randrange(99)}", op=self.choice(OPS))
            extra.input.extend([self.choice(graph_def.node).name for _ in range(self.rnd.randrange(3))])
            for _ in range(self.rnd.randrange(3)):
                extra.attr[self.choice(["T", "dtype", "N", "value", "out_type"])].CopyFrom(self.attr())
        else:
            del graph_def.node[self.rnd.randrange(len(graph_def.node))]

    def bytes(self, raw):
        """Serialized bytes with a few flipped, cut short or extended."""
        raw = bytearray(raw)
        kind = self.rnd.randrange(3)
        if kind == 0 and raw:
            for _ in range(self.rnd.randrange(1, 4)):
                raw[self.rnd.randrange(len(raw))] = self.rnd.randrange(256)
        elif kind == 1:
            raw = raw[:self.rnd.randrange(len(raw) + 1)]
        else:
            raw += self.rnd.randbytes(self.rnd.randrange(1, 16))
        return bytes(raw)


# -- the cases -------------------------------------------------------------------------------------------------
class Fuzz:
    """Makes and sends the cases; `failures` lists (case, rpc, code, details) of the bad answers."""

    def __init__(self, cluster, seed):
        self.cluster = cluster
        self.master_address = cluster.spec["worker"][0]
        self.worker_address = cluster.spec["ps"][0]
        self.channels = {a: grpc.insecure_channel(a, options=transport.CHANNEL_OPTIONS)
                         for a in (self.master_address, self.worker_address)}
        self.graph_def, self.names = seed_graph()
        self.seed = seed
        self.failures, self.codes = [], {}
        self.partition, self.feed_keys, self.fetch_keys = seed_partition(
            self.graph_def, "/job:ps/replica:0/task:0/device:CPU:0")

    def call(self, address, service, rpc, raw, timeout=CALL_TIMEOUT):
        method = self.channels[address].unary_unary(f"/{service}/{rpc}")
        try:
            return method(raw, timeout=timeout), grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return None, e.code(), e.details() or ""

    def master(self, rpc, request, timeout=CALL_TIMEOUT):
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        return self.call(self.master_address, transport.MASTER_SERVICE, rpc, raw, timeout)

    def worker(self, rpc, request, timeout=CALL_TIMEOUT):
        raw = request if isinstance(request, bytes) else request.SerializeToString()
        return self.call(self.worker_address, transport.WORKER_SERVICE, rpc, raw, timeout)

    def record(self, case, rpc, code, details):
        self.codes[code.name] = self.codes.get(code.name, 0) + 1
        if code in BAD_CODES:
            self.failures.append((case, rpc, code.name, details[:300]))

    def run_case(self, case):
        """One case: a short sequence of calls, all but (usually) one of them valid."""
        rnd = random.Random(self.seed * 1_000_003 + case)
        m = Mutator(rnd)
        kind = case % 8
        calls = []

        def send(target, rpc, request, timeout=CALL_TIMEOUT):
            response, code, details = target(rpc, request, timeout)
            self.record(case, rpc, code, details)
            calls.append(code)
            return response, code

        config = config_pb2.ConfigProto(operation_timeout_in_ms=STEP_TIMEOUT_MS)
        graph = type(self.graph_def)()
        graph.CopyFrom(self.graph_def)
        if kind in (0, 1):  # a mutated graph: CreateSession, then steps on it
            if kind == 0 or rnd.random() < 0.5:
                m.graph(graph)
            request = master_pb2.CreateSessionRequest(graph_def=graph, config=config)
            response, code = send(self.master, "CreateSession", request if kind == 0 else m.bytes(
                request.SerializeToString()))
            if code == grpc.StatusCode.OK:
                handle = master_pb2.CreateSessionResponse.FromString(response).session_handle
                self.steps(send, m, handle, mutate=kind == 1)
                send(self.master, "CloseSession", master_pb2.CloseSessionRequest(session_handle=handle))
        elif kind == 2:  # ExtendSession with a mutated delta
            half = len(graph.node) // 2
            first, rest = type(graph)(), type(graph)()
            first.node.extend(graph.node[:half])
            rest.node.extend(graph.node[half:])
            response, code = send(self.master, "CreateSession",
                                  master_pb2.CreateSessionRequest(graph_def=first, config=config))
            if code == grpc.StatusCode.OK:
                handle = master_pb2.CreateSessionResponse.FromString(response).session_handle
                m.graph(rest)
                request = master_pb2.ExtendSessionRequest(session_handle=handle, graph_def=rest,
                                                          current_graph_version=m.choice([0, 0, 0, 1, -1]))
                send(self.master, "ExtendSession", request)
                self.steps(send, m, handle, mutate=True)
                send(self.master, "CloseSession", master_pb2.CloseSessionRequest(session_handle=handle))
        elif kind in (3, 4):  # steps and callables of a valid session, mutated
            response, code = send(self.master, "CreateSession",
                                  master_pb2.CreateSessionRequest(graph_def=graph, config=config))
            if code == grpc.StatusCode.OK:
                handle = master_pb2.CreateSessionResponse.FromString(response).session_handle
                if kind == 3:
                    self.steps(send, m, handle, mutate=True)
                else:
                    self.callables(send, m, handle)
                send(self.master, "CloseSession", master_pb2.CloseSessionRequest(session_handle=handle))
        elif kind == 5:  # the other master methods, with junk
            rpc = m.choice(["ListDevices", "CloseSession", "ReleaseCallable", "Reset", "RunStep", "ExtendSession",
                            "RunCallable", "MakeCallable"])
            request = MASTER[rpc][0](session_handle=m.choice(["", "nope", "0" * 16])) \
                if rpc not in ("ListDevices", "Reset") else MASTER[rpc][0]()
            raw = request.SerializeToString()
            send(self.master, rpc, m.bytes(raw) if rnd.random() < 0.5 else raw)
        elif kind == 6:  # the worker: a mutated partition, then steps of it
            part = type(self.partition)()
            part.CopyFrom(self.partition)
            if rnd.random() < 0.8:
                m.graph(part)
            request = worker_pb2.RegisterGraphRequest(session_handle=f"fuzz{case}", graph_def=part)
            raw = request.SerializeToString()
            response, code = send(self.worker, "RegisterGraph", raw if rnd.random() < 0.8 else m.bytes(raw))
            if code == grpc.StatusCode.OK:
                handle = worker_pb2.RegisterGraphResponse.FromString(response).graph_handle
                self.run_graphs(send, m, handle, case)
                send(self.worker, "DeregisterGraph", worker_pb2.DeregisterGraphRequest(graph_handle=handle))
        else:  # the other worker methods and the Link stream
            rpc = m.choice(["RecvTensor", "CleanupGraph", "GetStatus", "RunGraph", "DeregisterGraph",
                            "CreateWorkerSession", "DeleteWorkerSession", "Link", "Link"])
            if rpc == "Link":
                self.link(m, case)
                return calls
            request = WORKER[rpc][0]()
            if rpc == "RecvTensor":
                request = worker_pb2.RecvTensorRequest(step_id=m.int_value(), rendezvous_key=m.choice(
                    [m.junk(), self.fetch_keys[0], self.fetch_keys[0].replace(";0000000000000001;", ";zz;")]))
            elif rpc == "CleanupGraph":
                request = worker_pb2.CleanupGraphRequest(step_id=m.int_value())
            elif rpc in ("RunGraph", "DeregisterGraph"):
                request.graph_handle = m.junk()
            raw = request.SerializeToString()
            send(self.worker, rpc, m.bytes(raw) if rnd.random() < 0.4 else raw, timeout=1.0)
        return calls

    def steps(self, send, m, handle, mutate):
        """RunSteps of a session: the seed's signatures, with feeds, fetches, targets or options mutated."""
        for _ in range(2):
            request = master_pb2.RunStepRequest(session_handle=handle)
            for name, tensor in seed_feeds():
                request.feed.add(name=name, tensor=tensor)
            request.fetch.extend(m.rnd.sample(self.names["fetches"], 2))
            request.target.extend(m.rnd.sample(self.names["targets"], m.rnd.randrange(2)))
            if mutate:
                what = m.rnd.randrange(6)
                if what == 0:
                    m.choice(request.feed).tensor.CopyFrom(m.tensor())
                elif what == 1:
                    m.choice(request.feed).name = m.junk()
                elif what == 2:
                    request.fetch.append(m.junk())
                elif what == 3:
                    request.target.append(m.junk())
                elif what == 4:
                    request.options.timeout_in_ms = m.int_value()
                    request.options.trace_level = m.choice([0, 3, 99, -1])
                else:
                    request.partial_run_handle = "p"
            send(self.master, "RunStep", request)

    def callables(self, send, m, handle):
        options = config_pb2.CallableOptions(feed=self.names["feeds"], fetch=m.rnd.sample(self.names["fetches"], 2))
        if m.rnd.random() < 0.3:
            options.fetch.append(m.junk())
        response, code = send(self.master, "MakeCallable", master_pb2.MakeCallableRequest(
            session_handle=handle, options=options))
        if code != grpc.StatusCode.OK:
            return
        callable_handle = master_pb2.MakeCallableResponse.FromString(response).handle
        request = master_pb2.RunCallableRequest(session_handle=handle, handle=callable_handle)
        request.feed.extend([t for _, t in seed_feeds()])
        what = m.rnd.randrange(4)
        if what == 0:
            m.choice(request.feed).CopyFrom(m.tensor())
        elif what == 1:
            del request.feed[0]
        elif what == 2:
            request.handle = m.int_value()
        send(self.master, "RunCallable", request)
        send(self.master, "ReleaseCallable", master_pb2.ReleaseCallableRequest(
            session_handle=handle, handle=m.choice([callable_handle, callable_handle, m.int_value()])))

    def run_graphs(self, send, m, handle, case):
        request = worker_pb2.RunGraphRequest(graph_handle=handle, step_id=case + 1, tfmini_timeout_ms=STEP_TIMEOUT_MS)
        for key, (_, tensor) in zip(self.feed_keys, seed_feeds()):
            request.send.add(name=key, tensor=tensor)
        request.recv_key.extend(self.fetch_keys)
        what = m.rnd.randrange(5)
        if what == 0:
            m.choice(request.send).tensor.CopyFrom(m.tensor())
        elif what == 1:
            m.choice(request.send).name = m.junk()
        elif what == 2:
            request.recv_key.append(m.junk())
        elif what == 3:
            request.step_id = m.int_value()
        send(self.worker, "RunGraph", request)
        send(self.worker, "CleanupGraph", worker_pb2.CleanupGraphRequest(step_id=request.step_id))

    def link(self, m, case):
        """A Link stream with a few frames: valid, mutated, with junk methods, or not a frame at all."""
        frames = []
        for _ in range(m.rnd.randrange(1, 5)):
            rpc = m.choice(["GetStatus", "RunGraph", "RecvTensor", "RegisterGraph", "Nope", "", "RunStep"])
            request = WORKER.get(rpc, (worker_pb2.GetStatusRequest,))[0]()
            if rpc == "RecvTensor":
                request = worker_pb2.RecvTensorRequest(step_id=m.int_value(), rendezvous_key=m.junk())
            payload = request.SerializeToString()
            frame = link_pb2.LinkFrame(id=m.rnd.randrange(2**63), method=rpc,
                                       payload=m.bytes(payload) if m.rnd.random() < 0.5 else payload)
            raw = frame.SerializeToString()
            frames.append(m.bytes(raw) if m.rnd.random() < 0.15 else raw)
        stream = self.channels[self.worker_address].stream_stream(f"/{transport.WORKER_SERVICE}/Link")
        try:
            for raw in stream(iter(frames), timeout=2.0):
                frame = link_pb2.LinkFrame.FromString(raw)
                code = next((c for c in grpc.StatusCode if c.value[0] == frame.code), grpc.StatusCode.UNKNOWN)
                self.record(case, f"Link/{frame.id}", code, frame.message)
        except grpc.RpcError as e:
            self.record(case, "Link", e.code(), e.details() or "")


def healthy(address):
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return response.status == health_pb2.HealthCheckResponse.SERVING


def start_cluster(log_dir):
    c = ProcessCluster(log_dir, num_ps=1, num_workers=1, extra_args=SERVER_ARGS)
    for proc in c.procs.values():
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (SERVER_ADDRESS_SPACE, SERVER_ADDRESS_SPACE))
    return c


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = start_cluster(str(tmp_path_factory.mktemp("fuzz")))
    yield c
    c.stop()


def run_fuzz(cluster, seed, cases, threads=8, kinds=range(8)):
    fuzz = Fuzz(cluster, seed)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(fuzz.run_case, [c for c in range(cases) if c % 8 in kinds]))
    return fuzz


def test_no_request_gets_internal_or_crashes_a_server(cluster):
    start = time.monotonic()
    fuzz = run_fuzz(cluster, SEED, CASES)
    took = time.monotonic() - start
    calls = sum(fuzz.codes.values())
    print(f"\n{CASES} cases, {calls} calls in {took:.1f}s: {dict(sorted(fuzz.codes.items()))}")
    assert not fuzz.failures, "\n".join(f"seed {SEED} case {c}: {rpc}: {code}: {details}"
                                        for c, rpc, code, details in fuzz.failures[:20])
    assert calls >= 2 * CASES  # most cases make several calls: the mutations reach past the first one
    assert fuzz.codes.get("OK", 0) > calls // 4 and fuzz.codes.get("INVALID_ARGUMENT", 0) > CASES // 10
    for procs in cluster.procs.values():
        assert procs.poll() is None  # no server died
    for address in cluster.spec["ps"] + cluster.spec["worker"]:
        assert healthy(address)


if __name__ == "__main__":  # a longer run: python tests/test_fuzz.py CASES [SEED]
    import tempfile
    c = start_cluster(tempfile.mkdtemp(prefix="fuzz"))
    print("logs in", c.log_dir)
    try:
        n, s = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else SEED
        t0 = time.monotonic()
        f = run_fuzz(c, s, n, kinds=[int(k) for k in os.environ.get("TFMINI_FUZZ_KINDS", "01234567")])
        print(f"{n} cases in {time.monotonic() - t0:.1f}s: {f.codes}")
        for p in c.procs.values():
            print("server RSS:", next((l.split()[1] for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")),
                                     "?"), "kB")
        for failure in f.failures:
            print(*failure)
        print("alive:", [p.poll() is None for p in c.procs.values()])
    finally:
        c.stop()
