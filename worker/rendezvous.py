"""Where a step's tensors meet: `_Send` puts a tensor under a rendezvous key, `_Recv` takes it.

A key is TensorFlow's (`tfmini.core.names.make_key`).
Each step has its own table (the step id is not part of the key). A table can
be aborted: every waiting and later `recv` then fails with the abort's error.
"""
import threading
import time

from tfmini.core import errors


class StepRendezvous:
    """The tensors of one step, by key. `recv` waits (up to a deadline) for a `send`; `recv_async` leaves a
    callback instead, which the `send` (or an abort) calls in its own thread: a peer's RecvTensor that
    comes before its value holds no thread while it waits.

    Most steps never wait (their only keys are the client's feeds and fetches),
    so the condition variable is made on the first wait, not per step.
    """

    __slots__ = ("_values", "_cond", "_error", "_callbacks", "_lock")
    _make_cond_lock = threading.Lock()

    def __init__(self):
        self._values = {}
        self._cond = None
        self._error = None
        self._callbacks = None  # key -> callback(value, error), made on the first recv_async
        self._lock = threading.Lock()

    def _notify(self):
        cond = self._cond
        if cond is not None:
            with cond:
                cond.notify_all()

    def send(self, key, value):
        if self._error is not None:
            raise self._error
        self.put_all({key: value})

    def put_all(self, items):
        called = ()
        with self._lock:
            if self._error is not None:
                return  # an aborted step: its receivers fail with the abort's error
            callbacks = self._callbacks
            if callbacks:
                called, rest = [], {}
                for k, v in items.items():
                    callback = callbacks.pop(k, None)
                    if callback is None:
                        rest[k] = v
                    else:
                        called.append((callback, v))
                items = rest
            self._values.update(items)  # written before _cond is read: see recv
        for callback, value in called:
            callback(value, None)
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

    def recv_async(self, key, callback):
        """Calls callback(value, None) when `key` is sent (at once if it is here), callback(None, error) if the
        table is aborted first."""
        with self._lock:
            error, value = self._error, self._values.pop(key, None)
            if error is None and value is None:
                if self._callbacks is None:
                    self._callbacks = {}
                self._callbacks[key] = callback
                return
        callback(value, error)

    def cancel_async(self, key, error):
        """Fails the callback still waiting under `key` (its deadline passed); False if none was waiting."""
        with self._lock:
            callback = self._callbacks.pop(key, None) if self._callbacks else None
        if callback is not None:
            callback(None, error)
        return callback is not None

    def abort(self, error):
        with self._lock:
            if self._error is None:
                self._error = error
            self._values.clear()
            callbacks, self._callbacks = self._callbacks, None
        for callback in (callbacks or {}).values():
            callback(None, error)
        self._notify()

    def empty(self):
        return not self._values and not self._callbacks
