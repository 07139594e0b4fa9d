"""tf.summary.text and tf.summary.tensor_summary (op TensorSummaryV2): a tensor stored whole in the
Summary, with SummaryMetadata naming the TensorBoard plugin that shows it (the Text tab for "text")."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import GraphKeys, get_default_graph
from tfmini.ops.core import convert_to_tensor
from tfmini.ops.summary_ops import _collect, _summary_scope
from tfmini.protos.summary_pb2 import SummaryMetadata

op_registry.register("TensorSummaryV2", lambda op: [(dtypes.string, TensorShape([]))])


def tensor_summary(name, tensor, summary_description=None, collections=None, summary_metadata=None, family=None,
                   display_name=None):
    """A TensorSummaryV2 of `tensor`, tagged with the node's scoped name, with `summary_metadata` attached."""
    metadata = SummaryMetadata() if summary_metadata is None else summary_metadata
    if summary_description is not None:
        metadata.summary_description = summary_description
    if display_name is not None:
        metadata.display_name = display_name
    with _summary_scope(name, family, None, [tensor]) as (tag, scope):
        graph = get_default_graph()
        tag_t = convert_to_tensor(tag, dtype=dtypes.string, name="tag")
        value = convert_to_tensor(tensor, name="tensor")
        meta_t = convert_to_tensor(metadata.SerializeToString(), dtype=dtypes.string,
                                   name="serialized_summary_metadata")
        val = graph.create_op("TensorSummaryV2", [tag_t, value, meta_t], {"T": value.dtype.base_dtype},
                              name=scope).outputs[0]
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def text(name, tensor, collections=None):
    """tf.summary.text: a string tensor for TensorBoard's Text tab (plugin "text")."""
    tensor = convert_to_tensor(tensor)
    if tensor.dtype != dtypes.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got {tensor.dtype}")
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name=name, tensor=tensor, summary_metadata=metadata, collections=collections)
