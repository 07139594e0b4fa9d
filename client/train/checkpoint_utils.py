"""Reading checkpoints in this process: tf.train.load_checkpoint / NewCheckpointReader, list_variables,
load_variable, and init_from_checkpoint (which builds ops, so the values are read where the variables live).
"""
import os

from tfmini.core import errors, tensor_bundle
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.train import checkpoint_ops
from tfmini.train.checkpoint_management import latest_checkpoint


class CheckpointReader:
    """TF's CheckpointReader (py_checkpoint_reader): a checkpoint's tensors by name, read from this process's
    filesystem."""

    def __init__(self, prefix):
        self._prefix = prefix
        self._bundle = tensor_bundle.BundleReader(prefix)

    def has_tensor(self, tensor_str):
        return self._bundle.has(tensor_str)

    def get_tensor(self, tensor_str):
        if not self._bundle.has(tensor_str):
            raise errors.NotFoundError(None, None, f"Key {tensor_str} not found in checkpoint")
        return self._bundle.read(tensor_str)

    def get_variable_to_shape_map(self):
        return {name: self._bundle.shape(name) for name in self._bundle.entries}

    def get_variable_to_dtype_map(self):
        return {name: self._bundle.dtype(name) for name in self._bundle.entries}

    def debug_string(self):
        return "".join(f"{name} ({self._bundle.dtype(name).name}) {self._bundle.shape(name)}\n"
                       for name in sorted(self._bundle.entries)).encode()


def _prefix(ckpt_dir_or_file):
    """A checkpoint prefix: the newest one of a directory, else the argument itself (as TF)."""
    if os.path.isdir(ckpt_dir_or_file):
        found = latest_checkpoint(ckpt_dir_or_file)
        if found is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {ckpt_dir_or_file}")
        return found
    return ckpt_dir_or_file


def NewCheckpointReader(filepattern):  # noqa: N802 - TensorFlow's name
    return CheckpointReader(filepattern)


def load_checkpoint(ckpt_dir_or_file):
    return CheckpointReader(_prefix(ckpt_dir_or_file))


def load_variable(ckpt_dir_or_file, name):
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


def list_variables(ckpt_dir_or_file):
    """[(name, shape)] sorted by name."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


def init_from_checkpoint(ckpt_dir_or_file, assignment_map):
    """Makes each variable's initializer read its value from the checkpoint (TF's semantics: `{"ckpt_scope/":
    "graph_scope/"}` maps a scope, `{"ckpt/name": "graph/name" or variable}` one variable). The values are read
    by RestoreV2 ops on the variables' devices when the initializers run; the checkpoint's index is read here to
    check the names and shapes."""
    from tfmini.variables import global_variables
    prefix = _prefix(ckpt_dir_or_file)
    reader = CheckpointReader(prefix)
    shapes, dtypes_ = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    by_name = {v.op.name: v for v in global_variables()}
    pairs = []
    for ckpt_name, current in assignment_map.items():
        if not isinstance(current, str):  # a variable (or a list of them: the shards of a partitioned one)
            partitioned = isinstance(current, (list, tuple)) or type(current).__name__ == "PartitionedVariable"
            variables = list(current) if partitioned else [current]
            if len(variables) > 1 and any(getattr(v, "_save_slice_info", None) is None for v in variables):
                raise ValueError(f"init_from_checkpoint of {ckpt_name}: a list of variables must be the shards of "
                                 f"a partitioned variable")
            pairs.append((ckpt_name, variables[0] if len(variables) == 1 else variables))
        elif ckpt_name.endswith("/") or ckpt_name == "/":
            scope = "" if ckpt_name == "/" else ckpt_name
            graph_scope = current if current.endswith("/") or not current else current + "/"
            for name in shapes:
                if name.startswith(scope) and graph_scope + name[len(scope):] in by_name:
                    pairs.append((name, by_name[graph_scope + name[len(scope):]]))
        else:
            if current not in by_name:
                raise ValueError(f"Tensor {current} is not found in the graph's global variables")
            pairs.append((ckpt_name, by_name[current]))
    for ckpt_name, var in pairs:
        shards = var if isinstance(var, list) else [var]
        info = getattr(shards[0], "_save_slice_info", None) if isinstance(var, list) else None
        shape = TensorShape(info.full_shape) if info is not None else var.shape
        name = info.full_name if info is not None else var.op.name
        if ckpt_name not in shapes:
            raise ValueError(f"Tensor {ckpt_name} is not found in {prefix} checkpoint")
        if not shape.is_compatible_with(shapes[ckpt_name]):
            raise ValueError(f"Shape of variable {name} ({shape}) doesn't match with shape of tensor "
                             f"{ckpt_name} ({shapes[ckpt_name]}) from checkpoint reader.")
        if dtypes_[ckpt_name] != shards[0].dtype.base_dtype:
            raise ValueError(f"Dtype of variable {name} ({shards[0].dtype.base_dtype.name}) doesn't match with "
                             f"dtype of tensor {ckpt_name} ({dtypes_[ckpt_name].name}) from checkpoint.")
        for shard in shards:  # each shard reads its own slice, where it lives
            _init_from(shard, prefix, ckpt_name, shard._save_slice_info.spec if info is not None else "")


def _init_from(var, prefix, ckpt_name, spec=""):
    """Makes `var`'s initializer a RestoreV2 of `ckpt_name` (the slice `spec` of it for a shard) placed with the
    variable (TF's _set_checkpoint_initializer: initializers built after this call restore; earlier ones do
    not)."""
    graph = get_default_graph()
    with graph.name_scope(var.op.name + "/"), graph.colocate_with(var.op):
        value = checkpoint_ops.restore_v2(prefix, [ckpt_name], [spec], [var.dtype.base_dtype],
                                          name="checkpoint_initializer")[0]
        var._initializer_op = var.assign(value).op
