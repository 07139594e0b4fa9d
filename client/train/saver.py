"""tf.train.Saver: checkpoints as graph ops run through the session, so they work on every backend.

Saving fetches the variables' values in one step and the client writes the files; restoring reads
and checks the whole checkpoint first, then feeds every value into Assign ops in one step. A bad
checkpoint therefore raises before any variable changes. The format is docs/checkpoint-format.md.
"""
import json
import os

import crc32c
import numpy as np

from tfmini.core import errors
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops import array_ops, control_flow_ops
from tfmini.train import training_util
from tfmini.variables import global_variables

FORMAT = "tfmini-checkpoint"
VERSION = 1


class Saver:
    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=2, pad_step_number=False,
                 save_relative_paths=True, filename=None):
        self._vars = _named_variables(global_variables() if var_list is None else var_list)
        if not self._vars and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._last_checkpoints = []
        graph = get_default_graph()
        with graph.name_scope(name or "save"):
            self._fetches = [v.value() for v in self._vars.values()]
            self._feeds, assigns = [], []
            for v in self._vars.values():
                ph = array_ops.placeholder(v.dtype.base_dtype, v.shape)
                self._feeds.append(ph)
                assigns.append(v.assign(ph))
            self._restore_op = control_flow_ops.group(*assigns, name="restore_all")

    @property
    def last_checkpoints(self):
        return list(self._last_checkpoints)

    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False, save_debug_info=False):
        """Writes `<save_path>[-<step>].index` and `.data`; returns that path prefix."""
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                global_step = training_util.global_step(sess, global_step)
            save_path = f"{save_path}-{int(global_step)}"
        directory = os.path.dirname(os.path.abspath(save_path))
        if not os.path.isdir(directory):
            raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.")
        values = sess.run(self._fetches) if self._fetches else []
        write_checkpoint(save_path, dict(zip(self._vars, values)))
        if write_state:
            if save_path in self._last_checkpoints:
                self._last_checkpoints.remove(save_path)
            self._last_checkpoints.append(save_path)
            while self._max_to_keep and len(self._last_checkpoints) > self._max_to_keep:
                _remove_checkpoint(self._last_checkpoints.pop(0))
            _write_state(directory, save_path, self._last_checkpoints, latest_filename or "checkpoint")
        return save_path

    def restore(self, sess, save_path):
        """Sets every variable from the checkpoint at `save_path`, or raises before changing any."""
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        tensors = read_checkpoint(save_path)
        feed = {}
        for (name, var), ph in zip(self._vars.items(), self._feeds):
            if name not in tensors:
                raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint {save_path}")
            value = tensors[name]
            if value.dtype != var.dtype.base_dtype.as_numpy_dtype:
                raise errors.InvalidArgumentError(None, None, f"tensor_name = {name}; expected dtype "
                                                              f"{var.dtype.base_dtype.name} does not equal original "
                                                              f"dtype {value.dtype.name}")
            if not var.shape.is_compatible_with(value.shape):
                raise errors.InvalidArgumentError(None, None, f"Assign requires shapes of both tensors to match. "
                                                              f"{name}: lhs shape= {var.shape} rhs shape= "
                                                              f"{list(value.shape)}")
            feed[ph] = value
        sess.run(self._restore_op, feed_dict=feed)

    def recover_last_checkpoints(self, checkpoint_paths):
        self._last_checkpoints = list(checkpoint_paths)

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        self._last_checkpoints = [p for p, _ in last_checkpoints_with_time]


class _Sliced:
    """The shards of a partitioned variable, saved as one tensor under the full variable's name, as TF's
    checkpoints key them (a restore cuts the value back into the shards)."""

    def __init__(self, shards):
        self.shards = sorted(shards, key=lambda v: v._save_slice_info.var_offset)
        info = self.shards[0]._save_slice_info
        self.dtype, self.shape = self.shards[0].dtype, TensorShape(info.full_shape)
        self.axis = next((i for i, (a, b) in enumerate(zip(info.full_shape, info.var_shape)) if a != b), 0)

    def value(self):
        return array_ops.concat([v.value() for v in self.shards], self.axis)

    def assign(self, value):
        assigns = []
        for v in self.shards:
            info = v._save_slice_info
            assigns.append(v.assign(array_ops.slice(value, info.var_offset, info.var_shape)))
        return control_flow_ops.group(*assigns)


def _named_variables(var_list):
    """{checkpoint key: variable}: a dict's keys, else each variable's op name (must be unique); the shards
    of a partitioned variable go together under its full name."""
    if isinstance(var_list, dict):
        items = [(name, _Sliced(list(v)) if type(v).__name__ == "PartitionedVariable" else v)
                 for name, v in var_list.items()]
    else:
        items, sliced = [], {}
        for v in var_list:
            shards = list(v) if type(v).__name__ == "PartitionedVariable" else [v]
            for shard in shards:
                info = getattr(shard, "_save_slice_info", None)
                if info is None:
                    items.append((shard.op.name, shard))
                elif info.full_name not in sliced:
                    sliced[info.full_name] = [shard]
                    items.append((info.full_name, sliced[info.full_name]))
                elif shard not in sliced[info.full_name]:
                    sliced[info.full_name].append(shard)
        items = [(name, _Sliced(v) if isinstance(v, list) else v) for name, v in items]
    out = {}
    for name, var in items:
        if not hasattr(var, "assign") or not hasattr(var, "value"):
            raise TypeError(f"Variable to save is not a Variable: {var!r}")
        if name in out:
            raise ValueError(f"At least two variables have the same name: {name}")
        out[name] = var
    return out


# -- the files -------------------------------------------------------------------------------
def write_checkpoint(prefix, tensors):
    """Writes `<prefix>.data` then `<prefix>.index` (the commit point), each through a temp file + rename."""
    entries, chunks, offset = [], [], 0
    for name, value in tensors.items():
        value = np.asarray(value)
        if value.dtype.kind not in "biufc":
            raise errors.UnimplementedError(None, None, f"Can not save {name}: dtype {value.dtype} is not numeric")
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        entries.append({"name": name, "dtype": value.dtype.name, "shape": list(value.shape), "offset": offset,
                        "size": len(data), "crc32c": crc32c.crc32c(data)})
        chunks.append(data)
        offset += len(data)
    data_name = os.path.basename(prefix) + ".data"
    index = {"format": FORMAT, "version": VERSION, "data_file": data_name, "data_size": offset, "tensors": entries}
    _atomic_write(prefix + ".data", b"".join(chunks))
    _atomic_write(prefix + ".index", json.dumps(index, indent=1).encode())


def read_checkpoint(prefix):
    """{name: array} from the checkpoint at `prefix`, after checking sizes and checksums of every tensor."""
    index_path = prefix + ".index"
    if not os.path.exists(index_path):
        raise errors.NotFoundError(None, None, f"Failed to find any matching files for {prefix}: "
                                               f"{index_path} does not exist")
    try:
        with open(index_path, "rb") as f:
            index = json.loads(f.read().decode())
        if index.get("format") != FORMAT or index.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} version {VERSION} index")
        entries = index["tensors"]
        data_path = os.path.join(os.path.dirname(prefix), index["data_file"])
        data_size = int(index["data_size"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise errors.DataLossError(None, None, f"Unable to read checkpoint index {index_path}: {e}") from None
    if not os.path.exists(data_path):
        raise errors.NotFoundError(None, None, f"Checkpoint data file {data_path} not found")
    with open(data_path, "rb") as f:
        data = f.read()
    if len(data) != data_size:
        raise errors.DataLossError(None, None, f"Checkpoint data file {data_path} has {len(data)} bytes, the index "
                                               f"says {data_size}: truncated or overwritten")
    out = {}
    for e in entries:
        try:
            name, start, size = e["name"], int(e["offset"]), int(e["size"])
            dtype, shape = np.dtype(e["dtype"]).newbyteorder("<"), [int(d) for d in e["shape"]]
            expected_crc = int(e["crc32c"])
        except (KeyError, TypeError, ValueError) as err:
            raise errors.DataLossError(None, None, f"Bad entry in checkpoint index {index_path}: {err}") from None
        chunk = data[start:start + size]
        if start < 0 or len(chunk) != size or size != dtype.itemsize * int(np.prod(shape)):
            raise errors.DataLossError(None, None, f"Checkpoint entry {name} in {data_path} is truncated or has the "
                                                   f"wrong size")
        if crc32c.crc32c(chunk) != expected_crc:
            raise errors.DataLossError(None, None, f"Checksum does not match for {name} in {data_path}: the "
                                                   f"checkpoint is corrupted")
        out[name] = np.frombuffer(chunk, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return out


def _atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _remove_checkpoint(prefix):
    for suffix in (".index", ".data"):
        try:
            os.remove(prefix + suffix)
        except FileNotFoundError:
            pass


# -- the `checkpoint` state file (TF's CheckpointState text format) ---------------------------------
class CheckpointState:
    def __init__(self, model_checkpoint_path, all_model_checkpoint_paths):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)

    def __repr__(self):
        return _state_text(self.model_checkpoint_path, self.all_model_checkpoint_paths)


def _state_text(latest, paths):
    lines = [f"model_checkpoint_path: {json.dumps(latest)}"]
    lines += [f"all_model_checkpoint_paths: {json.dumps(p)}" for p in paths]
    return "\n".join(lines) + "\n"


def _write_state(directory, latest, paths, filename):
    rel = lambda p: os.path.relpath(os.path.abspath(p), directory)  # noqa: E731 - relative: the dir can move
    _atomic_write(os.path.join(directory, filename), _state_text(rel(latest), [rel(p) for p in paths]).encode())


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(path):
        return None
    latest, paths = None, []
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition(":")
            try:
                value = json.loads(value.strip())
            except ValueError:
                raise errors.DataLossError(None, None, f"Malformed checkpoint state file {path}: {line!r}") from None
            value = value if os.path.isabs(value) else os.path.join(checkpoint_dir, value)
            if key == "model_checkpoint_path":
                latest = value
            elif key == "all_model_checkpoint_paths":
                paths.append(value)
    if latest is None:
        raise errors.DataLossError(None, None, f"Invalid checkpoint state loaded from {checkpoint_dir}")
    return CheckpointState(latest, paths)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint in `checkpoint_dir` (from its state file), or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not os.path.exists(state.model_checkpoint_path + ".index"):
        return None
    return state.model_checkpoint_path


def checkpoint_exists(checkpoint_prefix):
    return os.path.exists(checkpoint_prefix + ".index")
