"""The sessions MonitoredSession is made of, outermost first (each wraps the next): RecoverableSession
(re-creates its session when a task it needs was lost), CoordinatedSession (the coordinator's stop and reported
errors), HookedSession (the hooks around every run) -> tf.Session; and the StepContext of `run_step_fn`.
"""
import time

from tfmini import tf_logging as logging
from tfmini.core import errors
from tfmini.protos import config_pb2
from tfmini.train.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

PREEMPTION_ERRORS = (errors.AbortedError, errors.UnavailableError)
RECREATE_PAUSE_SECS = 0.5  # between failed attempts to create a session (a task still down)


class WrappedSession:
    def __init__(self, sess):
        self._sess = sess
        self._wrapped_is_stoppable = isinstance(sess, WrappedSession)

    @property
    def graph(self):
        return self._sess.graph

    @property
    def sess_str(self):
        return getattr(self._sess, "sess_str", "")

    def _check_stop(self):
        return False

    def should_stop(self):
        if self._check_stop():
            return True
        if self._sess:
            return self._wrapped_is_stoppable and self._sess.should_stop()
        return True

    def close(self):
        if self._sess:
            try:
                self._sess.close()
            except PREEMPTION_ERRORS as e:
                logging.error("An error occurred when attempting to close the session. This may be due to a "
                              "preemption in a connected worker or parameter server. Error: %s", e)
            finally:
                self._sess = None

    def run(self, *args, **kwargs):
        return self._sess.run(*args, **kwargs)

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        run_with_hooks = run_with_hooks or self.run
        return step_fn(StepContext(raw_session, run_with_hooks))


class RecoverableSession(WrappedSession):
    """Closes the session and creates a new one whenever a run fails with AbortedError or UnavailableError."""

    def __init__(self, sess_creator):
        self._sess_creator = sess_creator
        super().__init__(self._create_session())

    def _create_session(self):
        while True:
            try:
                return self._sess_creator.create_session()
            except PREEMPTION_ERRORS as e:
                logging.info("An error was raised while a session was being created. This may be due to a "
                             "preemption of a connected worker or parameter server. A new session will be "
                             "created. Error: %s", e)
                time.sleep(RECREATE_PAUSE_SECS)

    def _check_stop(self):
        try:
            return self._sess._check_stop() if self._sess else True
        except PREEMPTION_ERRORS as e:
            logging.info("An error was raised while considering whether the session is complete. This may be due "
                         "to a preemption in a connected worker or parameter server. The current session will be "
                         "closed and a new session will be created. Error: %s", e)
            self.close()
            self._sess = self._create_session()
            return False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        while True:
            try:
                if not self._sess:
                    self._sess = self._create_session()
                return self._sess.run(fetches, feed_dict=feed_dict, options=options, run_metadata=run_metadata)
            except PREEMPTION_ERRORS as e:
                logging.info("An error was raised. This may be due to a preemption in a connected worker or "
                             "parameter server. The current session will be closed and a new session will be "
                             "created. Error: %s", e)
                self.close()
                self._sess = None

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        while True:
            try:
                if not self._sess:
                    self._sess = self._create_session()
                # A new session has a new raw session: the step context must see that one.
                raw = self._sess._sess._sess if isinstance(self._sess, CoordinatedSession) else raw_session
                return self._sess.run_step_fn(step_fn, raw, run_with_hooks)
            except PREEMPTION_ERRORS as e:
                logging.info("An error was raised. This may be due to a preemption in a connected worker or "
                             "parameter server. The current session will be closed and a new session will be "
                             "created. Error: %s", e)
                self.close()
                self._sess = None


class CoordinatedSession(WrappedSession):
    """Stops when the coordinator does; a run's error defers to the one a coordinated thread reported."""

    def __init__(self, sess, coord, stop_grace_period_secs=120):
        super().__init__(sess)
        self._coord, self._stop_grace_period_secs = coord, stop_grace_period_secs

    def _check_stop(self):
        self._coord.raise_requested_exception()
        return self._coord.should_stop()

    def close(self):
        self._coord.request_stop()
        try:
            self._coord.join(stop_grace_period_secs=self._stop_grace_period_secs, ignore_live_threads=True)
        finally:
            try:
                super().close()
            except Exception:  # noqa: BLE001 - as TF: a failure to close is not the caller's error
                pass

    def run(self, *args, **kwargs):
        try:
            return self._sess.run(*args, **kwargs)
        except PREEMPTION_ERRORS:
            raise
        except Exception:
            self._coord.raise_requested_exception()
            raise

    def run_step_fn(self, step_fn, raw_session, run_with_hooks):
        try:
            return self._sess.run_step_fn(step_fn, raw_session, run_with_hooks)
        except PREEMPTION_ERRORS + (StopRequested,):
            raise
        except Exception as e:
            self._coord.request_stop(e)
            self._coord.raise_requested_exception()
            raise


class StopRequested(StopIteration):
    pass


class HookedSession(WrappedSession):
    """Calls the hooks' before_run/after_run around each run and merges what they add."""

    def __init__(self, sess, hooks):
        super().__init__(sess)
        self._hooks, self._should_stop = hooks, False

    def _check_stop(self):
        return self._should_stop

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        actual_fetches = {"caller": fetches}
        run_context = SessionRunContext(original_args=SessionRunArgs(fetches, feed_dict), session=self._sess)
        options = options or config_pb2.RunOptions()
        feed_dict = self._call_hook_before_run(run_context, actual_fetches, feed_dict, options)
        run_metadata = run_metadata or config_pb2.RunMetadata()
        outputs = self._sess.run(_without_none(actual_fetches), feed_dict=feed_dict, options=options,
                                 run_metadata=run_metadata)
        for hook in self._hooks:
            hook.after_run(run_context, SessionRunValues(results=outputs.get(hook), options=options,
                                                         run_metadata=run_metadata))
        self._should_stop = self._should_stop or run_context.stop_requested
        return outputs.get("caller")

    def _call_hook_before_run(self, run_context, fetch_dict, user_feed_dict, options):
        hook_feeds = {}
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is not None:
                if request.fetches is not None:
                    fetch_dict[hook] = request.fetches
                if request.feed_dict:
                    _raise_if_feeds_intersect(hook_feeds, request.feed_dict, "Same tensor is fed by two hooks.")
                    hook_feeds.update(request.feed_dict)
                if request.options:
                    _merge_run_options(options, request.options)
        if not hook_feeds:
            return user_feed_dict
        if not user_feed_dict:
            return hook_feeds
        _raise_if_feeds_intersect(user_feed_dict, hook_feeds, "Same tensor is fed by a SessionRunHook and user.")
        hook_feeds.update(user_feed_dict)
        return hook_feeds


def _without_none(fetch_dict):
    """The caller may fetch None (hooks only): leave it out of the run, it comes back as None."""
    return {k: v for k, v in fetch_dict.items() if v is not None}


def _raise_if_feeds_intersect(feeds1, feeds2, message):
    common = set(feeds1) & set(feeds2)
    if common:
        raise RuntimeError(f"{message} Conflict(s): {list(common)}")


def _merge_run_options(options, incoming):
    options.trace_level = max(options.trace_level, incoming.trace_level)
    options.timeout_in_ms = max(options.timeout_in_ms, incoming.timeout_in_ms)
    options.inter_op_thread_pool = max(options.inter_op_thread_pool, incoming.inter_op_thread_pool)
    options.output_partition_graphs = options.output_partition_graphs or incoming.output_partition_graphs
    options.report_tensor_allocations_upon_oom = (options.report_tensor_allocations_upon_oom or
                                                  incoming.report_tensor_allocations_upon_oom)


class StepContext:
    """What `run_step_fn` gives a step function: the raw session, `run_with_hooks`, `request_stop`."""

    def __init__(self, session, run_with_hooks_fn):
        self._session, self._run_with_hooks_fn = session, run_with_hooks_fn

    @property
    def session(self):
        return self._session

    def run_with_hooks(self, *args, **kwargs):
        return self._run_with_hooks_fn(*args, **kwargs)

    def request_stop(self):
        raise StopRequested("step_fn has requested the iterations to stop.")
