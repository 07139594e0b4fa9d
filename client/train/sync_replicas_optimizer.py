"""tf.train.SyncReplicasOptimizer (TF 1.x's sync_replicas_optimizer.py, from its documented behaviour).

Each replica computes gradients and applies them to one ConditionalAccumulator per variable (on the
variable's ps), tagged with its local step; a gradient older than the accumulator's global step is dropped.
The chief's queue runner takes the mean of `replicas_to_aggregate` gradients per variable, applies them
with the wrapped optimizer, increments the global step, and puts `max(total_num_replicas,
replicas_to_aggregate)` tokens (the new global step) in the sync token queue. A replica's train op ends by
taking one token, which becomes its next local step: no replica runs ahead of the aggregated model.

A dead replica: with `replicas_to_aggregate < total_num_replicas` the others still fill each step and training
goes on. Otherwise the others wait in the token dequeue, as in TF, but not forever: the wait ends at the step's
deadline in a DeadlineExceededError that names the queue and what it was waiting for (TF waits forever). The
session run hook sets that deadline on each step (tfmini's own): 80% of the session's RPC deadline
(ConfigProto.operation_timeout_in_ms, else 600 s), at most `DEFAULT_SYNC_STEP_TIMEOUT_MS`.
"""
from tfmini import tf_logging as logging
from tfmini.graph import GraphKeys, get_default_graph
from tfmini.indexed_slices import IndexedSlices
from tfmini.ops import array_ops, control_flow_ops, state_ops
from tfmini.ops.accumulator_ops import ConditionalAccumulator, SparseConditionalAccumulator
from tfmini.ops.data_flow_ops import FIFOQueue
from tfmini.protos import config_pb2
from tfmini.train.optimizer import Optimizer
from tfmini.train.queue_runner import QueueRunner
from tfmini.train.session_run_hook import SessionRunArgs, SessionRunHook

DEFAULT_SYNC_STEP_TIMEOUT_MS = 300_000


class SyncReplicasOptimizer(Optimizer):
    def __init__(self, opt, replicas_to_aggregate, total_num_replicas=None, variable_averages=None,
                 variables_to_average=None, use_locking=False, name="sync_replicas"):
        if total_num_replicas is None:
            total_num_replicas = replicas_to_aggregate
        super().__init__(use_locking, name)
        logging.info("SyncReplicasV2: replicas_to_aggregate=%s; total_num_replicas=%s", replicas_to_aggregate,
                     total_num_replicas)
        self._opt = opt
        self._replicas_to_aggregate, self._total_num_replicas = replicas_to_aggregate, total_num_replicas
        self._gradients_applied = False
        self._variable_averages, self._variables_to_average = variable_averages, variables_to_average
        self._tokens_per_step = max(total_num_replicas, replicas_to_aggregate)
        self._global_step = self._sync_token_queue = self._chief_queue_runner = None
        self._accumulator_list = []

    def compute_gradients(self, *args, **kwargs):
        return self._opt.compute_gradients(*args, **kwargs)

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """This replica's train op: apply to the accumulators, then wait for a token (the next local step)."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("Must supply at least one variable")
        if global_step is None:
            raise ValueError("Global step is required to check staleness")
        graph = get_default_graph()
        self._global_step = global_step
        train_ops, aggregated_grad, var_list = [], [], []
        local_anchor = control_flow_ops.no_op()  # on this worker (the device function's choice for non-variables)
        from tfmini.variables import Variable, global_variables, report_uninitialized_variables
        with graph.colocate_with(local_anchor):  # the local step stays on this worker, not on a ps
            self._local_step = Variable(initial_value=0, trainable=False, collections=[GraphKeys.LOCAL_VARIABLES],
                                        dtype=global_step.dtype.base_dtype, name="sync_rep_local_step")
        self.local_step_init_op = state_ops.assign(self._local_step, global_step)
        chief_init_ops = [self.local_step_init_op]
        self.ready_for_local_init_op = report_uninitialized_variables(global_variables())
        with graph.name_scope(name or self._name):
            for grad, var in grads_and_vars:
                var_list.append(var)
                with graph.device(var.device):
                    if grad is None:
                        aggregated_grad.append(None)
                        continue
                    if isinstance(grad, IndexedSlices):
                        accum = SparseConditionalAccumulator(grad.dtype, shape=(), shared_name=var.name + "/grad_accum")
                        train_ops.append(accum.apply_indexed_slices_grad(grad, local_step=self._local_step))
                        aggregated_grad.append(accum.take_indexed_slices_grad(self._replicas_to_aggregate))
                    else:
                        accum = ConditionalAccumulator(grad.dtype, shape=var.get_shape(),
                                                       shared_name=var.name + "/grad_accum")
                        train_ops.append(accum.apply_grad(grad, local_step=self._local_step))
                        aggregated_grad.append(accum.take_grad(self._replicas_to_aggregate))
                    self._accumulator_list.append((accum, var.device))
            with graph.device(global_step.device), graph.name_scope(""):
                update_op = self._opt.apply_gradients(list(zip(aggregated_grad, var_list)), global_step)
                self._sync_token_queue = FIFOQueue(-1, global_step.dtype.base_dtype, shapes=(), name="sync_token_q",
                                                   shared_name="sync_token_q")
                with graph.control_dependencies(train_ops):
                    token = self._sync_token_queue.dequeue()
                train_op = state_ops.assign(self._local_step, token)
                with graph.control_dependencies([update_op]):
                    # Read the step after the update (a snapshot taken earlier would hand out the old step, and
                    # every gradient of the next step would be dropped as stale).
                    tokens = array_ops.fill([self._tokens_per_step], _read_after(global_step))
                    sync_op = self._sync_token_queue.enqueue_many((tokens,))
                if self._variable_averages is not None:
                    with graph.control_dependencies([sync_op]), graph.name_scope(""):
                        sync_op = self._variable_averages.apply(self._variables_to_average)
                # Nothing closes the shared token queue when a session ends (a recovering chief needs it open);
                # the chief's hook closes it at a clean end, which ends the other replicas' last dequeue.
                self._chief_queue_runner = QueueRunner(self._sync_token_queue, [sync_op],
                                                       close_op=control_flow_ops.no_op(name="sync_token_q_keep"),
                                                       cancel_op=control_flow_ops.no_op(name="sync_token_q_keep_1"))
                self._close_token_queue_op = self._sync_token_queue.close()
            for accum, device in self._accumulator_list:
                with graph.device(device):
                    chief_init_ops.append(accum.set_global_step(global_step, name="SetGlobalStep"))
            self.chief_init_op = control_flow_ops.group(*chief_init_ops)
            self._gradients_applied = True
            return train_op

    def get_chief_queue_runner(self):
        if not self._gradients_applied:
            raise ValueError("Should be called after apply_gradients().")
        return self._chief_queue_runner

    def get_slot(self, *args, **kwargs):
        return self._opt.get_slot(*args, **kwargs)

    def variables(self):
        return self._opt.variables()

    def get_slot_names(self, *args, **kwargs):
        return self._opt.get_slot_names(*args, **kwargs)

    def get_init_tokens_op(self, num_tokens=-1):
        """Puts `num_tokens` (default replicas_to_aggregate) tokens in the queue: the first step's."""
        if not self._gradients_applied:
            raise ValueError("get_init_tokens_op() should be called after apply_gradients().")
        tokens_needed = self._replicas_to_aggregate - self._total_num_replicas
        if num_tokens == -1:
            num_tokens = self._replicas_to_aggregate
        elif num_tokens < tokens_needed:
            raise ValueError(f"Too few tokens to finish the first step: {num_tokens} (given) vs {tokens_needed} "
                             f"(needed)")
        graph = get_default_graph()
        if num_tokens > 0:
            with graph.device(self._global_step.device), graph.name_scope(""):
                tokens = array_ops.fill([num_tokens], self._global_step)
                return self._sync_token_queue.enqueue_many((tokens,))
        return control_flow_ops.no_op(name="no_init_tokens")

    def make_session_run_hook(self, is_chief, num_tokens=-1):
        return _SyncReplicasOptimizerHook(self, is_chief, num_tokens)


class _SyncReplicasOptimizerHook(SessionRunHook):
    """Runs the local (chief: also the accumulators' and tokens') init and starts the chief's queue runner in
    every new session; bounds each step where nothing else does (see the module's docstring)."""

    def __init__(self, sync_optimizer, is_chief, num_tokens):
        self._sync_optimizer, self._is_chief, self._num_tokens = sync_optimizer, is_chief, num_tokens

    def begin(self):
        if self._sync_optimizer._gradients_applied is False:
            raise ValueError("SyncReplicasOptimizer.apply_gradient should be called before using the hook.")
        opt = self._sync_optimizer
        self._ready_for_local_init_op = opt.ready_for_local_init_op
        if self._is_chief:
            self._local_init_op = opt.chief_init_op
            self._q_runner = opt.get_chief_queue_runner()
            self._init_tokens_op = opt.get_init_tokens_op(self._num_tokens)
            self._close_op = opt._close_token_queue_op
        else:
            self._local_init_op = opt.local_step_init_op
            self._q_runner = self._init_tokens_op = self._close_op = None

    def after_create_session(self, session, coord):
        from tfmini.train.session_manager import _ready
        local_init_success, msg = _ready(self._ready_for_local_init_op, session,
                                         "Model is not ready for SyncReplicasOptimizer local init.")
        if not local_init_success:
            raise RuntimeError(f"Init operations did not make model ready for SyncReplicasOptimizer local_init. "
                               f"Init op: {self._local_init_op.name}, error: {msg}")
        session.run(self._local_init_op)
        if self._init_tokens_op is not None:
            session.run(self._init_tokens_op)
        if self._q_runner is not None:
            self._q_runner.create_threads(session, coord=_Unjoined(coord), daemon=True, start=True)
        # The step's deadline, a little inside the deadline of the session's RPCs, so that a replica stuck
        # waiting for a dead one gets the server's DeadlineExceededError (what it waited for) and not a
        # transport timeout (an UnavailableError, which a MonitoredSession would take for a lost task).
        from tfmini.server.grpc_transport import DEFAULT_STEP_TIMEOUT
        config = getattr(session, "_config", None)
        rpc_ms = config.operation_timeout_in_ms if config is not None and config.operation_timeout_in_ms > 0 \
            else DEFAULT_STEP_TIMEOUT * 1000
        self._options = config_pb2.RunOptions(timeout_in_ms=int(min(DEFAULT_SYNC_STEP_TIMEOUT_MS, 0.8 * rpc_ms)))

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, options=self._options)

    def end(self, session):
        if self._close_op is not None:  # training is over: the others' waiting dequeues end (OutOfRangeError)
            session.run(self._close_op)


class _Unjoined:
    """The session's coordinator as the chief's queue runner sees it: stop requests and errors go to it, but its
    `join` does not wait for the runner's thread, which may be blocked in a take until the session closes (right
    after the join) and ends then; an error after the stop request is that ending, not news."""

    def __init__(self, coord):
        self._coord = coord

    def should_stop(self):
        return self._coord.should_stop()

    def wait_for_stop(self, timeout=None):
        return self._coord.wait_for_stop(timeout)

    def request_stop(self, ex=None):
        if not self._coord.should_stop():
            self._coord.request_stop(ex)

    def register_thread(self, thread):
        pass


def _read_after(global_step):
    """The global step's value, read by a new op (under the caller's control dependencies)."""
    return global_step.read_value() if hasattr(global_step, "read_value") else global_step
