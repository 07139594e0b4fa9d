"""tf.python_io (and tf.io): TFRecord files. The framing and compression are core/tfrecord.py's."""
from tfmini.core import tfrecord


class TFRecordCompressionType:
    """The compression of a whole TFRecord file (TF's enum values)."""
    NONE = 0
    ZLIB = 1
    GZIP = 2


_COMPRESSION_NAMES = {TFRecordCompressionType.NONE: "", TFRecordCompressionType.ZLIB: "ZLIB",
                      TFRecordCompressionType.GZIP: "GZIP"}


class TFRecordOptions:
    """How a TFRecord file is compressed. tfmini uses compression_type and compression_level; the buffer and
    zlib tuning options are accepted and ignored (they change speed, not the bytes a reader sees)."""
    compression_type_map = {"": TFRecordCompressionType.NONE, "ZLIB": TFRecordCompressionType.ZLIB,
                            "GZIP": TFRecordCompressionType.GZIP}

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None, output_buffer_size=None,
                 window_bits=None, compression_level=None, compression_method=None, mem_level=None,
                 compression_strategy=None):
        if compression_type in _COMPRESSION_NAMES:
            compression_type = _COMPRESSION_NAMES[compression_type]
        elif compression_type is None:
            compression_type = ""
        if compression_type not in self.compression_type_map:
            raise ValueError(f'Unsupported compression type: {compression_type}. Supported types are '
                             f'{list(self.compression_type_map)}')
        self.compression_type = compression_type
        self.flush_mode, self.input_buffer_size, self.output_buffer_size = flush_mode, input_buffer_size, \
            output_buffer_size
        self.window_bits, self.compression_level, self.compression_method = window_bits, compression_level, \
            compression_method
        self.mem_level, self.compression_strategy = mem_level, compression_strategy

    @classmethod
    def get_compression_type_string(cls, options):
        """The compression name ("", "ZLIB", "GZIP") of `options` (TFRecordOptions, a name, an enum or None)."""
        if not options:
            return ""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        return cls(options).compression_type


def _options(options):
    if isinstance(options, TFRecordOptions):
        return options
    return TFRecordOptions(options)


class TFRecordWriter:
    """Writes records to a TFRecord file: `with tf.python_io.TFRecordWriter(path) as w: w.write(bytes)`."""

    def __init__(self, path, options=None):
        opts = _options(options)
        self._writer = tfrecord.RecordFileWriter(path, opts.compression_type, opts.compression_level)

    def write(self, record):
        if isinstance(record, str):
            record = record.encode()
        self._writer.write(record)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tf_record_iterator(path, options=None):
    """Yields each record of a TFRecord file as bytes; a corrupted record raises DataLossError."""
    return tfrecord.tf_record_iterator(path, TFRecordOptions.get_compression_type_string(options))
