"""Links: the calls of a service between two tfmini processes, multiplexed over one long-lived stream.

Python gRPC accepts a unary call with several hand-offs between its polling thread, a pool thread and
the handler; on a stream that is already open, a message wakes the waiting reader at once. So the step's
hot calls (RunStep, RunCallable, RunGraph, RecvTensor) between tfmini processes travel as LinkFrames on
`/tensorflow.<Service>/Link` (ours), a bidirectional stream per channel: each request frame carries an id
and the rpc name, and its response frame comes back with the same id, in any order. The unary methods
stay served for TensorFlow's own clients and workers.

Failures look as they do for unary calls: an error of the server travels in the frame (its code and
message); a stream that breaks (peer gone, link cut, keepalive timeout) fails every call waiting on it
with the transport's error, and the next call opens a new stream. A caller that still needs the peer after
its call was answered (a master whose step waits for tensors that task pushes) watches the stream with
`Pending.on_stream_break`. A one-way frame has no answer to fail: gRPC drops one queued on a stream that is
already dead (its peer froze, and cut the connection meanwhile) without an error, so a stream that breaks
hands the tags of its recent one-way frames (the steps whose pushed tensors they carried) to `on_lost`.
"""
import _thread
import collections
import functools
import itertools
import logging
import queue
import threading
import time
from concurrent import futures

import grpc
from google.protobuf.message import DecodeError

from tfmini.core import errors
from tfmini.protos import link_pb2
from tfmini.server.limits import DEFAULT_STREAMS

log = logging.getLogger("tfmini.server")
LINK = "Link"
# A broken stream reports the tags of its one-way frames of the last LOST_AFTER_S (a frozen peer is cut off
# after the 3 s keepalive timeout), at most LOST_FRAMES_KEPT of them.
LOST_AFTER_S, LOST_FRAMES_KEPT = 10.0, 64
# (caller host, "sent" or "received") -> bytes this process served to / took from each caller: link frames here,
# unary and streamed calls in grpc_transport. The caller's host, as gRPC reports it, is all a server knows of it.
SERVED_PEER_BYTES = collections.Counter()


def caller_host(context):
    """The caller's host ("127.0.0.1", "::1") from the gRPC peer string ("ipv4:127.0.0.1:50412")."""
    peer = context.peer() or "unknown"
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return kind
    return rest.rpartition(":")[0].strip("[]") or rest


# -- server side --------------------------------------------------------------
def link_handler(serve, pool, serve_async, streams=None, serve_one_way=None):
    """The stream handler. A one-way frame goes to `serve_one_way(rpc, payload, caller host)` in the stream's reader
    thread (it must not block), and nothing answers it. A request frame either goes to
    `serve_async(rpc, payload, reply)`, which takes it
    (returns True) when its method answers by callback, calling reply(response bytes, OpError or None) later
    from whatever thread has the answer (a waiting RecvTensor holds no thread); or it runs
    `serve(rpc, payload) -> (response bytes, OpError or None)` on `pool` (a call may block, e.g. RunGraph on
    its pulls). Either way its response frame is queued back to the stream. `streams` (server/limits.py
    Slots) bounds the open streams per peer connection: each holds a server thread for its life."""
    def handle(frames, context):
        peer = context.peer() or ""
        if streams is not None:
            try:
                streams.acquire(peer)
            except errors.ResourceExhaustedError as e:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, e.message)
        try:
            yield from _serve_stream(frames, context)
        finally:
            if streams is not None:
                streams.release(peer)

    def _serve_stream(frames, context):
        out = queue.SimpleQueue()
        open_calls = _Counter()
        caller = caller_host(context)
        # Calls of this stream running on `pool` (server/limits.py LinkStreams.calls_per_stream): past the cap a
        # frame is answered RESOURCE_EXHAUSTED at once, and the reader goes on reading.
        running = threading.Semaphore(streams.calls_per_stream) if streams is not None else None

        def reply_to(frame_id):
            def reply(response, error):
                frame = link_pb2.LinkFrame(id=frame_id)
                if error is None:
                    frame.payload = response
                else:
                    frame.code, frame.message = error.error_code, error.message
                    frame.error_kind = errors.error_kind(error)
                out.put(frame.SerializeToString())
                open_calls.add(-1)
            return reply

        def run(frame):
            try:
                answer = serve(frame.method, frame.payload)
            finally:
                if running is not None:
                    running.release()  # before the reply: a caller answered may send its next call at once
            reply_to(frame.id)(*answer)

        def read():
            """Reads frames until one needs a thread to run on: this one. The reading goes on in a pool thread,
            and the call starts at once (a hand-off to a waking thread would be on the step's path)."""
            try:
                while True:
                    raw = next(frames, None)
                    if raw is None:
                        break
                    SERVED_PEER_BYTES[caller, "received"] += len(raw)
                    try:
                        frame = link_pb2.LinkFrame.FromString(raw)
                    except DecodeError as e:
                        out.put(e)  # a peer that sends garbage loses its stream, nothing else
                        return
                    if frame.one_way:
                        if serve_one_way is not None:
                            serve_one_way(frame.method, frame.payload, caller)
                        continue
                    open_calls.add(1)
                    if serve_async(frame.method, frame.payload, reply_to(frame.id)):
                        continue
                    if running is not None and not running.acquire(blocking=False):
                        reply_to(frame.id)(None, streams.too_many_calls(context.peer()))
                        continue
                    try:
                        pool.submit(read)
                    finally:
                        run(frame)  # the server stopping (pool shut) still answers this call
                    return
                open_calls.wait_zero()  # the client is done sending: answer what it asked, then end
            except (grpc.RpcError, RuntimeError):
                pass  # the client went away, or the server is stopping (its pool shut): the calls end with it
            out.put(None)

        threading.Thread(target=read, name="link-reader", daemon=True).start()
        while True:
            item = out.get()
            if item is None:
                return
            if isinstance(item, Exception):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{LINK}: malformed LinkFrame: {item}")
            SERVED_PEER_BYTES[caller, "sent"] += len(item)
            yield item
    return grpc.stream_stream_rpc_method_handler(handle)


class _Counter:
    """Calls of a stream not yet answered."""

    def __init__(self):
        self._n, self._cond = 0, threading.Condition()

    def add(self, k):
        with self._cond:
            self._n += k
            if self._n == 0:
                self._cond.notify_all()

    def wait_zero(self):
        with self._cond:
            self._cond.wait_for(lambda: self._n == 0)


def make_pool():
    # Each open stream's reader and each running call hold a pool thread (threads are made on demand). A waiting
    # RecvTensor holds its thread until the value is sent by a RunGraph that needs a thread of its own, so the
    # pool must be larger than the calls a busy task can have waiting: 512 beside the readers.
    return futures.ThreadPoolExecutor(max_workers=512 + DEFAULT_STREAMS, thread_name_prefix="link")


# -- client side --------------------------------------------------------------
class Pending:
    """A call in flight on a link: `result(timeout)` waits for its response LinkFrame."""

    __slots__ = ("rpc", "answered", "frame", "error", "_stream", "_id", "_callbacks", "_unanswered")

    def __init__(self, rpc, stream, frame_id):
        self.rpc, self._stream, self._id = rpc, stream, frame_id
        self.answered, self.frame, self.error = False, None, None
        self._callbacks = []
        self._unanswered = _thread.allocate_lock()  # held until the answer comes: cheaper than an Event
        self._unanswered.acquire()

    def on_done(self, fn):
        """Calls fn(self) once the call is answered or its stream breaks (at once if it already has), in the
        thread that saw it: fn must not block."""
        self._callbacks.append(fn)
        if self.answered:
            self._fire()

    def _done(self):
        self.answered = True
        self._unanswered.release()
        self._fire()

    def _fire(self):
        callbacks = self._callbacks
        while callbacks:
            try:
                fn = callbacks.pop()  # atomic: each callback runs once, whichever thread gets it
            except IndexError:
                return
            fn(self)

    def on_stream_break(self, fn):
        """Calls fn(error) if the stream this call went over breaks (at once if it has), until the returned
        cancel() is called; from the thread that saw it: fn must not block."""
        return self._stream.watch(fn)

    def result(self, timeout):
        if timeout is None:
            answered = self._unanswered.acquire()
        elif timeout > 0:
            answered = self._unanswered.acquire(True, min(timeout, threading.TIMEOUT_MAX))
        else:  # a deadline already past: look once, as Event.wait does
            answered = self._unanswered.acquire(False)
        if not answered:
            self._stream.waiting.pop(self._id, None)
            raise TimeoutError(self.rpc)
        self._unanswered.release()  # a later result() returns at once too
        if self.error is not None:
            raise self.error
        return self.frame


class _Stream:
    """One open stream: its outgoing queue and the calls waiting for an answer on it."""

    def __init__(self):
        self.outgoing = queue.SimpleQueue()
        self.waiting = {}
        self.closed = False
        self.broke_with = None  # how it ended, once it has
        self.sent = collections.deque(maxlen=LOST_FRAMES_KEPT)  # (monotonic time, tag) of recent one-way frames
        self._watchers = {}  # token -> fn(error), called when the stream breaks
        self._lock = threading.Lock()

    def watch(self, fn):
        """fn(error) when the stream breaks (now, if it has); returns the cancel() that stops the watch."""
        token = object()
        with self._lock:
            if self._watchers is not None:
                self._watchers[token] = fn
                return functools.partial(self._unwatch, token)
        fn(self.broke_with)
        return lambda: None

    def _unwatch(self, token):
        with self._lock:
            if self._watchers is not None:
                self._watchers.pop(token, None)

    def broke(self, error):
        with self._lock:
            self.broke_with, watchers, self._watchers = error, self._watchers, None
        for fn in watchers.values():
            fn(error)


class Link:
    """Calls over one stream of `channel`: `start(rpc, request bytes).result(timeout)` -> the response
    LinkFrame (its `code` nonzero for an error of the server); a broken stream raises its grpc.RpcError, a
    call with no answer in time TimeoutError. Starting a call costs no thread of the caller's."""

    def __init__(self, channel, service, on_lost=None):
        self._open_stream = channel.stream_stream(f"/{service}/{LINK}")
        self._on_lost = on_lost  # fn(tags) of one-way frames a broken stream may not have delivered
        self._lock = threading.Lock()
        self._stream = None
        self._ids = itertools.count(1)

    def start(self, rpc, request):
        frame_id = next(self._ids)
        with self._lock:
            stream = self._stream
            if stream is None or stream.closed:
                stream = self._stream = self._open()
            stream.waiting[frame_id] = pending = Pending(rpc, stream, frame_id)
        stream.outgoing.put(link_pb2.LinkFrame(id=frame_id, method=rpc, payload=request).SerializeToString())
        return pending

    def send(self, rpc, request, tag=None):
        """Sends a one-way frame (no answer comes back): it goes out in order with the stream's calls. If the
        stream breaks within LOST_AFTER_S, `tag` goes to on_lost."""
        with self._lock:
            stream = self._stream
            if stream is None or stream.closed:
                stream = self._stream = self._open()
            if tag is not None:  # under the lock: a stream that breaks now reports it
                stream.sent.append((time.monotonic(), tag))
        stream.outgoing.put(link_pb2.LinkFrame(method=rpc, payload=request, one_way=True).SerializeToString())

    def _open(self):
        stream = _Stream()
        responses = self._open_stream(iter(stream.outgoing.get, None), wait_for_ready=False)
        threading.Thread(target=self._read, args=(stream, responses), name="link-client", daemon=True).start()
        return stream

    def _read(self, stream, responses):
        error = None
        try:
            for raw in responses:
                frame = link_pb2.LinkFrame.FromString(raw)
                waiter = stream.waiting.pop(frame.id, None)
                if waiter is not None:  # None: its caller gave up (deadline)
                    waiter.frame = frame
                    waiter._done()
        except grpc.RpcError as e:
            error = e
        except DecodeError as e:
            log.warning("%s: malformed LinkFrame from the server: %s", LINK, e)
            responses.cancel()
        with self._lock:
            stream.closed = True
            waiting, stream.waiting = stream.waiting, {}
        stream.outgoing.put(None)  # ends the request iterator, and grpc's thread that reads it
        error = error if error is not None else responses  # an ended call says how it ended
        for waiter in waiting.values():
            waiter.error = error
            waiter._done()
        stream.broke(error)
        recent = time.monotonic() - LOST_AFTER_S
        lost = list(dict.fromkeys(tag for at, tag in stream.sent if at > recent))
        if lost and self._on_lost is not None:
            self._on_lost(lost)
