"""tfmini-server: run one task of a cluster, or `tfmini-server local` for a whole cluster on this machine.

    tfmini-server --cluster '{"ps": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}' --job ps --task 0
    tfmini-server --cluster ps=127.0.0.1:2222 --cluster worker=127.0.0.1:2223,127.0.0.1:2224 --job worker --task 1
    TF_CONFIG='{"cluster": {...}, "task": {"type": "worker", "index": 0}}' tfmini-server
    tfmini-server local --ps 1 --workers 2
    tfmini-server health --address worker0:2222       (exit 0 when the task is serving)
    tfmini-server k8s [--print-config]                (a StatefulSet pod: TF_CONFIG from HOSTNAME, see server/k8s.py)
"""
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import click

from tfmini.protos import config_pb2

log = logging.getLogger("tfmini.server")


def parse_cluster(values):
    """--cluster values -> {job: [addresses]}: one JSON text, one JSON file, or several job=a,b."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        text = values[0]
        if not text.lstrip().startswith("{"):
            try:
                with open(text) as f:
                    text = f.read()
            except OSError as e:
                raise click.BadParameter(f"{values[0]!r} is neither JSON, a file, nor job=host:port,...: {e}")
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise click.BadParameter(f"cluster JSON: {e}")
        return spec.get("cluster", spec) if isinstance(spec, dict) else spec
    spec = {}
    for value in values:
        job, sep, addresses = value.partition("=")
        if not sep or not job or not addresses:
            raise click.BadParameter(f"{value!r} is not job=host:port[,host:port...]")
        spec.setdefault(job.strip(), []).extend(a.strip() for a in addresses.split(",") if a.strip())
    return spec


def _setup_logging(level, log_format="text"):
    """Logs to stderr with task/session/step fields (server/logs.py); returns the filter, to set the task."""
    from tfmini.server import logs
    return logs.setup(level, log_format).filters[0]


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--cluster", multiple=True, help="JSON text, a JSON file, or job=host:port,host:port (repeat).")
@click.option("--job", "job_name", help="This task's job (default: TF_CONFIG's task.type, or the only job).")
@click.option("--task", "task_index", type=int, help="This task's index in its job (default: TF_CONFIG or 0).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, help="Port to bind (default: the task's port in the cluster).")
@click.option("--operation-timeout-ms", type=int, default=0, help="Deadline of a step's RPCs (0: default).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False))
@click.option("--log-format", default="text", show_default=True, type=click.Choice(["text", "json"]),
              help="text lines, or one JSON object per line.")
@click.option("--metrics-port", type=int, default=0, show_default=True,
              help="Serve Prometheus metrics at http://HOST:PORT/metrics (0: off).")
@click.pass_context
def main(ctx, cluster, job_name, task_index, host, port, operation_timeout_ms, log_level, log_format,
         metrics_port):
    """Runs one tfmini task (a master and a worker) until SIGTERM/SIGINT."""
    if ctx.invoked_subcommand is not None:
        return
    log_fields = _setup_logging(log_level, log_format)
    spec = parse_cluster(cluster)
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {}) if isinstance(tf_config, dict) else {}
    if spec is None:
        spec = tf_config.get("cluster") if isinstance(tf_config, dict) else None
    job_name = job_name or task.get("type")
    task_index = task_index if task_index is not None else task.get("index")
    if spec is None:
        if port is None:
            raise click.UsageError("Give --cluster (or TF_CONFIG), or at least --port for a one-task cluster")
        spec = {job_name or "localhost": [f"localhost:{port}"]}
    if job_name is None and len(spec) == 1:
        job_name = next(iter(spec))
    if job_name is None:
        raise click.UsageError(f"Give --job: the cluster has jobs {sorted(spec)}")
    task_index = int(task_index or 0)
    from tfmini.server.server import ClusterSpec, Server
    try:
        spec = ClusterSpec(spec)
        if port is not None:  # bind elsewhere than the cluster says (e.g. behind a proxy)
            address = spec.task_address(job_name, task_index)
            spec._spec[job_name][task_index] = f"{address.rpartition(':')[0]}:{port}"
        config = config_pb2.ConfigProto(operation_timeout_in_ms=operation_timeout_ms)
        # TLS and a cluster token (issue 16) will be given to the Server here.
        server = Server(spec, job_name, task_index, config=config, start=False, host=host,
                        metrics_port=metrics_port or None)
    except (ValueError, TypeError) as e:
        raise click.UsageError(str(e))
    log_fields.task = server.task_name
    _run_until_signal(server)


def _run_until_signal(server):
    stop = threading.Event()

    def on_signal(signum, frame):
        log.info("received %s", signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    metrics = f", metrics at http://{server.address.rpartition(':')[0]}:{server.metrics_port}/metrics" \
        if server.metrics_port else ""
    print(f"tfmini-server {server.task_name} listening on {server.target}{metrics}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    log.info("task %s stopped", server.task_name)
    sys.exit(0)


@main.command()
@click.option("--address", default="localhost:2222", show_default=True, help="host:port of the task to probe.")
@click.option("--service", default="", help="Service to ask about (default: the whole server).")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait for the answer.")
def health(address, service, timeout):
    """Probes a task's standard gRPC health service: exit 0 if it is SERVING, else 1."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as e:
            click.echo(f"{address}: {e.code().name}: {e.details()}", err=True)
            sys.exit(1)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    click.echo(f"{address}: {status}")
    sys.exit(0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1)


@main.command()
@click.option("--ps", "num_ps", type=int, default=1, show_default=True)
@click.option("--workers", "num_workers", type=int, default=2, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--base-port", type=int, default=2222, show_default=True)
@click.option("--log-level", default="info", show_default=True)
@click.option("--log-format", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.option("--metrics-port", type=int, default=0, show_default=True,
              help="First metrics port: task k of the cluster (ps first) serves on PORT+k (0: off).")
def local(num_ps, num_workers, host, base_port, log_level, log_format, metrics_port):
    """Starts a whole cluster on this machine, one process per task, until SIGTERM/SIGINT."""
    _setup_logging(log_level, log_format)
    ports = iter(range(base_port, base_port + num_ps + num_workers))
    spec = {"ps": [f"{host}:{next(ports)}" for _ in range(num_ps)],
            "worker": [f"{host}:{next(ports)}" for _ in range(num_workers)]}
    spec = {job: tasks for job, tasks in spec.items() if tasks}
    cluster_json = json.dumps(spec)
    procs, lines = [], []
    for job, tasks in spec.items():
        for i in range(len(tasks)):
            task_metrics = metrics_port + len(procs) if metrics_port else 0
            procs.append(subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "--cluster", cluster_json,
                                           "--job", job, "--task", str(i), "--host", host,
                                           "--log-level", log_level, "--log-format", log_format,
                                           "--metrics-port", str(task_metrics)]))
            metrics = f"metrics http://{host}:{task_metrics}/metrics" if task_metrics else "metrics off"
            lines.append(f"  /job:{job}/replica:0/task:{i}  listening on {tasks[i]}  {metrics}")
    print(f"tfmini local cluster: {cluster_json}", flush=True)
    print("\n".join(lines), flush=True)
    print(f"  connect with tf.Session('grpc://{spec['worker'][0] if 'worker' in spec else spec['ps'][0]}')",
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.5):
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            log.error("a task exited with status %s; stopping the cluster", dead[0].returncode)
            break
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
    sys.exit(0 if stop.is_set() else 1)


@main.command()
@click.option("--print-config", is_flag=True, help="Print the derived TF_CONFIG and exit.")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def k8s(ctx, print_config, log_level):
    """Runs this StatefulSet pod's task: TF_CONFIG from its hostname and TFMINI_* replicas (server/k8s.py)."""
    from tfmini.server.k8s import tf_config_from_env
    try:
        tf_config = tf_config_from_env(os.environ)
    except ValueError as e:
        raise click.UsageError(str(e))
    if print_config:
        click.echo(json.dumps(tf_config))
        return
    os.environ["TF_CONFIG"] = json.dumps(tf_config)
    ctx.invoke(main, cluster=(), job_name=None, task_index=None, host="0.0.0.0", port=None,
               operation_timeout_ms=0, log_level=log_level)


if __name__ == "__main__":
    main()
