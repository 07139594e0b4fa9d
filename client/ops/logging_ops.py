"""tf.Print (op Print), tf.print (StringFormat + PrintV2) and tf.Assert (op Assert), as TF builds them.

The kernels (worker/kernels/logging.py) print on the worker that runs the op, to its stderr or stdout.
"""
import logging
import pprint
import random
import sys

from tfmini.core import dtypes, op_registry
from tfmini.graph import Tensor, _graph_of, get_default_graph
from tfmini.ops import shape_fns
from tfmini.ops.core import convert_to_tensor

op_registry.register("Print", shape_fns.unchanged)
op_registry.register(["PrintV2", "Assert"], lambda op: [])
op_registry.register("StringFormat", shape_fns.scalar_of(dtypes.string))


def Print(input_, data, message=None, first_n=None, summarize=None, name=None):  # noqa: N802 - TF's name
    """Passes `input_` through; when it runs, writes `message` and each of `data` (summarized) to stderr."""
    data = list(data)
    graph = _graph_of([input_] + data)
    with graph.as_default(), graph.name_scope(name or "Print") as scope:
        x = convert_to_tensor(input_, name="input")
        tensors = [convert_to_tensor(d, name=f"data_{i}") for i, d in enumerate(data)]
        attrs = {"T": x.dtype.base_dtype, "U": [t.dtype.base_dtype for t in tensors],
                 "message": "" if message is None else message, "first_n": -1 if first_n is None else int(first_n),
                 "summarize": 3 if summarize is None else int(summarize)}
        return graph.create_op("Print", [x] + tensors, attrs, name=scope).outputs[0]


def _output_stream_name(stream):
    if isinstance(stream, str) and stream.startswith("file://"):
        return stream
    levels = {logging.INFO: "log(info)", logging.WARNING: "log(warning)", logging.ERROR: "log(error)"}
    streams = {id(sys.stdout): "stdout", id(sys.stderr): "stderr", id(sys.__stdout__): "stdout",
               id(sys.__stderr__): "stderr"}
    # logging.info & co, and tf.logging's (tfmini.tf_logging) functions of the same names
    functions = {"info": "log(info)", "warning": "log(warning)", "warn": "log(warning)", "error": "log(error)"}
    if isinstance(stream, int):
        name = levels.get(stream)
    elif callable(stream) and getattr(stream, "__module__", None) in ("logging", "tfmini.tf_logging"):
        name = functions.get(getattr(stream, "__name__", None))
    else:
        name = streams.get(id(stream))
    if name is None:
        raise ValueError(f"Unsupported output stream, logging level, or file.{stream}. Supported streams are "
                         f"sys.stdout, sys.stderr, tf.logging.info, tf.logging.warning, tf.logging.error. File needs "
                         f"to be in the form of 'file://<filepath>'.")
    return name


def _flatten(structure):
    """nest.flatten for dicts (sorted keys), lists and tuples."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in _flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in _flatten(v)]
    return [structure]


def _pack_as(structure, leaves):
    """nest.pack_sequence_as: `leaves` (an iterator) in the layout of `structure`."""
    if isinstance(structure, dict):
        return {k: _pack_as(structure[k], leaves) for k in sorted(structure)}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_pack_as(v, leaves) for v in structure)
    return next(leaves)


def print_v2(*inputs, **kwargs):
    """tf.print: formats `inputs` (tensors summarized, Python values as written) and prints them when run."""
    output_stream = kwargs.pop("output_stream", sys.stderr)
    name, summarize = kwargs.pop("name", None), kwargs.pop("summarize", 3)
    sep, end = kwargs.pop("sep", " "), kwargs.pop("end", "\n")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for tf.print: {kwargs}")
    stream = _output_stream_name(output_stream)
    graph = _graph_of(list(_flatten(list(inputs)))) if inputs else get_default_graph()
    with graph.as_default():
        if len(inputs) == 1 and isinstance(inputs[0], Tensor) and inputs[0].shape.ndims == 0 and \
                inputs[0].dtype.base_dtype == dtypes.string:
            formatted = inputs[0]
        else:
            formatted = _string_format(inputs, sep, summarize, None if name is None else name + "_format")
        return graph.create_op("PrintV2", [formatted], {"output_stream": stream, "end": end},
                               name=name or "PrintV2")


def _string_format(inputs, sep, summarize, name):
    """TF's template: each tensor a placeholder, each Python value pprint-formatted in place."""
    free = [_pack_as(x, iter(["" if isinstance(v, Tensor) else v for v in _flatten(x)])) for x in inputs]
    placeholder = _placeholder_for(" ".join(pprint.pformat(x) for x in free))
    templates, tensors = [], []
    for x in inputs:
        leaves = []
        for v in _flatten(x):
            if isinstance(v, Tensor):
                tensors.append(v)
                leaves.append(placeholder)
            else:
                leaves.append(v)
        templates.append(x if isinstance(x, str) else pprint.pformat(_pack_as(x, iter(leaves))))
    template = sep.join(templates).replace(f"'{placeholder}'", placeholder)
    graph = get_default_graph()
    attrs = {"T": [t.dtype.base_dtype for t in tensors], "template": template, "placeholder": placeholder,
             "summarize": int(summarize)}
    return graph.create_op("StringFormat", tensors, attrs, name=name or "StringFormat").outputs[0]


def _placeholder_for(text, placeholder="{}"):
    """A placeholder that does not occur in the template (TF's _generate_placeholder_string)."""
    rng = random.Random(5)
    while placeholder in text:
        placeholder += str(rng.randint(0, 9))
    return placeholder


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """An op that fails the step with InvalidArgumentError ("assertion failed: [data]...") when `condition` is
    false. TF guards an Assert on data other than strings and int32 with a cond (AssertGuard); tfmini has no
    cond, so it always builds the Assert itself, which checks its condition when it runs."""
    data = list(data)
    graph = _graph_of([condition] + data)
    with graph.as_default(), graph.name_scope(name or "Assert"):
        for d in data:  # TF's convert_n_to_tensor, whose Consts stay in the graph unused
            if not isinstance(d, Tensor):
                convert_to_tensor(d)
        with graph.name_scope("Assert") as scope:
            c = convert_to_tensor(condition, dtype=dtypes.bool, name="condition")
            tensors = [convert_to_tensor(d, name=f"data_{i}") for i, d in enumerate(data)]
            attrs = {"T": [t.dtype.base_dtype for t in tensors], "summarize": 3 if summarize is None else
                     int(summarize)}
            return graph.create_op("Assert", [c] + tensors, attrs, name=scope)

