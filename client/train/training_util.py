"""The global step: an int64 variable named `global_step` in the GLOBAL_STEP collection."""
import numpy as np

from tfmini.core import dtypes
from tfmini.graph import GraphKeys, get_default_graph


def get_global_step(graph=None):
    """The global step variable of `graph` (or None): the GLOBAL_STEP collection, else a tensor `global_step:0`."""
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        raise TypeError("Multiple tensors in global_step collection.")
    if found:
        return found[0]
    try:
        return graph.get_tensor_by_name("global_step:0")
    except KeyError:
        return None


def create_global_step(graph=None):
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError("'global_step' already exists.")
    from tfmini.init_ops import zeros_initializer
    from tfmini.variable_scope import get_variable
    with graph.as_default(), graph.name_scope(""), graph.control_dependencies(None):
        return get_variable(GraphKeys.GLOBAL_STEP, shape=[], dtype=dtypes.int64, initializer=zeros_initializer(),
                            trainable=False, collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph=None):
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)


def global_step(sess, global_step_tensor):
    """The current value of the global step, as a Python int."""
    return int(np.asarray(sess.run(global_step_tensor)))
