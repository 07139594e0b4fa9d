"""Structured server logs: every line says its task, and the session, step and peer it concerns.

    2026-12-02 01:02:03 INFO task=/job:ps/replica:0/task:0 session=ab12cd34 step=99 tfmini.master: ...

`--log-format json` writes one JSON object per line with the same fields. A line logged with
`extra={"peer": ...}` carries `peer=`.
"""
import json
import logging
import sys
import time

from tfmini.core import log_context

FIELDS = ("task", "session", "step", "peer")


class ContextFilter(logging.Filter):
    """Adds task (this process's), session and step (the thread's, from core.log_context) to each record."""

    def __init__(self, task=None):
        super().__init__()
        self.task = task

    def filter(self, record):
        if getattr(record, "task", None) is None:
            record.task = self.task
        if getattr(record, "session", None) is None:
            record.session = log_context.session.get()
        if getattr(record, "step", None) is None:
            record.step = log_context.step.get()
        record.context = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS
                                  if getattr(record, k, None) is not None)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(context)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record):
        if not hasattr(record, "context"):  # a handler without the filter
            record.context = ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z", "level": record.levelname, "logger": record.name}
        line.update({k: getattr(record, k) for k in FIELDS if getattr(record, k, None) is not None})
        line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup(level="info", log_format="text", task=None, stream=None):
    """Configures the root logger of a tfmini-server process (replacing earlier handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter(task))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    return handler
