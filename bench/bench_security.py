"""What TLS + the cluster token cost: a small remote step (client -> worker master -> ps variable) and a unary
GetStatus, on a 1 ps + 1 worker cluster started --insecure and one started with TLS (mutual) + token, plus raw
grpcio unary calls to a bare server, insecure and TLS, as the baseline measured in the same run.

    .venv/bin/python bench/bench_security.py          (about 30 s; prints medians and ratios)
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent import futures

import grpc

import tfmini as tf
from tfmini.protos import worker_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server import security
from timing import free_ports, median_seconds

STEPS = 300


def _cluster(args, env):
    ps, worker = free_ports(2)
    spec = {"ps": [f"127.0.0.1:{ps}"], "worker": [f"127.0.0.1:{worker}"]}
    procs = [subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "--cluster", json.dumps(spec), "--job",
                               job, "--host", "127.0.0.1", "--log-level", "error", *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for job in spec]
    return spec, procs


def _wait(address, settings):
    stub = transport.WorkerStub(address, "probe", settings=settings)
    deadline = time.monotonic() + 60
    while True:
        try:
            return stub.get_status(worker_pb2.GetStatusRequest(), timeout=1)
        except tf.errors.UnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _median_us(fn, n=STEPS):
    return median_seconds(fn, n, warmup=20) * 1e6


def _tfmini(spec, settings):
    _wait(spec["ps"][0], settings)
    _wait(spec["worker"][0], settings)
    stub = transport.WorkerStub(spec["worker"][0], "/job:worker/replica:0/task:0", settings=settings)
    status = _median_us(lambda: stub.get_status(worker_pb2.GetStatusRequest()))
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/job:ps/task:0"):
            w = tf.Variable(0.8)
        y = w * 2.0
        sess = tf.Session(f"grpc://{spec['worker'][0]}")
        sess.run(w.initializer)
        step = _median_us(lambda: sess.run(y))
        sess.close()
    return status, step


def _raw_grpc(tls):
    """A bare grpcio server's echo method: the floor for one unary call."""
    server = grpc.server(futures.ThreadPoolExecutor(4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda raw, ctx: raw)})])
    settings = security.Settings.from_env(tls) if tls else security.Settings()
    port = security.add_port(server, "127.0.0.1:0", settings)
    server.start()
    channel = security.channel(f"127.0.0.1:{port}", settings)
    call = channel.unary_unary("/bench.Echo/Echo")
    median = _median_us(lambda: call(b"x" * 32, timeout=5))
    channel.close()
    server.stop(0)
    return median


def main():
    material = security.generate(tempfile.mkdtemp(prefix="tfmini-bench-tls-"))
    settings = security.Settings.from_env(material)
    raw_plain, raw_tls = _raw_grpc(None), _raw_grpc(material)
    results = {}
    for name, args, env, client in (("insecure", ["--insecure"], security.task_env(None), security.Settings()),
                                    ("tls+token", [], security.task_env(material), settings)):
        spec, procs = _cluster(args, env)
        try:
            if name == "tls+token":
                os.environ.update(material)  # the Session reads them, as a user's program would
            results[name] = _tfmini(spec, client)
        finally:
            for key in material:
                os.environ.pop(key, None)
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(10)
    print(f"medians of {STEPS} calls (microseconds)")
    print(f"  raw grpcio unary echo      insecure {raw_plain:8.0f}   TLS         {raw_tls:8.0f}   "
          f"ratio {raw_tls / raw_plain:.2f}")
    (s0, t0), (s1, t1) = results["insecure"], results["tls+token"]
    print(f"  tfmini GetStatus (unary)   insecure {s0:8.0f}   TLS+token   {s1:8.0f}   ratio {s1 / s0:.2f}   "
          f"vs raw grpcio {s0 / raw_plain:.2f} / {s1 / raw_tls:.2f}")
    print(f"  tfmini remote step (link)  insecure {t0:8.0f}   TLS+token   {t1:8.0f}   ratio {t1 / t0:.2f}")


if __name__ == "__main__":
    main()
