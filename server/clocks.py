"""How far each task's wall clock is from the master's, to put a traced step's step stats on one clock.

NTP's estimate from GetStatus probes: the master reads its clock (t0), asks, and reads it again (t3); the
task answers with its own clock t (`GetStatusResponse.tfmini_now_micros`, a field of ours), so its offset is
t - (t0 + t3) / 2, wrong by at most half the round trip; of a few probes the shortest round trip is kept. The
master's own task shares its clock (offset 0). An estimate is kept per address for a minute, so only the
first traced step in a while pays for the probes (about a millisecond per task); untraced steps never do.
"""
import threading
import time

from tfmini.protos import worker_pb2

PROBES = 5
KEEP_S = 60.0
PROBE_TIMEOUT_S = 3.0
_estimates = {}  # address -> (offset in µs, time.monotonic() when measured)
_lock = threading.Lock()


def _now_us():
    return time.time_ns() // 1000


def offset_us(worker, address):
    """The wall clock of the task at `address` (served by `worker`) minus this process's, in µs; 0 for a
    worker that does not report its clock (a TensorFlow one: its times stay as it reported them)."""
    with _lock:
        known = _estimates.get(address)
    if known is not None and time.monotonic() - known[1] < KEEP_S:
        return known[0]
    best = None  # (round trip, offset)
    for _ in range(PROBES):
        t0 = _now_us()
        answer = worker.get_status(worker_pb2.GetStatusRequest(), PROBE_TIMEOUT_S).tfmini_now_micros
        t3 = _now_us()
        if not answer:
            return 0
        if best is None or t3 - t0 < best[0]:
            best = (t3 - t0, answer - (t0 + t3) // 2)
    with _lock:
        _estimates[address] = (best[1], time.monotonic())
    return best[1]
