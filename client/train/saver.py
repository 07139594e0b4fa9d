"""tf.train.Saver: checkpoints in TensorFlow's V2 format, written and read by ops on the variables' own devices.

The graph is TensorFlow's (saver.py's BaseSaverBuilder): a `save/Const` filename tensor, then
- default: one `SaveV2` of every variable (placed by the master; the variables travel to it, never to the
  client), returning the prefix through `save/control_dependency`;
- `sharded=True`: per device a `ShardedFilename` and a `SaveV2` on that device, writing
  `<prefix>_temp_<uuid>/part-0000k-of-0000n`, and a `MergeV2Checkpoints` that makes them one checkpoint,
  returning the prefix through `save/Identity`;
- restore: per device a `RestoreV2` on that device and the `Assign`s, grouped as `save/restore_all`
  (and `save/restore_shard` per device when sharded).
tfmini adds one thing: every Assign waits for every RestoreV2 (`save/restore_checked`), and each
RestoreV2 checks its tensors' dtypes and shapes, so a bad checkpoint fails the step before any variable
changes. The client feeds a path and gets a path back: no variable's bytes reach it. Files:
docs/checkpoint-format.md.
"""
import os
import uuid

import numpy as np

from tfmini.core import dtypes, errors, tensor_bundle
from tfmini.core.device import DeviceSpec
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph
from tfmini.ops import array_ops, control_flow_ops, string_ops
from tfmini.ops.core import constant
from tfmini.train import checkpoint_ops, training_util
from tfmini.train.checkpoint_management import (  # noqa: F401 - tf.train.* names, once found here
    CheckpointState, checkpoint_exists, get_checkpoint_state, latest_checkpoint, remove_checkpoint,
    update_checkpoint_state)
from tfmini.variables import global_variables


class Saver:
    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=2, pad_step_number=False,
                 save_relative_paths=True, filename=None):
        self._save_relative_paths = save_relative_paths
        self._last_checkpoints = []
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        if saver_def is not None:  # the ops exist already (an imported meta graph): meta_graph.py
            self._init_from_saver_def(saver_def, name)
            return
        self._vars = _named_variables(global_variables() if var_list is None else var_list)
        if not self._vars and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._sharded = bool(sharded)
        self._filename_tensor = self._save_tensor = self._restore_op = None
        if self._vars:
            self._build(name or "save", filename or "model")

    def _init_from_saver_def(self, saver_def, scope):
        from tfmini.train.meta_graph import _prepend
        graph = get_default_graph()
        self._vars = None  # not known: the SaverDef names only the ops
        self._max_to_keep, self._sharded = saver_def.max_to_keep, saver_def.sharded
        self._keep_checkpoint_every_n_hours = saver_def.keep_checkpoint_every_n_hours
        self._filename_tensor = graph.as_graph_element(_prepend(saver_def.filename_tensor_name, scope))
        self._save_tensor = graph.as_graph_element(_prepend(saver_def.save_tensor_name, scope))
        self._restore_op = graph.as_graph_element(_prepend(saver_def.restore_op_name, scope))

    # -- what it is, as TF describes it ----------------------------------------------------------------
    def as_saver_def(self):
        """TF's SaverDef: the names of the filename tensor, the save tensor and the restore op."""
        from tfmini.protos import saver_pb2
        proto = saver_pb2.SaverDef(max_to_keep=self._max_to_keep, sharded=self._sharded,
                                   keep_checkpoint_every_n_hours=self._keep_checkpoint_every_n_hours,
                                   version=saver_pb2.SaverDef.V2)
        if self._save_tensor is not None:
            proto.filename_tensor_name = self._filename_tensor.name
            proto.save_tensor_name = self._save_tensor.name
            proto.restore_op_name = self._restore_op.name
        return proto

    saver_def = property(as_saver_def)

    def to_proto(self, export_scope=None):
        return self.as_saver_def()

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False, export_scope=None,
                          clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False):
        from tfmini.train.meta_graph import export_meta_graph
        return export_meta_graph(filename=filename, saver_def=self.as_saver_def(), collection_list=collection_list,
                                 as_text=as_text, export_scope=export_scope, clear_devices=clear_devices,
                                 clear_extraneous_savers=clear_extraneous_savers,
                                 strip_default_attrs=strip_default_attrs)

    # -- the graph ---------------------------------------------------------------------------------
    def _build(self, name, default_filename):
        graph = get_default_graph()
        with graph.name_scope(name):
            filename = array_ops.placeholder_with_default(constant(default_filename, name="filename/input"),
                                                          shape=(), name="filename")
            # TF keeps the name "Const" for the filename tensor (SaverDef.filename_tensor_name "save/Const:0").
            self._filename_tensor = array_ops.placeholder_with_default(filename, shape=(), name="Const")
            groups = _by_device(_saveables(self._vars))
            if self._sharded:
                self._save_tensor = self._add_sharded_save(graph, groups)
            else:
                saveables = [item for _, items in groups for item in items]
                save = _save_v2(self._filename_tensor, saveables)
                self._save_tensor = control_flow_ops.with_dependencies([save], self._filename_tensor)
            self._restore_op = self._add_restore(graph, groups)

    def _add_sharded_save(self, graph, groups):
        # Each device writes `<prefix>_temp_<uuid>/part-0000k-of-0000n`; the merge renames them into place.
        tmp_prefix = string_ops.string_join([self._filename_tensor, f"_temp_{uuid.uuid4().hex}/part"])
        num_shards = constant(len(groups), name="num_shards")
        prefixes, saved = [], []
        for shard, (device, saveables) in enumerate(groups):
            with graph.device(device):
                prefix = checkpoint_ops.sharded_filename(tmp_prefix, shard, num_shards)
                save = _save_v2(prefix, saveables)
                saved.append(control_flow_ops.with_dependencies([save], prefix))
                prefixes.append(prefix)
        with graph.control_dependencies([t.op for t in saved]), graph.device(groups[-1][0]):
            merge = checkpoint_ops.merge_v2_checkpoints(prefixes, self._filename_tensor, delete_old_dirs=True)
            with graph.control_dependencies([merge]):
                return array_ops.identity(self._filename_tensor)

    def _add_restore(self, graph, groups):
        restored = []
        for device, saveables in groups:
            with graph.device(device):
                tensors = checkpoint_ops.restore_v2(
                    self._filename_tensor, [key for key, _, _ in saveables], [spec for _, spec, _ in saveables],
                    [v.dtype.base_dtype for _, _, v in saveables],
                    expected_shapes=[TensorShape(v.shape) for _, _, v in saveables])
            restored.append(([v for _, _, v in saveables], tensors))
        # Every Assign waits for every read (and its checks): a bad checkpoint changes no variable.
        checked = control_flow_ops.group(*[tensors[0].op for _, tensors in restored], name="restore_checked")
        shards = []
        for (device, _), (variables, tensors) in zip(groups, restored):
            with graph.device(device):
                with graph.control_dependencies([checked]):
                    assigns = [var.assign(t) for var, t in zip(variables, tensors)]
                shards.append(control_flow_ops.group(*assigns, name="restore_shard") if self._sharded else assigns)
        return control_flow_ops.group(*shards, name="restore_all")

    # -- running it ----------------------------------------------------------------------------------
    @property
    def last_checkpoints(self):
        return list(self._last_checkpoints)

    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False, save_debug_info=False):
        """Runs the save ops (the files are written where the variables live); returns the checkpoint prefix."""
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                global_step = training_util.global_step(sess, global_step)
            save_path = f"{save_path}-{int(global_step)}"
        if os.path.basename(save_path) == (latest_filename or "checkpoint"):
            raise ValueError(f"'latest_filename' collides with 'save_path': '{latest_filename or 'checkpoint'}' "
                             f"and '{save_path}'")
        if self._save_tensor is None:
            return None
        try:
            result = sess.run(self._save_tensor, feed_dict={self._filename_tensor: save_path})
        except errors.NotFoundError:  # (a server's refusal, FailedPrecondition, must stay what it is)
            if not os.path.isdir(os.path.dirname(os.path.abspath(save_path))):
                raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.") from None
            raise
        path = np.asarray(result).item()
        path = path.decode() if isinstance(path, bytes) else str(path)
        if write_state:
            if path in self._last_checkpoints:
                self._last_checkpoints.remove(path)
            self._last_checkpoints.append(path)
            while self._max_to_keep and len(self._last_checkpoints) > self._max_to_keep:
                remove_checkpoint(self._last_checkpoints.pop(0))
            directory = os.path.dirname(os.path.abspath(path))
            if os.path.isdir(directory):  # the state file is the client's, as in TF (docs/checkpoint-format.md)
                update_checkpoint_state(directory, path, self._last_checkpoints, latest_filename,
                                        self._save_relative_paths)
        if write_meta_graph and os.path.isdir(os.path.dirname(os.path.abspath(path))):
            # `<prefix>.meta`, written by the client as TF's is (where the client sees the directory, as the state)
            self.export_meta_graph(f"{path}.{meta_graph_suffix}", strip_default_attrs=strip_default_attrs)
        return path

    def restore(self, sess, save_path):
        """Sets every variable from the checkpoint at `save_path` (read where each variable lives), or raises
        before changing any."""
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if self._restore_op is not None:
            sess.run(self._restore_op, feed_dict={self._filename_tensor: save_path})

    def recover_last_checkpoints(self, checkpoint_paths):
        self._last_checkpoints = list(checkpoint_paths)

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        self._last_checkpoints = [p for p, _ in last_checkpoints_with_time]


def _saveables(named_vars):
    """[(checkpoint key, shape_and_slices spec, variable)]: each shard of a partitioned variable goes under the
    full variable's name with its slice spec ("7 3 3,2:0,3"), as TF saves slices, so every shard is written
    and read on its own device; a whole variable has the spec ""."""
    out = []
    for name, var in named_vars.items():
        if isinstance(var, _Sliced):
            out.extend((name, shard._save_slice_info.spec, shard) for shard in var.shards)
        else:
            out.append((name, "", var))
    return out


def _save_v2(prefix, saveables):
    return checkpoint_ops.save_v2(prefix, [key for key, _, _ in saveables], [spec for _, spec, _ in saveables],
                                  [v.value() for _, _, v in saveables])


def _by_device(saveables):
    """[(device, [saveable])] in device order: each variable's device with CPU:0, as TF's savers group."""
    groups = {}
    for item in saveables:
        device = getattr(item[2], "device", "") or ""
        if device:
            spec = DeviceSpec.from_string(device)
            spec.device_type, spec.device_index = "CPU", 0
            device = spec.to_string()
        groups.setdefault(device, []).append(item)
    return sorted(groups.items(), key=lambda item: item[0])


class _Sliced:
    """The shards of a partitioned variable, kept under the full variable's name (TF's checkpoint key)."""

    def __init__(self, shards):
        self.shards = sorted(shards, key=lambda v: v._save_slice_info.var_offset)


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
        if not isinstance(var, _Sliced) and (not hasattr(var, "assign") or not hasattr(var, "value")):
            raise TypeError(f"Variable to save is not a Variable: {var!r}")
        if name in out:
            raise ValueError(f"At least two variables have the same name: {name}")
        out[name] = var
    return out


# -- files written and read in this process (tests, tools) -------------------------------------------
def write_checkpoint(prefix, tensors):
    """Writes {name: array} as a V2 checkpoint at `prefix` from this process (no graph involved)."""
    writer = tensor_bundle.BundleWriter(prefix)
    try:
        for name, value in tensors.items():
            value = np.asarray(value)
            writer.add(name, value, dtypes.as_dtype(value.dtype))
        writer.finish()
    except BaseException:
        writer.abort()
        raise


def read_checkpoint(prefix):
    """{name: array} of every tensor of the checkpoint at `prefix`, each checksummed."""
    reader = tensor_bundle.BundleReader(prefix)
    return {name: reader.read(name) for name in reader.entries}
