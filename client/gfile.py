"""tf.gfile (TF 1.x names) and tf.io.gfile (TF 2 names): file access with TensorFlow's errors.

Local paths only (and `file://`): a path with another URL scheme (gs://, hdfs://, s3://) raises TF's
UnimplementedError, since tfmini has no remote file systems. An OSError becomes TF's error class for its errno
(a missing file is a NotFoundError "<path>; No such file or directory"). GFile opens its file lazily, as TF's:
opening a missing file raises at the first read, and a file opened for writing is created at the first write.
"""
import errno as _errno
import glob as _glob
import os as _os
import shutil as _shutil
import types as _types

from tfmini.core import errors as _errors

_ERRNO_CLASSES = {
    _errno.ENOENT: _errors.NotFoundError,
    _errno.EEXIST: _errors.AlreadyExistsError,
    _errno.EACCES: _errors.PermissionDeniedError,
    _errno.EPERM: _errors.PermissionDeniedError,
    _errno.EISDIR: _errors.FailedPreconditionError,
    _errno.ENOTDIR: _errors.FailedPreconditionError,
    _errno.ENOTEMPTY: _errors.FailedPreconditionError,
}


def _local(path):
    """The local path of `path`, or UnimplementedError for a URL scheme tfmini has no file system for."""
    path = _os.fspath(path)
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    scheme, sep, rest = path.partition("://")
    if sep:
        if scheme == "file":
            return rest
        raise _errors.UnimplementedError(None, None, f"File system scheme '{scheme}' not implemented "
                                                     f"(file: '{path}')")
    return path


def _error(e, path):
    cls = _ERRNO_CLASSES.get(e.errno, _errors.UnknownError)
    return cls(None, None, f"{path}; {e.strerror or e}")


def _call(fn, path, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise _error(e, path) from None


# -- the functions, TF 2 names (tf.io.gfile) -----------------------------------------------------------
def exists(path):
    return _os.path.exists(_local(path))


def isdir(path):
    return _os.path.isdir(_local(path))


def makedirs(path):
    """Creates `path` and its parents; an existing directory is fine."""
    local = _local(path)
    _call(lambda: _os.makedirs(local, exist_ok=True), path)


def mkdir(path):
    """Creates one directory: AlreadyExistsError if it exists, NotFoundError if its parent does not."""
    local = _local(path)
    _call(_os.mkdir, path, local)


def rmtree(path):
    local = _local(path)
    if not _os.path.exists(local):
        raise _errors.NotFoundError(None, None, f"{path}; No such file or directory")
    if not _os.path.isdir(local):
        _call(_os.remove, path, local)
        return
    _call(_shutil.rmtree, path, local)


def remove(path):
    local = _local(path)
    if _os.path.isdir(local):
        raise _errors.FailedPreconditionError(None, None, f"{path}; Is a directory")
    _call(_os.remove, path, local)


def _check_overwrite(dst, overwrite):
    if not overwrite and _os.path.exists(_local(dst)):
        raise _errors.AlreadyExistsError(None, None, "file already exists")  # TF's message


def rename(src, dst, overwrite=False):
    source = _local(src)
    if not _os.path.exists(source):
        raise _errors.NotFoundError(None, None, f"{src}; No such file or directory")
    _check_overwrite(dst, overwrite)
    _call(_os.replace, dst, source, _local(dst))


def copy(src, dst, overwrite=False):
    source = _local(src)
    if not _os.path.exists(source):
        raise _errors.NotFoundError(None, None, f"{src}; No such file or directory")
    if _os.path.isdir(source):
        raise _errors.FailedPreconditionError(None, None, f"{src}; Is a directory")
    _check_overwrite(dst, overwrite)
    _call(_shutil.copyfile, dst, source, _local(dst))


def glob(pattern):
    """The paths matching `pattern` (a list of patterns gives the union), sorted."""
    patterns = [pattern] if isinstance(pattern, (str, bytes, _os.PathLike)) else list(pattern)
    found = []
    for p in patterns:
        local = _local(p)
        prefix = _os.fspath(p)[:len(_os.fspath(p)) - len(local)] if isinstance(p, str) else ""
        found.extend(prefix + m for m in _glob.glob(local))
    return sorted(found)


def listdir(path):
    """The names (not paths) in directory `path`; NotFoundError if it is not a directory."""
    local = _local(path)
    if not _os.path.isdir(local):
        raise _errors.NotFoundError(None, None, f"Could not find directory {path}")
    return sorted(_call(_os.listdir, path, local))


def walk(top, topdown=True, onerror=None):
    """Yields (dirname, subdirectory names, file names); a missing `top` yields nothing, as TF's."""
    try:
        names = listdir(top)
    except _errors.NotFoundError as e:
        if onerror is not None:
            onerror(e)
        return
    top = _os.fspath(top)
    subdirs = [n for n in names if isdir(join(top, n))]
    files = [n for n in names if n not in subdirs]
    if topdown:
        yield top, subdirs, files
    for subdir in subdirs:
        yield from walk(join(top, subdir), topdown, onerror)
    if not topdown:
        yield top, subdirs, files


class FileStatistics:
    """What Stat returns: `length` in bytes, `mtime_nsec`, `is_directory`."""

    def __init__(self, length=0, mtime_nsec=0, is_directory=False):
        self.length, self.mtime_nsec, self.is_directory = length, mtime_nsec, is_directory

    def __repr__(self):
        return (f"FileStatistics(length={self.length}, mtime_nsec={self.mtime_nsec}, "
                f"is_directory={self.is_directory})")


def stat(path):
    st = _call(_os.stat, path, _local(path))
    return FileStatistics(st.st_size, st.st_mtime_ns, _os.path.isdir(_local(path)))


def join(path, *paths):
    return _os.path.join(path, *paths)


def get_registered_schemes():
    return ["file"]


# -- GFile ------------------------------------------------------------------------------------------------
class GFile:
    """A file, as TF's GFile: text ('r', 'w', 'a') or binary ('rb', 'wb', 'ab') mode; opened on first use."""

    def __init__(self, name, mode="r"):
        if mode not in ("r", "w", "a", "rb", "wb", "ab"):
            raise _errors.InvalidArgumentError(None, None, "mode is not 'r' or 'w' or 'a' or 'rb' or 'wb' or 'ab'")
        self.__name = _os.fspath(name)
        self.__local = _local(name)
        self.__mode = mode
        self.__binary = "b" in mode
        self.__file = None
        self.__closed = False

    name = property(lambda self: self.__name)
    mode = property(lambda self: self.__mode)

    def __open(self, for_reading):
        if self.__closed:
            raise ValueError("I/O operation on closed file.")
        if for_reading and self.__mode[0] != "r":
            raise _errors.PermissionDeniedError(None, None, "File isn't open for reading")
        if not for_reading and self.__mode[0] == "r":
            raise _errors.PermissionDeniedError(None, None, "File isn't open for writing")
        if self.__file is None:
            if _os.path.isdir(self.__local):
                raise _errors.FailedPreconditionError(None, None, f"{self.__name}; Is a directory")
            # binary underneath: TF's positions are byte offsets, and text is decoded by us
            self.__file = _call(open, self.__name, self.__local, self.__mode[0] + "b")
        return self.__file

    def __text(self, data):
        return data if self.__binary else data.decode("utf-8")

    def size(self):
        return stat(self.__name).length

    def read(self, n=-1):
        return self.__text(self.__open(True).read(-1 if n is None else n))

    def readline(self):
        return self.__text(self.__open(True).readline())

    def readlines(self):
        return [self.__text(line) for line in self.__open(True).readlines()]

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def write(self, file_content):
        data = file_content.encode("utf-8") if isinstance(file_content, str) else bytes(file_content)
        self.__open(False).write(data)

    def seek(self, offset=None, whence=0, position=None):
        """TF's seek: `offset` (or the deprecated `position`) in bytes from `whence` (0 start, 1 here, 2 end)."""
        if position is not None:
            offset = position
        if offset is None:
            raise TypeError("seek(): offset argument required")
        self.__open(True).seek(offset, whence)
        return self.tell()

    def tell(self):
        if self.__file is None:
            return 0
        return self.__file.tell()

    def seekable(self):
        return True

    def flush(self):
        if self.__file is not None:
            self.__file.flush()
        elif self.__mode[0] != "r" and not self.__closed:
            self.__open(False).flush()

    def close(self):
        if self.__file is not None:
            self.__file.close()
            self.__file = None
        self.__closed = True

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.close()


FastGFile = Open = GFile

# -- the TF 1.x names (tf.gfile) ------------------------------------------------------------------------
Exists = exists
IsDirectory = isdir
MakeDirs = makedirs
MkDir = mkdir
DeleteRecursively = rmtree
Remove = remove
Rename = rename
Copy = copy
Glob = glob
ListDirectory = listdir
Stat = stat


def Walk(top, in_order=True):  # noqa: N802 - TF's name
    return walk(top, topdown=in_order)


# tf.io.gfile: the TF 2 names only.
io_gfile = _types.ModuleType("tfmini.io.gfile", "tf.io.gfile: file access with TensorFlow's errors.")
for _name in ("GFile", "copy", "exists", "get_registered_schemes", "glob", "isdir", "join", "listdir",
              "makedirs", "mkdir", "remove", "rename", "rmtree", "stat", "walk"):
    setattr(io_gfile, _name, globals()[_name])
