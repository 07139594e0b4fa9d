"""tfmini-server: cluster parsing, TF_CONFIG, clean stop on SIGTERM, and `tfmini-server local`."""
import json
import os
import signal
import subprocess
import sys
import time

import click
import pytest

import tfmini as tf
from tfmini.server.threads import divided_cores
from tfmini.server.cli import parse_cluster

sys.path.insert(0, os.path.dirname(__file__))
from test_distributed import free_ports, wait_serving  # noqa: E402


def test_parse_cluster_forms(tmp_path):
    spec = {"ps": ["a:1"], "worker": ["b:2", "c:3"]}
    assert parse_cluster((json.dumps(spec),)) == spec
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"cluster": spec, "task": {"type": "ps", "index": 0}}))
    assert parse_cluster((str(path),)) == spec
    assert parse_cluster(("ps=a:1", "worker=b:2,c:3")) == spec
    assert parse_cluster(()) is None
    with pytest.raises(click.BadParameter):
        parse_cluster(("worker",))
    with pytest.raises(click.BadParameter):
        parse_cluster(("{not json",))


def _server(args, env=None):
    return subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def test_tf_config_and_sigterm_stops_cleanly():
    port, = free_ports(1)
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}}
    proc = _server(["--host", "127.0.0.1"], {"TF_CONFIG": json.dumps(tf_config)})
    try:
        wait_serving(f"127.0.0.1:{port}")
        with tf.Graph().as_default(), tf.Session(f"grpc://127.0.0.1:{port}") as sess:
            assert sess.run(tf.constant(2.0) * 3.0) == 6.0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "/job:worker/replica:0/task:0" in out + err and "stopped" in err
        assert "session" in err  # sessions are logged
    finally:
        if proc.poll() is None:
            proc.kill()


def _health(address):
    return subprocess.run([sys.executable, "-m", "tfmini.server.cli", "health", "--address", address,
                           "--timeout", "2"], capture_output=True, text=True, timeout=30)


def test_health_subcommand_probes_the_grpc_health_service():
    port, = free_ports(1)
    address = f"127.0.0.1:{port}"
    down = _health(address)
    assert down.returncode == 1 and "UNAVAILABLE" in down.stderr + down.stdout
    proc = _server(["--cluster", f"worker={address}", "--host", "127.0.0.1"])
    try:
        wait_serving(address)
        up = _health(address)
        assert up.returncode == 0 and "SERVING" in up.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert _health(address).returncode == 1


def test_bad_arguments_are_usage_errors():
    proc = _server(["--cluster", "ps=a:1", "--cluster", "worker=b:2"])
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--job" in err


def test_local_cluster_in_one_command():
    base = free_ports(1)[0]
    if base + 3 > 65535:
        pytest.skip("no room for three consecutive ports")
    # --insecure: this process is a plain client (the secured default: tests/test_security.py)
    proc = _server(["local", "--ps", "1", "--workers", "2", "--base-port", str(base), "--insecure"])
    try:
        for i in range(3):
            wait_serving(f"127.0.0.1:{base + i}")
        with tf.Graph().as_default():
            with tf.device("/job:ps/task:0"):
                v = tf.Variable(5.0)
            with tf.device("/job:worker/task:1"):
                out = v * 2.0
            with tf.Session(f"grpc://127.0.0.1:{base + 1}") as sess:
                sess.run(v.initializer)
                assert sess.run(out) == 10.0
        proc.send_signal(signal.SIGINT)
        printed, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        threads = divided_cores(3)  # the machine's cores divided among the three tasks (server/threads.py)
        assert printed.count(f"  {threads} intra-op thread") == 3, printed
    finally:
        if proc.poll() is None:
            proc.kill()
