"""tf.train.SessionRunHook and the values that pass through it (TF's session_run_hook.py).

A MonitoredSession calls, for every hook: `begin()` once before the graph is finalized,
`after_create_session(session, coord)` for every (re)created session, `before_run(run_context)` and
`after_run(run_context, run_values)` around every `run`, and `end(session)` at a clean close.
"""
import collections


class SessionRunHook:
    """Does nothing; override what you need."""

    def begin(self):
        pass

    def after_create_session(self, session, coord):  # noqa: ARG002
        pass

    def before_run(self, run_context):  # noqa: ARG002
        return None

    def after_run(self, run_context, run_values):  # noqa: ARG002
        pass

    def end(self, session):  # noqa: ARG002
        pass


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook adds to a run: fetches, feeds and RunOptions (merged into the caller's)."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """The call a hook sees: the caller's arguments, the raw session, and a way to ask for a stop."""

    def __init__(self, original_args, session):
        self._original_args, self._session, self._stop_requested = original_args, session, False

    @property
    def original_args(self):
        return self._original_args

    @property
    def session(self):
        return self._session

    @property
    def stop_requested(self):
        return self._stop_requested

    def request_stop(self):
        self._stop_requested = True


SessionRunValues = collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])
