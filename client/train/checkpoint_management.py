"""The `checkpoint` state file (TF's CheckpointState text format) and finding checkpoints by prefix:
tf.train.get_checkpoint_state, latest_checkpoint, checkpoint_exists, update_checkpoint_state.

These run on the client's filesystem, as in TensorFlow (where a cluster shares one, or the chief's is
where the ps tasks write): see docs/checkpoint-format.md.
"""
import glob
import json
import os
import threading

from tfmini.core import errors, tensor_bundle


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


def atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}_{threading.get_ident()}"  # two threads of a process may save at once
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None, latest_filename=None,
                            save_relative_paths=True):
    """Writes `save_dir/checkpoint` (paths relative to `save_dir` by default: the directory can move)."""
    paths = list(all_model_checkpoint_paths or [])
    if model_checkpoint_path not in paths:
        paths.append(model_checkpoint_path)
    if save_relative_paths:
        rel = lambda p: os.path.relpath(os.path.abspath(p), os.path.abspath(save_dir))  # noqa: E731
        model_checkpoint_path, paths = rel(model_checkpoint_path), [rel(p) for p in paths]
    atomic_write(os.path.join(save_dir, latest_filename or "checkpoint"),
                 _state_text(model_checkpoint_path, paths).encode())


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The CheckpointState of `checkpoint_dir` (relative paths joined to it), or None if it has none."""
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(path):
        return None
    latest, paths = None, []
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition(":")
            if key not in ("model_checkpoint_path", "all_model_checkpoint_paths"):
                continue  # TF 2 also writes timestamps; the paths are what a restore needs
            try:
                value = json.loads(value.strip())
            except ValueError:
                raise errors.DataLossError(None, None, f"Malformed checkpoint state file {path}: {line!r}") from None
            value = value if os.path.isabs(value) else os.path.join(checkpoint_dir, value)
            if key == "model_checkpoint_path":
                latest = value
            else:
                paths.append(value)
    if latest is None:
        raise errors.DataLossError(None, None, f"Invalid checkpoint state loaded from {checkpoint_dir}")
    return CheckpointState(latest, paths)


def checkpoint_exists(checkpoint_prefix):
    """Whether a V2 checkpoint (its `.index`) exists at `checkpoint_prefix`."""
    return os.path.exists(tensor_bundle.index_filename(checkpoint_prefix))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint in `checkpoint_dir` (from its state file), or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not checkpoint_exists(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path


def remove_checkpoint(prefix, checkpoint_format_version=2, meta_graph_suffix="meta"):
    """Deletes a checkpoint's index, data files and meta graph (what max_to_keep drops)."""
    for path in [tensor_bundle.index_filename(prefix), f"{prefix}.{meta_graph_suffix}"] + glob.glob(glob.escape(prefix) + ".data-?????-of-?????"):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
