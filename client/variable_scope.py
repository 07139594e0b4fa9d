"""tf.variable_scope and tf.get_variable: named, reusable variables."""
import contextlib
import threading

from tfmini import init_ops
from tfmini.core import dtypes
from tfmini.graph import get_default_graph
from tfmini.variables import Variable

_state = threading.local()
AUTO_REUSE = "auto_reuse"


class VariableScope:
    def __init__(self, name, reuse=False, initializer=None):
        self.name, self.reuse, self.initializer = name, reuse, initializer
        self.original_name_scope = name + "/" if name else ""

    def reuse_variables(self):
        self.reuse = True


def _stack():
    if not hasattr(_state, "stack"):
        _state.stack = [VariableScope("")]
    return _state.stack


def get_variable_scope():
    return _stack()[-1]


def _store():
    graph = get_default_graph()
    if not hasattr(graph, "_variable_store"):
        graph._variable_store = {}
    return graph._variable_store


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, reuse=None, **kwargs):
    outer = get_variable_scope()
    if isinstance(name_or_scope, VariableScope):
        name = name_or_scope.name
    else:
        base = name_or_scope if name_or_scope is not None else default_name
        name = f"{outer.name}/{base}" if outer.name else base
        if name_or_scope is None:  # default names are made unique, like name scopes
            used = {n.rsplit("/", 1)[0] for n in _store()}
            candidate, i = name, 1
            while candidate in used:
                candidate, i = f"{name}_{i}", i + 1
            name = candidate
    scope = VariableScope(name, reuse=True if (reuse is True or outer.reuse is True) else reuse or False,
                          initializer=initializer or outer.initializer)
    _stack().append(scope)
    try:
        with get_default_graph().name_scope(name.rsplit("/", 1)[-1]):
            yield scope
    finally:
        _stack().pop()


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=True,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, **kwargs):
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    store = _store()
    if full in store:
        if scope.reuse is False:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                             f"reuse=tf.AUTO_REUSE in VarScope?")
        var = store[full]
        if shape is not None and not var.shape.is_compatible_with(shape):
            raise ValueError(f"Trying to share variable {full}, but specified shape {shape} and found shape "
                             f"{var.shape}.")
        return var
    if scope.reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you "
                         f"mean to set reuse=tf.AUTO_REUSE in VarScope?")
    dtype = dtypes.as_dtype(dtype or dtypes.float32)
    initializer = initializer or scope.initializer
    if initializer is None:
        initializer = init_ops.GlorotUniform() if dtype.is_floating else init_ops.Zeros()
    if callable(initializer):
        if isinstance(initializer, type):
            initializer = initializer()
        init_value = lambda: initializer(shape, dtype=dtype)  # noqa: E731
    else:
        init_value = initializer
    if partitioner is not None:  # shards `full/part_0`, ... (tfmini.partitioned_variables)
        from tfmini.partitioned_variables import create_partitioned_variable
        store[full] = create_partitioned_variable(full, shape, dtype, initializer, partitioner, trainable,
                                                  collections, validate_shape, caching_device)
        return store[full]
    # A name ending in "/" is absolute: the variable is `full`, whatever name scope is open.
    var = Variable(init_value, trainable=trainable, collections=collections, name=full + "/",
                   dtype=dtype, validate_shape=validate_shape, caching_device=caching_device)
    store[full] = var
    if regularizer is not None:  # TF: the penalty is built under `<var>/Regularizer/` and collected
        graph = get_default_graph()
        with graph.colocate_with(var.op), graph.name_scope(full + "/Regularizer/"):
            loss = regularizer(var)
        if loss is not None:
            graph.add_to_collection("regularization_losses", loss)
    return var
