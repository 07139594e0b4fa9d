"""Graph functions for Dataset.map/filter/flat_map/interleave: the user's function is traced once into a graph
of its own, with a Placeholder per element component.

The traced body travels inside the op's `f`/`predicate` attr (a NameAttrList): its `_tfmini_body` attr holds the
body's GraphDef, `_tfmini_args` its argument placeholders and `_tfmini_rets` its output tensors. TF puts a
FunctionDef in the GraphDef's library instead; tfmini's master and worker carry no library yet, and a body
inside the node travels through pruning and partitioning with the node itself.
"""
import itertools

from tfmini.core import dtypes
from tfmini.core.attrs import AttrValue
from tfmini.data import structure as nest
from tfmini.graph import Graph, Tensor
from tfmini.ops.array_ops import placeholder
from tfmini.ops.core import convert_to_tensor
from tfmini.protos import attr_value_pb2

_ids = itertools.count()


class TracedFunction:
    """`attr`: the NameAttrList to put on the op; `output`: what the function returned (in its graph);
    `captured`: the outer tensors it uses, the op's `other_arguments`."""

    def __init__(self, attr, output, captured):
        self.attr, self.output, self.captured = attr, output, captured


class FuncGraph(Graph):
    """The graph a function is traced into. A tensor of an outer graph used here is captured: it becomes a
    Placeholder of this graph, and the dataset op takes the outer tensor as an `other_arguments` input."""

    def __init__(self, outer):
        super().__init__()
        self.outer_graphs = (outer,) + getattr(outer, "outer_graphs", ())
        self.seed = outer.seed  # random ops in the function follow the graph-level seed, as TF's FuncGraph
        self.captures = {}  # id(outer tensor) -> (outer tensor, its placeholder here)

    def capture(self, tensor):
        entry = self.captures.get(id(tensor))
        if entry is None:
            inner = super().create_op("Placeholder", [], {"dtype": tensor.dtype.base_dtype, "shape": tensor.shape},
                                      name="captured").outputs[0]
            entry = self.captures[id(tensor)] = (tensor, inner)
        return entry[1]

    def create_op(self, op_type, inputs, attrs=None, name=None, output_types=None):
        inputs = [self.capture(t) if isinstance(t, Tensor) and t.graph in self.outer_graphs else t for t in inputs]
        return super().create_op(op_type, inputs, attrs, name, output_types)


def trace(func, types, shapes, name):
    from tfmini import api  # noqa: F401 - the function may use any op (and Tensor's operators)
    from tfmini.graph import get_default_graph
    graph = FuncGraph(get_default_graph())
    with graph.as_default():
        args = [placeholder(t, s, name=f"arg{i}") for i, (t, s) in
                enumerate(zip(nest.flatten(types), nest.flatten(shapes)))]
        element = nest.pack_as(types, args)
        # TF's convention: a tuple element is spread over the arguments; anything else is one argument.
        result = func(*element) if type(element) is tuple else func(element)
        result = _as_output(result)
        rets = [r._variant if _is_dataset(r) else r for r in nest.flatten(result)]
    for r in rets:
        if r.graph is not graph:
            raise ValueError(f"The function given to a Dataset transformation returns {r}, a tensor of another "
                             f"graph")
    captured = [inner for _, inner in graph.captures.values()]
    args = args + captured
    body = graph.as_graph_def()
    attr = attr_value_pb2.NameAttrList(name=f"__inference_{name}_{next(_ids)}")
    attr.attr["_tfmini_body"].CopyFrom(AttrValue(s=body.SerializeToString()))
    attr.attr["_tfmini_args"].CopyFrom(AttrValue(list=AttrValue.ListValue(s=[a.op.name.encode() for a in args])))
    attr.attr["_tfmini_rets"].CopyFrom(AttrValue(list=AttrValue.ListValue(s=[r.name.encode() for r in rets])))
    return TracedFunction(AttrValue(func=attr), result, [outer for outer, _ in graph.captures.values()])


def _is_dataset(value):
    from tfmini.data.dataset_ops import Dataset
    return isinstance(value, Dataset)


def _as_output(value):
    """The function's result as element structure: lists become tuples (as TF does), values tensors."""
    if isinstance(value, dict):
        return {k: _as_output(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return tuple(_as_output(v) for v in value)
    if _is_dataset(value) or isinstance(value, Tensor):
        return value
    return convert_to_tensor(value)


def output_structure(result):
    """(types, shapes) of a traced function's result (tensors only)."""
    return (nest.map_structure(lambda t: t.dtype.base_dtype, result),
            nest.map_structure(lambda t: t.shape, result))


def check_predicate(result):
    if not isinstance(result, Tensor) or result.dtype.base_dtype != dtypes.bool or \
            (result.shape.ndims is not None and result.shape.ndims != 0):
        raise ValueError(f"`predicate` return type must be convertible to a scalar boolean tensor. Was {result}.")
