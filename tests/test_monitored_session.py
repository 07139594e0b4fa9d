"""MonitoredSession, MonitoredTrainingSession, the standard hooks, SessionManager, Scaffold, Supervisor, the
conditional accumulators and SyncReplicasOptimizer, in one process (the cluster: test_training_cluster.py)."""
import glob
import logging
import os
import time

import numpy as np
import pytest

import tfmini as tf
from tfmini.train import monitored_session, wrapped_sessions


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield
    tf.train.SummaryWriterCache.clear()


def regression():
    """A linear model on a fixed batch: (x, feed, loss, train_op, global_step)."""
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(tf.zeros([2, 1]), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0), name="loss")
    tf.summary.scalar("train_loss", loss)
    step = tf.train.get_or_create_global_step()
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return x, {x: np.ones((4, 2), np.float32)}, loss, train_op, step


class Recorder(tf.train.SessionRunHook):
    def __init__(self, log, fetch=None):
        self.log, self.fetch, self.results = log, fetch, []

    def begin(self):
        self.log.append("begin")

    def after_create_session(self, session, coord):
        assert isinstance(coord, tf.train.Coordinator)
        self.log.append("after_create_session")

    def before_run(self, run_context):
        self.log.append("before_run")
        return tf.train.SessionRunArgs(self.fetch) if self.fetch is not None else None

    def after_run(self, run_context, run_values):
        self.log.append("after_run")
        self.results.append(run_values.results)

    def end(self, session):
        self.log.append("end")


def test_hook_call_order_and_extra_fetches():
    x, feed, loss, train_op, step = regression()
    log = []
    hook = Recorder(log, fetch=step)
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        assert log == ["begin", "after_create_session"]
        assert sess.run(loss, feed) == pytest.approx(1.0)
        sess.run(train_op, feed)
        assert tf.get_default_graph().finalized
    assert log == ["begin", "after_create_session"] + ["before_run", "after_run"] * 2 + ["end"]
    assert hook.results == [0, 0]  # the step read before train_op's update
    assert not tf.get_default_graph().finalized  # given back as it was found


def test_end_is_skipped_on_error_and_out_of_range_is_a_clean_stop():
    x, feed, loss, train_op, step = regression()
    log = []
    with pytest.raises(ValueError, match="boom"):
        with tf.train.MonitoredSession(hooks=[Recorder(log)]):
            raise ValueError("boom")
    assert "end" not in log
    log.clear()
    with tf.train.MonitoredSession(hooks=[Recorder(log)]):
        raise tf.errors.OutOfRangeError(None, None, "input exhausted")
    assert log[-1] == "end"


def test_stop_at_step_hook_num_steps_and_last_step():
    x, feed, loss, train_op, step = regression()
    with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=5)]) as sess:
        n = 0
        while not sess.should_stop():
            sess.run(train_op, feed)
            n += 1
        with pytest.raises(RuntimeError, match="Run called even after should_stop requested"):
            sess.run(train_op, feed)
    assert n == 5
    with pytest.raises(ValueError, match="Only one of num_steps or last_step"):
        tf.train.StopAtStepHook(num_steps=1, last_step=2)


def test_checkpoints_summaries_and_restore(tmp_path):
    x, feed, loss, train_op, step = regression()
    ckpt = str(tmp_path)
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt, save_checkpoint_steps=4, save_summaries_steps=2,
                                           hooks=[tf.train.StopAtStepHook(last_step=10)]) as sess:
        while not sess.should_stop():
            sess.run(train_op, feed)
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-10")
    saved = sorted(int(p.rsplit("-", 1)[1].split(".")[0]) for p in glob.glob(ckpt + "/model.ckpt-*.index"))
    assert saved == [0, 4, 8, 10]  # at session creation, every 4 steps, and at the end
    assert os.path.exists(os.path.join(ckpt, "graph.pbtxt"))
    events = glob.glob(ckpt + "/events.out.tfevents.*")
    assert events
    losses = {e.step: v.simple_value for path in events for e in tf.train.summary_iterator(path)
              for v in e.summary.value if v.tag == "train_loss"}
    assert sorted(losses)[:3] == [1, 3, 5] and losses[1] > losses[max(losses)]
    statuses = {e.session_log.status for path in events for e in tf.train.summary_iterator(path)
                if e.HasField("session_log")}
    assert tf.summary.SessionLog.CHECKPOINT in statuses and tf.summary.SessionLog.START in statuses
    # A new session on the same directory restores the last checkpoint and goes on from its step.
    tf.reset_default_graph()
    x, feed, loss, train_op, step = regression()
    with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt, hooks=[tf.train.StopAtStepHook(num_steps=3)]) as sess:
        assert sess.run(step, feed) == 10  # feed: the summary hook runs the loss summary on this step too
        while not sess.should_stop():
            sess.run(train_op, feed)
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-13")


def test_checkpoint_defaults_follow_tf():
    regression()
    kinds = lambda s: {type(h).__name__: h for h in s._hooks}  # noqa: E731
    sess = tf.train.MonitoredTrainingSession(checkpoint_dir=None)
    assert "CheckpointSaverHook" not in kinds(sess)
    sess.close()
    tf.train.SummaryWriterCache.clear()


def test_nan_hook_and_logging_hook(caplog):
    x = tf.placeholder(tf.float32, [], name="x")
    step = tf.train.get_or_create_global_step()
    inc = tf.assign_add(step, 1)
    with pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss during training"):
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(x)]) as sess:
            sess.run(inc, {x: float("nan")})
    with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(x, fail_on_nan_loss=False)]) as sess:
        sess.run(inc, {x: 1.0})
        assert not sess.should_stop()
        sess.run(inc, {x: float("nan")})
        assert sess.should_stop()
    tf.logging.set_verbosity(tf.logging.INFO)
    try:
        with caplog.at_level(logging.INFO, logger="tfmini"):
            with tf.train.MonitoredSession(hooks=[tf.train.LoggingTensorHook({"x": x}, every_n_iter=2)]) as sess:
                for v in range(5):
                    sess.run(inc, {x: float(v)})
    finally:
        tf.logging.set_verbosity(tf.logging.WARN)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("x = ")]
    assert [m.split(" (")[0] for m in logged] == ["x = 0.0", "x = 2.0", "x = 4.0"]
    with pytest.raises(ValueError, match="exactly one of every_n_iter and every_n_secs"):
        tf.train.LoggingTensorHook({"x": x})


def test_final_ops_feed_fn_and_global_step_waiter_hooks():
    x = tf.placeholder(tf.float32, [], name="x")
    step = tf.train.get_or_create_global_step()
    total = tf.Variable(0.0, name="total")
    add = tf.group(tf.assign_add(total, x), tf.assign_add(step, 1))
    final = tf.train.FinalOpsHook(total * 10.0)
    values = iter([1.0, 2.0, 3.0])
    feeder = tf.train.FeedFnHook(lambda: {x: next(values)})
    with tf.train.MonitoredSession(hooks=[final, feeder, tf.train.GlobalStepWaiterHook(0)]) as sess:
        for _ in range(3):
            sess.run(add)
    assert final.final_ops_values == pytest.approx(60.0)


def test_step_counter_hook_writes_steps_per_second(tmp_path):
    x, feed, loss, train_op, step = regression()
    hook = tf.train.StepCounterHook(every_n_steps=2, output_dir=str(tmp_path))
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        for _ in range(6):
            sess.run(train_op, feed)
    tf.train.SummaryWriterCache.clear()
    rates = [v.simple_value for path in glob.glob(str(tmp_path) + "/events.*") for e in tf.train.summary_iterator(path)
             for v in e.summary.value if v.tag == "global_step/sec"]
    assert len(rates) >= 2 and all(r > 0 for r in rates)


class FailOnce(tf.train.SessionRunHook):
    """Raises `error` from the first `after_run` (as a run that lost a ps would)."""

    def __init__(self, error):
        self.error, self.created = error, 0

    def after_create_session(self, session, coord):
        self.created += 1

    def after_run(self, run_context, run_values):
        if self.error is not None:
            error, self.error = self.error, None
            raise error


@pytest.mark.parametrize("error", [tf.errors.AbortedError(None, None, "ps restarted"),
                                   tf.errors.UnavailableError(None, None, "ps down")])
def test_recoverable_session_recreates_on_preemption(error):
    x, feed, loss, train_op, step = regression()
    hook = FailOnce(error)
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        sess.run(train_op, feed)  # fails once inside, the session is made anew, the run retried
        assert hook.created == 2
        sess.run(train_op, feed)
        assert hook.created == 2


def test_non_preemption_errors_are_raised():
    x, feed, loss, train_op, step = regression()
    hook = FailOnce(tf.errors.InvalidArgumentError(None, None, "bad"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            sess.run(train_op, feed)
    assert hook.created == 1


class FlakyCreator(monitored_session.SessionCreator):
    """Fails `failures` times with UnavailableError (a ps still down), then creates a chief session."""

    def __init__(self, failures):
        self.failures, self.inner = failures, tf.train.ChiefSessionCreator()

    def create_session(self):
        if self.failures:
            self.failures -= 1
            raise tf.errors.UnavailableError(None, None, "task /job:ps/replica:0/task:0 at 127.0.0.1:1 is down")
        return self.inner.create_session()


def test_session_creation_is_retried_while_a_task_is_down(monkeypatch):
    monkeypatch.setattr(wrapped_sessions, "RECREATE_PAUSE_SECS", 0.01)
    x, feed, loss, train_op, step = regression()
    creator = FlakyCreator(3)
    with tf.train.MonitoredSession(session_creator=creator) as sess:
        assert creator.failures == 0
        sess.run(train_op, feed)


def test_singular_monitored_session_does_not_recover():
    x, feed, loss, train_op, step = regression()
    with pytest.raises(tf.errors.AbortedError):
        with tf.train.SingularMonitoredSession(hooks=[FailOnce(tf.errors.AbortedError(None, None, "x"))]) as sess:
            assert isinstance(sess.raw_session(), tf.Session)
            sess.run(train_op, feed)


def test_run_step_fn():
    x, feed, loss, train_op, step = regression()
    log = []
    with tf.train.MonitoredSession(hooks=[Recorder(log)]) as sess:
        def step_fn(step_context):
            step_context.session.run(train_op, feed)  # the raw session: no hooks
            return step_context.run_with_hooks(loss, feed)
        value = sess.run_step_fn(step_fn)
        assert value < 1.0 and log.count("before_run") == 1

        def stop(step_context):
            step_context.request_stop()
        assert sess.run_step_fn(stop) is None
        assert sess.should_stop()
        with pytest.raises(ValueError, match="step_context"):
            sess.run_step_fn(lambda ctx: None)


def test_scaffold_defaults_and_collections():
    regression()
    scaffold = tf.train.Scaffold().finalize()
    assert scaffold.init_op is not None and scaffold.ready_op is not None and scaffold.saver is not None
    assert tf.get_default_graph().finalized
    assert tf.get_collection(tf.GraphKeys.SAVERS) == [scaffold.saver]
    tf.reset_default_graph()
    regression()
    tf.add_to_collection(tf.GraphKeys.INIT_OP, tf.no_op())
    tf.add_to_collection(tf.GraphKeys.INIT_OP, tf.no_op())
    with pytest.raises(RuntimeError, match="More than one item in the collection"):
        tf.train.Scaffold().finalize()


def test_scaffold_init_fn_and_copy():
    x, feed, loss, train_op, step = regression()
    calls = []
    scaffold = tf.train.Scaffold(init_fn=lambda scaffold, sess: calls.append(scaffold))
    copy = tf.train.Scaffold(copy_from_scaffold=scaffold)
    with tf.train.MonitoredSession(session_creator=tf.train.ChiefSessionCreator(scaffold=copy)):
        pass
    assert calls == [copy]
    with pytest.raises(TypeError, match="copy_from_scaffold is not a Scaffold"):
        tf.train.Scaffold(copy_from_scaffold=object())


def test_session_manager(tmp_path):
    x, feed, loss, train_op, step = regression()
    ready = tf.report_uninitialized_variables()
    sm = tf.train.SessionManager(ready_op=ready, recovery_wait_secs=0.05)
    with pytest.raises(RuntimeError, match="Model is not initialized and no init_op"):
        sm.prepare_session("")
    # Nobody initializes: wait_for_session gives up at its deadline.
    start = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="Session was not ready after waiting"):
        sm.wait_for_session("", max_wait_secs=0.3)
    assert time.monotonic() - start < 5
    sess, initialized = sm.recover_session("", saver=tf.train.Saver(), checkpoint_dir=str(tmp_path))
    assert not initialized
    sess.close()
    sess = sm.prepare_session("", init_op=tf.global_variables_initializer())
    sess.run(train_op, feed)
    saver = tf.train.Saver()
    saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
    sess.close()
    sess, initialized = sm.recover_session("", saver=saver, checkpoint_dir=str(tmp_path))
    assert initialized and sess.run(step) == 1
    sess.close()
    # A ready op that is not ready names the variables.
    sess = tf.Session()
    assert tf.train.session_manager._ready(ready, sess, "x") == (False, "Variables not initialized: w, global_step")
    sess.close()


def test_supervisor_managed_session_initializes_saves_and_restores(tmp_path):
    x, feed, loss, train_op, step = regression()
    # summary_op=None: the graph's summary needs a feed, which a summary thread cannot give.
    sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=3600, save_summaries_secs=3600, summary_op=None)
    assert tf.get_default_graph().finalized and sv.global_step is step
    with sv.managed_session() as sess:
        deadline = time.monotonic() + 30
        while tf.train.latest_checkpoint(str(tmp_path)) is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the checkpoint thread saves once at start
        assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-0")
        for _ in range(3):
            sess.run(train_op, feed)
        assert not sv.should_stop()
        sv.saver.save(sess, sv.save_path, global_step=step)
    assert sv.should_stop()
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-3")
    assert glob.glob(str(tmp_path) + "/events.out.tfevents.*")
    tf.reset_default_graph()
    x, feed, loss, train_op, step = regression()
    sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0, save_summaries_secs=0, summary_op=None)
    with sv.managed_session() as sess:
        assert sess.run(step) == 3
    # An error in the block is raised again once the services stopped; OutOfRangeError is a clean stop.
    with pytest.raises(ValueError, match="inside"):
        with sv.managed_session():
            raise ValueError("inside")
    with sv.managed_session():
        raise tf.errors.OutOfRangeError(None, None, "done")


def test_supervisor_non_chief_waits_for_the_model():
    regression()
    sv = tf.train.Supervisor(is_chief=False, recovery_wait_secs=0.05)
    with pytest.raises(tf.errors.DeadlineExceededError):
        sv.prepare_or_wait_for_session("", max_wait_secs=0.2)


# -- accumulators ----------------------------------------------------------------------------
def test_conditional_accumulator_mean_stale_and_global_step():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[2], shared_name="acc")
    g = tf.placeholder(tf.float32, [2])
    local = tf.placeholder(tf.int64, [])
    apply = acc.apply_grad(g, local_step=local)
    take = acc.take_grad(2)
    count = acc.num_accumulated()
    set_step = acc.set_global_step(5)
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=300)) as sess:
        sess.run(apply, {g: [1.0, 2.0], local: 0})
        sess.run(apply, {g: [3.0, 6.0], local: 0})
        assert sess.run(count) == 2
        np.testing.assert_allclose(sess.run(take), [2.0, 4.0])
        assert sess.run(count) == 0
        sess.run(apply, {g: [9.0, 9.0], local: 0})  # older than the accumulator's step (1): dropped
        assert sess.run(count) == 0
        sess.run(set_step)
        sess.run(apply, {g: [9.0, 9.0], local: 4})
        assert sess.run(count) == 0
        sess.run(apply, {g: [1.0, 1.0], local: 5})
        with pytest.raises(tf.errors.DeadlineExceededError, match="has 1 of the 2 gradients it needs"):
            sess.run(take)
        # The same shared accumulator seen without a static shape: the kernel checks the gradient's.
        unshaped = tf.ConditionalAccumulator(tf.float32, shape=None, shared_name="acc")
        with pytest.raises(tf.errors.InvalidArgumentError, match="Shape mismatch"):
            sess.run(unshaped.apply_grad(tf.constant([1.0, 2.0, 3.0]), local_step=9))
    with pytest.raises(ValueError):
        acc.apply_grad(tf.constant([1.0, 2.0, 3.0]))  # the static shapes already disagree


def test_conditional_accumulator_sum_and_num_required():
    acc = tf.ConditionalAccumulator(tf.float64, shape=[], reduction_type="SUM")
    apply = acc.apply_grad(tf.constant(2.0, tf.float64))
    with tf.Session() as sess:
        sess.run(apply)
        sess.run(apply)
        assert sess.run(acc.take_grad(2)) == 4.0
        with pytest.raises(tf.errors.InvalidArgumentError, match="num_required must be positive"):
            sess.run(acc.take_grad(0))


def test_sparse_conditional_accumulator_averages_rows():
    acc = tf.SparseConditionalAccumulator(tf.float32, shape=[4, 2])
    a = acc.apply_indexed_slices_grad(tf.IndexedSlices(tf.constant([[1.0, 1.0], [2.0, 2.0]]), tf.constant([0, 2],
                                                                                                            tf.int64),
                                                       tf.constant([4, 2], tf.int64)))
    b = acc.apply_grad(tf.constant([2], tf.int64), tf.constant([[4.0, 6.0]]), grad_shape=[4, 2])
    taken = acc.take_indexed_slices_grad(2)
    with tf.Session() as sess:
        sess.run([a])
        sess.run(b)
        value = sess.run(taken)
    np.testing.assert_array_equal(value.indices, [0, 2])
    np.testing.assert_allclose(value.values, [[1.0, 1.0], [3.0, 4.0]])
    np.testing.assert_array_equal(value.dense_shape, [4, 2])


def test_sync_replicas_optimizer_in_one_process():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(tf.zeros([2, 1]), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
    step = tf.train.get_or_create_global_step()
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=2)
    with pytest.raises(ValueError, match="after apply_gradients"):
        opt.get_chief_queue_runner()
    train_op = opt.minimize(loss, global_step=step)
    final = tf.train.FinalOpsHook(step)
    hooks = [opt.make_session_run_hook(is_chief=True), tf.train.StopAtStepHook(last_step=6), final]
    local_steps, losses = 0, []
    with tf.train.MonitoredTrainingSession(hooks=hooks, config=tf.ConfigProto(operation_timeout_in_ms=5000)) as sess:
        while not sess.should_stop():
            _, value = sess.run([train_op, loss], {x: np.ones((4, 2), np.float32)})
            losses.append(value)
            local_steps += 1
    assert final.final_ops_values == 6
    assert local_steps >= 12  # two of this replica's gradients per global step (stale ones dropped)
    assert losses[-1] < 0.1 * losses[0]


def test_sync_replicas_optimizer_checks_its_tokens():
    v = tf.Variable(1.0)
    step = tf.train.get_or_create_global_step()
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=3,
                                         total_num_replicas=1)
    with pytest.raises(ValueError, match="should be called after apply_gradients"):
        opt.get_init_tokens_op()
    with pytest.raises(ValueError, match="Global step is required"):
        opt.minimize(v * v)
    opt.minimize(v * v, global_step=step)
    with pytest.raises(ValueError, match=r"Too few tokens to finish the first step: 1 \(given\) vs 2 \(needed\)"):
        opt.get_init_tokens_op(num_tokens=1)


def test_sync_replicas_optimizer_with_sparse_gradients():
    emb = tf.Variable(np.ones((5, 2), np.float32), name="emb")
    ids = tf.constant([0, 3, 3], tf.int64)
    loss = tf.reduce_sum(tf.square(tf.gather(emb, ids)))
    step = tf.train.get_or_create_global_step()
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=1)
    train_op = opt.minimize(loss, global_step=step)
    final = tf.train.FinalOpsHook(emb)
    hooks = [opt.make_session_run_hook(is_chief=True), tf.train.StopAtStepHook(last_step=1), final]
    with tf.train.MonitoredTrainingSession(hooks=hooks, config=tf.ConfigProto(operation_timeout_in_ms=5000)) as sess:
        while not sess.should_stop():
            sess.run(train_op)
    # One step of the mean sparse gradient: row 0 once (2 * 1), row 3 twice in one gradient (summed: 4).
    np.testing.assert_allclose(final.final_ops_values[[0, 3]], [[0.8, 0.8], [0.6, 0.6]], rtol=1e-6)
    np.testing.assert_allclose(final.final_ops_values[[1, 2, 4]], np.ones((3, 2)))
