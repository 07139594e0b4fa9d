"""deploy/k8s: the manifests (as `kubectl kustomize` renders them, where kubectl is installed) validate against
Kubernetes' schemas; they, the image's entrypoint and `tfmini-server k8s` (TF_CONFIG from the pod's hostname)
agree; one edit of kustomization.yaml scales a job everywhere; and three pods run as local processes through
the entrypoint, with the env their StatefulSets give them, train the seed."""
import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import kubernetes_validate
import numpy as np
import pytest
import yaml

import tfmini as tf
from test_distributed import free_ports, wait_serving
from tfmini.server.k8s import task_from_hostname, tf_config_from_env

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl (with its built-in kustomize) not installed")


def _listed_resources(folder=K8S):
    """The documents of the files kustomization.yaml lists, as written (no kustomize transformations)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((folder / name).read_text()) if d]
    return kustomization, docs


def _rendered(folder=K8S):
    """What `kubectl apply -k folder` would apply: kustomize's output."""
    out = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _manifests(folder=K8S):
    """The rendered manifests where kubectl can render them, else the listed files as they are."""
    return _rendered(folder) if KUBECTL else _listed_resources(folder)[1]


def _by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod_env(statefulset, ordinal, namespace="ns1"):
    """The env the kubelet gives pod <name>-<ordinal>: literal values, the namespace, $(VAR) expanded."""
    env = {"HOSTNAME": f"{statefulset['metadata']['name']}-{ordinal}"}
    for var in statefulset["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "valueFrom" in var:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[var["name"]] = namespace
        else:
            value = var["value"]
            assert isinstance(value, str), var  # the API server refuses a number here
            for k, v in env.items():
                value = value.replace(f"$({k})", v)
            env[var["name"]] = value
    return env


def test_listed_files_exist_and_validate_against_the_kubernetes_schemas():
    kustomization, docs = _listed_resources()
    assert {d["kind"] for d in docs} == {"Service", "StatefulSet", "Job"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    for generator in kustomization["configMapGenerator"]:
        for name in generator["files"]:
            assert (K8S / name.split("=")[-1]).exists()
    assert (K8S / "cluster_seed.py").read_text() == (ROOT / "examples" / "cluster_seed.py").read_text()
    # The replicas entries and replacements name resources that exist.
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("StatefulSet", r["name"]) for r in kustomization["replicas"]} <= names
    for r in kustomization["replacements"]:
        assert (r["source"]["kind"], r["source"]["name"]) in names


@needs_kubectl
def test_rendered_manifests_validate_against_the_kubernetes_schemas():
    docs = _rendered()
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "Job", "Service", "Service", "StatefulSet",
                                               "StatefulSet"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    config_map = _by_kind(docs, "ConfigMap")
    (name, cm), = config_map.items()
    assert cm["data"]["cluster_seed.py"] == (K8S / "cluster_seed.py").read_text()
    job = _by_kind(docs, "Job")["tfmini-client"]["spec"]["template"]["spec"]
    assert job["volumes"][0]["configMap"]["name"] == name  # kustomize's hashed name, in the Job too


def test_hostname_parsing():
    assert task_from_hostname("worker-3") == ("worker", 3)
    assert task_from_hostname("ps-0.ps.ns.svc.cluster.local") == ("ps", 0)
    with pytest.raises(ValueError):
        task_from_hostname("worker")


def _check_consistent(docs, want_replicas):
    statefulsets, services = _by_kind(docs, "StatefulSet"), _by_kind(docs, "Service")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tfmini-server"]' in dockerfile and "EXPOSE 2222" in dockerfile
    assert {name: s["spec"]["replicas"] for name, s in statefulsets.items()} == want_replicas
    expected = {job: [f"{job}-{i}.{job}.ns1.svc.cluster.local:{services[job]['spec']['ports'][0]['port']}"
                      for i in range(n)] for job, n in want_replicas.items()}
    for job, sts in statefulsets.items():
        assert sts["spec"]["serviceName"] == job and services[job]["spec"]["clusterIP"] == "None"
        assert services[job]["spec"]["selector"] == sts["spec"]["template"]["metadata"]["labels"]
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["tfmini-server"] and container["args"] == ["k8s"]
        port = container["ports"][0]["containerPort"]
        assert services[job]["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
        for probe in ("readinessProbe", "livenessProbe"):  # the health CLI: it presents TLS and the token
            assert container[probe]["exec"]["command"] == ["tfmini-server", "health", "--address", f"localhost:{port}"]
        env = {var["name"]: var.get("value") for var in container["env"]}
        tls_vars = ("TFMINI_TLS_CERT", "TFMINI_TLS_KEY", "TFMINI_TLS_CA", "TFMINI_CLUSTER_TOKEN_FILE")
        assert {env[k] for k in tls_vars} == \
            {f"/etc/tfmini/tls/{f}" for f in ("tls.crt", "tls.key", "ca.crt", "token")}  # the tfmini-tls Secret
        assert container["volumeMounts"] == [{"name": "tfmini-tls", "mountPath": "/etc/tfmini/tls", "readOnly": True}]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        for ordinal in range(sts["spec"]["replicas"]):
            config = tf_config_from_env(_pod_env(sts, ordinal))
            assert config == {"cluster": expected, "task": {"type": job, "index": ordinal}}
            assert config["cluster"][job][ordinal].endswith(f":{port}")
        # A pod beyond the replicas every pod was told of is refused, not silently mis-addressed.
        with pytest.raises(ValueError):
            tf_config_from_env(_pod_env(sts, sts["spec"]["replicas"]))


def test_manifests_entrypoint_and_tf_config_agree():
    _check_consistent(_manifests(), {"ps": 1, "worker": 2})


@needs_kubectl
@pytest.mark.parametrize("job,count", [("worker", 3), ("ps", 2)])
def test_one_edit_of_the_kustomization_scales_a_job_everywhere(tmp_path, job, count):
    folder = tmp_path / "k8s"
    shutil.copytree(K8S, folder)
    text = (folder / "kustomization.yaml").read_text()
    # The one edit: this job's count under `replicas:`.
    edited, n = re.subn(rf"(- name: {job}\n\s+count: )\d+", rf"\g<1>{count}", text)
    assert n == 1
    (folder / "kustomization.yaml").write_text(edited)
    docs = _rendered(folder)
    want = {"ps": 1, "worker": 2, job: count}
    _check_consistent(docs, want)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    # Under kustomize the list is the only source: an edit of the StatefulSet's own replicas changes nothing,
    # so no half-scaled cluster can be rendered.
    (folder / "kustomization.yaml").write_text(text)
    sts_file = folder / f"{job}.yaml"
    sts_text, n = re.subn(r"(\n  replicas: )\d+", rf"\g<1>{count + 5}", sts_file.read_text())
    assert n == 1
    sts_file.write_text(sts_text)
    _check_consistent(_rendered(folder), {"ps": 1, "worker": 2})


def test_the_cli_prints_the_same_config():
    env = _pod_env(_by_kind(_manifests(), "StatefulSet")["worker"], 1)
    out = subprocess.run([sys.executable, "-m", "tfmini.server.cli", "k8s", "--print-config"],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == tf_config_from_env(env)


def test_address_overrides_map_pod_names_and_are_checked():
    env = {"HOSTNAME": "worker-1", "TFMINI_PS_REPLICAS": "1", "TFMINI_WORKER_REPLICAS": "2",
           "TFMINI_SERVICE_DOMAIN": "ns1.svc.cluster.local", "TFMINI_PORT": "2222",
           "TFMINI_ADDRESS_OVERRIDES": json.dumps({"worker-1.worker.ns1.svc.cluster.local:2222": "127.0.0.1:9"})}
    assert tf_config_from_env(env)["cluster"] == {"ps": ["ps-0.ps.ns1.svc.cluster.local:2222"],
                                                  "worker": ["worker-0.worker.ns1.svc.cluster.local:2222",
                                                             "127.0.0.1:9"]}
    for bad in ("{", "[]", '{"a": 1}'):
        with pytest.raises(ValueError, match="TFMINI_ADDRESS_OVERRIDES"):
            tf_config_from_env({**env, "TFMINI_ADDRESS_OVERRIDES": bad})


def test_three_pods_through_the_entrypoint_train_the_seed(tmp_path, monkeypatch):
    """ps-0, worker-0 and worker-1 as local processes running the image's command (`tfmini-server k8s`) with
    their StatefulSets' env. The pods' DNS names cannot resolve here, so TFMINI_ADDRESS_OVERRIDES maps each to
    a port of 127.0.0.1 (the override the entrypoint documents for running pods outside Kubernetes)."""
    docs = _manifests()
    statefulsets = _by_kind(docs, "StatefulSet")
    pods = [("ps", 0), ("worker", 0), ("worker", 1)]
    envs = {pod: _pod_env(statefulsets[pod[0]], pod[1]) for pod in pods}
    config = tf_config_from_env(envs["ps", 0])["cluster"]
    ports = free_ports(len(pods))
    local = {config[job][i]: f"127.0.0.1:{port}" for (job, i), port in zip(pods, ports)}
    assert len(local) == sum(len(a) for a in config.values())  # every task of the cluster is one of our pods
    # The tfmini-tls Secret the pods mount: made here, its paths in place of /etc/tfmini/tls; this process (the
    # client, its probes) presents it too.
    from tfmini.server import security
    tls = security.generate(str(tmp_path / "tls"))
    for key, value in tls.items():
        monkeypatch.setenv(key, value)
    procs, logs = [], {}
    try:
        for pod in pods:
            env = {**os.environ, **envs[pod], **tls, "TFMINI_ADDRESS_OVERRIDES": json.dumps(local)}
            logs[pod] = tmp_path / f"{pod[0]}-{pod[1]}.log"
            procs.append(subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "k8s"], env=env,
                                          stdout=open(logs[pod], "w"), stderr=subprocess.STDOUT))
        for address in local.values():
            wait_serving(address)
        # The pods' probes: the grpc.health.v1 service on the container port.
        health = subprocess.run([sys.executable, "-m", "tfmini.server.cli", "health", "--address",
                                 local[config["ps"][0]]], capture_output=True, text=True, timeout=60)
        assert health.returncode == 0 and "SERVING" in health.stdout, health.stderr
        # The client Job's command and arguments, with worker-0's address mapped the same way.
        job = _by_kind(docs, "Job")["tfmini-client"]["spec"]["template"]["spec"]["containers"][0]
        target, spec = job["args"]
        assert target == "grpc://worker-0.worker:2222"
        spec = json.loads(spec)
        assert spec == {"ps": ["ps-0.ps:2222"]}
        worker0 = local[config["worker"][0]]
        seed = subprocess.run([sys.executable, str(K8S / "cluster_seed.py"), f"grpc://{worker0}",
                               json.dumps({"ps": [local[config["ps"][0]]]})],
                              capture_output=True, text=True, timeout=180)
        assert seed.returncode == 0, seed.stderr[-3000:]
        printed = dict(line.split(" ", 1) for line in seed.stdout.splitlines())
        assert [float(printed[k]) for k in ("y", "grad", "w")] == pytest.approx([0.8, 1.6, 0.76], rel=1e-6)
        assert float(printed["y_after"]) == pytest.approx(0.0044996012, rel=1e-5)
        assert printed["devices"].startswith("/job:ps/task:0")
        # worker-1 is reached by worker-0's master through the cluster it derived from its env.
        with tf.Graph().as_default():
            with tf.device("/job:worker/task:1"):
                z = tf.constant([1.0, 2.0]) * 3.0
            with tf.Session(f"grpc://{worker0}") as sess:
                np.testing.assert_allclose(sess.run(z), [3.0, 6.0])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    for (job, i), log in logs.items():
        text = log.read_text()
        assert f"/job:{job}/replica:0/task:{i}" in text, text
