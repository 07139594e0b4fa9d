"""What the benchmarks share: the one timing rule (warm up, then the median of repeated runs), and free
loopback ports for the clusters they start."""
import socket
import statistics
import time


def median_seconds(fn, repeat, warmup=1):
    """Median wall time of `fn()` over `repeat` runs, after `warmup` untimed runs (plans, caches)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def free_ports(n):
    """`n` distinct loopback ports free right now (a cluster's tasks must all know each address up front)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
