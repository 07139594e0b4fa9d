"""The transfers of the frame executor (worker/frames.py): `_Send`/`_Recv` inside frames.

A transfer in a frame uses the rendezvous key `...;<frame id>:<iteration>`; it runs even when dead and
carries the deadness (`DEAD`), so both sides of a loop spread over tasks stay in step. A pull from a peer
runs in the background (the worker's pull pool); the step waits for it only when nothing else is ready,
and never past the step's deadline or the receive timeout.
"""
import concurrent.futures
import time

from tfmini.core import errors
from tfmini.core.deadness import DEAD
from tfmini.core.device import DeviceSpec
from tfmini.worker.executor import _invalid
from tfmini.worker.kernels.sendrecv import rendezvous_key


class FrameTransfers:
    """FramePlan's send/receive side. Uses its `keys`, `client_send`, `names`, `out_edges`, `_step`,
    `_futures`, `_emit`, `_emit_control` and `_done`."""

    def _transfer(self, i, knode, env, is_recv):
        attrs = knode.attrs
        key = rendezvous_key(attrs)
        base = key[:key.rindex(";") + 1]
        client = bool(attrs.get("client_terminated", False))
        self.client_send[i] = client
        remote = None
        if is_recv and not client:
            task = DeviceSpec.from_string(attrs["send_device"].decode()).task_name
            if task != env.task_name:
                remote = task
        self.keys[i] = (base, remote, key)

    def _wait_pulls(self, deadline):
        timeout = self.env.recv_timeout
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        arrived, _ = concurrent.futures.wait(self._futures, timeout=timeout,
                                             return_when=concurrent.futures.FIRST_COMPLETED)
        if not arrived:
            raise errors.DeadlineExceededError(None, None, "Timed out waiting for tensors from peers")
        for future in arrived:
            i, frame, it = self._futures.pop(future)
            try:
                value = future.result()
            except Exception as e:  # noqa: BLE001
                e._tfmini_node = self.names[i]
                raise
            self._finish(i, frame, it, value, value is DEAD)

    def _key(self, i, frame, it):
        base, _, key = self.keys[i]
        if frame.parent is None:
            return key
        return f"{base}{frame.id}:{it}"

    def _send(self, i, frame, it, value):
        if value is DEAD and self.client_send[i]:
            raise _invalid(f"Fetched tensor of '{self.names[i]}' is dead: it comes from the untaken branch of a "
                           f"cond (or the body of a finished loop)")
        self._step.rendezvous.send(self._key(i, frame, it), value)
        self._emit_control(i, value is DEAD, frame, it)

    def _recv(self, i, frame, it):
        """Receives now (True: a pull from a peer was started instead, and finishes the node later)."""
        key, remote = self._key(i, frame, it), self.keys[i][1]
        step = self._step
        if remote is None:
            value = step.recv_local(key)
            self._finish_outputs(i, frame, it, value, value is DEAD)
            return False
        worker = step.session.worker
        future = worker.pull_pool().submit(worker.pull, remote, step.step_id, key, step.session.recv_timeout)
        self._futures[future] = (i, frame, it)
        frame.iters[it].outstanding += 1
        return True

    def _finish(self, i, frame, it, value, dead):
        self._finish_outputs(i, frame, it, value, dead)
        self._done(frame, it)  # the pull's hold
        self._done(frame, it)  # the node's own

    def _finish_outputs(self, i, frame, it, value, dead):
        self._emit(self.out_edges[i][0], None if dead else value, dead, frame, it)
        self._emit_control(i, dead, frame, it)
