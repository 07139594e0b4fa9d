"""How many threads a task's kernels may use: TensorFlow's ConfigProto.intra_op_parallelism_threads.

tfmini's kernels are numpy; the threads of a big op are numpy's BLAS (and any OpenMP) pools, which are
process-wide. `threadpoolctl` sets them. A server applies its setting once, at construction; an embedded
Session applies its config's nonzero setting when it starts (later sessions' nonzero settings replace it, as
the pools are the process's). With no setting (0, "the system picks"):
- a server divides the cores it may use (its CPU affinity, capped by a cgroup CPU quota such as docker's
  --cpus) by the number of tasks that share its machine: the tasks of its cluster spec on this host
  (loopback, this host's name, or its own host), or `tfmini-server --host-tasks K` where the spec cannot
  tell (containers on one host name each other by service name);
- an embedded session leaves the pools as the libraries start them (all cores), as it has the machine alone.

inter_op_parallelism_threads has no pool to size: the executor runs a partition's kernels in order on the
thread of its RunGraph, and the transport's threads are the gRPC server's.
"""
import math
import os
import socket
import threading

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller = None


def available_cores():
    """The cores this process may run on: its CPU affinity, capped by its cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_cpu_quota():
    """CPUs the cgroup may use (cgroup v2 cpu.max, else v1's cfs quota and period), or None when unlimited."""
    v2 = _read("/sys/fs/cgroup/cpu.max")  # "max 100000" (none) or "150000 100000" (1.5 CPUs)
    if v2:
        quota, _, period = v2.partition(" ")
    else:
        quota, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    try:
        quota, period = int(quota), int(period)
    except (TypeError, ValueError):  # "max", or no cgroup files
        return None
    return quota / period if quota > 0 and period > 0 else None


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def tasks_on_host(task_addresses, own_address):
    """How many of the cluster's task addresses (host:port) are on this machine, counting the caller's own."""
    own_host = own_address.rpartition(":")[0].strip("[]")
    local_names = {own_host, "localhost", socket.gethostname(), "::1", "0.0.0.0"}
    count = 0
    for address in task_addresses:
        host = address.rpartition(":")[0].strip("[]")
        if host in local_names or host.startswith("127."):
            count += 1
    return max(1, count)


def divided_cores(tasks):
    """Each task's share of this machine's cores when `tasks` tasks share it (at least one thread)."""
    return max(1, available_cores() // max(1, tasks))


def set_intra_op_threads(n):
    """Limits this process's BLAS and OpenMP pools to `n` threads (n >= 1)."""
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController()  # finds the loaded libraries once (numpy's OpenBLAS...)
        _controller.limit(limits=int(n))  # stays in force: the limiter is not used as a context manager


def pool_threads():
    """[(library, its thread count)] of this process's BLAS/OpenMP pools now, as threadpoolctl reports them."""
    return [(info["internal_api"], info["num_threads"]) for info in ThreadpoolController().info()]


def configure_server(config, task_addresses, own_address):
    """Applies a server's ConfigProto.intra_op_parallelism_threads (0: its share of the host); returns it."""
    n = config.intra_op_parallelism_threads
    if n <= 0:
        n = divided_cores(tasks_on_host(task_addresses, own_address))
    set_intra_op_threads(n)
    return n


def configure_session(config):
    """Applies an embedded session's nonzero intra_op_parallelism_threads; returns it (None: left alone)."""
    n = config.intra_op_parallelism_threads if config is not None else 0
    if n <= 0:
        return None
    set_intra_op_threads(n)
    return n
