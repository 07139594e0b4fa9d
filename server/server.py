"""tf.train.ClusterSpec and tf.train.Server: one process of a cluster, hosting a master and a worker.

The server's Cluster maps its own task to the local Worker object (called
directly) and every other task to a gRPC stub; the same stubs are the worker's
cache for RecvTensor pulls.
"""
import logging
import threading

from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tfmini.core import errors, memory_limits, process_memory
from tfmini.protos import cluster_pb2, config_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server import local, threads
from tfmini.server.security import Settings as SecuritySettings, warn_if_open
from tfmini.server.cluster import Cluster
from tfmini.server.master import Master
from tfmini.worker.checkpoint_access import CheckpointAccess
from tfmini.worker.worker import Worker

log = logging.getLogger("tfmini.server")


class ClusterSpec:
    """tf.train.ClusterSpec: job name -> task addresses (a list, or a dict task index -> address)."""

    def __init__(self, cluster):
        if isinstance(cluster, ClusterSpec):
            self._spec = {job: dict(tasks) for job, tasks in cluster._spec.items()}
        elif isinstance(cluster, cluster_pb2.ClusterDef):
            self._spec = {job.name: dict(job.tasks) for job in cluster.job}
        elif isinstance(cluster, dict):
            self._spec = {}
            for job, tasks in cluster.items():
                if isinstance(tasks, (list, tuple)):
                    tasks = dict(enumerate(tasks))
                elif not isinstance(tasks, dict):
                    raise TypeError(f"The tasks for job {job!r} must be a list or a dictionary from integers "
                                    f"to strings, not {type(tasks).__name__}")
                for i, address in tasks.items():
                    if not isinstance(i, int) or not isinstance(address, str):
                        raise TypeError(f"Job {job!r}: task {i!r} -> {address!r} must map an int to a string")
                self._spec[str(job)] = dict(tasks)
        else:
            raise TypeError("`cluster` must be a dictionary mapping one or more job names to lists of network "
                            f"addresses, or a `ClusterDef` protocol buffer, not {type(cluster).__name__}")

    def __bool__(self):
        return bool(self._spec)

    def __eq__(self, other):
        return isinstance(other, ClusterSpec) and self._spec == other._spec

    def __repr__(self):
        return f"ClusterSpec({self.as_dict()!r})"

    @property
    def jobs(self):
        return list(self._spec)

    def num_tasks(self, job_name):
        return len(self._tasks(job_name))

    def task_indices(self, job_name):
        return sorted(self._tasks(job_name))

    def task_address(self, job_name, task_index):
        tasks = self._tasks(job_name)
        if task_index not in tasks:
            raise ValueError(f"No task with index {task_index!r} in job {job_name!r}")
        return tasks[task_index]

    def job_tasks(self, job_name):
        """Addresses in task order, None for missing indices (as TF)."""
        tasks = self._tasks(job_name)
        return [tasks.get(i) for i in range(max(tasks) + 1)] if tasks else []

    def _tasks(self, job_name):
        if job_name not in self._spec:
            raise ValueError(f"No such job in cluster: {job_name!r}")
        return self._spec[job_name]

    def as_dict(self):
        """Jobs with tasks 0..n-1 as lists, sparse jobs as dicts (as TF)."""
        out = {}
        for job, tasks in self._spec.items():
            dense = sorted(tasks) == list(range(len(tasks)))
            out[job] = [tasks[i] for i in range(len(tasks))] if dense else dict(tasks)
        return out

    def as_cluster_def(self):
        cluster_def = cluster_pb2.ClusterDef()
        for job, tasks in sorted(self._spec.items()):
            job_def = cluster_def.job.add(name=job)
            for i, address in tasks.items():
                job_def.tasks[i] = address
        return cluster_def

    def task_names(self):
        """{"/job:ps/replica:0/task:0": "host:port", ...}"""
        return {f"/job:{job}/replica:0/task:{i}": address
                for job, tasks in self._spec.items() for i, address in tasks.items()}


def _port(address):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Task address {address!r} is not host:port")
    return host, int(port)


HEALTH_SERVICES = ("", "tensorflow.MasterService", "tensorflow.WorkerService")


class Server:
    """tf.train.Server(server_or_cluster_def, job_name=None, task_index=None, protocol="grpc", config=None,
    start=True). `host` (tfmini's own) chooses the interface to bind; TF binds all of them. `metrics_port`
    (tfmini's own) serves Prometheus metrics at http://host:metrics_port/metrics (None: off; 0: any free port,
    see `metrics_port` after start). `exit_after_chief` (tfmini's own): stop when the chief's
    MonitoredTrainingSession signals that training is done (server/chief_done.py). `limits` (tfmini's own):
    {"max_tensor_bytes", "max_alloc_bytes", "max_memory_bytes", "max_streams_per_peer", "max_calls_per_stream"},
    see docs/distributed.md "Failures and limits"; the memory limits are the process's (core/memory_limits.py,
    core/process_memory.py). `checkpoint_dir` (tfmini's own): the
    only directory this task's Saver ops may read or write (None: they are refused), see docs/checkpoint-format.md.
    `security` (tfmini's own): a server.security.Settings, TLS material and the cluster token this task checks
    on every call and presents to its peers (None: from TFMINI_TLS_* / TFMINI_CLUSTER_TOKEN*, see
    docs/security.md; `Settings(insecure=True)`: none, on purpose, so no warning about it)."""

    def __init__(self, server_or_cluster_def, job_name=None, task_index=None, protocol=None, config=None,
                 start=True, host="0.0.0.0", metrics_port=None, exit_after_chief=False, limits=None,
                 checkpoint_dir=None, security=None):
        if isinstance(server_or_cluster_def, cluster_pb2.ServerDef):
            server_def = server_or_cluster_def
            spec = ClusterSpec(server_def.cluster)
            job_name = job_name or server_def.job_name
            task_index = server_def.task_index if task_index is None else task_index
            protocol = protocol or server_def.protocol
            if config is None and server_def.HasField("default_session_config"):
                config = server_def.default_session_config
        else:
            spec = ClusterSpec(server_or_cluster_def)
        if (protocol or "grpc") != "grpc":
            raise ValueError(f"Unsupported protocol {protocol!r}: tfmini speaks grpc")
        if job_name is None:
            if len(spec.jobs) != 1:
                raise ValueError("Must specify an explicit `job_name` when the cluster has several jobs")
            job_name = spec.jobs[0]
        if job_name not in spec.jobs:
            raise ValueError(f"Job {job_name!r} is not in the cluster {spec.jobs}")
        if task_index is None:
            indices = spec.task_indices(job_name)
            if len(indices) != 1:
                raise ValueError(f"Must specify an explicit `task_index` for job {job_name!r}, which has "
                                 f"{len(indices)} tasks")
            task_index = indices[0]
        self.config = config or config_pb2.ConfigProto()
        self.job_name, self.task_index = job_name, int(task_index)
        self.task_name = f"/job:{job_name}/replica:0/task:{self.task_index}"
        address = spec.task_address(job_name, self.task_index)
        addr_host, port = _port(address)
        self.security = security = SecuritySettings.from_env() if security is None else security
        self._grpc, bound = transport.make_server(f"{host}:{port}", [], settings=security)
        if bound != port:  # port 0: the OS chose one, and the cluster must say so
            spec._spec[job_name][self.task_index] = address = f"{addr_host}:{bound}"
        self.cluster_spec, self.address = spec, address
        # BLAS/OpenMP pools: the config's intra-op threads, else this task's share of its host (server/threads.py)
        self.intra_op_threads = threads.configure_server(self.config, spec.task_names().values(), address)
        timeout = transport.step_timeout(self.config)
        self.worker = Worker(self.task_name, device_count=dict(self.config.device_count))
        self.worker_cache = transport.WorkerCache(spec.task_names(), self.task_name, self.worker, timeout,
                                                  settings=security)
        self.worker.worker_cache = self.worker_cache
        # Saver ops (SaveV2/RestoreV2/MergeV2Checkpoints) only under checkpoint_dir; refused without one.
        self.worker.checkpoint_access = CheckpointAccess(checkpoint_dir, task_name=self.task_name)
        self.cluster = Cluster({task: self.worker_cache.get(task) for task in spec.task_names()}, self.task_name,
                               spec.task_names())
        self.master = Master(self.cluster)
        self.metrics, self._metrics_bind = None, (host, metrics_port)
        if metrics_port is not None:
            from tfmini.server.metrics import ServerMetrics  # prometheus_client only for servers that serve it
            self.metrics = ServerMetrics(self.task_name, self.master, self.worker)
        limits = dict(limits or {})
        memory_limits.configure(limits.pop("max_tensor_bytes", None), limits.pop("max_alloc_bytes", None))
        streams_per_peer = limits.pop("max_streams_per_peer", None)
        calls_per_stream = limits.pop("max_calls_per_stream", None)
        process_memory.configure(limits.pop("max_memory_bytes", None))
        pushed = limits.pop("max_pushed_bytes", None)
        if pushed is not None:
            if pushed <= 0:
                raise ValueError(f"max_pushed_bytes must be positive, not {pushed}")
            self.worker.max_pushed_bytes = int(pushed)
        if limits:
            raise ValueError(f"Unknown server limits: {sorted(limits)}")
        handlers, self._link_pool = transport.service_handlers(self.master, self.worker, streams_per_peer,
                                                               calls_per_stream)
        self._grpc.add_generic_rpc_handlers(handlers)
        # The standard grpc.health.v1 service, for orchestrators (docker healthchecks: `tfmini-server health`).
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
        self._started, self._stopped = False, threading.Event()
        self._exit_after_chief = exit_after_chief  # stop once the chief's training is done (server/chief_done.py)
        if start:
            self.start()

    @property
    def target(self):
        return f"grpc://{self.address}"

    @property
    def metrics_port(self):
        """The port serving /metrics once started, else None."""
        return self.metrics.port if self.metrics is not None else None

    @property
    def server_def(self):
        return cluster_pb2.ServerDef(cluster=self.cluster_spec.as_cluster_def(), job_name=self.job_name,
                                     task_index=self.task_index, protocol="grpc", default_session_config=self.config)

    def start(self):
        if self._stopped.is_set():
            raise errors.FailedPreconditionError(None, None, "A stopped server cannot be restarted")
        if not self._started:
            self._grpc.start()
            self._started = True
            if self._exit_after_chief:
                from tfmini.server import chief_done
                chief_done.watch(self)
            local.register(self.address, self)  # Session(self.target) in this process: no gRPC hop
            if self.metrics is not None:
                self.metrics.start(self._metrics_bind[1], self._metrics_bind[0])
                log.info("task %s serves metrics at http://%s:%d/metrics", self.task_name, self._metrics_bind[0],
                         self.metrics.port)
            for service in HEALTH_SERVICES:
                self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
            log.info("task %s serving at %s (cluster: %s)", self.task_name, self.address,
                     self.cluster_spec.as_dict())
            warn_if_open(self.security, self.task_name, self.address)

    def join(self):
        """Blocks until the server stops (TF's join never returns for a running server)."""
        self._stopped.wait()

    def stop(self, grace=1.0):
        """Fails the steps in flight with a clear error, then stops serving."""
        if self._stopped.is_set():
            return
        log.info("task %s stopping", self.task_name)
        local.unregister(self.address, self)
        for service in HEALTH_SERVICES:
            self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.worker.stop()
        self._grpc.stop(grace).wait()
        self._link_pool.shutdown(wait=False)
        if self.metrics is not None:
            self.metrics.stop()
        self._stopped.set()

    @staticmethod
    def create_local_server(config=None, start=True):
        return Server({"localhost": ["localhost:0"]}, protocol="grpc", config=config, start=start)
