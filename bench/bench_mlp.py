"""Data-parallel MLP, the issue's topology: 1 ps + 2 workers as server processes, two client processes each
talking to its own worker's master (between-graph replication), a 64-256-10 MLP, batch 128, plain SGD, variables
placed by replica_device_setter. Samples/s of both clients together, for TensorFlow 2.21 (`.venv-tf`, when
present) and for tfmini twice in the same run: its servers using every core for BLAS (what tfmini did before
it owned its threads) and with the default (each task its share of the cores, server/threads.py).

    .venv/bin/python bench/bench_mlp.py [--steps 300] [--rounds 1] [--tf-python .venv-tf/bin/python]

Each round runs every configuration once, in turn; figures are medians over rounds. The floor is what the
step's data dependencies cost at the least on these cores: 6 one-way messages per worker step (RunStep and its
answer, RunGraph to the ps and its answer, the variables, the gradients), each at the CPU (both ends) of a small
raw grpcio message on an open stream, plus the step's arithmetic written in numpy, all measured in this run. The clients' losses are
printed at their first and last step: they must fall, in tfmini as in TF.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_distributed import free_ports, stop, wait_port
from tfmini.server.threads import available_cores

TF_SERVER = """
import json, sys
import tensorflow as tf
spec, job, task = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
tf.distribute.Server(tf.train.ClusterSpec(spec), job_name=job, task_index=task).join()
"""

CLIENT = """
import json, os, sys, time
import numpy as np
lib, spec, task, steps, ready = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if lib == "tf":
    import tensorflow as real_tf
    tf = real_tf.compat.v1
    tf.disable_eager_execution()
else:
    import tfmini as tf
rng = np.random.default_rng(task)
x_data = rng.standard_normal((128, 64)).astype(np.float32)
y_data = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
with tf.device(tf.train.replica_device_setter(cluster=spec, worker_device=f"/job:worker/task:{task}")):
    x = tf.placeholder(tf.float32, [None, 64])
    y = tf.placeholder(tf.float32, [None, 10])
    w1 = tf.Variable(tf.random_normal([64, 256], stddev=0.1, seed=1))
    b1 = tf.Variable(tf.zeros([256]))
    w2 = tf.Variable(tf.random_normal([256, 10], stddev=0.1, seed=2))
    b2 = tf.Variable(tf.zeros([10]))
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    init = tf.global_variables_initializer()
feed = {x: x_data, y: y_data}
with tf.Session("grpc://" + spec["worker"][task]) as sess:
    if task == 0:
        sess.run(init)
        open(ready, "w").close()
    else:
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            if time.monotonic() > deadline:
                sys.exit("the chief never initialized the variables")
            time.sleep(0.05)
    first = sess.run(loss, feed)
    for _ in range(20):
        sess.run(train, feed)
    t0 = time.perf_counter()
    for _ in range(steps):
        sess.run(train, feed)
    seconds = time.perf_counter() - t0
    print(json.dumps({"samples_per_s": steps * 128 / seconds, "first_loss": float(first),
                      "last_loss": float(sess.run(loss, feed))}))
"""


def run_topology(python, lib, steps, server_args=()):
    """Starts the servers and both clients; returns [per-client result dicts], or None if something failed."""
    ports = free_ports(3)
    spec = {"ps": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}", f"127.0.0.1:{ports[2]}"]}
    procs = []
    for job, tasks in spec.items():
        for i in range(len(tasks)):
            if lib == "tf":
                cmd = [python, "-c", TF_SERVER, json.dumps(spec), job, str(i)]
            else:
                cmd = [python, "-m", "tfmini.server.cli", "--cluster", json.dumps(spec), "--job", job, "--task",
                       str(i), "--host", "127.0.0.1", "--insecure", "--log-level", "warning", *server_args]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for port in ports:
            wait_port(port)
        with tempfile.TemporaryDirectory() as tmp:
            ready = os.path.join(tmp, "initialized")
            clients = [subprocess.Popen([python, "-c", CLIENT, lib, json.dumps(spec), str(task), str(steps), ready],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                       for task in range(2)]
            results = []
            for c in clients:
                out, err = c.communicate(timeout=600)
                if c.returncode != 0:
                    print(f"{lib} client failed: {err[-2000:]}", file=sys.stderr)
                    return None
                results.append(json.loads(out.strip().splitlines()[-1]))
            return results
    finally:
        stop(procs)


FLOOR_MESSAGES = 6  # per worker step: RunStep and its answer, RunGraph to the ps and its answer, variables, gradients


def _cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_message_cpu(n=2000):
    """CPU seconds (both processes) of one small raw grpcio message on an open stream, from echoes."""
    import grpc
    from bench_goals import RAW_SERVER, _OpenStream
    port, = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-c", RAW_SERVER, str(port)])
    try:
        wait_port(port)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stream = _OpenStream(channel)
            for _ in range(200):
                stream.round_trip(b"x" * 64)
            server0, client0 = _cpu_seconds(proc.pid), time.process_time()
            for _ in range(n):
                stream.round_trip(b"x" * 64)
            used = _cpu_seconds(proc.pid) - server0 + time.process_time() - client0
            stream.close()
        return used / (2 * n)
    finally:
        proc.kill()


def numpy_step_cpu(n=500):
    """CPU seconds of the MLP's training step written in numpy (one BLAS thread, as each task has here)."""
    import numpy as np
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    w1, b1 = rng.standard_normal((64, 256)).astype(np.float32) * 0.1, np.zeros(256, np.float32)
    w2, b2 = rng.standard_normal((256, 10)).astype(np.float32) * 0.1, np.zeros(10, np.float32)

    def step(w1, b1, w2, b2):
        h = np.maximum(x @ w1 + b1, 0)
        logits = h @ w2 + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d_logits = (p - y) / 128
        d_h = (d_logits @ w2.T) * (h > 0)
        return (w1 - 0.05 * (x.T @ d_h), b1 - 0.05 * d_h.sum(0), w2 - 0.05 * (h.T @ d_logits),
                b2 - 0.05 * d_logits.sum(0))
    with threadpool_limits(1):
        for _ in range(50):
            w1, b1, w2, b2 = step(w1, b1, w2, b2)
        start = time.process_time()
        for _ in range(n):
            w1, b1, w2, b2 = step(w1, b1, w2, b2)
        return (time.process_time() - start) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--tf-python", default=".venv-tf/bin/python")
    args = ap.parse_args()
    cores = available_cores()
    configs = [("tfmini, BLAS on all cores (before)", sys.executable, "tfmini", ["--intra-op-threads", str(cores)]),
               ("tfmini, default threads (after)", sys.executable, "tfmini", [])]
    if os.path.exists(args.tf_python):
        configs.append(("TensorFlow 2.21", args.tf_python, "tf", []))
    samples, losses = {c[0]: [] for c in configs}, {}
    for _ in range(args.rounds):
        for label, python, lib, server_args in configs:
            results = run_topology(python, lib, args.steps, server_args)
            if results:
                samples[label].append(sum(r["samples_per_s"] for r in results))
                losses[label] = [(r["first_loss"], r["last_loss"]) for r in results]
    message_cpu, compute_cpu = raw_message_cpu(), numpy_step_cpu()
    floor_rate = cores / (FLOOR_MESSAGES * message_cpu + compute_cpu) * 128
    print(f"MLP 64-256-10, batch 128, SGD; 1 ps + 2 workers + 2 clients on {cores} cores; {args.steps} steps "
          f"per client; median of {args.rounds} round(s)")
    print(f"  floor: {FLOOR_MESSAGES} raw grpcio messages x {message_cpu * 1e6:.0f} us CPU + the step in numpy "
          f"{compute_cpu * 1e6:.0f} us, on {cores} cores: {floor_rate:.0f} samples/s")
    med = {label: statistics.median(v) for label, v in samples.items() if v}
    tf_rate = med.get("TensorFlow 2.21")
    for label, rate in med.items():
        loss = ", ".join(f"{a:.3f} -> {b:.3f}" for a, b in losses[label])
        versus = f"   x{rate / tf_rate:.2f} TF (goal >= 1.5)" if tf_rate and not label.startswith("TensorFlow") else ""
        versus += f"   x{rate / floor_rate:.2f} floor"
        print(f"  {label:36s} {rate:9.0f} samples/s{versus}   losses {loss}")


if __name__ == "__main__":
    main()
