"""tf.logging: TF 1.x's logging functions over Python's `logging`, on the logger "tfmini".

The levels are Python's (tf.logging.INFO == logging.INFO == 20), as in TF. The default verbosity is WARN, as
TF's; `set_verbosity` sets the logger's level. `fatal` logs at FATAL (CRITICAL) and, unlike TF's C++ LOG(FATAL),
does not abort the process, as TF's Python `tf.logging.fatal` does not either.
"""
import logging as _logging
import sys as _sys

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = WARNING = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_logger = None
_counts = {}


def get_logger():
    """The "tfmini" logger; on first use it gets a stderr handler, as TF's "tensorflow" logger does."""
    global _logger
    if _logger is None:
        logger = _logging.getLogger("tfmini")
        if not logger.handlers and not _logging.getLogger().handlers:
            handler = _logging.StreamHandler(_sys.stderr)
            handler.setFormatter(_logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
            logger.addHandler(handler)
        if logger.level == _logging.NOTSET:
            logger.setLevel(WARN)
        _logger = logger
    return _logger


def log(level, msg, *args, **kwargs):
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs):
    get_logger().debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs):
    get_logger().info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs):
    get_logger().warning(msg, *args, **kwargs)


warn = warning


def error(msg, *args, **kwargs):
    get_logger().error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs):
    get_logger().fatal(msg, *args, **kwargs)


def vlog(level, msg, *args, **kwargs):
    """TF's vlog: logs at Python level `level` (so vlog(1, ...) shows only at verbosity 1)."""
    get_logger().log(level, msg, *args, **kwargs)


def _caller_key():
    frame = _sys._getframe(2)
    return frame.f_code.co_filename, frame.f_lineno


def log_every_n(level, msg, n, *args):
    """Logs on the 1st, (n+1)th, (2n+1)th... call from the same line."""
    key = _caller_key()
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count % max(int(n), 1) == 0:
        log(level, msg, *args)


def log_first_n(level, msg, n, *args):
    """Logs on the first `n` calls from the same line only."""
    key = _caller_key()
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count < n:
        log(level, msg, *args)


def log_if(level, msg, condition, *args):
    if condition:
        log(level, msg, *args)


def get_verbosity():
    return get_logger().getEffectiveLevel()


def set_verbosity(v):
    get_logger().setLevel(v)


def flush():
    for handler in get_logger().handlers:
        handler.flush()


TaskLevelStatusMessage = info
