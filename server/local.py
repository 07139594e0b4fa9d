"""Masters called directly, with no transport in between.

`LocalMaster` is the embedded session's back end: a master and a worker of its own. `lookup` is
TensorFlow's LocalMaster registry: `Session(server.target)` in the process that runs `server` (the usual
between-graph replication script: each worker process starts its tf.train.Server, then opens a session on
it) calls that server's master directly instead of through gRPC.
"""
import threading

from tfmini.server.cluster import Cluster
from tfmini.server.master import Master
from tfmini.worker.worker import Worker

LOCAL_TASK = "/job:localhost/replica:0/task:0"
MASTER_METHODS = ("create_session", "extend_session", "run_step", "close_session", "list_devices", "reset",
                  "make_callable", "run_callable", "release_callable")


class LocalMaster:
    """The master interface the client Session uses, with no transport in between."""

    def __init__(self, config):
        self.worker = Worker(LOCAL_TASK, device_count=dict(config.device_count) if config is not None else None)
        self.cluster = Cluster({LOCAL_TASK: self.worker}, LOCAL_TASK)
        self.master = Master(self.cluster)
        for name in MASTER_METHODS:
            setattr(self, name, getattr(self.master, name))

    def close(self):
        self.cluster.close()


def local_master(config):
    return LocalMaster(config)


class InProcessMaster:
    """A running tf.train.Server's master, for a Session in the same process. Large fetches are pulled from
    their task as a remote client does (MasterStub.pull), so they skip the unary RunGraph response."""

    def __init__(self, server, pull_fetch_bytes):
        self._server = server
        self.PULL_FETCH_BYTES = pull_fetch_bytes
        for name in MASTER_METHODS:
            setattr(self, name, getattr(server.master, name))

    def pull(self, location):
        worker = self._server.worker_cache.get(location.task)  # a stub for a peer, the Worker for this task
        stream = getattr(worker, "stream_array", None) or worker.recv_array
        return stream(location.step_id, location.rendezvous_key)

    def close(self):
        pass  # the server, not the session, owns the master


_servers, _lock = {}, threading.Lock()


def register(address, server):
    with _lock:
        _servers[address] = server


def unregister(address, server):
    with _lock:
        if _servers.get(address) is server:
            del _servers[address]


def lookup(address, pull_fetch_bytes):
    """The master of the server of this process listening at `address` (as its target says), else None."""
    server = _servers.get(address)
    return None if server is None else InProcessMaster(server, pull_fetch_bytes)
