"""deploy/k8s: the manifests validate against Kubernetes' schemas, and they, the image's entrypoint and
`tfmini-server k8s` (TF_CONFIG from the pod's hostname) agree; the k8s entry really starts a serving task."""
import copy
import json
import os
import pathlib
import subprocess
import sys
import time

import kubernetes_validate
import pytest
import yaml

from test_distributed import free_ports, wait_serving
from tfmini.server.k8s import task_from_hostname, tf_config_from_env

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"


def _resources():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return kustomization, docs


def _by_kind(kind):
    return {d["metadata"]["name"]: d for d in _resources()[1] if d["kind"] == kind}


def _pod_env(statefulset, ordinal, namespace="ns1"):
    """The env the kubelet gives pod <name>-<ordinal>: literal values, the namespace, $(VAR) expanded."""
    env = {"HOSTNAME": f"{statefulset['metadata']['name']}-{ordinal}"}
    for var in statefulset["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "valueFrom" in var:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[var["name"]] = namespace
        else:
            value = var["value"]
            for k, v in env.items():
                value = value.replace(f"$({k})", v)
            env[var["name"]] = value
    return env


def test_manifests_validate_against_the_kubernetes_schemas():
    kustomization, docs = _resources()
    assert {d["kind"] for d in docs} == {"Service", "StatefulSet", "Job"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    for generator in kustomization["configMapGenerator"]:
        for name in generator["files"]:
            assert (K8S / name).exists()
    assert (K8S / "cluster_seed.py").read_text() == (ROOT / "examples" / "cluster_seed.py").read_text()


def test_hostname_parsing():
    assert task_from_hostname("worker-3") == ("worker", 3)
    assert task_from_hostname("ps-0.ps.ns.svc.cluster.local") == ("ps", 0)
    with pytest.raises(ValueError):
        task_from_hostname("worker")


def _check_consistent(statefulsets, services):
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tfmini-server"]' in dockerfile and "EXPOSE 2222" in dockerfile
    replicas = {name: s["spec"]["replicas"] for name, s in statefulsets.items()}
    expected = {job: [f"{job}-{i}.{job}.ns1.svc.cluster.local:{services[job]['spec']['ports'][0]['port']}"
                      for i in range(n)] for job, n in replicas.items()}
    for job, sts in statefulsets.items():
        assert sts["spec"]["serviceName"] == job and services[job]["spec"]["clusterIP"] == "None"
        assert services[job]["spec"]["selector"] == sts["spec"]["template"]["metadata"]["labels"]
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["tfmini-server"] and container["args"] == ["k8s"]
        port = container["ports"][0]["containerPort"]
        assert services[job]["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
        assert container["resources"]["requests"] and container["resources"]["limits"]
        for ordinal in range(sts["spec"]["replicas"]):
            env = _pod_env(sts, ordinal)
            config = tf_config_from_env(env)
            assert config == {"cluster": expected, "task": {"type": job, "index": ordinal}}
            assert config["cluster"][job][ordinal].endswith(f":{port}")


def test_manifests_entrypoint_and_tf_config_agree():
    _check_consistent(_by_kind("StatefulSet"), _by_kind("Service"))


def test_scaling_workers_changes_the_spec_consistently():
    statefulsets = copy.deepcopy(_by_kind("StatefulSet"))
    for sts in statefulsets.values():
        for var in sts["spec"]["template"]["spec"]["containers"][0]["env"]:
            if var["name"] == "TFMINI_WORKER_REPLICAS":
                var["value"] = "3"
    statefulsets["worker"]["spec"]["replicas"] = 3
    _check_consistent(statefulsets, _by_kind("Service"))
    worker2 = tf_config_from_env(_pod_env(statefulsets["worker"], 2))
    assert len(worker2["cluster"]["worker"]) == 3
    # A replica count the env does not know of is refused, not silently mis-addressed.
    with pytest.raises(ValueError):
        tf_config_from_env(_pod_env(_by_kind("StatefulSet")["worker"], 2))


def test_the_cli_prints_the_same_config():
    env = _pod_env(_by_kind("StatefulSet")["worker"], 1)
    out = subprocess.run([sys.executable, "-m", "tfmini.server.cli", "k8s", "--print-config"],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == tf_config_from_env(env)


def test_the_k8s_entry_starts_a_serving_task(tmp_path):
    # One ps pod, faked: its own address need not resolve to bind 0.0.0.0:<port>. Peers' DNS names cannot be
    # mapped to 127.0.0.1 without root (/etc/hosts), so a multi-task run here is left to the netns/compose tests.
    port, = free_ports(1)
    env = {**os.environ, "HOSTNAME": "ps-0", "TFMINI_PS_REPLICAS": "1", "TFMINI_WORKER_REPLICAS": "0",
           "TFMINI_SERVICE_DOMAIN": "ns1.svc.cluster.local", "TFMINI_PORT": str(port)}
    log = open(tmp_path / "ps0.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "k8s"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_serving(f"127.0.0.1:{port}")
        health = subprocess.run([sys.executable, "-m", "tfmini.server.cli", "health", "--address",
                                 f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
        assert health.returncode == 0, health.stderr
        assert "SERVING" in health.stdout
    finally:
        proc.terminate()
        proc.wait(20)
    assert "ps-0.ps.ns1.svc.cluster.local" in (tmp_path / "ps0.log").read_text()
