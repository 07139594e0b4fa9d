"""Readers (TF 1.x): each takes file names from a queue and yields (key, value) records, with TF's keys.

TextLineReader: "file:line" (1-based, header lines counted); TFRecordReader: "file:offset" (the record's
byte offset, framing from core/tfrecord.py); FixedLengthRecordReader: "file:index" (0-based); WholeFileReader:
the file name. A reader is a resource of its task (per session, or shared by `shared_name`); a file's records
are read when the reader starts on it.
"""
import threading

import numpy as np

from tfmini.core import errors, tfrecord
from tfmini.worker.kernels import kernel


def _text_lines(path, data, skip):
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # a trailing newline ends the last line; it starts no empty one
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return [(f"{path}:{i + 1}".encode(), line) for i, line in enumerate(lines) if i >= skip]


class Reader:
    def __init__(self, records_of):
        self._records_of = records_of  # path -> [(key, value), ...]
        self._lock = threading.Lock()
        self._records, self._next = [], 0
        self.produced = 0

    def reset(self):
        with self._lock:
            self._records, self._next, self.produced = [], 0, 0

    def read(self, step, queue, n):
        """Up to `n` records, taking new files from `queue` while the current one is done; at least one
        unless the queue is closed and empty (OutOfRangeError, as TF)."""
        out = []
        with self._lock:
            while len(out) < n:
                if self._next >= len(self._records):
                    try:
                        path = queue.dequeue(step, None)[0]
                    except errors.OutOfRangeError:
                        if out:
                            break
                        raise
                    path = path.item() if isinstance(path, np.ndarray) else path
                    path = path.decode() if isinstance(path, bytes) else str(path)
                    self._records, self._next = self._records_of(path), 0
                    continue
                out.append(self._records[self._next])
                self._next += 1
            self.produced += len(out)
        return out


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise errors.NotFoundError(None, None, f"{path}; {e.strerror}") from None


def _reader_of(node):
    attrs, op = node.attrs, node.op
    if op == "TextLineReaderV2":
        skip = attrs.get("skip_header_lines", 0)
        return lambda path: _text_lines(path, _read_bytes(path), skip)
    if op == "TFRecordReaderV2":
        compression = attrs.get("compression_type", b"").decode()

        def records(path):
            out, offset = [], 0
            for data in tfrecord.tf_record_iterator(path, compression):
                out.append((f"{path}:{offset}".encode(), data))
                offset += 16 + len(data)
            return out
        return records
    if op == "WholeFileReaderV2":
        return lambda path: [(path.encode(), _read_bytes(path))]
    header, footer = attrs.get("header_bytes", 0), attrs.get("footer_bytes", 0)
    size, hop = attrs["record_bytes"], attrs.get("hop_bytes", 0) or attrs["record_bytes"]

    def fixed(path):
        body = _read_bytes(path)[header:]
        body = body[:len(body) - footer]
        starts = range(0, len(body) - size + 1, hop)
        return [(f"{path}:{i}".encode(), body[s:s + size]) for i, s in enumerate(starts)]
    return fixed


@kernel("FixedLengthRecordReaderV2", "TextLineReaderV2", "TFRecordReaderV2", "WholeFileReaderV2")
def _reader(node):
    shared = node.attrs.get("shared_name", b"").decode()
    make = lambda: Reader(_reader_of(node))  # noqa: E731
    if shared:
        reader = node.env.resources.resource(node.attrs.get("container", b"").decode(), f"reader:{shared}", make)
    else:
        state = node.env.kernel_state
        reader = state.get(("reader", node.name)) or state.setdefault(("reader", node.name), make())
    return lambda: reader


@kernel("ReaderReadV2", num_outputs=2, takes_step=True)
def _read(node):
    def fn(step, reader, queue):
        (key, value), = reader.read(step, queue, 1)
        return np.array(key, dtype=object), np.array(value, dtype=object)
    return fn


@kernel("ReaderReadUpToV2", num_outputs=2, takes_step=True)
def _read_up_to(node):
    def fn(step, reader, queue, n):
        n = int(n)
        if n <= 0:
            raise errors.InvalidArgumentError(None, None, f"num_records ({n}) must be > 0")
        records = reader.read(step, queue, n)
        keys, values = np.empty(len(records), dtype=object), np.empty(len(records), dtype=object)
        keys[:], values[:] = [k for k, _ in records], [v for _, v in records]
        return keys, values
    return fn


@kernel("ReaderNumRecordsProducedV2")
def _num_records(node):
    return lambda reader: np.array(reader.produced, dtype=np.int64)


@kernel("ReaderResetV2", num_outputs=0)
def _reset(node):
    return lambda reader: reader.reset()
