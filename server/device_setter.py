"""tf.train.replica_device_setter: variables round-robin over the ps tasks, everything else on the worker."""
from tfmini.core.device import DeviceSpec

STANDARD_PS_OPS = (
    "Variable", "VariableV2", "AutoReloadVariable", "MutableHashTable", "MutableHashTableV2",
    "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
    "MutableDenseHashTableV2", "VarHandleOp", "BoostedTreesEnsembleResourceHandleOp",
    "BoostedTreesQuantileStreamResourceHandleOp", "ResourceConditionalAccumulator", "DecisionTree",
    "TensorForestTreeResourceHandleOp", "TensorForestQuantileStreamResourceHandleOp")


class _RoundRobinStrategy:
    def __init__(self, num_tasks):
        self._num_tasks, self._next_task = num_tasks, 0

    def __call__(self, unused_op):
        task = self._next_task
        self._next_task = (self._next_task + 1) % self._num_tasks
        return task


def _merged(base, current):
    """`base` with every field `current` sets overriding it (TF's make_merged_spec)."""
    out = base.copy()
    out.merge_from(current)
    return out


def replica_device_setter(ps_tasks=0, ps_device="/job:ps", worker_device="/job:worker", merge_devices=True,
                          cluster=None, ps_ops=None, ps_strategy=None):
    """A device function for `tf.device`: ps ops go to `ps_device` (task chosen round robin), the rest to
    `worker_device`; a device the op already has wins field by field. None when there are no ps tasks."""
    if cluster is not None:
        from tfmini.server.server import ClusterSpec
        spec = (cluster if isinstance(cluster, ClusterSpec) else ClusterSpec(cluster)).as_dict()
        ps_job = DeviceSpec.from_string(ps_device).job
        if ps_job not in spec or spec[ps_job] is None:
            return None
        ps_tasks = len(spec[ps_job])
    if ps_tasks == 0:
        return None
    ps_ops = tuple(ps_ops) if ps_ops is not None else STANDARD_PS_OPS
    strategy = ps_strategy or _RoundRobinStrategy(ps_tasks)

    def device_function(op):
        if not merge_devices and op.device:
            return op.device
        current = DeviceSpec.from_string(op.device or "")
        if ps_device and op.type in ps_ops:
            ps = DeviceSpec.from_string(ps_device)
            if ps.job and (not current.job or current.job == ps.job):
                ps.task = strategy(op)
            return _merged(ps, current).to_string()
        return _merged(DeviceSpec.from_string(worker_device or ""), current).to_string()
    return device_function
