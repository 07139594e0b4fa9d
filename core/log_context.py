"""What a log line is about: the session and step a thread is working on, set where the work happens
(the master's step, the worker's RunGraph) and read by server/logs.py's filter. Context variables, so one
gRPC thread's step never labels another's lines; core, so the worker can set them without importing the server."""
import contextvars

session = contextvars.ContextVar("tfmini_log_session", default=None)
step = contextvars.ContextVar("tfmini_log_step", default=None)


def enter(session_handle, step_id):
    """Sets both; returns the tokens for `leave` (a pool thread must not keep a finished step's labels)."""
    return session.set(session_handle), step.set(step_id)


def leave(tokens):
    session.reset(tokens[0])
    step.reset(tokens[1])
