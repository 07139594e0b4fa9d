"""tf.train.SessionManager: a session whose model is ready, by restoring, initializing or waiting.

The chief `prepare_session`s (restore the latest checkpoint, else run the init op); other workers
`wait_for_session` until the chief has made the model ready. "Ready" is the ready op reporting no
uninitialized variables; "ready for local init" is the same over the global variables only.

tfmini differs from TF in one default: `recovery_wait_secs` is 1 second, not 30. It is how often a
waiting worker asks whether the model is ready (one small step), and how soon a worker rejoins after
a parameter server came back; TF's 30 seconds would make every recovery at least that long.
"""
import time

import numpy as np

from tfmini import tf_logging as logging
from tfmini.core import errors
from tfmini.graph import get_default_graph
from tfmini.train import saver as saver_mod

DEFAULT_RECOVERY_WAIT_SECS = 1


def _ready(op, sess, msg):
    """(True, None) if `op` (a ready op) reports nothing uninitialized, else (False, why)."""
    if op is None:
        return True, None
    try:
        ready_value = sess.run(op)
    except errors.FailedPreconditionError as e:
        if "uninitialized" not in str(e):
            logging.warning("%s : error [%s]", msg, e)
            raise
        return False, str(e)
    ready_value = np.asarray(ready_value)
    if ready_value.dtype == np.int32 or ready_value.size == 0:
        return True, None
    names = ", ".join(v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ready_value.ravel())
    return False, "Variables not initialized: " + names


class SessionManager:
    def __init__(self, local_init_op=None, ready_op=None, ready_for_local_init_op=None, graph=None,
                 recovery_wait_secs=DEFAULT_RECOVERY_WAIT_SECS, local_init_run_options=None,
                 local_init_feed_dict=None):
        self._local_init_op, self._ready_op = local_init_op, ready_op
        self._ready_for_local_init_op = ready_for_local_init_op
        self._graph = graph or get_default_graph()
        self._recovery_wait_secs = recovery_wait_secs
        self._local_init_run_options, self._local_init_feed_dict = local_init_run_options, local_init_feed_dict
        if ready_op is None and ready_for_local_init_op is not None:
            raise ValueError("If you pass a ready_for_local_init_op you must also pass a ready_op")

    def _new_session(self, master, config):
        from tfmini.session import Session
        return Session(master, graph=self._graph, config=config)

    def _restore_checkpoint(self, master, saver=None, checkpoint_dir=None, checkpoint_filename_with_path=None,
                            wait_for_checkpoint=False, max_wait_secs=7200, config=None):
        """(session, whether it was restored from a checkpoint)."""
        sess = self._new_session(master, config)
        if checkpoint_dir and checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and checkpoint_filename_with_path.")
        if not saver or not (checkpoint_dir or checkpoint_filename_with_path):
            return sess, False
        if checkpoint_filename_with_path:
            saver.restore(sess, checkpoint_filename_with_path)
            return sess, True
        wait_time = 0
        state = saver_mod.get_checkpoint_state(checkpoint_dir)
        while not state or not state.model_checkpoint_path:
            if not wait_for_checkpoint or wait_time >= max_wait_secs:
                return sess, False
            logging.info("Waiting for checkpoint to be available.")
            time.sleep(self._recovery_wait_secs)
            wait_time += self._recovery_wait_secs
            state = saver_mod.get_checkpoint_state(checkpoint_dir)
        logging.info("Restoring model from %s", state.model_checkpoint_path)
        saver.restore(sess, state.model_checkpoint_path)
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
        return sess, True

    def prepare_session(self, master, init_op=None, saver=None, checkpoint_dir=None,
                        checkpoint_filename_with_path=None, wait_for_checkpoint=False, max_wait_secs=7200,
                        config=None, init_feed_dict=None, init_fn=None):
        """A session with the model ready: restored from the latest checkpoint, else initialized."""
        sess, is_loaded_from_checkpoint = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir, checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        try:
            if not is_loaded_from_checkpoint:
                if init_op is None and not init_fn and self._local_init_op is None:
                    raise RuntimeError("Model is not initialized and no init_op or init_fn or local_init_op was "
                                       "given")
                if init_op is not None:
                    sess.run(init_op, feed_dict=init_feed_dict)
                if init_fn:
                    init_fn(sess)
            local_init_success, msg = self._try_run_local_init_op(sess)
            if not local_init_success:
                raise RuntimeError(f"Init operations did not make model ready for local_init.  Init op: "
                                   f"{_name(init_op)}, init fn: {init_fn}, error: {msg}")
            is_ready, msg = self._model_ready(sess)
            if not is_ready:
                raise RuntimeError(f"Init operations did not make model ready.  Init op: {_name(init_op)}, init fn: "
                                   f"{init_fn}, local_init_op: {_name(self._local_init_op)}, error: {msg}")
        except BaseException:
            _safe_close(sess)
            raise
        return sess

    def recover_session(self, master, saver=None, checkpoint_dir=None, checkpoint_filename_with_path=None,
                        wait_for_checkpoint=False, max_wait_secs=7200, config=None):
        """(session, whether its model is ready): restored from a checkpoint if there is one; never initializes."""
        sess, is_loaded_from_checkpoint = self._restore_checkpoint(
            master, saver, checkpoint_dir=checkpoint_dir, checkpoint_filename_with_path=checkpoint_filename_with_path,
            wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config)
        local_init_success, msg = self._try_run_local_init_op(sess)
        if not is_loaded_from_checkpoint:
            return sess, False
        if not local_init_success:
            logging.info("Restoring model from %s did not make model ready for local init: %s",
                         checkpoint_dir or checkpoint_filename_with_path, msg)
            return sess, False
        is_ready, msg = self._model_ready(sess)
        if not is_ready:
            logging.info("Restoring model from %s did not make model ready: %s",
                         checkpoint_dir or checkpoint_filename_with_path, msg)
            return sess, False
        logging.info("Restored model from %s", checkpoint_dir or checkpoint_filename_with_path)
        return sess, True

    def wait_for_session(self, master, config=None, max_wait_secs=float("Inf")):
        """A session once another task (the chief) has made the model ready; DeadlineExceededError after
        `max_wait_secs`."""
        if max_wait_secs is None:
            max_wait_secs = float("Inf")
        start = time.monotonic()
        while True:
            sess = self._new_session(master, config)
            not_ready_msg = None
            try:
                local_init_success, not_ready_local_msg = self._try_run_local_init_op(sess)
                if local_init_success:
                    is_ready, not_ready_msg = self._model_ready(sess)
                    if is_ready:
                        return sess
            except BaseException:
                _safe_close(sess)
                raise
            _safe_close(sess)
            remaining = max_wait_secs - (time.monotonic() - start)
            if remaining < self._recovery_wait_secs:
                raise errors.DeadlineExceededError(None, None,
                                                   f"Session was not ready after waiting {max_wait_secs} secs.")
            logging.info("Waiting for model to be ready.  Ready_for_local_init_op:  %s, ready: %s",
                         not_ready_local_msg, not_ready_msg)
            time.sleep(self._recovery_wait_secs)

    def _try_run_local_init_op(self, sess):
        if self._local_init_op is None:
            return True, None
        is_ready, msg = self._model_ready_for_local_init(sess)
        if not is_ready:
            return False, msg
        logging.info("Running local_init_op.")
        sess.run(self._local_init_op, feed_dict=self._local_init_feed_dict, options=self._local_init_run_options)
        logging.info("Done running local_init_op.")
        return True, None

    def _model_ready(self, sess):
        return _ready(self._ready_op, sess, "Model not ready")

    def _model_ready_for_local_init(self, sess):
        return _ready(self._ready_for_local_init_op, sess, "Model not ready for local init")


def _name(op):
    return getattr(op, "name", op)


def _safe_close(sess):
    try:
        sess.close()
    except Exception:  # noqa: BLE001 - closing a session whose task went away: nothing more to do
        pass
