"""Authenticated and encrypted clusters (issue 16, item 5), with real `tfmini-server` processes: TLS + a cluster
token on every call of every service, the handshake failing with a foreign CA, the seed training through both,
admin calls refused without the token, pulls only from the master's own cluster, `tfmini-server local` secured by
default, and a stock TensorFlow client against an explicitly --insecure server."""
import dataclasses
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest

import tfmini as tf
from tfmini.protos import master_pb2, worker_pb2
from tfmini.server import grpc_link, security
from tfmini.server import grpc_transport as transport
from tfmini.server.server import Server

from test_distributed import TF_CLIENT, ProcessCluster, free_ports

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "examples", "cluster_seed.py")
SEED_NUMBERS = {"y": "0.8", "grad": "1.6", "w": "0.76", "y_after": "0.0044996012"}


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return security.generate(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def settings(material):
    return security.Settings.from_env(material)


@pytest.fixture(scope="module")
def secured(tmp_path_factory, material):
    """A 1 ps + 2 workers cluster given TLS (mutual) and a token by the environment, as compose and k8s do."""
    with pytest.MonkeyPatch.context() as mp:  # wait_serving, in this process, presents them too
        for key, value in material.items():
            mp.setenv(key, value)
        c = ProcessCluster(str(tmp_path_factory.mktemp("secured")), env=material)
    yield c
    c.stop()


@pytest.fixture
def client_env(monkeypatch, material):
    """This process as a client configured the TF way: by the environment only, no code changes."""
    for key, value in material.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def _seed_numbers(out):
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    got = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    for key, want in SEED_NUMBERS.items():  # as float32s: the seed prints them as numpy does
        assert np.float32(got[key]) == np.float32(want), out.stdout


def _seed_cluster_arg(c):
    return json.dumps(c.spec)


# -- the token, on every call of every service ---------------------------------------------------------------
def _all_calls(address, settings):
    """(path, StatusCode) of one call of each method of every service at `address`, sent with `settings`."""
    channel = security.channel(address, settings)
    outcomes = []
    try:
        for service, methods in ((transport.MASTER_SERVICE, transport.MASTER_METHODS),
                                 (transport.WORKER_SERVICE, transport.WORKER_METHODS)):
            for rpc, *_ in methods:
                path = f"/{service}/{rpc}"
                try:
                    channel.unary_unary(path)(b"", timeout=5)
                    outcomes.append((path, grpc.StatusCode.OK))
                except grpc.RpcError as e:
                    outcomes.append((path, e.code()))
            path = f"/{service}/{grpc_link.LINK}"
            try:
                list(channel.stream_stream(path)(iter([b""]), timeout=5))
                outcomes.append((path, grpc.StatusCode.OK))
            except grpc.RpcError as e:
                outcomes.append((path, e.code()))
        for path, streams in ((f"/{transport.WORKER_SERVICE}/{transport.STREAM_METHOD}", True),
                              ("/grpc.health.v1.Health/Check", False)):
            try:
                if streams:
                    list(channel.unary_stream(path)(b"", timeout=5))
                else:
                    channel.unary_unary(path)(b"", timeout=5)
                outcomes.append((path, grpc.StatusCode.OK))
            except grpc.RpcError as e:
                outcomes.append((path, e.code()))
    finally:
        channel.close()
    return outcomes


def test_a_client_without_the_token_is_refused_on_every_service(secured, settings):
    for job, i in (("ps", 0), ("worker", 0)):
        address = secured.spec[job][i]
        for without in (dataclasses.replace(settings, token=None), dataclasses.replace(settings, token="x" * 43)):
            outcomes = _all_calls(address, without)
            assert len(outcomes) == len(transport.MASTER_METHODS) + len(transport.WORKER_METHODS) + 4
            assert {code for _, code in outcomes} == {grpc.StatusCode.UNAUTHENTICATED}, outcomes
        # The control: with the token the same calls get past the check (empty requests, real answers).
        assert grpc.StatusCode.UNAUTHENTICATED not in {code for _, code in _all_calls(address, settings)}


def test_tfmini_clients_without_the_token_raise_unauthenticated_error(secured, settings):
    without = dataclasses.replace(settings, token=None)
    master = transport.MasterStub(secured.spec["worker"][0], settings=without)
    with pytest.raises(tf.errors.UnauthenticatedError, match="missing cluster token"):
        master.create_session(master_pb2.CreateSessionRequest())
    worker = transport.WorkerStub(secured.spec["ps"][0], "/job:ps/replica:0/task:0", settings=without)
    with pytest.raises(tf.errors.UnauthenticatedError):
        worker.get_status(worker_pb2.GetStatusRequest())
    with pytest.raises(tf.errors.UnauthenticatedError):  # a step's call, over the Link stream
        worker.run_graph(worker_pb2.RunGraphRequest(graph_handle="g"), timeout=5)


def test_the_token_never_appears_on_a_command_line(secured, settings):
    for proc in secured.procs.values():
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            assert settings.token.encode() not in f.read()


# -- TLS -----------------------------------------------------------------------------------------------------
def test_a_foreign_ca_or_plaintext_fails_the_handshake_naming_the_task(secured, settings, tmp_path):
    other = security.Settings.from_env(security.generate(str(tmp_path)))
    address = secured.spec["worker"][0]
    for client in (dataclasses.replace(settings, ca=other.ca),          # the server's cert is not the CA's
                   dataclasses.replace(settings, cert=other.cert, key=other.key),  # ours is not theirs
                   dataclasses.replace(settings, cert=None, key=None),  # mutual TLS: no client cert
                   security.Settings(token=settings.token)):            # plaintext to a TLS port
        master = transport.MasterStub(address, settings=client)
        start = time.monotonic()
        with pytest.raises(tf.errors.UnavailableError, match=f"master at {re.escape(address)}"):
            master.create_session(master_pb2.CreateSessionRequest())
        assert time.monotonic() - start < 5


def test_a_grpcs_target_with_no_ca_of_ours_checks_the_system_roots(secured, monkeypatch):
    for key in security.ENV_NAMES:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(tf.errors.UnavailableError, match="unreachable"):
        with tf.Session(f"grpcs://{secured.spec['worker'][0]}") as sess:
            sess.run(tf.constant(1.0))


# -- the seed, through both ----------------------------------------------------------------------------------
def test_the_seed_trains_with_tls_and_token_configured_by_the_environment_only(secured, material):
    out = subprocess.run([sys.executable, SEED, secured.target("worker", 0), _seed_cluster_arg(secured)],
                         capture_output=True, text=True, timeout=120, env={**os.environ, **material})
    _seed_numbers(out)


def test_a_grpcs_target_and_large_fetches_pulled_from_the_ps(secured, client_env):
    n = 2 << 20  # float32: 8 MB, pulled from the ps by RecvTensorStream over TLS with the token
    with tf.device("/job:ps/task:0"):
        big = tf.range(n, dtype=tf.float32)
    with tf.Session(f"grpcs://{secured.spec['worker'][0]}") as sess:
        transport.RPC_COUNTS.clear()
        got = sess.run(big)
    assert transport.RPC_COUNTS[transport.STREAM_METHOD] == 1
    assert got.shape == (n,) and got[-1] == n - 1


# -- admin calls ---------------------------------------------------------------------------------------------
def test_reset_and_cleanup_all_without_the_token_are_refused_and_change_nothing(secured, settings, client_env):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(42.0, name="kept")
    with tf.Session(secured.target()) as sess:
        sess.run(v.initializer)
    without = dataclasses.replace(settings, token=None)
    with pytest.raises(tf.errors.UnauthenticatedError):
        transport.MasterStub(secured.spec["worker"][0], settings=without).reset(master_pb2.ResetRequest())
    for job, i in (("ps", 0), ("worker", 1)):
        stub = transport.WorkerStub(secured.spec[job][i], f"/job:{job}/replica:0/task:{i}", settings=without)
        with pytest.raises(tf.errors.UnauthenticatedError):
            stub.cleanup_all(worker_pb2.CleanupAllRequest())
    with tf.Session(secured.target()) as sess:
        assert sess.run(v) == 42.0  # still there: nothing was reset or cleaned up


# -- pulls only from the master's own cluster ----------------------------------------------------------------
class _Listener:
    """A TCP port that counts the connections made to it (and answers none of them)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


class _LyingMaster:
    """A master whose RunStep says a large fetch waits at `pull_address`, with a cluster of `cluster`."""

    def __init__(self, cluster, pull_task, pull_address):
        self.cluster, self.pull_task, self.pull_address = cluster, pull_task, pull_address

    def create_session(self, request, timeout=None):
        return master_pb2.CreateSessionResponse(session_handle="s", graph_version=1,
                                                tfmini_task_address=self.cluster)

    def run_step(self, request, timeout=None):
        response = master_pb2.RunStepResponse()
        response.tensor.add(name=request.fetch[0])
        response.tfmini_pull.add(index=0, task=self.pull_task, address=self.pull_address, step_id=1,
                                 rendezvous_key="k")
        return response

    def close_session(self, request, timeout=None):
        return master_pb2.CloseSessionResponse()

    def __getattr__(self, name):  # the other MasterService methods
        def unimplemented(request, timeout=None):
            raise tf.errors.UnimplementedError(None, None, f"{name} is not served here")
        return unimplemented


def _serve_master(master):
    pool = grpc_link.make_pool()
    server, port = transport.make_server("127.0.0.1:0", [transport.master_handler(master, pool)],
                                         settings=security.Settings(insecure=True))
    server.start()
    return server, pool, f"127.0.0.1:{port}"


@pytest.mark.parametrize("declared", [False, True])
def test_a_pull_pointing_outside_the_masters_cluster_is_refused(declared, monkeypatch):
    for key in security.ENV_NAMES:
        monkeypatch.delenv(key, raising=False)
    elsewhere = _Listener()
    task = "/job:ps/replica:0/task:0"
    cluster = {task: elsewhere.address} if declared else {task: "127.0.0.1:1"}
    server, pool, address = _serve_master(_LyingMaster(cluster, task, elsewhere.address))
    try:
        with tf.Session(f"grpc://{address}") as sess:
            if declared:  # the control: an address of the cluster is pulled from (and is unreachable here)
                with pytest.raises(tf.errors.UnavailableError, match=re.escape(elsewhere.address)):
                    sess.run(tf.constant(1.0, name="big"))
                assert elsewhere.connections >= 1
            else:
                with pytest.raises(tf.errors.PermissionDeniedError,
                                   match=f"Refusing to pull .*{re.escape(elsewhere.address)}.*not an address of "
                                         f"the cluster of the master at {re.escape(address)}"):
                    sess.run(tf.constant(1.0, name="big"))
                time.sleep(0.3)
                assert elsewhere.connections == 0  # not even a connection: the token went nowhere
    finally:
        server.stop(0)
        pool.shutdown(wait=False)
        elsewhere.close()


# -- the warning, and --insecure -----------------------------------------------------------------------------
def test_a_server_with_neither_tls_nor_token_warns_at_start_and_insecure_does_not(caplog, settings):
    def started(security_settings):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tfmini.server"):
            server = Server({"w": ["127.0.0.1:0"]}, security=security_settings)
            server.stop(0)
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    open_warnings = started(security.Settings())
    assert any("WITHOUT TLS OR A CLUSTER TOKEN" in m and "anyone who can reach this port" in m
               for m in open_warnings), open_warnings
    assert not started(security.Settings(insecure=True))
    assert not started(settings)  # TLS (mutual) and a token: nothing to warn about
    assert any("clear text" in m for m in started(dataclasses.replace(settings, cert=None, key=None, ca=None)))


def test_insecure_with_tls_material_is_a_usage_error(material):
    from click.testing import CliRunner
    from tfmini.server.cli import main
    result = CliRunner().invoke(main, ["--port", "0", "--insecure"], env=material)
    assert result.exit_code == 2 and "--insecure cannot go with TLS material" in result.output


def test_a_short_token_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        security.Settings(token="short")
    assert security.Settings.from_env({security.ENV_TOKEN: "t" * 20}).token == "t" * 20


def test_a_stock_tensorflow_client_works_against_an_insecure_server(tmp_path, tf_python):
    c = ProcessCluster(str(tmp_path), num_ps=1, num_workers=1, extra_args=["--insecure"])
    try:
        out = subprocess.run([tf_python, "-c", TF_CLIENT, c.target()], capture_output=True, text=True,
                             timeout=240)
        assert out.returncode == 0, out.stderr[-3000:]
        forward, grad, after_apply, final = json.loads(out.stdout.strip().splitlines()[-1])
        assert (round(grad, 6), round(after_apply, 6), round(final, 9)) == (1.6, 0.76, 0.004499601)
    finally:
        c.stop()
    for name in os.listdir(tmp_path):
        with open(tmp_path / name) as f:
            assert "WITHOUT TLS" not in f.read()


# -- tfmini-server local -------------------------------------------------------------------------------------
def _consecutive_free_ports(n):
    for _ in range(50):
        base, = free_ports(1)
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.skip("no run of free ports")


def test_tfmini_server_local_starts_secured_and_the_seed_trains_through_it(tmp_path):
    base = _consecutive_free_ports(3)
    log = open(tmp_path / "local.log", "w")
    local = subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "local", "--base-port", str(base),
                              "--log-level", "warning"], stdout=subprocess.PIPE, stderr=log, text=True,
                             env=security.task_env(None))
    folder = None
    try:
        lines = []
        for line in local.stdout:
            lines.append(line)
            if "client environment" in line:
                break
        exports = dict(item.split("=", 1) for item in lines[-1].split("export ", 1)[1].split())
        assert set(exports) == {security.ENV_CA, security.ENV_CERT, security.ENV_KEY, security.ENV_TOKEN_FILE}
        spec = json.loads(lines[0].split(": ", 1)[1])
        target = f"grpc://{spec['worker'][0]}"
        deadline = time.monotonic() + 60
        client = {**security.task_env(None), **exports}
        while True:  # the tasks are still starting
            out = subprocess.run([sys.executable, SEED, target, json.dumps(spec)], capture_output=True, text=True,
                                 timeout=120, env=client)
            if out.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        _seed_numbers(out)
        plain = transport.MasterStub(spec["worker"][0], settings=security.Settings())
        with pytest.raises(tf.errors.UnavailableError):  # no TLS, no token: not even a handshake
            plain.list_devices(master_pb2.ListDevicesRequest())
        folder = os.path.dirname(exports[security.ENV_CA])
        assert os.stat(exports[security.ENV_TOKEN_FILE]).st_mode & 0o077 == 0
    finally:
        local.send_signal(signal.SIGTERM)
        local.wait(20)
    assert folder and not os.path.exists(folder)  # the throwaway material goes with the cluster


def test_the_server_name_override_is_the_name_checked(tmp_path):
    material = security.Settings.from_env(security.generate(str(tmp_path), hosts=["tfmini-cluster"]))
    server = Server({"w": ["127.0.0.1:0"]}, security=material)
    try:
        for name, ok in (("tfmini-cluster", True), ("not-in-the-cert", False), (None, True)):
            client = dataclasses.replace(material, server_name=name)
            stub = transport.WorkerStub(server.address, "/job:w/replica:0/task:0", settings=client)
            if ok:
                assert stub.get_status(worker_pb2.GetStatusRequest()).device_attributes
            else:
                with pytest.raises(tf.errors.UnavailableError, match=re.escape(server.address)):
                    stub.get_status(worker_pb2.GetStatusRequest())
    finally:
        server.stop(0)
