"""The embedded session's back end: a master and a worker in this process, called directly."""
from tfmini.server.cluster import Cluster
from tfmini.server.master import Master
from tfmini.worker.worker import Worker

LOCAL_TASK = "/job:localhost/replica:0/task:0"


class LocalMaster:
    """The master interface the client Session uses, with no transport in between."""

    def __init__(self, config):
        self.worker = Worker(LOCAL_TASK, device_count=dict(config.device_count) if config is not None else None)
        self.cluster = Cluster({LOCAL_TASK: self.worker}, LOCAL_TASK)
        self.master = Master(self.cluster)
        for name in ("create_session", "extend_session", "run_step", "close_session", "list_devices", "reset",
                     "make_callable", "run_callable", "release_callable"):
            setattr(self, name, getattr(self.master, name))

    def close(self):
        self.cluster.close()


def local_master(config):
    return LocalMaster(config)
