"""The compose topology: its file, the netns script that runs it here, and the Dockerfile agree,
and the topology really works on separate network-namespace hosts (root only)."""
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent.parent / "deploy"


def _netns_module():
    loader = importlib.machinery.SourceFileLoader("netns_cluster", str(DEPLOY / "netns-cluster"))
    spec = importlib.util.spec_from_loader("netns_cluster", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_compose_services_hosts_and_entrypoint_agree():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"tls", "ps0", "worker0", "worker1", "client"} <= set(services)
    assert services["client"]["profiles"] == ["client"]
    netns = _netns_module()
    configs = netns.compose_services()
    # the script reads the compose file, it does not repeat it (the tls service makes material, no task)
    assert list(configs) == [name for name, svc in services.items() if "TF_CONFIG" in svc.get("environment", {})]
    assert list(configs) == ["ps0", "worker0", "worker1", "client"]
    hosts = netns.hosts_file(configs)
    cluster = configs["ps0"]["cluster"]
    for name, cfg in configs.items():
        assert cfg["cluster"] == cluster, name
        assert f" {name}\n" in hosts
    for job, addresses in cluster.items():
        for index, address in enumerate(addresses):
            host, port = address.split(":")
            assert host in services and services[host]["environment"]["TF_CONFIG"]
            task = configs[host]["task"]
            assert (task["type"], task["index"]) == (job, index)
            assert any(str(p["target"]) == port for p in services[host]["ports"])
            assert services[host]["healthcheck"]["test"][1:4] == ["tfmini-server", "health", "--address"]
    # TLS + token by default (docs/security.md): every task and the client read them from the tls volume,
    # whose certificate names every host of the cluster.
    command = services["tls"]["command"]
    assert command[:3] == ["certs", "--out", "/tls"]
    assert {host.split(":")[0] for tasks in cluster.values() for host in tasks} <= \
        {command[i + 1] for i, arg in enumerate(command) if arg == "--host"}
    for name in configs:
        env = services[name]["environment"]
        assert {k: env.get(k) for k in ("TFMINI_TLS_CERT", "TFMINI_TLS_KEY", "TFMINI_TLS_CA",
                                        "TFMINI_CLUSTER_TOKEN_FILE")} == \
            {"TFMINI_TLS_CERT": "/tls/tls.crt", "TFMINI_TLS_KEY": "/tls/tls.key", "TFMINI_TLS_CA": "/tls/ca.crt",
             "TFMINI_CLUSTER_TOKEN_FILE": "/tls/token"}, name
        assert "tls:/tls:ro" in services[name]["volumes"], name
        assert "--insecure" not in json.dumps(services[name]), name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tfmini-server"]' in dockerfile
    assert "USER tfmini" in dockerfile and "EXPOSE 2222" in dockerfile


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_compose_file_validates():
    out = subprocess.run(["docker-compose", "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def _can_make_netns():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["ip", "netns", "add", "tfm-probe"], capture_output=True)
    subprocess.run(["ip", "netns", "del", "tfm-probe"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_make_netns(), reason="needs root and iproute2 to create network namespaces")
def test_netns_cluster_runs_the_seed_and_survives_a_link_down():
    out = subprocess.run([sys.executable, str(DEPLOY / "netns-cluster"), "--python", sys.executable],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr[-4000:]
    assert "ok: seed from the client namespace" in out.stdout
    assert "ok: tls + token: no token -> UnauthenticatedError" in out.stdout
    assert "ok: link down -> unavailable" in out.stdout
    assert "ok: link up" in out.stdout
    assert "tfm-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
