"""tf.Variable (TF 1.x ref variables): VariableV2 + Assign initializer + Identity snapshot named `read`."""
import contextlib

from tfmini.core import dtypes
from tfmini.graph import GraphKeys, Tensor, get_default_graph, name_scope
from tfmini.ops import control_flow_ops, state_ops
from tfmini.ops.array_ops import identity
from tfmini.ops.core import convert_to_tensor, register_tensor_conversion_function


@contextlib.contextmanager
def _outside_control_flow(graph):
    """TF's init_scope for a variable made inside a while loop or cond branch (an RNN cell's, built in
    dynamic_rnn's loop): it and its initializer live outside, and the loop reads it through an Enter."""
    saved, graph._control_flow_context = getattr(graph, "_control_flow_context", None), None
    try:
        yield
    finally:
        graph._control_flow_context = saved


class Variable:
    """A mutable tensor that lives on a worker (a ps task in a cluster) and persists across steps."""

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None, aggregation=None):
        if variable_def is not None:  # the ops exist already (an imported meta graph)
            from tfmini.train.meta_graph import init_variable_from_proto
            init_variable_from_proto(self, variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        graph = get_default_graph()
        with _outside_control_flow(graph), \
                name_scope(name, "Variable", [] if callable(initial_value) else [initial_value]) as scope:
            if callable(initial_value):
                with graph.name_scope("Initializer"), graph.device(None):
                    initial_value = initial_value()
            self._initial_value = convert_to_tensor(initial_value, name="initial_value", dtype=dtype)
            shape = self._initial_value.shape if validate_shape else None
            if validate_shape and not self._initial_value.shape.is_fully_defined():
                raise ValueError(f"initial_value must have a shape specified: {self._initial_value}")
            self._variable = state_ops.variable_op_v2(shape, self._initial_value.dtype.base_dtype, name=scope)
            self._initializer_op = state_ops.assign(self._variable, self._initial_value,
                                                    validate_shape=validate_shape).op
            if caching_device is not None:
                with graph.device(caching_device):
                    self._snapshot = identity(self._variable, name="read")
            else:
                with graph.colocate_with(self._variable.op):
                    self._snapshot = identity(self._variable, name="read")
        self._trainable = trainable
        self.constraint = constraint
        collections = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph.add_to_collections(collections, self)

    # -- what TF users read off a variable --------------------------------
    name = property(lambda self: self._variable.name)
    op = property(lambda self: self._variable.op)
    dtype = property(lambda self: self._variable.dtype)
    graph = property(lambda self: self._variable.graph)
    device = property(lambda self: self._variable.device)
    shape = property(lambda self: self._variable.shape)
    initializer = property(lambda self: self._initializer_op)
    initial_value = property(lambda self: self._initial_value)
    trainable = property(lambda self: self._trainable)

    def get_shape(self):
        return self.shape

    def value(self):
        return self._snapshot

    def read_value(self):
        return identity(self._variable, name="read")

    def _ref(self):
        return self._variable

    def _as_graph_element(self):
        return self._variable

    def eval(self, session=None):
        return self._variable.eval(session=session)

    def initialized_value(self):
        from tfmini.ops.math_ops import where
        with get_default_graph().control_dependencies(None):
            return where(is_variable_initialized(self), self.read_value(), self.initial_value)

    def assign(self, value, use_locking=False, name=None, read_value=True):
        return state_ops.assign(self._variable, value, use_locking=use_locking, name=name)

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        return state_ops.assign_add(self._variable, delta, use_locking=use_locking, name=name)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        return state_ops.assign_sub(self._variable, delta, use_locking=use_locking, name=name)

    def count_up_to(self, limit):
        return state_ops.count_up_to(self._variable, limit)

    def load(self, value, session=None):
        from tfmini.session import get_default_session
        session = session or get_default_session()
        if session is None:
            raise ValueError("Either session argument should be provided or default session should be established")
        session.run(self._initializer_op, {self._initializer_op.inputs[1]: value})

    def to_proto(self, export_scope=None):
        from tfmini.train.meta_graph import variable_to_proto
        return variable_to_proto(self, export_scope)

    @staticmethod
    def from_proto(variable_def, import_scope=None):
        return Variable(variable_def=variable_def, import_scope=import_scope)

    def set_shape(self, shape):
        self._variable.set_shape(shape)
        self._snapshot.set_shape(shape)

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}>"

    __hash__ = object.__hash__

    def __iter__(self):
        raise TypeError("'Variable' object is not iterable.")

    def __bool__(self):
        raise TypeError("Using a `tf.Variable` as a Python `bool` is not allowed.")


VariableV1 = RefVariable = Variable


def _overload_operators():
    """Every Tensor operator on a Variable acts on its snapshot, as TF does."""
    names = ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
             "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
             "__rmatmul__", "__neg__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__",
             "__and__", "__rand__", "__or__", "__ror__", "__invert__"]
    for op_name in names:
        def method(self, *args, _op_name=op_name):
            return getattr(Tensor, _op_name)(self.value(), *args)
        setattr(Variable, op_name, method)


_overload_operators()
register_tensor_conversion_function(Variable, lambda v, dtype, name: convert_to_tensor(v.value(), dtype=dtype))


def global_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    if var_list:
        return control_flow_ops.group(*[v.initializer for v in var_list], name=name)
    return control_flow_ops.no_op(name=name)


initialize_variables = variables_initializer


def global_variables_initializer():
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer():
    return variables_initializer(local_variables())


initialize_local_variables = local_variables_initializer


def is_variable_initialized(variable):
    return state_ops.is_variable_initialized(variable)


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor of the names of uninitialized variables."""
    from tfmini.ops import array_ops, math_ops
    from tfmini.ops.array_utils import boolean_mask
    from tfmini.ops.core import constant
    var_list = global_variables() if var_list is None else var_list
    with get_default_graph().name_scope(name):
        if not var_list:
            return constant([], dtype=dtypes.string)
        inited = array_ops.stack([state_ops.is_variable_initialized(v) for v in var_list])
        names = constant([v.op.name.encode() for v in var_list])
        return boolean_mask(names, math_ops.logical_not(inited))


def assert_variables_initialized(var_list=None):
    from tfmini.ops import array_ops, math_ops
    var_list = global_variables() if var_list is None else var_list
    return math_ops.reduce_all(array_ops.stack([state_ops.is_variable_initialized(v) for v in var_list]))
