"""The Saver's ops, as TensorFlow's io_ops builds them: SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename,
ShardedFilespec (kernels: worker/kernels/checkpoint.py; files: core/tensor_bundle.py)."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops.core import convert_to_tensor


def _create(op_type, inputs, attrs, name):
    """`op_type` on `inputs` ((value, dtype, arg name) triples, converted inside the op's scope as TF's
    wrappers do, so a Python value becomes `<op>/<arg>`)."""
    graph = get_default_graph()
    with graph.name_scope(name or op_type) as scope:
        tensors = [_convert(value, dtype, arg) for value, dtype, arg in inputs]
        return graph.create_op(op_type, tensors, attrs, name=scope)


def _convert(value, dtype, arg):
    if isinstance(value, (list, tuple)) and any(hasattr(v, "op") for v in value):
        from tfmini.ops.array_ops import stack
        return stack(list(value), name=arg)
    return convert_to_tensor(value, dtype=dtype, name=arg)


def _strings(values, name):
    return convert_to_tensor(list(values), dtype=dtypes.string, name=name)


def save_v2(prefix, tensor_names, shape_and_slices, tensors, name=None):
    """Writes `tensors` under `tensor_names` to the checkpoint `prefix` on the device this op runs on."""
    graph = get_default_graph()
    with graph.name_scope(name or "SaveV2") as scope:
        inputs = [convert_to_tensor(prefix, dtype=dtypes.string), _strings(tensor_names, "tensor_names"),
                  _strings(shape_and_slices, "shape_and_slices")] + [convert_to_tensor(t) for t in tensors]
        attrs = {"dtypes": [t.dtype.base_dtype for t in inputs[3:]]}
        return graph.create_op("SaveV2", inputs, attrs, name=scope)


def restore_v2(prefix, tensor_names, shape_and_slices, dtypes_, name=None, expected_shapes=None):
    """The tensors `tensor_names` of checkpoint `prefix`, read on this op's device. `expected_shapes`
    (tfmini's own attr, `_expected_shapes`) makes the op check them before anything is assigned."""
    graph = get_default_graph()
    with graph.name_scope(name or "RestoreV2") as scope:
        inputs = [convert_to_tensor(prefix, dtype=dtypes.string), _strings(tensor_names, "tensor_names"),
                  _strings(shape_and_slices, "shape_and_slices")]
        attrs = {"dtypes": [dtypes.as_dtype(d).base_dtype for d in dtypes_]}
        if expected_shapes is not None:
            attrs["_expected_shapes"] = [TensorShape(s) for s in expected_shapes]
        op = graph.create_op("RestoreV2", inputs, attrs, name=scope)
    return list(op.outputs)


def merge_v2_checkpoints(checkpoint_prefixes, destination_prefix, delete_old_dirs=True, allow_missing_files=False,
                         name=None):
    return _create("MergeV2Checkpoints", [(checkpoint_prefixes, dtypes.string, "checkpoint_prefixes"),
                                          (destination_prefix, dtypes.string, "destination_prefix")],
                   {"delete_old_dirs": bool(delete_old_dirs), "allow_missing_files": bool(allow_missing_files)}, name)


def sharded_filename(basename, shard, num_shards, name=None):
    return _create("ShardedFilename", [(basename, dtypes.string, "basename"), (shard, dtypes.int32, "shard"),
                                       (num_shards, dtypes.int32, "num_shards")], {}, name).outputs[0]


def sharded_filespec(basename, num_shards, name=None):
    return _create("ShardedFilespec", [(basename, dtypes.string, "basename"),
                                       (num_shards, dtypes.int32, "num_shards")], {}, name).outputs[0]


def _restore_shapes(op):
    try:
        shapes = [TensorShape(s) for s in op.get_attr("_expected_shapes")]
    except ValueError:  # a TensorFlow graph: shapes are known only once the file is read
        shapes = [TensorShape(None)] * len(op.get_attr("dtypes"))
    return list(zip(op.get_attr("dtypes"), shapes))


op_registry.register(("SaveV2", "MergeV2Checkpoints"), lambda op: [])
op_registry.register("RestoreV2", _restore_shapes)
op_registry.register(("ShardedFilename", "ShardedFilespec"), lambda op: [(dtypes.string, TensorShape([]))])
