"""tf.train.Supervisor (TF 1.x's supervisor.py, from its documented behaviour): the older way to train on a
cluster. The chief restores or initializes the model and, with a logdir, runs three services in threads
(checkpoints every `save_model_secs`, summaries and steps/sec every `save_summaries_secs`); other workers wait
until the model is ready. Everything stops through one Coordinator.
"""
import contextlib
import os

from tfmini import tf_logging as logging
from tfmini.graph import GraphKeys, get_default_graph
from tfmini.protos import event_pb2, summary_pb2
from tfmini.train import training_util
from tfmini.train.coordinator import Coordinator, LooperThread
from tfmini.train.session_manager import SessionManager


class Supervisor:
    USE_DEFAULT = 0

    def __init__(self, graph=None, ready_op=USE_DEFAULT, ready_for_local_init_op=USE_DEFAULT, is_chief=True,
                 init_op=USE_DEFAULT, init_feed_dict=None, local_init_op=USE_DEFAULT, logdir=None,
                 summary_op=USE_DEFAULT, saver=USE_DEFAULT, global_step=USE_DEFAULT, save_summaries_secs=120,
                 save_model_secs=600, recovery_wait_secs=30, stop_grace_secs=120, checkpoint_basename="model.ckpt",
                 session_manager=None, summary_writer=USE_DEFAULT, init_fn=None, local_init_run_options=None):
        from tfmini import variables
        from tfmini.summary import FileWriter, merge_all
        from tfmini.train.saver import Saver
        self._graph = graph or get_default_graph()
        with self._graph.as_default():
            self._ready_op = self._default(ready_op, GraphKeys.READY_OP, lambda: (
                variables.report_uninitialized_variables(variables.global_variables() + variables.local_variables())))
            self._ready_for_local_init_op = self._default(
                ready_for_local_init_op, "ready_for_local_init_op",
                lambda: variables.report_uninitialized_variables(variables.global_variables()))
            self._init_op = self._default(init_op, GraphKeys.INIT_OP, variables.global_variables_initializer)
            self._local_init_op = self._default(local_init_op, GraphKeys.LOCAL_INIT_OP,
                                                variables.local_variables_initializer)
            self._saver = self._default(saver, GraphKeys.SAVERS,
                                        lambda: Saver() if variables.global_variables() else None)
            self._summary_op = self._default(summary_op, GraphKeys.SUMMARY_OP, merge_all)
            self._global_step = (training_util.get_global_step(self._graph) if global_step is Supervisor.USE_DEFAULT
                                 else global_step)
        self._graph.finalize()
        self._is_chief, self._logdir, self._init_feed_dict = is_chief, logdir, init_feed_dict
        self._init_fn = init_fn
        self._save_summaries_secs, self._save_model_secs = save_summaries_secs, save_model_secs
        self._stop_grace_secs, self._recovery_wait_secs = stop_grace_secs, recovery_wait_secs
        self._save_path = os.path.join(logdir, checkpoint_basename) if logdir else None
        if summary_writer is Supervisor.USE_DEFAULT:
            summary_writer = FileWriter(logdir) if is_chief and logdir else None
        self._summary_writer = summary_writer
        self._graph_added_to_summary = False
        self._session_manager = session_manager or SessionManager(
            local_init_op=self._local_init_op, ready_op=self._ready_op,
            ready_for_local_init_op=self._ready_for_local_init_op, graph=self._graph,
            recovery_wait_secs=recovery_wait_secs, local_init_run_options=local_init_run_options)
        self._coord = Coordinator()
        self._started_threads = []

    def _default(self, value, collection, make):
        if value is not Supervisor.USE_DEFAULT:
            return value
        found = self._graph.get_collection(collection)
        if found:
            return found[0]
        value = make()
        if value is not None:
            self._graph.add_to_collection(collection, value)
        return value

    # -- what users read ---------------------------------------------------------------
    is_chief = property(lambda self: self._is_chief)
    session_manager = property(lambda self: self._session_manager)
    coord = property(lambda self: self._coord)
    init_op = property(lambda self: self._init_op)
    init_feed_dict = property(lambda self: self._init_feed_dict)
    ready_op = property(lambda self: self._ready_op)
    ready_for_local_init_op = property(lambda self: self._ready_for_local_init_op)
    local_init_op = property(lambda self: self._local_init_op)
    summary_writer = property(lambda self: self._summary_writer)
    summary_op = property(lambda self: self._summary_op)
    save_summaries_secs = property(lambda self: self._save_summaries_secs)
    global_step = property(lambda self: self._global_step)
    saver = property(lambda self: self._saver)
    save_model_secs = property(lambda self: self._save_model_secs)
    save_path = property(lambda self: self._save_path)

    # -- sessions -----------------------------------------------------------------------
    def prepare_or_wait_for_session(self, master="", config=None, wait_for_checkpoint=False, max_wait_secs=7200,
                                    start_standard_services=True):
        """The chief: a restored or initialized session (and, with a logdir, the services); others: a session
        once the chief made the model ready. Starts the graph's queue runners either way."""
        self._coord.clear_stop()
        if self._summary_writer:
            self._summary_writer.reopen()
        if self._is_chief:
            sess = self._session_manager.prepare_session(
                master, init_op=self._init_op, saver=self._saver, checkpoint_dir=self._logdir,
                wait_for_checkpoint=wait_for_checkpoint, max_wait_secs=max_wait_secs, config=config,
                init_feed_dict=self._init_feed_dict, init_fn=self._init_fn)
            self._write_graph()
            if start_standard_services:
                logging.info("Starting standard services.")
                self.start_standard_services(sess)
        else:
            sess = self._session_manager.wait_for_session(master, config=config, max_wait_secs=max_wait_secs)
        if start_standard_services:
            logging.info("Starting queue runners.")
            self.start_queue_runners(sess)
        return sess

    @contextlib.contextmanager
    def managed_session(self, master="", config=None, start_standard_services=True, close_summary_writer=True):
        """A session for a `with` block: an exception in the block stops the services (OutOfRangeError is a
        clean stop) and is raised again after they have; the session is closed at the end."""
        sess = None
        try:
            sess = self.prepare_or_wait_for_session(master=master, config=config,
                                                    start_standard_services=start_standard_services)
            yield sess
        except Exception as e:  # noqa: BLE001 - as TF: reported to the coordinator, raised by stop()
            self.request_stop(e)
        finally:
            try:
                self.stop(close_summary_writer=close_summary_writer)
            finally:
                if sess is not None:
                    try:
                        sess.close()
                    except Exception:  # noqa: BLE001 - pending calls end with the session either way
                        pass

    def start_standard_services(self, sess):
        """Checkpoint, summary and step-counter threads (chief, with a logdir)."""
        if not self._is_chief:
            raise RuntimeError("Only chief supervisor can start standard services. Because only chief "
                               "supervisors can write events.")
        if not self._logdir:
            logging.warning("Standard services need a 'logdir' passed to the SessionManager")
            return []
        if self._global_step is not None and self._summary_writer:
            step = training_util.global_step(sess, self._global_step)
            self._summary_writer.add_session_log(event_pb2.SessionLog(status=event_pb2.SessionLog.START), step)
        threads = []
        if self._save_summaries_secs and self._summary_writer:
            if self._summary_op is not None:
                threads.append(LooperThread(self._coord, self._save_summaries_secs, self._write_summaries, (sess,)))
            if self._global_step is not None:
                counter = _StepCounter(self, sess)
                threads.append(LooperThread(self._coord, self._save_summaries_secs, counter))
        if self._save_model_secs and self._saver:
            threads.append(LooperThread(self._coord, self._save_model_secs, self._save_checkpoint, (sess,)))
        for t in threads:
            t.start()
        self._started_threads.extend(threads)
        return threads

    def _write_summaries(self, sess):
        if self._global_step is not None:
            summary, step = sess.run([self._summary_op, self._global_step])
        else:
            summary, step = sess.run(self._summary_op), None
        self._summary_writer.add_summary(summary, step)

    def _save_checkpoint(self, sess):
        logging.info("Saving checkpoint to path %s", self._save_path)
        self._saver.save(sess, self._save_path, global_step=self._global_step)
        if self._summary_writer and self._global_step is not None:
            step = training_util.global_step(sess, self._global_step)
            self._summary_writer.add_session_log(
                event_pb2.SessionLog(status=event_pb2.SessionLog.CHECKPOINT, checkpoint_path=self._save_path), step)

    def _write_graph(self):
        if self._is_chief and self._logdir:
            from tfmini.importer import write_graph
            write_graph(self._graph, self._logdir, "graph.pbtxt")
        if self._summary_writer and not self._graph_added_to_summary:
            self._summary_writer.add_graph(self._graph)
            self._graph_added_to_summary = True

    def start_queue_runners(self, sess, queue_runners=None):
        if queue_runners is None:
            queue_runners = self._graph.get_collection(GraphKeys.QUEUE_RUNNERS)
        threads = []
        for qr in queue_runners:
            threads.extend(qr.create_threads(sess, coord=self._coord, daemon=True, start=True))
        self._started_threads.extend(threads)
        return threads

    def loop(self, timer_interval_secs, target, args=None, kwargs=None):
        """Calls `target(*args, **kwargs)` every `timer_interval_secs` in a thread until the supervisor stops."""
        looper = LooperThread(self._coord, timer_interval_secs, target=target, args=args, kwargs=kwargs)
        looper.start()
        self._started_threads.append(looper)
        return looper

    # -- stopping -----------------------------------------------------------------------
    def stop(self, threads=None, close_summary_writer=True, ignore_live_threads=False):
        """Stops the services and waits for them (at most stop_grace_secs); raises what a thread reported."""
        self._coord.request_stop()
        try:
            self._coord.join(self._started_threads + list(threads or []), stop_grace_period_secs=self._stop_grace_secs,
                             ignore_live_threads=ignore_live_threads)
        finally:
            self._started_threads = []
            if close_summary_writer and self._summary_writer:
                self._summary_writer.add_session_log(event_pb2.SessionLog(status=event_pb2.SessionLog.STOP))
                self._summary_writer.close()
                self._graph_added_to_summary = False

    def request_stop(self, ex=None):
        self._coord.request_stop(ex=ex)

    def should_stop(self):
        return self._coord.should_stop()

    def stop_on_exception(self):
        return self._coord.stop_on_exception()

    def wait_for_stop(self):
        self._coord.wait_for_stop()

    def summary_computed(self, sess, summary, global_step=None):
        if not self._summary_writer:
            raise RuntimeError("Writing a summary requires a summary writer.")
        if global_step is None and self._global_step is not None:
            global_step = training_util.global_step(sess, self._global_step)
        self._summary_writer.add_summary(summary, global_step)


class _StepCounter:
    """Writes `<global step>/sec` each time it is called (every save_summaries_secs)."""

    def __init__(self, sv, sess):
        import time
        self._sv, self._sess, self._time = sv, sess, time.time
        self._last_step, self._last_time = None, None
        self._tag = sv.global_step.op.name + "/sec"

    def __call__(self):
        step, now = training_util.global_step(self._sess, self._sv.global_step), self._time()
        if self._last_time is not None and now > self._last_time:
            steps_per_sec = (step - self._last_step) / (now - self._last_time)
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=self._tag, simple_value=steps_per_sec)])
            self._sv.summary_writer.add_summary(summary, step)
            logging.info("%s: %g", self._tag, steps_per_sec)
        self._last_step, self._last_time = step, now
