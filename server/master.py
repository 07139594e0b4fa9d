"""The master: TensorFlow's MasterService as a plain object over a Cluster of workers
(core.interfaces.MasterInterface). A step's `timeout`, when the caller gives one, caps the step's own
deadline (RunOptions.timeout_in_ms, else ConfigProto.operation_timeout_in_ms)."""
import logging
import random
import threading
import time

from tfmini.core import errors, log_context
from tfmini.core.device import DeviceSpec
from tfmini.protos import master_pb2, worker_pb2
from tfmini.server.master_session import MasterSession

log = logging.getLogger("tfmini.server")


class Master:
    def __init__(self, cluster):
        self.cluster = cluster
        self._sessions = {}
        self._lock = threading.Lock()
        self.steps = 0
        self.on_step = None  # fn(seconds) after each step: the server's metrics (server/metrics.py)

    def _session(self, handle):
        session = self._sessions.get(handle)  # a dict read is atomic: no lock on the step path
        if session is None:
            raise errors.AbortedError(None, None, f"Session {handle} is not found.")
        return session

    def create_session(self, request, timeout=None):
        handle = f"{random.getrandbits(64):016x}"
        session = MasterSession(handle, request.config, self.cluster)
        session.extend(request.graph_def)
        with self._lock:
            self._sessions[handle] = session
        log.info("session %s created (%d nodes)", handle, len(request.graph_def.node), extra={"session": handle[:8]})
        return master_pb2.CreateSessionResponse(session_handle=handle, graph_version=session.version,
                                                tfmini_task_address=self.cluster.addresses)

    def extend_session(self, request, timeout=None):
        version = self._session(request.session_handle).extend(request.graph_def, request.current_graph_version)
        return master_pb2.ExtendSessionResponse(new_graph_version=version)

    def run_step(self, request, timeout=None):
        session = self._step_session(request)
        return self._step(session, session.run_step, request, timeout)

    def run_step_arrays(self, request, feeds, timeout=None):
        session = self._step_session(request)
        return self._step(session, lambda r, t: session.run_step_arrays(r, feeds, t), request, timeout)

    def _step_session(self, request):
        if request.partial_run_handle:
            raise errors.UnimplementedError(None, None, "partial_run is not supported by tfmini")
        session = self._session(request.session_handle)
        self.steps += 1
        if self.steps % 1000 == 0:
            log.info("%d steps run", self.steps)
        return session

    def make_callable(self, request, timeout=None):
        handle = self._session(request.session_handle).make_callable(request.options)
        return master_pb2.MakeCallableResponse(handle=handle)

    def run_callable(self, request, timeout=None):
        session = self._session(request.session_handle)
        return self._step(session, session.run_callable, request, timeout)

    def run_callable_arrays(self, request, feeds, timeout=None):
        session = self._session(request.session_handle)
        return self._step(session, lambda r, t: session.run_callable_arrays(r, feeds, t), request, timeout)

    def _step(self, session, run, request, timeout):
        tokens = log_context.enter(session.handle[:8], None)  # the step's id is set where it is made
        start = time.perf_counter()
        try:
            return run(request, timeout)
        except errors.TaskRestartedError:
            # Re-learn the incarnations and register the plans again on the next step.
            self.cluster.forget_devices()
            session.close()
            raise
        finally:
            if self.on_step is not None:
                self.on_step(time.perf_counter() - start)
            log.debug("step done in %.1f ms", 1000 * (time.perf_counter() - start))
            log_context.leave(tokens)

    def release_callable(self, request, timeout=None):
        self._session(request.session_handle).release_callable(request.handle)
        return master_pb2.ReleaseCallableResponse()

    def close_session(self, request, timeout=None):
        with self._lock:
            session = self._sessions.pop(request.session_handle, None)
        if session is None:
            raise errors.AbortedError(None, None, f"Session {request.session_handle} is not found.")
        session.close()
        log.info("session %s closed", request.session_handle, extra={"session": request.session_handle[:8]})
        return master_pb2.CloseSessionResponse()

    def list_devices(self, request, timeout=None):
        local, remote = [], []
        for d in self.cluster.device_attributes():
            (local if d.name.startswith(self.cluster.local_task + "/") else remote).append(d)
        return master_pb2.ListDevicesResponse(local_device=local, remote_device=remote)

    def reset(self, request, timeout=None):
        """Closes every session and clears the named variable containers (all, if none) on every worker."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
        for task in {DeviceSpec.from_string(d).task_name for d in self.cluster.device_names()}:
            self.cluster.worker(task).cleanup_all(worker_pb2.CleanupAllRequest(container=request.container))
        return master_pb2.ResetResponse()

