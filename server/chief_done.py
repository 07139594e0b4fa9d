"""The "chief is done" signal: a ps task can exit when training is over (TF users write a FIFOQueue trick
for this by hand; tfmini builds it in at both ends).

The chief's MonitoredTrainingSession, when it closes cleanly, enqueues one element into the queue
`QUEUE_NAME` (a FIFOQueue with that shared_name) on every ps task that holds a variable. A task started with
`tfmini-server --exit-after-chief` (or `Server(..., exit_after_chief=True)`) watches its own resources for
that element and then stops, `grace_secs` later, so that the other workers can finish the step they are in
and see the final global step.
"""
import logging
import threading

QUEUE_NAME = "tfmini_chief_done"
DEFAULT_GRACE_SECS = 5.0
_POLL_SECS = 0.5

log = logging.getLogger("tfmini.server")


def signalled(resources):
    """True once the chief's done signal has reached this task's resources (a ResourceMgr)."""
    key = f"queue:{QUEUE_NAME}"
    for container, names in resources.names().items():
        if key in names and len(resources.resource(container, key, lambda: None)) > 0:
            return True
    return False


def watch(server, grace_secs=DEFAULT_GRACE_SECS):
    """Starts a daemon thread that stops `server` `grace_secs` after the chief's done signal arrives."""
    def run():
        stopped = server._stopped
        while not stopped.wait(_POLL_SECS):
            if signalled(server.worker.resources):
                log.info("the chief finished training: task %s stops in %.1f s", server.task_name, grace_secs)
                if not stopped.wait(grace_secs):
                    server.stop()
                return
    thread = threading.Thread(target=run, name="chief-done-watch", daemon=True)
    thread.start()
    return thread
