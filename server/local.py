"""Masters called directly, with no transport in between (core.interfaces.SessionMaster).

`LocalMaster` is the embedded session's back end: a master and a worker of its own. `lookup` is
TensorFlow's LocalMaster registry: `Session(server.target)` in the process that runs `server` (the usual
between-graph replication script: each worker process starts its tf.train.Server, then opens a session on
it) calls that server's master directly instead of through gRPC.
"""
import threading

from tfmini.core.interfaces import MasterInterface, methods
from tfmini.core.large_tensors import LARGE_TENSOR_BYTES
from tfmini.server import threads
from tfmini.server.cluster import Cluster
from tfmini.server.master import Master
from tfmini.worker.worker import Worker

LOCAL_TASK = "/job:localhost/replica:0/task:0"


class _DirectMaster:
    """A Master's methods, called in the caller's thread; large fetches are pulled from their task."""

    def __init__(self, master, worker_of, pull_fetch_bytes):
        self._worker_of = worker_of  # task name -> WorkerInterface
        self.pull_fetch_bytes = pull_fetch_bytes
        for name in methods(MasterInterface):
            setattr(self, name, getattr(master, name))

    def pull(self, location, timeout=None):
        return self._worker_of(location.task).recv_array(location.step_id, location.rendezvous_key, timeout,
                                                          large=True)

    def close(self):
        pass  # a session's handle: the master and its workers outlive it


class LocalMaster(_DirectMaster):
    """The embedded session's master and worker. Nothing is left on a task to pull: one process has it all."""

    def __init__(self, config):
        threads.configure_session(config)  # a nonzero intra_op_parallelism_threads limits the BLAS pools
        self.worker = Worker(LOCAL_TASK, device_count=dict(config.device_count) if config is not None else None)
        self.cluster = Cluster({LOCAL_TASK: self.worker}, LOCAL_TASK)
        self.master = Master(self.cluster)
        super().__init__(self.master, self.cluster.worker, pull_fetch_bytes=0)


def local_master(config):
    return LocalMaster(config)


class InProcessMaster(_DirectMaster):
    """A running tf.train.Server's master, for a Session in the same process. Large fetches are pulled from
    their task as a remote client does (MasterStub.pull), so they skip the unary RunGraph response."""

    def __init__(self, server):
        super().__init__(server.master, server.worker_cache.get, LARGE_TENSOR_BYTES)


_servers, _lock = {}, threading.Lock()


def register(address, server):
    with _lock:
        _servers[address] = server


def unregister(address, server):
    with _lock:
        if _servers.get(address) is server:
            del _servers[address]


def lookup(address):
    """The master of the server of this process listening at `address` (as its target says), else None."""
    server = _servers.get(address)
    return None if server is None else InProcessMaster(server)
