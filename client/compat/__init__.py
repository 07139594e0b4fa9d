"""tf.compat: TF's string helpers, the graph-mode switches, and `tf.compat.v1` (the whole tfmini API).

tfmini is graph-only, as TF 1.x is by default: `disable_eager_execution` and `disable_v2_behavior` are no-ops
(there is nothing to disable), `executing_eagerly()` is False, and `enable_eager_execution` /
`enable_v2_behavior` raise UnimplementedError rather than leave a program believing it runs eagerly.
"""
import numbers as _numbers
import os as _os

import numpy as _np

from tfmini.core import errors as _errors

bytes_or_text_types = (bytes, str)
integral_types = (_numbers.Integral, _np.integer)
real_types = (_numbers.Real, _np.integer, _np.floating)
complex_types = (_numbers.Complex, _np.number)


def as_bytes(bytes_or_text, encoding="utf-8"):
    if isinstance(bytes_or_text, bytearray):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


def as_text(bytes_or_text, encoding="utf-8"):
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text.decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


as_str = as_text


def as_str_any(value, encoding="utf-8"):
    """`value` as a str: bytes are decoded, anything else goes through str()."""
    if isinstance(value, bytes):
        return as_str(value, encoding)
    return str(value)


def path_to_str(path):
    """A path-like object as its string; anything else is returned unchanged."""
    if isinstance(path, _os.PathLike):
        path = _os.fspath(path)
    return path


def path_to_bytes(path):
    return as_bytes(path_to_str(path))


def forward_compatible(year, month, day):
    return False


def executing_eagerly():
    return False


def disable_eager_execution():
    """Graph mode is the only mode: nothing to do."""


def disable_v2_behavior():
    """tfmini has TF 1.x behaviour already: nothing to do."""


def disable_resource_variables():
    """Variables are ref variables unless `use_resource=True`, as TF 1.x's: nothing to do."""


def resource_variables_enabled():
    return False


def _graph_only(name):
    def fn(*args, **kwargs):
        raise _errors.UnimplementedError(None, None, f"tf.{name}: tfmini is graph-only, it has no eager execution;"
                                                     f" build a graph and run it in a tf.Session")
    fn.__name__ = name
    return fn


enable_eager_execution = _graph_only("enable_eager_execution")
enable_v2_behavior = _graph_only("enable_v2_behavior")

from tfmini.compat import v1  # noqa: E402 - loads lazily, it only forwards names
