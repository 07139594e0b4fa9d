"""Distributed step cost: the seed's train_step with its variable on a ps and compute on a worker (real
tfmini-server processes on 127.0.0.1), beside a raw grpcio unary round trip and TensorFlow's own runtime in the
same topology (when a TF interpreter is found), all measured in this run; then a 64 MB tensor ps -> worker and
fetched to the client, in GB/s.

Two topologies for the step: a client process of its own talking to worker0's master (the issue's), and
between-graph replication's usual script, where the client process is worker0 itself (tf.train.Server, then
Session(server.target): the master is called in-process, by TF and by tfmini).

    .venv/bin/python bench/bench_distributed.py [--steps 300] [--tf-python .venv-tf/bin/python]

The distributed goals (issue 13) and their baselines are printed by bench_goals.py (seed step against the
protocol floor, 64 MB transfers against a raw grpcio stream) and bench_mlp.py (the data-parallel MLP).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

import grpc

import tfmini as tf
import tfmini.train  # noqa: F401
from tfmini.server.server import ClusterSpec, Server
from timing import free_ports, median_seconds

train = sys.modules["tfmini.train"]
MB64 = 16 << 20  # float32 elements


def wait_port(port, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def median_ms(fn, n, warmup=20):
    return median_seconds(fn, n, warmup) * 1e3


ECHO_SERVER = """
import sys, time, grpc
from concurrent import futures
s = grpc.server(futures.ThreadPoolExecutor(8))
s.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo",
    {"Echo": grpc.unary_unary_rpc_method_handler(lambda req, ctx: req)}),))
s.add_insecure_port("127.0.0.1:" + sys.argv[1]); s.start(); time.sleep(3600)
"""


def raw_round_trip_ms(n):
    port, = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)])
    try:
        wait_port(port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/bench.Echo/Echo")
            payload = b"x" * 64
            return median_ms(lambda: call(payload, timeout=5), n)
    finally:
        proc.kill()


def start_cluster(python, server_script=None, jobs=("ps", "worker")):
    """A ps and a worker task; the processes of `jobs` are started (the others are the caller's)."""
    ports = free_ports(2)
    spec = {"ps": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}"]}
    procs = []
    for job in jobs:
        if server_script is None:
            cmd = [python, "-m", "tfmini.server.cli", "--cluster", json.dumps(spec), "--job", job, "--task", "0",
                   "--host", "127.0.0.1", "--log-level", "warning"]
        else:
            cmd = [python, "-c", server_script, json.dumps(spec), job]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for job in jobs:
        wait_port(int(spec[job][0].rpartition(":")[2]))
    return spec, procs


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def tfmini_step_ms(spec, n, target=None):
    with tf.Graph().as_default():
        with tf.device(train.replica_device_setter(cluster=spec)):
            x = tf.constant(1.0, name="input")
            w = tf.Variable(0.8, name="weight")
            y = tf.mul(w, x, name="output")
            loss = tf.pow(y - tf.constant(0.0), 2, name="loss")
            step = train.GradientDescentOptimizer(0.025).minimize(loss)
        with tf.Session(target or f"grpc://{spec['worker'][0]}") as sess:
            sess.run(tf.initialize_all_variables())
            return median_ms(lambda: sess.run(step), n)


def tfmini_in_worker_step_ms(n):
    """The step from a client process that is itself worker0."""
    spec, procs = start_cluster(sys.executable, jobs=("ps",))
    server = Server(ClusterSpec(spec), "worker", 0, host="127.0.0.1")
    try:
        return tfmini_step_ms(spec, n, server.target)
    finally:
        server.stop()
        stop(procs)


def tfmini_bandwidth(spec, n=11):
    """(GB/s ps -> worker, GB/s ps -> client) for a 64 MB float32 tensor."""
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            big = tf.Variable(tf.zeros([MB64]), name="big")
            big_read = tf.identity(big)
        with tf.device("/job:worker/task:0"):
            on_worker = tf.reduce_sum(big_read[:1])  # receives all 64 MB, computes on one element
        with tf.Session(f"grpc://{spec['worker'][0]}") as sess:
            sess.run(big.initializer)
            to_worker = median_ms(lambda: sess.run(on_worker.op), n, warmup=2)
            to_client = median_ms(lambda: sess.run(big_read), n, warmup=2)
    gb = MB64 * 4 / 1e9
    return gb / (to_worker / 1e3), gb / (to_client / 1e3)


TF_SERVER = """
import json, sys
import tensorflow as tf
spec, job = json.loads(sys.argv[1]), sys.argv[2]
tf.distribute.Server(tf.train.ClusterSpec(spec), job_name=job, task_index=0).join()
"""
TF_CLIENT = """
import json, statistics, sys, time
import tensorflow as tf
tf.compat.v1.disable_v2_behavior()
t1 = tf.compat.v1
spec, n, in_worker = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
if in_worker:  # this process is worker0: Session(server.target) uses its master in-process
    server = tf.distribute.Server(tf.train.ClusterSpec(spec), job_name="worker", task_index=0)
    target = server.target
else:
    target = "grpc://" + spec["worker"][0]
with t1.device(t1.train.replica_device_setter(cluster=spec)):
    x = t1.constant(1.0, name="input")
    w = t1.Variable(0.8, name="weight")
    y = t1.multiply(w, x, name="output")
    loss = t1.pow(y - t1.constant(0.0), 2, name="loss")
    step = t1.train.GradientDescentOptimizer(0.025).minimize(loss)
with t1.device("/job:ps/task:0"):
    big = t1.Variable(t1.zeros([16 << 20]), name="big")
    big_read = t1.identity(big)
with t1.device("/job:worker/task:0"):
    on_worker = t1.reduce_sum(big_read[:1])
def med(fn, k, warm):
    for _ in range(warm): fn()
    ts = []
    for _ in range(k):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3
with t1.Session(target) as sess:
    sess.run(t1.global_variables_initializer())
    ms = med(lambda: sess.run(step), n, 20)
    if in_worker:
        print(json.dumps([ms]))
        sys.exit(0)
    gb = (16 << 20) * 4 / 1e9
    bw_w = gb / (med(lambda: sess.run(on_worker.op), 11, 2) / 1e3)
    bw_c = gb / (med(lambda: sess.run(big_read), 11, 2) / 1e3)
print(json.dumps([ms, bw_w, bw_c]))
"""


def tf_numbers(python, n, in_worker=False):
    spec, procs = start_cluster(python, TF_SERVER, jobs=("ps",) if in_worker else ("ps", "worker"))
    try:
        out = subprocess.run([python, "-c", TF_CLIENT, json.dumps(spec), str(n), "1" if in_worker else "0"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print("TensorFlow run failed:", out.stderr[-2000:], file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop(procs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--tf-python", default=os.environ.get("TFMINI_TF_PYTHON", ".venv-tf/bin/python"))
    args = ap.parse_args()
    rtt = raw_round_trip_ms(args.steps * 3)
    spec, procs = start_cluster(sys.executable)
    try:
        step = tfmini_step_ms(spec, args.steps)
        bw_worker, bw_client = tfmini_bandwidth(spec)
    finally:
        stop(procs)
    in_worker = tfmini_in_worker_step_ms(args.steps)
    has_tf = os.path.exists(args.tf_python)
    tf_result = tf_numbers(args.tf_python, args.steps) if has_tf else None
    tf_in_worker = tf_numbers(args.tf_python, args.steps, in_worker=True) if has_tf else None
    print(f"raw grpcio unary round trip   {rtt:8.3f} ms")
    for label, ours, theirs in (("client -> worker0's master", step, tf_result),
                                ("client is worker0         ", in_worker, tf_in_worker)):
        line = f"seed train_step, {label}: tfmini {ours:6.3f} ms = {ours / rtt:.2f} round trips"
        if theirs:
            line += f"; TF {theirs[0]:6.3f} ms, tfmini/TF = {ours / theirs[0]:.2f}"
        print(line)
    print(f"tfmini 64 MB ps -> worker     {bw_worker:8.2f} GB/s")
    print(f"tfmini 64 MB ps -> client     {bw_client:8.2f} GB/s")
    if tf_result:
        print(f"TensorFlow 64 MB ps -> worker {tf_result[1]:8.2f} GB/s")
        print(f"TensorFlow 64 MB ps -> client {tf_result[2]:8.2f} GB/s")


if __name__ == "__main__":
    main()
