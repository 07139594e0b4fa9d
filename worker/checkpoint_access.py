"""Where a task's Saver ops (SaveV2, RestoreV2, MergeV2Checkpoints) may touch its filesystem.

A checkpoint path arrives from a client as a string tensor, so a server must not trust it: a server
confines its Saver ops to the directory it was started with (`tfmini-server --checkpoint-dir DIR`,
`tf.train.Server(..., checkpoint_dir=DIR)`) and refuses them without one. The embedded session's
filesystem is its user's own, so there they may go anywhere.
"""
import os

from tfmini.core import errors


class CheckpointAccess:
    def __init__(self, root=None, anywhere=False, task_name=""):
        self.root = os.path.realpath(root) if root else None
        self.anywhere = anywhere
        self.task_name = task_name

    @classmethod
    def unrestricted(cls):
        return cls(anywhere=True)

    def resolve(self, path):
        """The absolute path a Saver op may use for `path`, or a FailedPreconditionError /
        PermissionDeniedError saying why not. Relative paths are taken relative to the root;
        the resolved path (symlinks followed, `..` collapsed) must lie inside it."""
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if self.anywhere:
            return os.path.abspath(path)
        if self.root is None:
            raise errors.FailedPreconditionError(
                None, None, f"Task {self.task_name} refuses to read or write checkpoint files ({path!r}): it was "
                            f"started without a checkpoint directory. Start it with `tfmini-server "
                            f"--checkpoint-dir DIR` (or tf.train.Server(..., checkpoint_dir=DIR)).")
        resolved = os.path.realpath(os.path.join(self.root, path))
        if os.path.commonpath([resolved, self.root]) != self.root:
            raise errors.PermissionDeniedError(
                None, None, f"Task {self.task_name} refuses checkpoint path {path!r}: it resolves to {resolved}, "
                            f"outside its --checkpoint-dir {self.root}")
        return resolved
