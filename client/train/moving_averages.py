"""tf.train.ExponentialMovingAverage (TF 1.x): shadow variables `<var>/ExponentialMovingAverage` updated by
`shadow -= (shadow - var) * (1 - decay)`, and `assign_moving_average`, which batch normalization uses too."""
from tfmini.core import dtypes
from tfmini.graph import GraphKeys, get_default_graph
from tfmini.ops import array_ops, control_flow_ops, math_ops, state_ops
from tfmini.ops.core import convert_to_tensor
from tfmini.variables import Variable, global_variables, trainable_variables


def assign_moving_average(variable, value, decay, zero_debias=True, name=None):
    """variable -= (variable - value) * (1 - decay), as one AssignSub named after the scope `AssignMovingAvg`.

    With `zero_debias` the update goes through a `biased` shadow and a `local_step` counter under the
    variable's name, and `variable` receives biased / (1 - decay^step), as TF's _zero_debias."""
    graph = get_default_graph()
    with graph.name_scope(name or "AssignMovingAvg") as scope, graph.colocate_with(variable.op):
        decay = convert_to_tensor(1.0 - decay, name="decay")
        if decay.dtype.base_dtype != variable.dtype.base_dtype:
            decay = math_ops.cast(decay, variable.dtype.base_dtype)
        if zero_debias:
            return _zero_debias(variable, value, decay, scope)
        return state_ops.assign_sub(variable, (variable - value) * decay, name=scope)


def _zero_debias(unbiased, value, one_minus_decay, scope):
    from tfmini.variable_scope import get_variable, variable_scope
    from tfmini.init_ops import Zeros
    graph = get_default_graph()
    with variable_scope(unbiased.op.name):
        with graph.control_dependencies(None):
            biased = get_variable("biased", shape=unbiased.shape, dtype=unbiased.dtype.base_dtype,
                                  initializer=Zeros(), trainable=False)
            local_step = get_variable("local_step", shape=[], dtype=unbiased.dtype.base_dtype,
                                      initializer=Zeros(), trainable=False)
        update_biased = state_ops.assign_sub(biased, (biased - value) * one_minus_decay)
        update_step = state_ops.assign_add(local_step, 1)
        bias_factor = 1 - math_ops.pow(1.0 - one_minus_decay, update_step)
        return state_ops.assign(unbiased, update_biased / bias_factor, name=scope)


def moving_average_variables(scope=None):
    """tf.moving_average_variables: the variables an ExponentialMovingAverage keeps averages of."""
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


class ExponentialMovingAverage:
    def __init__(self, decay, num_updates=None, zero_debias=False, name="ExponentialMovingAverage"):
        self._decay, self._num_updates, self._zero_debias = decay, num_updates, zero_debias
        self._name = name
        self._averages = {}

    @property
    def name(self):
        return self._name

    def apply(self, var_list=None):
        """Creates the shadow variables (once per variable) and returns an op updating them all."""
        var_list = trainable_variables() if var_list is None else list(var_list)
        graph = get_default_graph()
        debiased = set()
        for var in var_list:
            if var.dtype.base_dtype not in (dtypes.float16, dtypes.float32, dtypes.float64):
                raise TypeError(f"The variables must be half, float, or double: {var.name}")
            if var in self._averages:
                continue
            with graph.control_dependencies(None), graph.name_scope(""):  # TF's init_scope
                if isinstance(var, Variable):
                    # TF starts from var.initialized_value() (a cond); tfmini has no cond ops and starts
                    # from the initial value, the same tensor var's own initializer assigns in that step.
                    with graph.colocate_with(var.op):
                        avg = Variable(var.initial_value, name=f"{var.op.name}/{self._name}/",
                                       trainable=False)
                    graph.add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, var)
                else:  # a tensor: its average starts at zero (and may be debiased)
                    shape, dtype = var.shape.as_list(), var.dtype.base_dtype
                    avg = Variable(lambda: array_ops.zeros(shape, dtype), name=f"{var.op.name}/{self._name}/",
                                   trainable=False)
                    if self._zero_debias:
                        debiased.add(avg)
            self._averages[var] = avg
        with graph.name_scope(self._name) as scope:
            decay = convert_to_tensor(self._decay, name="decay")
            if self._num_updates is not None:
                num_updates = self._num_updates
                if isinstance(num_updates, Variable):  # read afresh, as the variables below
                    num_updates = num_updates.read_value()
                num_updates = math_ops.cast(num_updates, dtypes.float32, name="num_updates")
                decay = math_ops.minimum(decay, (1.0 + num_updates) / (10.0 + num_updates))
            # A variable is read afresh, under the caller's control dependencies (the train op): tfmini's
            # updates write new arrays, so its `read` snapshot may hold the value from before the update.
            updates = [assign_moving_average(self._averages[var], var.read_value() if isinstance(var, Variable)
                                             else var, decay, zero_debias=self._averages[var] in debiased)
                       for var in var_list]
            return control_flow_ops.group(*updates, name=scope)

    def average(self, var):
        return self._averages.get(var)

    def average_name(self, var):
        if var in self._averages:
            return self._averages[var].op.name
        return f"{var.op.name}/{self._name}"

    def variables_to_restore(self, moving_avg_variables=None):
        """{checkpoint name: variable}: each averaged variable restored from its average, the rest as themselves."""
        if moving_avg_variables is None:
            moving_avg_variables = trainable_variables() + moving_average_variables()
        averaged = list(dict.fromkeys(moving_avg_variables))
        name_map = {self.average_name(v): v for v in averaged}
        for v in global_variables():
            if v not in averaged and v.op.name not in name_map:
                name_map[v.op.name] = v
        return name_map

