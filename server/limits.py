"""Bounds on the server threads that callers can hold (issue 16).

Python gRPC's synchronous server runs every call on a thread of one pool (512). A call that waits holds
its thread, so waits are bounded: a Link stream holds one for its life (limited per peer connection and
in all), and a unary RecvTensor waiting for its value holds one until the caller's deadline (limited in
all). Past a limit the call fails at once with RESOURCE_EXHAUSTED naming the limit, and the threads left
serve everyone else (health probes, CreateSession, steps). Link RecvTensors wait without a thread.
"""
import threading

from tfmini.core import errors

DEFAULT_STREAMS_PER_PEER = 16  # a tfmini process needs 2 per server (master and worker service)
DEFAULT_STREAMS = 192          # Link streams from all peers together
DEFAULT_WAITING_RECVS = 128    # unary RecvTensors waiting for their value at once
DEFAULT_CALLS_PER_STREAM = 64  # calls of one Link stream running on the link pool (512 threads) at once


class Slots:
    """At most `per_key` holders per key and `total` in all: `acquire(key)` or ResourceExhaustedError."""

    def __init__(self, what, total, per_key=None, flag=""):
        self.what, self.total, self.per_key, self.flag = what, total, per_key, flag
        self._held, self._count = {}, 0
        self._lock = threading.Lock()

    def acquire(self, key=""):
        with self._lock:
            held = self._held.get(key, 0)
            if self.per_key is not None and held >= self.per_key:
                raise errors.ResourceExhaustedError(
                    None, None, f"Too many {self.what} from {key}: the limit is {self.per_key} per peer{self.flag}")
            if self._count >= self.total:
                raise errors.ResourceExhaustedError(
                    None, None, f"Too many {self.what}: the limit is {self.total} in all")
            self._held[key] = held + 1
            self._count += 1

    def release(self, key=""):
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)
            self._count -= 1

    def in_use(self):
        with self._lock:
            return self._count


class LinkStreams(Slots):
    """The Slots of a server's Link streams, and how many calls each stream may have running on the link
    pool at once (`calls_per_stream`): a frame past that is answered RESOURCE_EXHAUSTED, so one peer cannot
    take the pool that every peer's RunGraph and RunStep share. Calls answered by callback (a Link
    RecvTensor waiting for its tensor) hold no thread and are not counted."""

    def __init__(self, per_peer=None, calls_per_stream=None):
        super().__init__("Link streams", DEFAULT_STREAMS, per_peer or DEFAULT_STREAMS_PER_PEER,
                         " (--max-streams-per-peer)")
        self.calls_per_stream = calls_per_stream or DEFAULT_CALLS_PER_STREAM

    def too_many_calls(self, peer):
        return errors.ResourceExhaustedError(
            None, None, f"Too many calls in flight on one Link stream from {peer}: the limit is "
                        f"{self.calls_per_stream} per stream (--max-calls-per-stream)")


def link_streams(per_peer=None, calls_per_stream=None):
    """The bounds of a server's Link streams: `per_peer` per peer connection, `calls_per_stream` running
    calls on each (None: the defaults)."""
    return LinkStreams(per_peer, calls_per_stream)


def waiting_recvs():
    return Slots("RecvTensor calls waiting for their tensor", DEFAULT_WAITING_RECVS)
