"""TF_CONFIG from a Kubernetes StatefulSet pod: the hostname `worker-3` is job worker, task 3, and the
cluster is every pod of every job's StatefulSet, addressed through its headless Service:
`<job>-<i>.<job>.<TFMINI_SERVICE_DOMAIN>:<TFMINI_PORT>`. Replica counts come from TFMINI_PS_REPLICAS and
TFMINI_WORKER_REPLICAS (a job with 0 replicas is left out); deploy/k8s/kustomization.yaml fills both from the
StatefulSets' replicas, so a job is scaled in one place.

Outside Kubernetes (tests, one machine running every pod), where the pods' DNS names do not resolve,
TFMINI_ADDRESS_OVERRIDES maps them to reachable addresses: a JSON object {"<job>-<i>.<job>.<domain>:<port>":
"host:port"}; a pod binds the port of its own mapped address. Kubernetes never sets it."""
import json
import re

JOBS = ("ps", "worker")
DEFAULT_PORT = 2222
DEFAULT_DOMAIN = "default.svc.cluster.local"


def task_from_hostname(hostname):
    """`worker-3` (or `worker-3.worker.ns.svc...`) -> ("worker", 3); raises ValueError otherwise."""
    match = re.fullmatch(r"([a-z0-9]+(?:-[a-z0-9]+)*?)-(\d+)", hostname.split(".")[0])
    if not match:
        raise ValueError(f"hostname {hostname!r} is not a StatefulSet pod name <job>-<ordinal>")
    return match.group(1), int(match.group(2))


def tf_config_from_env(env):
    """The TF_CONFIG dict of this pod, from HOSTNAME and the TFMINI_* variables of `env`."""
    job, index = task_from_hostname(env.get("HOSTNAME", ""))
    domain = env.get("TFMINI_SERVICE_DOMAIN", DEFAULT_DOMAIN)
    port = int(env.get("TFMINI_PORT", DEFAULT_PORT))
    cluster = {}
    for name in JOBS:
        replicas = int(env.get(f"TFMINI_{name.upper()}_REPLICAS", 0))
        if replicas:
            cluster[name] = [f"{name}-{i}.{name}.{domain}:{port}" for i in range(replicas)]
    if job not in cluster or index >= len(cluster[job]):
        raise ValueError(f"pod {job}-{index} is not in the cluster {cluster}: "
                         f"check TFMINI_{job.upper()}_REPLICAS against the StatefulSet's replicas")
    overrides = address_overrides(env)
    cluster = {name: [overrides.get(a, a) for a in addresses] for name, addresses in cluster.items()}
    return {"cluster": cluster, "task": {"type": job, "index": index}}


def address_overrides(env):
    """TFMINI_ADDRESS_OVERRIDES as a dict (empty when unset); ValueError for anything but an object of strings."""
    text = env.get("TFMINI_ADDRESS_OVERRIDES", "")
    if not text:
        return {}
    try:
        overrides = json.loads(text)
    except ValueError as e:
        raise ValueError(f"TFMINI_ADDRESS_OVERRIDES is not JSON: {e}") from None
    if not isinstance(overrides, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in overrides.items()):
        raise ValueError('TFMINI_ADDRESS_OVERRIDES must be a JSON object {"pod address": "host:port"}')
    return overrides
