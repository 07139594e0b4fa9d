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
import shutil
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


class _Bytes(click.ParamType):
    """A byte count: 1048576, 512M, 2G (K, M, G, T: powers of 1024)."""
    name = "bytes"
    _UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

    def convert(self, value, param, ctx):
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in self._UNITS else ""
        try:
            n = int(float(text[:len(text) - len(unit)]) * self._UNITS[unit])
        except ValueError:
            self.fail(f"{value!r} is not a byte count (e.g. 1073741824, 512M, 2G)", param, ctx)
        if n <= 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        return n


BYTES = _Bytes()


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
@click.option("--exit-after-chief", is_flag=True,
              help="Exit when the chief's MonitoredTrainingSession finishes training (for ps tasks).")
@click.option("--max-tensor-bytes", type=BYTES, help="Most bytes one TensorProto may declare (default 2G).")
@click.option("--max-alloc-bytes", type=BYTES, help="Most bytes one kernel may allocate (default: half of RAM).")
@click.option("--max-memory-bytes", type=BYTES,
              help="Most resident memory of the process; a step that passes it fails (default: no limit).")
@click.option("--max-pushed-bytes", type=BYTES,
              help="Most bytes of tensors peers pushed that this task's steps have not taken yet (default 1G).")
@click.option("--max-streams-per-peer", type=click.IntRange(1), help="Link streams per peer connection (16).")
@click.option("--max-calls-per-stream", type=click.IntRange(1), help="Calls running per Link stream (64).")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False),
              help="The only directory Saver ops on this task may read and write (default: refuse them).")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate (default: $TFMINI_TLS_CERT).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="Its PEM private key (default: $TFMINI_TLS_KEY).")
@click.option("--tls-ca", type=click.Path(dir_okay=False),
              help="PEM CA that peers' and clients' certificates must chain to: mutual TLS (default: $TFMINI_TLS_CA).")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="File holding the cluster token every call must carry (default: $TFMINI_CLUSTER_TOKEN_FILE, "
                   "else $TFMINI_CLUSTER_TOKEN).")
@click.option("--insecure", is_flag=True, help="Serve without TLS or token on purpose (TensorFlow's own clients).")
@click.option("--intra-op-threads", type=click.IntRange(0), default=0, show_default=True,
              help="Threads one op may use (BLAS pools; ConfigProto.intra_op_parallelism_threads). 0: this task's "
                   "share of the host's cores (see --host-tasks).")
@click.option("--host-tasks", type=click.IntRange(1),
              help="Tasks sharing this machine, for the default --intra-op-threads (default: the cluster's tasks "
                   "on this host).")
@click.pass_context
def main(ctx, cluster, job_name, task_index, host, port, operation_timeout_ms, log_level, log_format,
         metrics_port, exit_after_chief=False, max_tensor_bytes=None, max_alloc_bytes=None,
         max_streams_per_peer=None, max_memory_bytes=None, max_calls_per_stream=None, checkpoint_dir=None,
         tls_cert=None, tls_key=None, tls_ca=None,
         token_file=None, insecure=False, intra_op_threads=0, host_tasks=None, max_pushed_bytes=None):
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
    from tfmini.server.security import Settings
    from tfmini.server.server import ClusterSpec, Server
    try:
        spec = ClusterSpec(spec)
        if port is not None:  # bind elsewhere than the cluster says (e.g. behind a proxy)
            address = spec.task_address(job_name, task_index)
            spec._spec[job_name][task_index] = f"{address.rpartition(':')[0]}:{port}"
        if not intra_op_threads and host_tasks:  # else Server divides by the cluster's tasks on this host
            from tfmini.server.threads import divided_cores
            intra_op_threads = divided_cores(host_tasks)
        config = config_pb2.ConfigProto(operation_timeout_in_ms=operation_timeout_ms,
                                        intra_op_parallelism_threads=intra_op_threads)
        security = Settings.from_env(None, tls_cert, tls_key, tls_ca, token_file, insecure)  # docs/security.md
        server = Server(spec, job_name, task_index, config=config, start=False, host=host, security=security,
                        metrics_port=metrics_port or None, exit_after_chief=exit_after_chief,
                        limits={"max_tensor_bytes": max_tensor_bytes, "max_alloc_bytes": max_alloc_bytes,
                                "max_streams_per_peer": max_streams_per_peer, "max_memory_bytes": max_memory_bytes,
                                "max_calls_per_stream": max_calls_per_stream, "max_pushed_bytes": max_pushed_bytes},
                        checkpoint_dir=checkpoint_dir)
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
    while not stop.wait(0.5) and not server._stopped.is_set():  # a signal, or --exit-after-chief
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
    from tfmini.server import security
    try:
        settings = security.Settings.from_env()  # the task's own TLS material and token (docs/security.md)
    except ValueError as e:
        raise click.UsageError(str(e))
    with security.channel(address, settings) as channel:
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
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write to.")
@click.option("--host", "hosts", multiple=True,
              help="A name the tasks are reached by, besides localhost (repeat; wildcards: *.ps.svc.local).")
@click.option("--days", type=click.IntRange(1), default=365, show_default=True, help="Validity.")
@click.option("--keep", is_flag=True, help="Leave complete material already in the folder as it is.")
def certs(out_dir, hosts, days, keep):
    """Writes a throwaway CA, one certificate for every task and client, and a cluster token (docs/security.md)."""
    from tfmini.server import security
    click.echo(f"export {security.exports(security.generate(out_dir, hosts, days, keep))}")


@main.command()
@click.option("--ps", "num_ps", type=int, default=1, show_default=True)
@click.option("--workers", "num_workers", type=int, default=2, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--base-port", type=int, default=2222, show_default=True)
@click.option("--log-level", default="info", show_default=True)
@click.option("--log-format", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.option("--metrics-port", type=int, default=0, show_default=True,
              help="First metrics port: task k of the cluster (ps first) serves on PORT+k (0: off).")
@click.option("--insecure", is_flag=True, help="No TLS and no token (for TensorFlow's own clients).")
@click.option("--tls-dir", type=click.Path(file_okay=False),
              help="Generate (or reuse) the CA, certificate and token here (default: a temporary folder).")
@click.option("--exit-after-chief", is_flag=True,
              help="The ps tasks exit when the chief's MonitoredTrainingSession is done, and so does the cluster.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False),
              help="Every task's --checkpoint-dir (where Saver ops may write; default: refuse them).")
@click.option("--intra-op-threads", type=click.IntRange(0), default=0, show_default=True,
              help="Each task's intra-op (BLAS) threads (0: the machine's cores divided among the tasks).")
def local(num_ps, num_workers, host, base_port, log_level, log_format, metrics_port, insecure=False, tls_dir=None,
          exit_after_chief=False, checkpoint_dir=None, intra_op_threads=0):
    """Starts a whole cluster on this machine, one process per task, until SIGTERM/SIGINT. It uses TLS and a
    cluster token, generated for it, unless --insecure (docs/security.md)."""
    _setup_logging(log_level, log_format)
    from tfmini.server import security
    material, throwaway = security.local_material(tls_dir, [host]) if not insecure else (None, None)
    env = security.task_env(material)
    ports = iter(range(base_port, base_port + num_ps + num_workers))
    spec = {"ps": [f"{host}:{next(ports)}" for _ in range(num_ps)],
            "worker": [f"{host}:{next(ports)}" for _ in range(num_workers)]}
    spec = {job: tasks for job, tasks in spec.items() if tasks}
    cluster_json = json.dumps(spec)
    from tfmini.server.threads import divided_cores
    task_threads = intra_op_threads or divided_cores(num_ps + num_workers)  # the tasks share this machine's cores
    procs, lines = [], []
    for job, tasks in spec.items():
        for i in range(len(tasks)):
            task_metrics = metrics_port + len(procs) if metrics_port else 0
            procs.append(subprocess.Popen([sys.executable, "-m", "tfmini.server.cli", "--cluster", cluster_json,
                                           "--job", job, "--task", str(i), "--host", host,
                                           "--log-level", log_level, "--log-format", log_format,
                                           "--metrics-port", str(task_metrics), *(["--insecure"] if insecure else []),
                                           "--intra-op-threads", str(task_threads),
                                           *(["--exit-after-chief"] if exit_after_chief and job == "ps" else []),
                                           *(["--checkpoint-dir", checkpoint_dir] if checkpoint_dir else [])],
                                          env=env))
            metrics = f"metrics http://{host}:{task_metrics}/metrics" if task_metrics else "metrics off"
            lines.append(f"  /job:{job}/replica:0/task:{i}  listening on {tasks[i]}  {metrics}  "
                         f"{task_threads} intra-op thread{'s' if task_threads > 1 else ''}")
    print(f"tfmini local cluster: {cluster_json}", flush=True)
    print("\n".join(lines), flush=True)
    print(f"  connect with tf.Session('grpc://{spec['worker'][0] if 'worker' in spec else spec['ps'][0]}')",
          flush=True)
    if material:
        print(f"  client environment (TLS + cluster token): export {security.exports(material)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    chief_done = False
    while not stop.wait(0.5):
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            chief_done = exit_after_chief and all(p.returncode == 0 and p in procs[:num_ps] for p in dead)
            if chief_done:
                log.info("the chief finished training; stopping the cluster")
            else:
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
    if throwaway:
        shutil.rmtree(throwaway, ignore_errors=True)
    sys.exit(0 if stop.is_set() or chief_done else 1)


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
