"""The one timing rule of the benchmarks: warm up, then the median of repeated runs."""
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
