"""Prometheus metrics, structured logs and `tfmini-server local`'s progress lines, with real tfmini-server
processes on 127.0.0.1 scraped over HTTP."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

import tfmini as tf
from tfmini.server.server import Server

sys.path.insert(0, os.path.dirname(__file__))
from test_distributed import free_ports, wait_serving  # noqa: E402

PS, WORKER = "/job:ps/replica:0/task:0", "/job:worker/replica:0/task:0"


def scrape(port):
    """{(metric name, frozenset of labels): value} of http://127.0.0.1:port/metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@pytest.fixture
def cluster(tmp_path):
    """ps:0 (JSON logs) and worker:0 (text logs), both at debug level and with metrics ports."""
    grpc_ports, metrics_ports = free_ports(2), free_ports(2)
    spec = {"ps": [f"127.0.0.1:{grpc_ports[0]}"], "worker": [f"127.0.0.1:{grpc_ports[1]}"]}
    procs, logs = {}, {}
    for (job, fmt), port in zip([("ps", "json"), ("worker", "text")], metrics_ports):
        logs[job] = tmp_path / f"{job}.log"
        procs[job] = subprocess.Popen(
            [sys.executable, "-m", "tfmini.server.cli", "--cluster", json.dumps(spec), "--job", job, "--task", "0",
             "--host", "127.0.0.1", "--metrics-port", str(port), "--log-level", "debug", "--log-format", fmt],
            stdout=open(logs[job], "w"), stderr=subprocess.STDOUT)
    try:
        for address in spec["ps"] + spec["worker"]:
            wait_serving(address)
        yield {"spec": spec, "metrics": dict(zip(["ps", "worker"], metrics_ports)), "logs": logs, "procs": procs}
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_remote_steps_move_the_counters(cluster):
    ps_port, worker_port = cluster["metrics"]["ps"], cluster["metrics"]["worker"]
    ps_address = cluster["spec"]["ps"][0]
    before = scrape(worker_port)
    assert value(before, "tfmini_master_sessions", task=WORKER) == 0
    assert value(scrape(ps_port), "tfmini_variable_bytes", task=PS) == 0
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(np.ones([50, 20], np.float32))
        with tf.device("/job:worker/task:0"):
            out = tf.reduce_sum(v * 2.0)
        with tf.Session(f"grpc://{cluster['spec']['worker'][0]}") as sess:
            sess.run(v.initializer)
            for _ in range(5):
                assert sess.run(out) == 2000.0
            during, ps = scrape(worker_port), scrape(ps_port)
    after = scrape(worker_port)

    assert value(during, "tfmini_steps_total", task=WORKER) == 6
    assert value(during, "tfmini_step_seconds_count", task=WORKER) == 6
    assert value(during, "tfmini_master_sessions", task=WORKER) == 1
    assert value(after, "tfmini_master_sessions", task=WORKER) == 0
    assert value(during, "tfmini_registered_graphs", task=WORKER) >= 1
    # The client's steps arrive at the worker's master; its master runs the ps's piece by RunGraph.
    assert value(during, "tfmini_rpcs_served_total", task=WORKER, method="RunStep", status="OK") == 6
    assert value(during, "tfmini_rpcs_made_total", task=WORKER, method="RunGraph", status="OK") >= 6
    assert value(ps, "tfmini_rpcs_served_total", task=PS, method="RunGraph", status="OK") >= 6
    assert value(during, "tfmini_peer_sent_bytes_total", task=WORKER, peer=ps_address) > 0
    assert value(during, "tfmini_peer_received_bytes_total", task=WORKER, peer=ps_address) > 0  # RunGraph answers
    # The ps pushed the 4000-byte variable to the worker in each of the 5 steps: the ps counts the bytes as sent
    # to the worker's address, and the worker, serving the push, as received from the caller's host.
    worker_address = cluster["spec"]["worker"][0]
    assert value(ps, "tfmini_peer_sent_bytes_total", task=PS, peer=worker_address) > 5 * 4000
    assert value(during, "tfmini_served_peer_received_bytes_total", task=WORKER, peer="127.0.0.1") > 5 * 4000
    # The serving side counts the calls it answers, by caller host: the ps answered the RunGraphs.
    assert value(ps, "tfmini_served_peer_sent_bytes_total", task=PS, peer="127.0.0.1") > 0
    assert value(ps, "tfmini_served_peer_received_bytes_total", task=PS, peer="127.0.0.1") > 0
    assert value(ps, "tfmini_variable_bytes", task=PS) == 50 * 20 * 4
    assert value(ps, "tfmini_threads", task=PS) >= 2


def test_an_error_is_counted_by_status(cluster):
    worker_port = cluster["metrics"]["worker"]
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(1.0)
        with tf.Session(f"grpc://{cluster['spec']['worker'][0]}") as sess:
            with pytest.raises(tf.errors.FailedPreconditionError):
                sess.run(v)  # not initialized
    samples = scrape(worker_port)
    assert value(samples, "tfmini_rpcs_served_total", task=WORKER, method="RunStep",
                 status="FAILED_PRECONDITION") == 1
    assert value(samples, "tfmini_rpcs_made_total", task=WORKER, method="RunGraph",
                 status="FAILED_PRECONDITION") == 1


def test_step_log_lines_carry_task_session_and_step(cluster):
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(3.0)
        with tf.Session(f"grpc://{cluster['spec']['worker'][0]}") as sess:
            sess.run(v.initializer)
            sess.run(v)
    deadline = time.monotonic() + 10
    while True:
        worker_lines = [line for line in cluster["logs"]["worker"].read_text().splitlines() if "step done" in line]
        ps_lines = [json.loads(line) for line in cluster["logs"]["ps"].read_text().splitlines()
                    if line.startswith("{") and "RunGraph" in line]
        if len(worker_lines) >= 2 and len(ps_lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(worker_lines) >= 2, cluster["logs"]["worker"].read_text()
    for line in worker_lines:
        assert f" task={WORKER} session=" in line and " step=" in line, line
    assert len(ps_lines) >= 2, cluster["logs"]["ps"].read_text()
    sessions = {line.split(" session=")[1].split()[0] for line in worker_lines}
    assert len(sessions) == 1
    for record in ps_lines:
        assert record["task"] == PS and record["session"] in sessions and record["step"], record
        assert record["level"] == "DEBUG" and record["logger"] == "tfmini.worker"
    # The master logs the step id it gave the workers' RunGraphs, so one grep finds a step on every task.
    master_steps = {int(line.split(" step=")[1].split()[0]) for line in worker_lines}
    assert master_steps == {int(record["step"]) for record in ps_lines}
    assert all(s >> 56 == 1 for s in master_steps)  # TF's master step ids: a random 56 bits under 0x01


def _listening_ports(pid):
    """TCP ports process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux /proc")
def test_without_the_flag_no_metrics_port_is_opened():
    port, = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_serving(f"127.0.0.1:{port}")
        assert _listening_ports(proc.pid) == {port}
    finally:
        proc.terminate()
        proc.wait(10)
    server = Server({"local": ["127.0.0.1:0"]}, host="127.0.0.1")
    try:
        assert server.metrics is None and server.metrics_port is None
    finally:
        server.stop()


def test_in_process_servers_keep_their_own_registries():
    a = Server({"a": ["127.0.0.1:0"]}, host="127.0.0.1", metrics_port=0)
    b = Server({"b": ["127.0.0.1:0"]}, host="127.0.0.1", metrics_port=0)
    try:
        with tf.Graph().as_default():
            x = tf.constant(1.0) + 1.0
            with tf.Session(a.target) as sess:
                sess.run(x)
                sess.run(x)
        sa, sb = scrape(a.metrics_port), scrape(b.metrics_port)
        assert value(sa, "tfmini_steps_total", task="/job:a/replica:0/task:0") == 2
        assert value(sb, "tfmini_steps_total", task="/job:b/replica:0/task:0") == 0
        assert not any(dict(labels).get("task") == "/job:a/replica:0/task:0" for _, labels in sb)
    finally:
        a.stop()
        b.stop()
    with pytest.raises(urllib.error.URLError):
        scrape(a.metrics_port)


def test_local_prints_addresses_and_metrics_ports():
    base = free_ports(1)[0]
    metrics = free_ports(1)[0]
    if base + 2 > 65535 or metrics + 2 > 65535:
        pytest.skip("no room for consecutive ports")
    proc = subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "local", "--ps", "1", "--workers", "1",
                             "--base-port", str(base), "--metrics-port", str(metrics), "--insecure"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        want = [f"{PS}  listening on 127.0.0.1:{base}  metrics http://127.0.0.1:{metrics}/metrics",
                f"{WORKER}  listening on 127.0.0.1:{base + 1}  metrics http://127.0.0.1:{metrics + 1}/metrics"]
        lines = []  # the tasks' own "listening" lines share the pipe: read until the cluster's are in
        while not all(any(w in line for line in lines) for w in want) and len(lines) < 10:
            lines.append(proc.stdout.readline())
        assert any(line.startswith("tfmini local cluster:") for line in lines), lines
        assert all(any(w in line for line in lines) for w in want), lines
        wait_serving(f"127.0.0.1:{base + 1}")
        deadline = time.monotonic() + 20
        while True:
            try:
                samples = scrape(metrics + 1)
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert value(samples, "tfmini_master_sessions", task=WORKER) == 0
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
