"""TensorFlow's error classes (tf.errors), one per canonical error code.

Errors cross process boundaries as (code, message) pairs, and, for tfmini's refinements of a canonical
class (TaskRestartedError), the refinement's name as well: `error_from_code` rebuilds the right class on
the other side. A peer that knows no refinement (TensorFlow) sees the canonical class.
"""
from tfmini.protos import error_codes_pb2

OK = error_codes_pb2.OK
CANCELLED = error_codes_pb2.CANCELLED
UNKNOWN = error_codes_pb2.UNKNOWN
INVALID_ARGUMENT = error_codes_pb2.INVALID_ARGUMENT
DEADLINE_EXCEEDED = error_codes_pb2.DEADLINE_EXCEEDED
NOT_FOUND = error_codes_pb2.NOT_FOUND
ALREADY_EXISTS = error_codes_pb2.ALREADY_EXISTS
PERMISSION_DENIED = error_codes_pb2.PERMISSION_DENIED
UNAUTHENTICATED = error_codes_pb2.UNAUTHENTICATED
RESOURCE_EXHAUSTED = error_codes_pb2.RESOURCE_EXHAUSTED
FAILED_PRECONDITION = error_codes_pb2.FAILED_PRECONDITION
ABORTED = error_codes_pb2.ABORTED
OUT_OF_RANGE = error_codes_pb2.OUT_OF_RANGE
UNIMPLEMENTED = error_codes_pb2.UNIMPLEMENTED
INTERNAL = error_codes_pb2.INTERNAL
UNAVAILABLE = error_codes_pb2.UNAVAILABLE
DATA_LOSS = error_codes_pb2.DATA_LOSS


class OpError(Exception):
    """A failed step or RPC: `.error_code`, `.message`, and `.op`/`.node_def` where known."""

    error_code = UNKNOWN

    def __init__(self, node_def=None, op=None, message="", error_code=None):
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message
        if error_code is not None:
            self.error_code = error_code

    def __str__(self):
        return self.message

    def __reduce__(self):  # keeps the class when copied (e.g. by pytest or multiprocessing)
        return (type(self), (self.node_def, self.op, self.message))


def _make(name, code):
    cls = type(name, (OpError,), {"error_code": code, "__module__": __name__})
    return cls


CancelledError = _make("CancelledError", CANCELLED)
UnknownError = _make("UnknownError", UNKNOWN)
InvalidArgumentError = _make("InvalidArgumentError", INVALID_ARGUMENT)
DeadlineExceededError = _make("DeadlineExceededError", DEADLINE_EXCEEDED)
NotFoundError = _make("NotFoundError", NOT_FOUND)
AlreadyExistsError = _make("AlreadyExistsError", ALREADY_EXISTS)
PermissionDeniedError = _make("PermissionDeniedError", PERMISSION_DENIED)
UnauthenticatedError = _make("UnauthenticatedError", UNAUTHENTICATED)
ResourceExhaustedError = _make("ResourceExhaustedError", RESOURCE_EXHAUSTED)
FailedPreconditionError = _make("FailedPreconditionError", FAILED_PRECONDITION)
AbortedError = _make("AbortedError", ABORTED)
OutOfRangeError = _make("OutOfRangeError", OUT_OF_RANGE)
UnimplementedError = _make("UnimplementedError", UNIMPLEMENTED)
InternalError = _make("InternalError", INTERNAL)
UnavailableError = _make("UnavailableError", UNAVAILABLE)
DataLossError = _make("DataLossError", DATA_LOSS)

_BY_CODE = {cls.error_code: cls for cls in OpError.__subclasses__()}


class TaskRestartedError(AbortedError):
    """A task has lost what the master gave it because it restarted: a RecvTensor names its old
    incarnation, or a RunGraph a graph it never registered. The master re-learns the cluster's
    devices and registers its graphs again on the next step."""


_REFINEMENTS = {cls.__name__: cls for cls in (TaskRestartedError,)}


def error_from_code(code, message, node_def=None, op=None, kind=""):
    """The OpError subclass for a canonical code, as TF's `_make_specific_exception`; `kind` names a
    refinement of it (see `error_kind`)."""
    cls = _REFINEMENTS.get(kind)
    if cls is None or cls.error_code != code:
        cls = _BY_CODE.get(code, UnknownError)
    return cls(node_def, op, message)


def error_kind(error):
    """The name of `error`'s refinement of its canonical class, for the wire; "" for a canonical class."""
    name = type(error).__name__
    return name if name in _REFINEMENTS else ""


def exception_type_from_error_code(code):
    return _BY_CODE.get(code, UnknownError)


def error_code_from_exception_type(cls):
    return cls.error_code
