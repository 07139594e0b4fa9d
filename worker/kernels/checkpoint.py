"""The Saver's kernels, TensorFlow's: SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename, ShardedFilespec.

They run on the task that holds the variables, so a checkpoint is written and read where the variables
live and never travels to the client. Paths are checked against the task's CheckpointAccess
(worker/checkpoint_access.py): a server touches only its --checkpoint-dir. The files are TensorFlow's
V2 format (core/tensor_bundle.py).
"""
import os

import numpy as np

from tfmini.core import errors, tensor_bundle
from tfmini.worker.kernels import CPU_ONLY, kernel


def _text(value):
    if isinstance(value, np.ndarray):
        value = value.item()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _strings(value, what, count):
    items = [_text(x) for x in np.asarray(value, dtype=object).reshape(-1)]
    if len(items) != count:
        raise errors.InvalidArgumentError(None, None, f"Expected {what} to have {count} elements, got {len(items)}")
    return items


def _access(node):
    return node.env.worker.checkpoint_access


def _make_prefix_dir(path):
    """TF's BundleWriter makes the prefix's own directory, not its parents."""
    try:
        os.mkdir(os.path.dirname(path))
    except FileExistsError:
        pass
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"Failed to create a directory: {os.path.dirname(path)}; No such file "
                                               f"or directory") from None


@kernel("SaveV2", num_outputs=0, device_types=CPU_ONLY)
def _save_v2(node):
    dtypes = list(node.attrs["dtypes"])

    def fn(prefix, tensor_names, shape_and_slices, *tensors):
        names = _strings(tensor_names, "tensor_names", len(tensors))
        specs = _strings(shape_and_slices, "shape_and_slices", len(tensors))
        path = _access(node).resolve(_text(prefix))
        _make_prefix_dir(path)
        writer = tensor_bundle.BundleWriter(path)
        try:
            for name, spec, value, dtype in zip(names, specs, tensors, dtypes):
                if spec:  # a partitioned variable's shard, saved as TF saves slices
                    writer.add_slice(name, *tensor_bundle.parse_slice_spec(spec), value, dtype)
                else:
                    writer.add(name, value, dtype)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
    return fn


@kernel("RestoreV2", num_outputs=lambda attrs: len(attrs["dtypes"]), device_types=CPU_ONLY)
def _restore_v2(node):
    dtypes = [d.base_dtype for d in node.attrs["dtypes"]]
    # tfmini's own: the variables' shapes, so a wrong-shaped tensor fails here, before any Assign of the
    # step runs (the Saver gates every Assign on every RestoreV2). Absent in TensorFlow's graphs.
    shapes = node.attrs.get("_expected_shapes")

    def fn(prefix, tensor_names, shape_and_slices):
        names = _strings(tensor_names, "tensor_names", len(dtypes))
        specs = [tensor_bundle.parse_slice_spec(s) if s else None
                 for s in _strings(shape_and_slices, "shape_and_slices", len(dtypes))]
        path = _access(node).resolve(_text(prefix))
        reader = tensor_bundle.BundleReader(path)
        for i, (name, dtype, spec) in enumerate(zip(names, dtypes, specs)):
            if not reader.has(name):
                raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint")
            stored = reader.dtype(name)
            if stored != dtype:
                raise errors.InvalidArgumentError(None, None, f"tensor_name = {name}; expected dtype {dtype.name} does "
                                                              f"not equal original dtype {stored.name}")
            if spec is not None and spec[0] != reader.shape(name):
                raise errors.InvalidArgumentError(None, None, f"tensor_name = {name}; shape in shape_and_slice spec "
                                                              f"{spec[0]} does not match the shape stored in "
                                                              f"checkpoint: {reader.shape(name)}")
            if shapes is not None:
                sliced = spec and [d if n < 0 else n for (_, n), d in zip(spec[1], spec[0])]
                _check_shape(name, shapes[i], sliced or reader.shape(name))
        out = [reader.read(name) if spec is None else reader.read_slice(name, spec[1])
               for name, spec in zip(names, specs)]
        return out[0] if len(out) == 1 else tuple(out)  # the executor's convention: one output is no tuple
    return fn


def _check_shape(name, expected, stored):
    if expected.unknown_rank:
        return
    dims = [d.size for d in expected.dim]
    if len(dims) != len(stored) or any(e >= 0 and e != s for e, s in zip(dims, stored)):
        raise errors.InvalidArgumentError(None, None, f"Assign requires shapes of both tensors to match. {name}: lhs "
                                                      f"shape= {dims} rhs shape= {stored}")


@kernel("MergeV2Checkpoints", num_outputs=0, device_types=CPU_ONLY)
def _merge_v2(node):
    delete_old_dirs = bool(node.attrs.get("delete_old_dirs", True))
    allow_missing = bool(node.attrs.get("allow_missing_files", False))

    def fn(checkpoint_prefixes, destination_prefix):
        access = _access(node)
        prefixes = [access.resolve(_text(p)) for p in np.asarray(checkpoint_prefixes, dtype=object).reshape(-1)]
        tensor_bundle.merge_bundles(prefixes, access.resolve(_text(destination_prefix)), delete_old_dirs,
                                    allow_missing)
    return fn


@kernel("ShardedFilename", device_types=CPU_ONLY)
def _sharded_filename(node):
    return lambda basename, shard, num_shards: np.array(
        tensor_bundle.sharded_filename(_text(basename), int(shard), int(num_shards)).encode(), dtype=object)


@kernel("ShardedFilespec", device_types=CPU_ONLY)
def _sharded_filespec(node):
    return lambda basename, num_shards: np.array(f"{_text(basename)}-?????-of-{int(num_shards):05d}".encode(),
                                                 dtype=object)
