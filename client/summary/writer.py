"""tf.summary.FileWriter (tf.train.SummaryWriter): Events to a TensorBoard event file, from a background thread.

Semantics follow TF 1.x's `FileWriter` and `EventFileWriter`: events wait in a
queue of `max_queue` (a full queue blocks `add_*`); the thread writes each one
and flushes the first at once, then when `flush_secs` have passed; `flush()`
waits until the queue is written and synced; `close()` is flush + close, and
is idempotent; `add_*` after `close()` warns and drops the event until
`reopen()`, which starts a new file. If the thread fails to write (a full
disk), the next `add_*`/`flush`/`close` raises that error.
"""
import atexit
import os
import socket
import sys
import threading
import time
import warnings

import numpy as np

from tfmini.protos import config_pb2, event_pb2, graph_pb2, summary_pb2
from tfmini.summary.record import encode_record

FILE_VERSION = "brain.Event:2"
_OPEN_WRITERS = set()  # flushed and closed at exit, so a writer never closed still keeps its events


def _new_event_file(logdir, suffix):
    """Creates `events.out.tfevents.<secs>.<host><suffix>`; a name already taken (two writers in one second)
    moves on to the next second, so no file is clobbered and the newer file still sorts after."""
    secs, host = int(time.time()), socket.gethostname()
    while True:
        path = os.path.join(logdir, f"events.out.tfevents.{secs:010d}.{host}{suffix or ''}")
        try:
            return path, open(path, "xb")
        except FileExistsError:
            secs += 1


class _QueueClosed(Exception):
    pass


class _CloseableQueue:
    """A bounded FIFO whose `put` fails (instead of blocking forever) once the writer thread has exited."""

    def __init__(self, maxsize):
        self._items, self._maxsize, self._closed = [], maxsize, False
        self._lock = threading.Lock()
        self._not_empty, self._not_full = threading.Condition(self._lock), threading.Condition(self._lock)

    def get(self):
        with self._not_empty:
            while not self._items:
                self._not_empty.wait()
            self._not_full.notify()
            return self._items.pop(0)

    def put(self, item):
        with self._not_full:
            while not self._closed and 0 < self._maxsize <= len(self._items):
                self._not_full.wait()
            if self._closed:
                raise _QueueClosed()
            self._items.append(item)
            self._not_empty.notify()

    def close(self):
        with self._not_full:
            self._closed = True
            self._not_full.notify_all()


_FLUSH, _CLOSE = object(), object()


class _WriterThread(threading.Thread):
    def __init__(self, queue, file, flush_secs, flush_complete):
        super().__init__(name="EventLoggerThread", daemon=True)
        self._queue, self._file, self._flush_secs = queue, file, flush_secs
        self._flush_complete = flush_complete
        self._next_flush = 0.0  # the first event is flushed at once
        self.failure = None

    def run(self):
        try:
            while True:
                item = self._queue.get()
                if item is _CLOSE:
                    return
                if item is _FLUSH:
                    _sync(self._file)
                    self._flush_complete.set()
                    continue
                self._file.write(encode_record(item.SerializeToString()))
                now = time.time()
                if now > self._next_flush:
                    _sync(self._file)
                    self._next_flush = now + self._flush_secs
        except Exception as e:  # kept and raised to the caller of the next add/flush/close
            self.failure = e
        finally:  # never leave a flush() or a blocked add waiting on a dead thread
            self._flush_complete.set()
            self._queue.close()


def _sync(f):
    f.flush()
    os.fsync(f.fileno())


class EventFileWriter:
    """Writes Event protos to a new event file in `logdir` (TF's `EventFileWriter`)."""

    def __init__(self, logdir, max_queue=10, flush_secs=120, filename_suffix=None):
        self._logdir = os.fspath(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        self._max_queue, self._flush_secs, self._suffix = max_queue, flush_secs, filename_suffix
        self._flush_complete = threading.Event()
        self._initialize()

    def _initialize(self):
        path, f = _new_event_file(self._logdir, self._suffix)
        try:  # the version record goes out (and is synced) before anything else
            f.write(encode_record(event_pb2.Event(wall_time=time.time(),
                                                  file_version=FILE_VERSION).SerializeToString()))
            _sync(f)
        except BaseException:
            try:
                f.close()
            except OSError:
                pass  # the write's own error is the one to report
            raise
        self._path, self._file, self._closed = path, f, False
        self._queue = _CloseableQueue(self._max_queue)
        self._worker = _WriterThread(self._queue, f, self._flush_secs, self._flush_complete)
        self._worker.start()
        _OPEN_WRITERS.add(self)

    def get_logdir(self):
        return self._logdir

    @property
    def path(self):
        """The event file being written (a new one after each `reopen()`)."""
        return self._path

    def reopen(self):
        """After `close()`, starts a new event file in the same logdir; does nothing if open."""
        if self._closed:
            self._initialize()

    def add_event(self, event):
        if not self._closed:
            self._put(event)

    def _put(self, item):
        try:
            self._queue.put(item)
        except _QueueClosed:
            self._internal_close()
            self._raise_failure()

    def _raise_failure(self):
        if self._worker.failure is not None:
            raise self._worker.failure

    def flush(self):
        """Blocks until every queued event is written and synced to disk."""
        if not self._closed:
            self._flush_complete.clear()
            self._put(_FLUSH)
            self._flush_complete.wait()
            if self._worker.failure is not None:
                self._internal_close()
                self._raise_failure()

    def close(self):
        """flush() and close the file; closing a closed writer does nothing."""
        if not self._closed:
            self.flush()
            self._put(_CLOSE)
            self._internal_close()

    def _internal_close(self):
        self._closed = True
        _OPEN_WRITERS.discard(self)
        self._worker.join()
        try:
            self._file.close()
        except OSError:
            if self._worker.failure is None:  # else the thread's error is the one to report
                raise


@atexit.register
def _close_open_writers():
    for w in list(_OPEN_WRITERS):
        try:
            w.close()
        except Exception as e:  # exit goes on; say what was lost
            print(f"tfmini: could not flush event file {w.path}: {e}", file=sys.stderr)


class FileWriter:
    """tf.summary.FileWriter(logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None,
    filename_suffix=None, session=None). `session` is accepted for TF's signature and not used: events
    are always written from Python, never through a writer resource in the graph."""

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        self.event_writer = EventFileWriter(logdir, max_queue, flush_secs, filename_suffix)
        self._closed = False
        self._session_run_tags = set()
        self._seen_summary_tags = set()
        if graph is not None or graph_def is not None:
            self.add_graph(graph=graph, graph_def=graph_def)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get_logdir(self):
        return self.event_writer.get_logdir()

    def add_summary(self, summary, global_step=None):
        """Adds a Summary proto, or its serialization (what `sess.run(summary_op)` returns)."""
        if isinstance(summary, np.ndarray) and summary.shape == ():
            summary = summary.item()
        if isinstance(summary, (bytes, np.bytes_)):
            summary = summary_pb2.Summary.FromString(bytes(summary))
        elif isinstance(summary, summary_pb2.Summary):
            summary = summary_pb2.Summary.FromString(summary.SerializeToString())  # we strip metadata below
        else:
            raise TypeError(f"add_summary expects a Summary proto or its serialized bytes, got "
                            f"{type(summary).__name__}")
        for value in summary.value:  # only the first value of a tag keeps its metadata, as in TF
            if value.HasField("metadata"):
                if value.tag in self._seen_summary_tags:
                    value.ClearField("metadata")
                else:
                    self._seen_summary_tags.add(value.tag)
        self._add_event(event_pb2.Event(summary=summary), global_step)

    def add_session_log(self, session_log, global_step=None):
        self._add_event(event_pb2.Event(session_log=session_log), global_step)

    def add_graph(self, graph=None, global_step=None, graph_def=None):
        """Adds a Graph (written with `_output_shapes` and each node's device) or a GraphDef."""
        from tfmini.graph import Graph
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        graph = graph if graph is not None else graph_def
        if isinstance(graph, Graph):
            graph_def = graph.as_graph_def(add_shapes=True)
        elif isinstance(graph, graph_pb2.GraphDef):
            graph_def = graph
        else:
            raise TypeError("The passed graph must be an instance of `Graph` or the deprecated `GraphDef`")
        self._add_event(event_pb2.Event(graph_def=graph_def.SerializeToString()), global_step)

    def add_meta_graph(self, meta_graph_def, global_step=None):
        """Adds a MetaGraphDef (tf.train.export_meta_graph's), as TF's CheckpointSaverHook does."""
        if not hasattr(meta_graph_def, "SerializeToString") or not hasattr(meta_graph_def, "collection_def"):
            raise TypeError(f"meta_graph_def must be type MetaGraphDef, saw type: {type(meta_graph_def)}")
        self._add_event(event_pb2.Event(meta_graph_def=meta_graph_def.SerializeToString()), global_step)

    def add_run_metadata(self, run_metadata, tag, global_step=None):
        if tag in self._session_run_tags:
            raise ValueError("The provided tag was already used for this event type")
        self._session_run_tags.add(tag)
        if not isinstance(run_metadata, config_pb2.RunMetadata):
            raise TypeError(f"run_metadata must be a RunMetadata proto, got {type(run_metadata).__name__}")
        tagged = event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
        self._add_event(event_pb2.Event(tagged_run_metadata=tagged), global_step)

    def _add_event(self, event, step):
        event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self.add_event(event)

    def add_event(self, event):
        self._warn_if_closed()
        self.event_writer.add_event(event)

    def _warn_if_closed(self):
        if self._closed:
            warnings.warn("Attempting to use a closed FileWriter. The operation will be a noop unless the "
                          "FileWriter is explicitly reopened.")

    def flush(self):
        self._warn_if_closed()
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()
        self._closed = True

    def reopen(self):
        self.event_writer.reopen()
        self._closed = False


SummaryWriter = FileWriter
