"""Where a step's tensors meet: `_Send` puts a tensor under a rendezvous key, `_Recv` takes it.

A key is TensorFlow's `<send_device>;<hex incarnation>;<recv_device>;<tensor_name>;0:0`.
Each step has its own table (the step id is not part of the key). A table can
be aborted: every waiting and later `recv` then fails with the abort's error.
"""
import threading
import time

from tfmini import errors


def make_key(send_device, incarnation, recv_device, tensor_name, frame_iter="0:0"):
    return f"{send_device};{incarnation:016x};{recv_device};{tensor_name};{frame_iter}"


def parse_key(key):
    """(send_device, incarnation, recv_device, tensor_name) of a key; InvalidArgumentError if malformed."""
    parts = key.split(";")
    if len(parts) != 5:
        raise errors.InvalidArgumentError(None, None, f"Invalid rendezvous key: {key}")
    try:
        incarnation = int(parts[1], 16)
    except ValueError:
        raise errors.InvalidArgumentError(None, None, f"Invalid rendezvous key: {key}") from None
    return parts[0], incarnation, parts[2], parts[3]


class StepRendezvous:
    """The tensors of one step, by key. `recv` waits (up to a deadline) for a `send`.

    Most steps never wait (their only keys are the client's feeds and fetches),
    so the condition variable is made on the first wait, not per step.
    """

    __slots__ = ("_values", "_cond", "_error")
    _make_cond_lock = threading.Lock()

    def __init__(self):
        self._values = {}
        self._cond = None
        self._error = None

    def _notify(self):
        cond = self._cond
        if cond is not None:
            with cond:
                cond.notify_all()

    def send(self, key, value):
        if self._error is not None:
            raise self._error
        self._values[key] = value  # written before _cond is read: see recv
        self._notify()

    def put_all(self, items):
        self._values.update(items)
        self._notify()

    def take(self, key):
        """The value under `key` if it is already there (removing it), else None."""
        return self._values.pop(key, None)

    def recv(self, key, timeout):
        value = self._values.pop(key, None)
        if value is not None:
            return value
        with StepRendezvous._make_cond_lock:
            if self._cond is None:
                self._cond = threading.Condition(threading.Lock())
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._values:
                if self._error is not None:
                    raise self._error
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.DeadlineExceededError(None, None, f"Timed out after {timeout:.1f}s waiting for "
                                                                   f"tensor {key.split(';')[3]} ({key})")
                self._cond.wait(left)
            return self._values.pop(key)

    def abort(self, error):
        if self._error is None:
            self._error = error
        self._values.clear()
        self._notify()

    def empty(self):
        return not self._values
