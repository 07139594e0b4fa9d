"""The roles meet through declared interfaces (tfmini.core.interfaces): the in-process objects and the
gRPC stubs have the same methods with the same signatures, a deadline on each, and errors keep their
class across the wire (a restarted task is a TaskRestartedError, not a message to match)."""
import inspect

import pytest

import tfmini as tf
from tfmini.core import errors, interfaces
from tfmini.core.names import make_key
from tfmini.protos import worker_pb2
from tfmini.server import grpc_transport as transport
from tfmini.server.cluster import Cluster
from tfmini.server.grpc_master import connect_master
from tfmini.server.local import local_master
from tfmini.server.master import Master
from tfmini.server.server import Server
from tfmini.worker.worker import Worker

TASK = "/job:localhost/replica:0/task:0"


def _signature(fn):
    params = list(inspect.signature(fn).parameters.values())
    return [(p.name, p.default) for p in params if p.name != "self"]


def _check(obj, protocol):
    assert isinstance(obj, protocol), f"{type(obj).__name__} is not a {protocol.__name__}"
    for name in interfaces.methods(protocol):
        assert _signature(getattr(obj, name)) == _signature(getattr(protocol, name)), (type(obj).__name__, name)
        assert ("timeout", None) in _signature(getattr(obj, name)) or name == "close", (type(obj).__name__, name)


@pytest.fixture(scope="module")
def server():
    s = Server.create_local_server()
    yield s
    s.stop()


def test_workers_in_process_and_over_grpc_have_one_interface(server):
    _check(Worker(TASK), interfaces.WorkerInterface)
    _check(transport.WorkerStub(server.address, TASK), interfaces.WorkerInterface)


def test_masters_in_process_and_over_grpc_have_one_interface(server):
    _check(Master(Cluster({TASK: Worker(TASK)}, TASK)), interfaces.MasterInterface)
    for master in (local_master(None), connect_master(server.target), transport.MasterStub(server.address)):
        _check(master, interfaces.SessionMaster)


def test_an_in_process_and_a_remote_run_graph_start_alike(server):
    """The master starts every remote RunGraph and awaits them together, whatever the worker is."""
    request = worker_pb2.RunGraphRequest(graph_handle="no-such-graph", step_id=1)
    for worker in (Worker(TASK), transport.WorkerStub(server.address, TASK)):
        pending = worker.start_run_graph(request, 5.0)
        with pytest.raises(errors.TaskRestartedError, match="Graph handle is not found"):
            pending.result(5.0)


def test_a_restarted_task_is_a_typed_error_over_a_link_and_over_a_stream(server):
    """A key with another incarnation of the sending device means that task restarted since the master
    learned it: TaskRestartedError (an AbortedError, all a TensorFlow peer sees) by either path."""
    stub = transport.WorkerStub(server.address, TASK)
    device = next(iter(server.worker.local_devices.values())).attributes
    stale = make_key(device.name, device.incarnation + 1, device.name, "x")
    with pytest.raises(errors.TaskRestartedError, match="incarnation"):
        stub.recv_array(7, stale, 5.0)  # RecvTensor, a frame on the link
    with pytest.raises(errors.TaskRestartedError, match="incarnation"):
        stub.recv_array(7, stale, 5.0, large=True)  # RecvTensorStream, a unary-stream call
    assert issubclass(errors.TaskRestartedError, tf.errors.AbortedError)
    assert errors.error_from_code(errors.ABORTED, "m", kind="TaskRestartedError").__class__ is \
        errors.TaskRestartedError
    assert type(errors.error_from_code(errors.NOT_FOUND, "m", kind="TaskRestartedError")) is errors.NotFoundError
    assert type(errors.error_from_code(errors.ABORTED, "m", kind="Bogus")) is errors.AbortedError


def test_a_callers_timeout_caps_the_steps_own_deadline():
    from tfmini.protos import config_pb2
    from tfmini.server.master_session import MasterSession
    with_own = MasterSession("h", config_pb2.ConfigProto(operation_timeout_in_ms=5000), None)
    assert with_own._timeout(0) == 5.0 and with_own._timeout(0, 2.0) == 2.0 and with_own._timeout(0, 9.0) == 5.0
    assert with_own._timeout(1000, None) == 1.0  # RunOptions.timeout_in_ms first
    without = MasterSession("h", config_pb2.ConfigProto(), None)
    assert without._timeout(0) is None and without._timeout(0, 3.0) == 3.0
