"""Readers, as TF 1.x's io_ops: tf.TextLineReader, TFRecordReader, WholeFileReader, FixedLengthRecordReader;
tf.read_file and tf.matching_files. A reader's op outputs a resource handle (TextLineReaderV2, ...); `read`
takes file names from a queue (ReaderReadV2) and returns (key, value) string scalars.
"""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, get_default_graph, name_scope
from tfmini.ops.core import convert_to_tensor

_READER_OPS = ("FixedLengthRecordReaderV2", "TextLineReaderV2", "TFRecordReaderV2", "WholeFileReaderV2")


def _make(op_type, inputs, attrs, name, default):
    graph = get_default_graph() if not inputs else inputs[0].graph
    with graph.as_default(), name_scope(name, default) as scope:
        return graph.create_op(op_type, list(inputs), attrs, name=scope)


def _queue_ref(queue):
    return queue if isinstance(queue, Tensor) else queue.queue_ref


class ReaderBase:
    """tf.ReaderBase: reads records from the files named by a queue of strings."""

    def __init__(self, reader_ref, supports_serialize=False):
        self._reader_ref = reader_ref
        self._supports_serialize = supports_serialize

    reader_ref = property(lambda self: self._reader_ref)
    supports_serialize = property(lambda self: self._supports_serialize)

    def read(self, queue, name=None):
        op = _make("ReaderReadV2", [self._reader_ref, _queue_ref(queue)], {}, name, "ReaderReadV2")
        return op.outputs[0], op.outputs[1]

    def read_up_to(self, queue, num_records, name=None):
        with name_scope(name, "ReaderReadUpToV2", [self._reader_ref]) as scope:
            n = convert_to_tensor(num_records, dtype=dtypes.int64, name="num_records")
            op = self._reader_ref.graph.create_op("ReaderReadUpToV2", [self._reader_ref, _queue_ref(queue), n], {},
                                                  name=scope)
        return op.outputs[0], op.outputs[1]

    def num_records_produced(self, name=None):
        return _make("ReaderNumRecordsProducedV2", [self._reader_ref], {}, name,
                     "ReaderNumRecordsProducedV2").outputs[0]

    def reset(self, name=None):
        return _make("ReaderResetV2", [self._reader_ref], {}, name, "ReaderResetV2")


def _reader(op_type, attrs, name):
    attrs = dict(attrs, container="", shared_name="")
    return _make(op_type, [], attrs, name, op_type).outputs[0]


class TextLineReader(ReaderBase):
    """Records are lines (without the newline); keys "file:line", 1-based, header lines counted."""

    def __init__(self, skip_header_lines=None, name=None):
        super().__init__(_reader("TextLineReaderV2", {"skip_header_lines": int(skip_header_lines or 0)}, name))


class TFRecordReader(ReaderBase):
    """Records of TFRecord files; keys "file:offset". `options` a tf.python_io.TFRecordOptions (or None)."""

    def __init__(self, name=None, options=None):
        compression = getattr(options, "compression_type", None) or ""
        if not isinstance(compression, (str, bytes)):  # TFRecordCompressionType: 0 NONE, 1 ZLIB, 2 GZIP
            compression = {0: "", 1: "ZLIB", 2: "GZIP"}[int(compression)]
        super().__init__(_reader("TFRecordReaderV2", {"compression_type": compression}, name))


class WholeFileReader(ReaderBase):
    """One record per file: key the file name, value its contents."""

    def __init__(self, name=None):
        super().__init__(_reader("WholeFileReaderV2", {}, name))


class FixedLengthRecordReader(ReaderBase):
    """Records of `record_bytes` bytes, after `header_bytes` and before `footer_bytes`; keys "file:index"."""

    def __init__(self, record_bytes, header_bytes=None, footer_bytes=None, hop_bytes=None, name=None,
                 encoding=None):
        if encoding:
            raise NotImplementedError("FixedLengthRecordReader(encoding=...) is not supported by tfmini")
        attrs = {"record_bytes": int(record_bytes), "header_bytes": int(header_bytes or 0),
                 "footer_bytes": int(footer_bytes or 0), "hop_bytes": int(hop_bytes or 0), "encoding": ""}
        super().__init__(_reader("FixedLengthRecordReaderV2", attrs, name))


def read_file(filename, name=None):
    with name_scope(name, "ReadFile") as scope:
        f = convert_to_tensor(filename, dtype=dtypes.string, name="filename")
        return f.graph.create_op("ReadFile", [f], {}, name=scope).outputs[0]


def matching_files(pattern, name=None):
    with name_scope(name, "MatchingFiles") as scope:
        p = convert_to_tensor(pattern, dtype=dtypes.string, name="pattern")
        return p.graph.create_op("MatchingFiles", [p], {}, name=scope).outputs[0]


_SCALAR_STRING = [(dtypes.string, TensorShape([]))]
op_registry.register(_READER_OPS, lambda op: [(dtypes.resource, TensorShape([]))])
op_registry.register("ReaderReadV2", lambda op: _SCALAR_STRING * 2)
op_registry.register("ReaderReadUpToV2", lambda op: [(dtypes.string, TensorShape([None]))] * 2)
op_registry.register("ReaderNumRecordsProducedV2", lambda op: [(dtypes.int64, TensorShape([]))])
op_registry.register("ReaderResetV2", lambda op: [])
op_registry.register("ReadFile", lambda op: _SCALAR_STRING)
op_registry.register("MatchingFiles", lambda op: [(dtypes.string, TensorShape([None]))])
