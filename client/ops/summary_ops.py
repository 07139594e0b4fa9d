"""Summary ops (ScalarSummary, HistogramSummary, ImageSummary, MergeSummary) and their Python wrappers.

Each op outputs a scalar string tensor holding a serialized `Summary` proto;
`FileWriter.add_summary` writes what `sess.run` returns. Two naming rules
coexist, as in TensorFlow: TF 1.x's `tf.summary.scalar(name, ...)` takes the
tag from the node's scoped name; TF 0.x's `tf.scalar_summary(tags, ...)`
takes the tag as given and names the node `ScalarSummary`.
"""
import contextlib
import re

import numpy as np

from tfmini.core import dtypes, op_registry, tensor_util
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import GraphKeys, _graph_of, get_default_graph
from tfmini.ops.core import convert_to_tensor


op_registry.register(["ScalarSummary", "HistogramSummary", "ImageSummary", "MergeSummary"],
                     lambda op: [(dtypes.string, TensorShape([]))])

_REAL = {dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32,
         dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64}
_IMAGE = {dtypes.uint8, dtypes.float32, dtypes.float16, dtypes.float64}
_BAD_COLOR = np.array([255, 0, 0, 255], np.uint8)  # opaque red marks non-finite pixels
_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w.]")


def _summary_op(op_type, tag, values, name, arg_names, allowed, attrs=None):
    """`op_type(tag, values)` in the wrapper scope `name`, with T checked against `allowed`."""
    graph = _graph_of([values, tag])
    with graph.as_default(), graph.name_scope(name) as scope:
        tag_t = convert_to_tensor(tag, dtype=dtypes.string, name=arg_names[0])
        val_t = convert_to_tensor(values, name=arg_names[1])
        dtype = val_t.dtype.base_dtype
        if dtype not in allowed:
            names = ", ".join(sorted(d.name for d in allowed))
            raise TypeError(f"Value passed to parameter '{arg_names[1]}' has DataType {dtype.name} not in list of "
                            f"allowed values: {names}")
        attrs = dict(attrs or {}, T=dtype)
        return graph.create_op(op_type, [tag_t, val_t], attrs, name=scope).outputs[0]


def _merge_op(inputs, name):
    inputs = list(inputs)
    if not inputs:
        raise ValueError("MergeSummary needs at least one input summary")
    graph = _graph_of(inputs)
    with graph.as_default():
        tensors = [convert_to_tensor(t, dtype=dtypes.string) for t in inputs]
        return graph.create_op("MergeSummary", tensors, {"N": len(tensors)}, name=name).outputs[0]


def _collect(val, collections, default):
    for key in default if collections is None else collections:
        val.graph.add_to_collection(key, val)


def _clean_tag(name):
    """Node names allow fewer characters than tags did: replace the others by '_' (TF's clean_tag)."""
    return None if name is None else _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")


@contextlib.contextmanager
def _summary_scope(name, family, default_name, values):
    """Yields (tag, scope): the tag is the unique scope name, prefixed by `family` when given (TF 1.x)."""
    name, family = _clean_tag(name), _clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    graph = _graph_of(values)
    with graph.as_default(), graph.name_scope(base or default_name) as scope:
        tag = scope.rstrip("/")
        yield (tag if family is None else f"{family}/{tag}"), scope


# -- TF 1.x: tf.summary.* ----------------------------------------------------
def scalar(name, tensor, collections=None, family=None):
    """A ScalarSummary of a single real value, tagged with the node's scoped name."""
    with _summary_scope(name, family, None, [tensor]) as (tag, scope):
        val = _summary_op("ScalarSummary", tag, tensor, scope, ("tags", "values"), _REAL)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def histogram(name, values, collections=None, family=None):
    """A HistogramSummary of all elements of `values` (TF's exponential bucket layout)."""
    with _summary_scope(name, family, "HistogramSummary", [values]) as (tag, scope):
        val = _summary_op("HistogramSummary", tag, values, scope, ("tag", "values"), _REAL)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """An ImageSummary of up to `max_outputs` images of a [batch, height, width, 1|3|4] tensor, PNG-encoded."""
    with _summary_scope(name, family, None, [tensor]) as (tag, scope):
        val = _image_op(tag, tensor, max_outputs, scope)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def _image_op(tag, tensor, max_images, name):
    if int(max_images) < 1:
        raise ValueError(f"max_images must be >= 1, got {max_images}")
    attrs = {"max_images": int(max_images), "bad_color": tensor_util.make_tensor_proto(_BAD_COLOR)}
    val = _summary_op("ImageSummary", tag, tensor, name, ("tag", "tensor"), _IMAGE, attrs)
    shape = val.op.inputs[1].shape
    if shape.ndims is not None and shape.ndims != 4:
        raise ValueError(f"Shape must be rank 4 but is rank {shape.ndims} for '{val.op.name}' (op: 'ImageSummary')")
    return val


def merge(inputs, collections=None, name=None):
    """A MergeSummary of `inputs`: the union of their values; a duplicate tag fails when it runs."""
    name = _clean_tag(name)
    graph = _graph_of(inputs)
    with graph.as_default(), graph.name_scope(name or "Merge"):
        val = _merge_op(inputs, name or "MergeSummary")
    _collect(val, collections, [])
    return val


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """Merges the summaries in collection `key`; None when there are none."""
    summary_ops = get_default_graph().get_collection(key, scope=scope)
    return merge(summary_ops, name=name) if summary_ops else None


# -- TF 0.x: tf.scalar_summary and friends -------------------------------------
def scalar_summary(tags, values, collections=None, name=None):
    """One simple_value per (tag, value) pair; `tags` and `values` must have the same shape."""
    val = _summary_op("ScalarSummary", tags, values, name or "ScalarSummary", ("tags", "values"), _REAL)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def histogram_summary(tag, values, collections=None, name=None):
    val = _summary_op("HistogramSummary", tag, values, name or "HistogramSummary", ("tag", "values"), _REAL)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def image_summary(tag, tensor, max_images=3, collections=None, name=None):
    val = _image_op(tag, tensor, max_images, name or "ImageSummary")
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def merge_summary(inputs, collections=None, name=None):
    graph = _graph_of(inputs)
    with graph.as_default(), graph.name_scope(name or "MergeSummary"):
        val = _merge_op(inputs, name or "MergeSummary")
    _collect(val, collections, [])
    return val


def merge_all_summaries(key=GraphKeys.SUMMARIES):
    summary_ops = get_default_graph().get_collection(key)
    return merge_summary(summary_ops) if summary_ops else None
