"""How the roles meet: TensorFlow's MasterInterface and WorkerInterface, as typing.Protocols.

Each has an in-process implementation, called directly, and a gRPC one; the callers use only the
methods declared here, so nothing needs to ask which one it holds.

- WorkerInterface: `tfmini.worker.worker.Worker` (the master's own task, and the embedded session's)
  and `tfmini.server.grpc_transport.WorkerStub` (every other task).
- MasterInterface: `tfmini.server.master.Master` and `tfmini.server.grpc_transport.MasterStub`;
  SessionMaster adds what a client Session needs: `tfmini.server.local.LocalMaster` (the embedded
  session), `InProcessMaster` (a Session on a server of its own process, TF's LocalMaster) and MasterStub.

Requests and responses are the protos of master.proto and worker.proto; the `*_arrays` calls carry tensors
beside them as numpy arrays, which an in-process call passes by reference (no TensorProto round trip) and a
stub converts to and from the protos the wire needs (`sends_as_protos`, `feeds_as_protos`). Every method
takes `timeout`, in seconds: None means the default for its kind (a control call's few seconds, or a step's
operation timeout). An in-process call runs in the caller's thread, and what it waits for has deadlines of its own.
"""
from typing import Protocol, runtime_checkable


class PendingCall(Protocol):
    """A call in flight: `result()` is its response, or raises its tf.errors class."""

    def result(self, timeout=None): ...

    def on_failure(self, fn):
        """Calls fn(OpError) once if the call fails, from whatever thread learns it (fn must not block)."""

    def on_peer_lost(self, fn):
        """Calls fn(OpError) if the called task is lost (dies, freezes, is cut off) before the returned
        cancel() is called, even after the call was answered (fn must not block). In-process: never."""


@runtime_checkable
class WorkerInterface(Protocol):
    def get_status(self, request, timeout=None): ...
    def create_worker_session(self, request, timeout=None): ...
    def delete_worker_session(self, request, timeout=None): ...
    def register_graph(self, request, timeout=None): ...
    def deregister_graph(self, request, timeout=None): ...
    def run_graph(self, request, timeout=None): ...

    def run_graph_arrays(self, request, sends, timeout=None):
        """run_graph with more sent tensors as arrays (`sends`: {rendezvous key: array}, beside request.send);
        returns (response, {key: array}): the tensors of request.recv_key it hands back as arrays, and any it
        could not (a stub's, which came over the wire) as TensorProtos in response.recv."""

    def start_run_graph(self, request, timeout=None) -> PendingCall:
        """RunGraph without waiting for it: the master starts one per remote task, then awaits them all."""

    def cleanup_graph(self, request, timeout=None): ...
    def cleanup_all(self, request, timeout=None): ...
    def recv_tensor(self, request, timeout=None): ...

    def recv_array(self, step_id, key, timeout=None, large=False):
        """Tensor `key` of step `step_id` as an array, however large; `large` says the caller knows it is
        large (a parked fetch), so a stub streams it at once."""

    def push_tensors(self, step_id, items, timeout=None):
        """Hands this worker tensors of step `step_id` a peer's _Sends pushed ({rendezvous key: host array, or
        large_tensors.PARKED for a large one that the receiver streams from the sender}), one way: nothing answers,
        and what goes wrong fails the step on this worker."""


@runtime_checkable
class MasterInterface(Protocol):
    def create_session(self, request, timeout=None): ...
    def extend_session(self, request, timeout=None): ...
    def run_step(self, request, timeout=None): ...

    def run_step_arrays(self, request, feeds, timeout=None):
        """run_step with feeds[i] the array of request.feed[i] (None: its TensorProto holds the value; the
        TensorProto gives the dtype either way); returns (response, fetched): fetched[i] is fetch i as an array,
        or None where response.tensor[i] (or response.tfmini_pull) holds it."""

    def close_session(self, request, timeout=None): ...
    def list_devices(self, request, timeout=None): ...
    def reset(self, request, timeout=None): ...
    def make_callable(self, request, timeout=None): ...
    def run_callable(self, request, timeout=None): ...

    def run_callable_arrays(self, request, feeds, timeout=None):
        """run_callable with feeds[i] the array of request.feed[i] (None: that TensorProto holds it); returns
        (response, fetched) as run_step_arrays does."""
    def release_callable(self, request, timeout=None): ...


@runtime_checkable
class SessionMaster(MasterInterface, Protocol):
    """The master a client Session holds."""

    pull_fetch_bytes: int  # fetches above this many bytes are left on their task and pulled (0: none are)

    def pull(self, location, timeout=None):
        """The array at a RunStep/RunCallable response's TensorLocation, straight from its task."""

    def close(self):
        """Frees what this handle holds (not the master itself, which may serve others)."""


def sends_as_protos(request, sends):
    """`request` (a RunGraphRequest) with `sends` ({rendezvous key: array}) added to its send TensorProtos."""
    from tfmini.core.tensor_util import make_tensor_proto
    for key, value in sends.items():
        named = request.send.add()
        named.name = key
        named.tensor.CopyFrom(make_tensor_proto(value))
    return request


def feeds_as_protos(tensors, feeds):
    """Puts each array of `feeds` in its TensorProto of `tensors` (which gives its dtype)."""
    from tfmini.core import dtypes
    from tfmini.core.tensor_util import make_tensor_proto
    for tensor, value in zip(tensors, feeds):
        if value is not None:
            tensor.CopyFrom(make_tensor_proto(value, dtypes.as_dtype(tensor.dtype)))


def methods(protocol):
    """The names of a protocol's methods (its bases' too), for checks and for adapters that forward them."""
    return sorted({n for cls in protocol.__mro__ if cls.__module__ == __name__
                   for n, v in vars(cls).items() if callable(v) and not n.startswith("_")})
