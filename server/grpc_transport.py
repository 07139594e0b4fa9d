"""gRPC transport for MasterService and WorkerService, kept apart from their logic (TF's rpc/ folder).

One table per service lists (method, request type, response type, object method).
Servicers are generic handlers over a plain Master/Worker object, registered under
TensorFlow's service names so the paths are `/tensorflow.MasterService/RunStep` etc.;
client stubs are built from the same table. OpErrors travel as gRPC status codes
(TF's canonical codes are gRPC's) and come back as the same tf.errors class.

Requests are parsed by us, not by grpc, so malformed bytes become INVALID_ARGUMENT.
Nothing from the wire is unpickled or evaluated: every message is a protobuf.

Large tensors between tfmini workers use a server-streaming method of our own,
`/tensorflow.WorkerService/RecvTensorStream`: a RecvTensorResponse header (holding
the whole tensor when small) followed by raw MB-sized chunks of tensor_content,
reassembled into one preallocated array, so there is no 2 GB message ceiling.
"""
import collections
import logging
import threading
import time
from concurrent import futures

import grpc
import numpy as np
from google.protobuf.message import DecodeError

from tfmini.core import dtypes, errors, interfaces, large_tensors, memory_limits, tensor_util
from tfmini.core.deadness import DEAD
from tfmini.protos import master_pb2, worker_pb2
from tfmini.server import grpc_link
from tfmini.server import limits as server_limits
from tfmini.server import security

log = logging.getLogger("tfmini.server")

MASTER_SERVICE = "tensorflow.MasterService"
WORKER_SERVICE = "tensorflow.WorkerService"
_m, _w = master_pb2, worker_pb2
MASTER_METHODS = [  # (rpc, request, response, method of the Master object)
    ("CreateSession", _m.CreateSessionRequest, _m.CreateSessionResponse, "create_session"),
    ("ExtendSession", _m.ExtendSessionRequest, _m.ExtendSessionResponse, "extend_session"),
    ("RunStep", _m.RunStepRequest, _m.RunStepResponse, "run_step"),
    ("CloseSession", _m.CloseSessionRequest, _m.CloseSessionResponse, "close_session"),
    ("ListDevices", _m.ListDevicesRequest, _m.ListDevicesResponse, "list_devices"),
    ("Reset", _m.ResetRequest, _m.ResetResponse, "reset"),
    ("MakeCallable", _m.MakeCallableRequest, _m.MakeCallableResponse, "make_callable"),
    ("RunCallable", _m.RunCallableRequest, _m.RunCallableResponse, "run_callable"),
    ("ReleaseCallable", _m.ReleaseCallableRequest, _m.ReleaseCallableResponse, "release_callable"),
]
WORKER_METHODS = [
    ("GetStatus", _w.GetStatusRequest, _w.GetStatusResponse, "get_status"),
    ("CreateWorkerSession", _w.CreateWorkerSessionRequest, _w.CreateWorkerSessionResponse, "create_worker_session"),
    ("DeleteWorkerSession", _w.DeleteWorkerSessionRequest, _w.DeleteWorkerSessionResponse, "delete_worker_session"),
    ("RegisterGraph", _w.RegisterGraphRequest, _w.RegisterGraphResponse, "register_graph"),
    ("DeregisterGraph", _w.DeregisterGraphRequest, _w.DeregisterGraphResponse, "deregister_graph"),
    ("RunGraph", _w.RunGraphRequest, _w.RunGraphResponse, "run_graph"),
    ("CleanupGraph", _w.CleanupGraphRequest, _w.CleanupGraphResponse, "cleanup_graph"),
    ("CleanupAll", _w.CleanupAllRequest, _w.CleanupAllResponse, "cleanup_all"),
    ("RecvTensor", _w.RecvTensorRequest, _w.RecvTensorResponse, "recv_tensor"),
]
STREAM_METHOD = "RecvTensorStream"
PUSH_METHOD = "PushTensors"  # one-way link frames of pushed tensors (worker.Worker.push_tensors)
# May take as long as a step (RegisterGraph folds constants and compiles the plan: a 256 MB range takes seconds).
STEP_RPCS = {"RunStep", "RunCallable", "RunGraph", "RecvTensor", STREAM_METHOD, "RegisterGraph"}
LINK_RPCS = {"RunStep", "RunCallable", "RunGraph", "RecvTensor"}  # tfmini to tfmini: over a Link stream

INT32_MAX = 2**31 - 1
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", INT32_MAX), ("grpc.max_receive_message_length", INT32_MAX),
    ("grpc.max_reconnect_backoff_ms", 1000), ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100), ("grpc.enable_retries", 0),
    # Keepalive pings find a peer that vanished mid-call (a dead host, a cut link) within ~3 s, so an
    # in-flight step fails with UNAVAILABLE instead of waiting out its deadline.
    ("grpc.keepalive_time_ms", 1000), ("grpc.keepalive_timeout_ms", 3000),
    ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.ping_timeout_ms", 3000),
]
SERVER_OPTIONS = [("grpc.http2.min_recv_ping_interval_without_data_ms", 500), ("grpc.http2.max_ping_strikes", 0),
                  ("grpc.so_reuseport", 0)]
CONTROL_TIMEOUT = 3.0      # seconds for RPCs that only touch bookkeeping: an unreachable task fails fast
DEFAULT_STEP_TIMEOUT = 600.0  # seconds for a step's RPCs when the config gives no operation timeout
CHUNK = large_tensors.CHUNK_BYTES  # a large tensor's stream (core/large_tensors.py says what is large)

STREAM_OK = "tfmini/stream-ok"   # RecvTensorRequest.transport_options: "answer a large tensor by stream"
STREAMED = "tfmini/streamed"     # RecvTensorResponse.transport_options: "too large: pull it by stream"
RPC_COUNTS = collections.Counter()  # rpc name -> calls made from this process (tests count the critical path)
RPC_BYTES = collections.Counter()  # rpc name -> payload bytes this process sent or received, as caller or server
# For server/metrics.py, read at scrape time: (rpc, status code name) -> calls served / made by this process,
# and (peer address, "sent" or "received") -> payload bytes of the calls this process made.
RPCS_SERVED = collections.Counter()
RPCS_MADE = collections.Counter()
PEER_BYTES = collections.Counter()
_STATUS = {code.value[0]: code for code in grpc.StatusCode}
_SERVER_ERROR = ("tfmini-error", "1")  # marks a status the server chose, as opposed to one of the transport
_ERROR_KIND = "tfmini-error-kind"  # the error's refinement of its code's class (errors.error_kind), if any


def _code_name(error):
    """The status code name of a call's outcome: "OK", or the gRPC name of the OpError's code."""
    if error is None:
        return "OK"
    code = _STATUS.get(getattr(error, "error_code", None))
    return code.name if code is not None else "UNKNOWN"


def step_timeout(config):
    ms = config.operation_timeout_in_ms if config is not None else 0
    return ms / 1000.0 if ms > 0 else DEFAULT_STEP_TIMEOUT


# -- server side --------------------------------------------------------------
def _abort(context, error):
    kind = errors.error_kind(error)
    context.set_trailing_metadata((_SERVER_ERROR, (_ERROR_KIND, kind)) if kind else (_SERVER_ERROR,))
    context.abort(_STATUS.get(error.error_code, grpc.StatusCode.UNKNOWN), error.message)


def _parse(rpc, request_type, raw):
    """(request, None), or (None, InvalidArgumentError) for bytes that are not one."""
    try:
        return request_type.FromString(raw), None
    except (DecodeError, ValueError, RuntimeError) as e:
        return None, errors.InvalidArgumentError(None, None, f"{rpc}: malformed {request_type.__name__}: {e}")


def _invoke(rpc, fn, *args):
    """(fn(*args), None), or (None, the OpError it failed with); a bug becomes INTERNAL, not a dead server."""
    try:
        return fn(*args), None
    except errors.OpError as e:
        if rpc != "RecvTensor":
            log.warning("%s failed: %s: %s", rpc, type(e).__name__, (e.message.splitlines() or [""])[0])
        # Returned as a value, the error must not keep its traceback: its frames (and their callers', up to the
        # one holding the error) form a cycle that keeps every value of the failed step until the cyclic GC runs.
        return None, e.with_traceback(None)
    except MemoryError as e:  # an allocation no limit caught (core/memory_limits.py): TF's OOM, not a bug
        log.warning("%s failed: out of memory: %s", rpc, e)
        return None, memory_limits.oom_error(e, f" ({rpc})")
    except Exception as e:  # noqa: BLE001 - a bug must not take the server down
        log.exception("%s crashed", rpc)
        return None, errors.InternalError(None, None, f"{rpc}: {type(e).__name__}: {e}")


def _serve(rpc, request_type, fn, raw, timeout=None):
    """One call on raw request bytes: (request or None, response bytes or None, OpError or None). `timeout`:
    the caller's deadline, in seconds from now (None: none), which the call waits no longer than."""
    RPC_BYTES[rpc] += len(raw)
    request, error = _parse(rpc, request_type, raw)
    if error is not None:
        RPCS_SERVED[rpc, _code_name(error)] += 1
        return None, None, error
    response, error = _invoke(rpc, fn, request, timeout)
    response = None if error is not None else response.SerializeToString()
    RPC_BYTES[rpc] += len(response or b"")
    RPCS_SERVED[rpc, _code_name(error)] += 1
    return request, response, error


def _caller_timeout(context):
    """Seconds left of the caller's deadline; None when it set none (grpc reports a far-off one)."""
    left = context.time_remaining()
    return None if left is None or left > 1e6 else max(left, 0.0)


def _unary_handler(rpc, request_type, response_type, fn):
    def handle(raw, context):
        request, response, error = _serve(rpc, request_type, fn, raw, _caller_timeout(context))
        caller = grpc_link.caller_host(context)
        grpc_link.SERVED_PEER_BYTES[caller, "received"] += len(raw)
        grpc_link.SERVED_PEER_BYTES[caller, "sent"] += len(response or b"")
        if error is None:
            return response
        if getattr(request, "store_errors_in_response_body", False):  # TF clients ask for this
            return response_type(status_code=error.error_code, status_error_message=error.message).SerializeToString()
        _abort(context, error)
    return grpc.unary_unary_rpc_method_handler(handle)  # bytes in, bytes out: we parse


def _link_handler(service, methods, pool, async_methods=None, streams=None, one_way_methods=None):
    """The Link stream of `service`: frames naming any of `methods` {rpc: (request type, fn)}, or of
    `async_methods` {rpc: (request type, fn(request, done))}, which answer by calling done(response, error), or
    one-way frames of `one_way_methods` {rpc: fn(request bytes, caller host)}, which nothing answers."""
    async_methods, one_way_methods = async_methods or {}, one_way_methods or {}

    def serve_one_way(rpc, raw, caller):
        fn = one_way_methods.get(rpc)
        if fn is None:
            log.warning("one-way %s from %s dropped: not a method of %s", rpc, caller, service)
            return
        fn(raw, caller)

    def serve(rpc, raw):
        if rpc not in methods:
            return None, errors.UnimplementedError(None, None, f"{rpc} is not a method of {service}")
        _, response, error = _serve(rpc, *methods[rpc], raw)
        return response, error

    def serve_async(rpc, raw, reply):
        if rpc not in async_methods:
            return False
        request_type, fn = async_methods[rpc]

        def done(response, error):
            response = None if error is not None else response.SerializeToString()
            RPC_BYTES[rpc] += len(response or b"")
            RPCS_SERVED[rpc, _code_name(error)] += 1
            reply(response, error)
        RPC_BYTES[rpc] += len(raw)
        request, error = _parse(rpc, request_type, raw)
        if error is None:
            _, error = _invoke(rpc, fn, request, done)  # checks that fail before the wait are answered now
        if error is not None:
            RPCS_SERVED[rpc, _code_name(error)] += 1
            reply(None, error)
        return True
    return grpc_link.link_handler(serve, pool, serve_async, streams, serve_one_way)


def _as_response(value):
    return worker_pb2.RecvTensorResponse(tensor=tensor_util.make_tensor_proto(np.asarray(value)),
                                         send_start_micros=int(time.time() * 1e6))


def _stream_handler(worker, waiting):
    def handle(raw, context):
        try:
            request = worker_pb2.RecvTensorRequest.FromString(raw)
            waiting.acquire()
            try:
                value = np.asarray(worker.recv_value(request, _caller_timeout(context)))
            finally:
                waiting.release()
        except DecodeError as e:
            _abort(context, errors.InvalidArgumentError(
                None, None, f"{STREAM_METHOD}: malformed RecvTensorRequest: {e}"))
        except errors.OpError as e:
            _abort(context, e)
        RPC_BYTES[STREAM_METHOD] += len(raw) + value.nbytes
        caller = grpc_link.caller_host(context)
        grpc_link.SERVED_PEER_BYTES[caller, "received"] += len(raw)
        grpc_link.SERVED_PEER_BYTES[caller, "sent"] += value.nbytes
        if not large_tensors.is_large(value):
            yield _as_response(value).SerializeToString()
            return
        value = np.ascontiguousarray(value)
        if value.dtype.byteorder == ">":
            value = value.astype(value.dtype.newbyteorder("<"))
        header = worker_pb2.RecvTensorResponse(send_start_micros=int(time.time() * 1e6))
        header.tensor.dtype = dtypes.as_dtype(value.dtype).as_datatype_enum
        for d in value.shape:
            header.tensor.tensor_shape.dim.add(size=d)
        yield header.SerializeToString()
        flat = memoryview(value.reshape(-1).view(np.uint8))
        for start in range(0, value.nbytes, CHUNK):
            yield bytes(flat[start:start + CHUNK])
    return grpc.unary_stream_rpc_method_handler(handle)


def master_handler(master, pool, streams=None):
    handlers = {rpc: _unary_handler(rpc, req, resp, getattr(master, fn)) for rpc, req, resp, fn in MASTER_METHODS}
    handlers[grpc_link.LINK] = _link_handler(MASTER_SERVICE, {rpc: (req, getattr(master, fn))
                                                              for rpc, req, _, fn in MASTER_METHODS}, pool,
                                             streams=streams)
    return grpc.method_handlers_generic_handler(MASTER_SERVICE, handlers)


def _recv_response(worker, request, value):
    """RecvTensor's answer. A tfmini peer that says it can stream gets only a marker for a large tensor
    (which stays parked for its RecvTensorStream): one small call is the fast path for small ones."""
    if value is DEAD:  # a dead tensor of a loop or cond spread over tasks (worker/frames.py)
        return worker_pb2.RecvTensorResponse(is_dead=True, send_start_micros=int(time.time() * 1e6))
    value = np.asarray(value)
    if request.transport_options.type_url == STREAM_OK and large_tensors.is_large(value):
        worker.park(request.step_id, request.rendezvous_key, value)
        response = worker_pb2.RecvTensorResponse()
        response.transport_options.type_url = STREAMED
        return response
    return _as_response(value)


def _recv_tensor(worker, waiting):
    """The unary RecvTensor: it holds a server thread while it waits (up to the caller's deadline), so only
    `waiting` (server/limits.py) may wait at once; past that it fails with RESOURCE_EXHAUSTED."""
    def recv_tensor(request, timeout=None):
        waiting.acquire()
        try:
            value = worker.recv_value(request, timeout)
        finally:
            waiting.release()
        return _recv_response(worker, request, value)
    return recv_tensor


def _recv_tensor_async(worker):
    """RecvTensor on a link: answered by the thread that sends the value, with no thread waiting meanwhile."""
    def recv_tensor(request, done):
        def finish(value, error):  # in the sending thread: whatever goes wrong here is the caller's answer
            response = None
            if error is None:
                response, error = _invoke("RecvTensor", _recv_response, worker, request, value)
            done(response, error)
        worker.recv_value_async(request, finish)
    return recv_tensor


def _push_tensors(worker):
    """The one-way PushTensors frame: its tensors go to the worker; a bad one fails its step there."""
    def push(raw, caller):
        RPC_BYTES[PUSH_METHOD] += len(raw)
        request, error = _parse(PUSH_METHOD, worker_pb2.PushTensorsRequest, raw)
        if error is not None:  # no step to fail: only the log can tell
            RPCS_SERVED[PUSH_METHOD, _code_name(error)] += 1
            log.warning("%s from %s dropped: %s", PUSH_METHOD, caller, error.message)
            return
        items = {}
        for pushed in request.tensor:
            key = pushed.rendezvous_key
            if pushed.parked:
                items[key] = large_tensors.PARKED
                continue
            value, error = _invoke(PUSH_METHOD, tensor_util.parse_tensor, pushed.tensor, key)
            if error is not None:
                break
            items[key] = value
        if error is None:
            _, error = _invoke(PUSH_METHOD, worker.push_tensors, request.step_id, items)
        if error is not None:
            worker.fail_step(request.step_id, error)
        RPCS_SERVED[PUSH_METHOD, _code_name(error)] += 1
    return push


def worker_handler(worker, pool, streams=None):
    waiting = server_limits.waiting_recvs()
    methods = {rpc: (req, getattr(worker, fn)) for rpc, req, _, fn in WORKER_METHODS}
    methods["RecvTensor"] = (worker_pb2.RecvTensorRequest, _recv_tensor(worker, waiting))
    handlers = {rpc: _unary_handler(rpc, req, resp, methods[rpc][1]) for rpc, req, resp, _ in WORKER_METHODS}
    handlers[STREAM_METHOD] = _stream_handler(worker, waiting)
    handlers[grpc_link.LINK] = _link_handler(WORKER_SERVICE, methods, pool,
                                             {"RecvTensor": (worker_pb2.RecvTensorRequest, _recv_tensor_async(worker))},
                                             streams, {PUSH_METHOD: _push_tensors(worker)})
    return grpc.method_handlers_generic_handler(WORKER_SERVICE, handlers)


def service_handlers(master, worker, max_streams_per_peer=None, max_calls_per_stream=None):
    """Both services' handlers, and the pool (shut it down with the server) that runs calls from links.
    Their Link streams share one bound (server/limits.py): `max_streams_per_peer` per peer connection, and
    `max_calls_per_stream` calls running on the pool per stream."""
    pool = grpc_link.make_pool()
    streams = server_limits.link_streams(max_streams_per_peer, max_calls_per_stream)
    return (master_handler(master, pool, streams), worker_handler(worker, pool, streams)), pool


def make_server(bind, handlers, max_workers=512, settings=None):
    """A started-later grpc.Server bound to `bind` ("host:port"); returns (server, bound port). Each peer
    process's link streams hold a thread for their life, so the pool (threads made on demand) is large.
    `settings` (server/security.py): TLS material and the cluster token every call must carry."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
                         handlers=handlers, options=CHANNEL_OPTIONS + SERVER_OPTIONS,
                         interceptors=security.server_interceptors(settings))
    port = security.add_port(server, bind, settings)
    if port == 0:
        raise errors.UnavailableError(None, None, f"Could not bind a gRPC server to {bind}")
    return server, port


# -- client side --------------------------------------------------------------
def _translate(e, rpc, peer):
    """The tf.errors exception for a failed call: the server's own error, or the transport's."""
    code, details = e.code(), e.details() or ""
    metadata = dict(e.trailing_metadata() or ())
    if metadata.get(_SERVER_ERROR[0]) == _SERVER_ERROR[1]:
        return errors.error_from_code(code.value[0], details, kind=metadata.get(_ERROR_KIND, ""))
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        what = "is unreachable" if code != grpc.StatusCode.DEADLINE_EXCEEDED else "did not answer in time"
        return errors.UnavailableError(None, None, f"{rpc} to {peer} failed: {peer} {what} ({details})")
    return errors.error_from_code(code.value[0], f"{rpc} to {peer}: {details}")


_shared, _shared_lock = {}, threading.Lock()


def _pushes_lost(channel):
    """What a worker link does when it breaks with frames of pushed tensors maybe undelivered: each of their
    steps is cleaned up on the receiver (AbortedError there, which aborts it everywhere), so a _Recv waiting for
    a lost tensor ends now, not at its deadline. Most of those steps are long done: cleaning one up is a no-op."""
    cleanup = channel.unary_unary(f"/{WORKER_SERVICE}/CleanupGraph",
                                  request_serializer=worker_pb2.CleanupGraphRequest.SerializeToString,
                                  response_deserializer=worker_pb2.CleanupGraphResponse.FromString)

    def lost(step_ids):
        for step_id in step_ids:
            try:
                cleanup(worker_pb2.CleanupGraphRequest(step_id=step_id), timeout=CONTROL_TIMEOUT)
            except (grpc.RpcError, ValueError):  # the receiver is gone too (its steps end with it), or we close
                return
    return lost


def _channel_and_links(address, settings=None):
    """The process's channel to `address` and its link per service, made once and shared by every stub (as
    TF's channel cache): sessions come and go, the connection and its link streams stay. A link stream
    holds a server thread for its life, so one per process, not one per session. `settings`: TLS and token
    (server/security.py; None: the environment's)."""
    settings = settings or security.current()
    with _shared_lock:
        entry = _shared.get((address, settings))
        if entry is None:
            channel = security.channel(address, settings, CHANNEL_OPTIONS)
            links = {MASTER_SERVICE: grpc_link.Link(channel, MASTER_SERVICE),
                     WORKER_SERVICE: grpc_link.Link(channel, WORKER_SERVICE, on_lost=_pushes_lost(channel))}
            entry = _shared[address, settings] = (channel, links)
        return entry


class Stub:
    """Calls a service's methods at `address`: `stub.run_graph(request, timeout=None)`. The step's calls
    (LINK_RPCS) travel over the address's link stream, the others as unary calls; `self._start[rpc]`
    starts a link call without waiting for it."""

    def __init__(self, address, service, methods, peer, step_timeout_s=DEFAULT_STEP_TIMEOUT, settings=None):
        self.address, self.peer = address, peer
        self.step_timeout = step_timeout_s
        self.channel, links = _channel_and_links(address, settings)
        self._link = links[service]
        self._start = {}
        for rpc, req, resp, fn in methods:
            call = self.channel.unary_unary(f"/{service}/{rpc}", request_serializer=req.SerializeToString,
                                            response_deserializer=resp.FromString)
            setattr(self, fn, self._bind(rpc, call, resp))

    def _bind(self, rpc, call, response_type):
        default = self.step_timeout if rpc in STEP_RPCS else CONTROL_TIMEOUT
        link, peer, address = self._link, self.peer, self.address

        def start(request, timeout=None):
            """The call in flight: `.result()` gives its response or raises its tf.errors class."""
            RPC_COUNTS[rpc] += 1
            raw = request.SerializeToString()
            RPC_BYTES[rpc] += len(raw)
            PEER_BYTES[address, "sent"] += len(raw)
            return _LinkCall(link.start(rpc, raw), timeout or default, peer, response_type, address)

        def over_link(request, timeout=None):
            return start(request, timeout).result()

        def unary(request, timeout=None):
            RPC_COUNTS[rpc] += 1
            try:
                response = call(request, timeout=timeout or default, wait_for_ready=False)
                sent, received = request.ByteSize(), response.ByteSize()
                RPC_BYTES[rpc] += sent + received
                PEER_BYTES[address, "sent"] += sent
                PEER_BYTES[address, "received"] += received
                RPCS_MADE[rpc, "OK"] += 1
                return response
            except grpc.RpcError as e:
                error = _translate(e, rpc, peer)
                RPCS_MADE[rpc, _code_name(error)] += 1
                raise error from None
        if rpc not in LINK_RPCS:
            return unary
        self._start[rpc] = start
        return over_link

    def close(self):
        pass  # the channel is the process's (see _channel_and_links)


class _LinkCall:
    """A call started on a link, with its deadline fixed at the start."""

    __slots__ = ("_pending", "_deadline", "_peer", "_response_type", "_address")

    def __init__(self, pending, timeout, peer, response_type, address=None):
        self._pending, self._deadline = pending, time.monotonic() + timeout
        self._peer, self._response_type, self._address = peer, response_type, address

    def on_failure(self, fn):
        """Calls fn(OpError) if the call fails (the server's error, or its stream broke), from the link's thread."""
        def done(pending):
            if pending.error is not None:
                fn(_translate(pending.error, pending.rpc, self._peer))
            elif pending.frame.code:
                fn(errors.error_from_code(pending.frame.code, pending.frame.message, kind=pending.frame.error_kind))
        self._pending.on_done(done)

    def on_peer_lost(self, fn):
        """Calls fn(UnavailableError) if the stream this call went over breaks (its task died, froze or was cut
        off), even after the call was answered, until the returned cancel() is called."""
        return self._pending.on_stream_break(lambda error: fn(_translate(error, self._pending.rpc, self._peer)))

    def result(self, timeout=None):
        rpc, peer = self._pending.rpc, self._peer
        left = self._deadline - time.monotonic()
        try:
            frame = self._pending.result(left if timeout is None else min(left, timeout))
        except grpc.RpcError as e:
            error = _translate(e, rpc, peer)
            RPCS_MADE[rpc, _code_name(error)] += 1
            raise error from None
        except TimeoutError:
            RPCS_MADE[rpc, "DEADLINE_EXCEEDED"] += 1
            raise errors.UnavailableError(
                None, None, f"{rpc} to {peer} failed: {peer} did not answer in time (Deadline Exceeded)") from None
        if frame.code:
            error = errors.error_from_code(frame.code, frame.message, kind=frame.error_kind)
            RPCS_MADE[rpc, _code_name(error)] += 1
            raise error
        RPC_BYTES[rpc] += len(frame.payload)
        RPCS_MADE[rpc, "OK"] += 1
        PEER_BYTES[self._address, "received"] += len(frame.payload)
        return self._response_type.FromString(frame.payload)


class WorkerStub(Stub):
    """A remote worker (core.interfaces.WorkerInterface): the WorkerService methods, `start_run_graph`, and
    `recv_array`, which streams a large tensor."""

    def __init__(self, address, task, step_timeout_s=DEFAULT_STEP_TIMEOUT, settings=None):
        super().__init__(address, WORKER_SERVICE, WORKER_METHODS, f"task {task} at {address}", step_timeout_s,
                         settings)
        self.task = task
        self._stream = self.channel.unary_stream(f"/{WORKER_SERVICE}/{STREAM_METHOD}",
                                                 request_serializer=worker_pb2.RecvTensorRequest.SerializeToString)

    def start_run_graph(self, request, timeout=None):
        return self._start["RunGraph"](request, timeout)

    def run_graph_arrays(self, request, sends, timeout=None):
        return self.run_graph(interfaces.sends_as_protos(request, sends), timeout), {}  # recv: TensorProtos

    def recv_array(self, step_id, key, timeout=None, large=False):
        """Tensor `key` of step `step_id` as a numpy array, however large: a small one in one RecvTensor, a
        large one by RecvTensorStream (at once when the caller says it is `large`)."""
        if large:
            return self.stream_array(step_id, key, timeout)
        request = worker_pb2.RecvTensorRequest(step_id=step_id, rendezvous_key=key)
        request.transport_options.type_url = STREAM_OK
        response = self.recv_tensor(request, timeout)
        if response.is_dead:
            return DEAD
        if response.transport_options.type_url != STREAMED:
            return tensor_util.make_ndarray(response.tensor)
        return self.stream_array(step_id, key, timeout)

    def push_tensors(self, step_id, items, timeout=None):
        """One way: no answer to wait for (`timeout` is unused); the receiver's _Recv waits under its deadline."""
        request = worker_pb2.PushTensorsRequest(step_id=step_id)
        for key, value in items.items():
            pushed = request.tensor.add(rendezvous_key=key)
            if value is large_tensors.PARKED:
                pushed.parked = True
            else:
                pushed.tensor.CopyFrom(tensor_util.make_tensor_proto(np.asarray(value)))
        raw = request.SerializeToString()
        RPC_COUNTS[PUSH_METHOD] += 1
        RPC_BYTES[PUSH_METHOD] += len(raw)
        PEER_BYTES[self.address, "sent"] += len(raw)
        self._link.send(PUSH_METHOD, raw, tag=step_id)

    def stream_array(self, step_id, key, timeout=None):
        """Tensor `key` of step `step_id` by RecvTensorStream: raw chunks into one preallocated array."""
        request = worker_pb2.RecvTensorRequest(step_id=step_id, rendezvous_key=key)
        RPC_COUNTS[STREAM_METHOD] += 1
        try:
            messages = self._stream(request, timeout=timeout or self.step_timeout, wait_for_ready=False)
            header = worker_pb2.RecvTensorResponse.FromString(next(messages))
            proto = header.tensor
            if proto.tensor_content or proto.dtype == 0 or proto.dtype == dtypes.string.as_datatype_enum:
                return tensor_util.make_ndarray(proto)
            np_dtype = np.dtype(dtypes.as_dtype(proto.dtype).as_numpy_dtype)
            shape = [d.size for d in proto.tensor_shape.dim]
            memory_limits.check_alloc(shape, np_dtype.itemsize, f"RecvTensor {key}", np_dtype.name)
            out = np.empty(shape, np_dtype)
            if out.size == 0 or (out.size == 1 and not shape):
                return tensor_util.make_ndarray(proto)
            flat, at = memoryview(out.reshape(-1).view(np.uint8)), 0
            for chunk in messages:
                flat[at:at + len(chunk)] = chunk
                at += len(chunk)
            RPC_BYTES[STREAM_METHOD] += request.ByteSize() + at
            PEER_BYTES[self.address, "sent"] += request.ByteSize()
            PEER_BYTES[self.address, "received"] += at
            RPCS_MADE[STREAM_METHOD, "OK"] += 1
            if at != out.nbytes:
                raise errors.DataLossError(None, None, f"RecvTensor {key} from {self.peer}: got {at} bytes of "
                                                       f"{out.nbytes}")
            return out
        except grpc.RpcError as e:
            raise _translate(e, "RecvTensor", self.peer) from None
        except StopIteration:
            raise errors.DataLossError(None, None, f"RecvTensor {key} from {self.peer}: empty stream") from None
        except ValueError as e:  # a chunk that does not fit the announced shape
            raise errors.DataLossError(None, None, f"RecvTensor {key} from {self.peer}: {e}") from None


class MasterStub(Stub):
    """A remote master (core.interfaces.SessionMaster): the MasterService methods, and `pull`, which
    streams a large fetch straight from the task that made it (the master only says where it is)."""

    pull_fetch_bytes = large_tensors.LARGE_TENSOR_BYTES  # fetches above this are pulled, not carried by RunStep

    def __init__(self, address, step_timeout_s=DEFAULT_STEP_TIMEOUT, settings=None):
        super().__init__(address, MASTER_SERVICE, MASTER_METHODS, f"master at {address}", step_timeout_s,
                         settings)
        self._workers = WorkerCache({}, step_timeout_s=step_timeout_s, settings=settings)
        self._cluster = {}  # task -> address, as the master named its cluster at CreateSession
        create = self.create_session

        def create_session(request, timeout=None):
            response = create(request, timeout)
            self._cluster = dict(response.tfmini_task_address)
            return response
        self.create_session = create_session

    def run_step_arrays(self, request, feeds, timeout=None):
        interfaces.feeds_as_protos([named.tensor for named in request.feed], feeds)
        return self.run_step(request, timeout), [None] * len(request.fetch)  # fetches: TensorProtos

    def run_callable_arrays(self, request, feeds, timeout=None):
        interfaces.feeds_as_protos(request.feed, feeds)
        response = self.run_callable(request, timeout)
        return response, [None] * len(response.fetch)

    def pull(self, location, timeout=None):
        """Only from the master itself or a task of the cluster it named when the session was created: a
        reply cannot send this client (and its token) to any other address."""
        if location.address != self.address and self._cluster.get(location.task) != location.address:
            raise errors.PermissionDeniedError(
                None, None, f"Refusing to pull fetch {location.index} from {location.task} at "
                            f"{location.address!r}: not an address of the cluster of the master at {self.address}")
        worker = self._workers.get(location.task, location.address)
        return worker.recv_array(location.step_id, location.rendezvous_key, timeout, large=True)


class WorkerCache:
    """Task name -> worker interface, created on first use: stubs for peers, the object itself for us."""

    def __init__(self, addresses, local_task=None, local_worker=None, step_timeout_s=DEFAULT_STEP_TIMEOUT,
                 settings=None):
        self.addresses = dict(addresses)
        self._local_task, self._local = local_task, local_worker
        self._stubs, self._lock = {}, threading.Lock()
        self._timeout, self._settings = step_timeout_s, settings

    def get(self, task, address=None):
        """The worker of `task`; `address` adds a task this cache did not know (a client learns them late)."""
        if task == self._local_task:
            return self._local
        stub = self._stubs.get(task)
        if stub is None:
            with self._lock:
                stub = self._stubs.get(task)
                if stub is None:
                    address = address or self.addresses.get(task)
                    if address is None:
                        raise errors.InvalidArgumentError(None, None, f"No worker known for task {task}")
                    stub = self._stubs[task] = WorkerStub(address, task, self._timeout, self._settings)
        return stub
