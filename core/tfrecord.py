"""TFRecord framing: event files, TFRecord datasets and readers, tf.python_io (TensorFlow's record format).

A record is `uint64 LE length | uint32 LE masked_crc32c(length bytes) | data | uint32 LE masked_crc32c(data)`.
"""
import io
import struct
import zlib

import crc32c as _crc32c

from tfmini.core import errors

_MASK_DELTA = 0xA282EAD8


def crc32c(data):
    """CRC-32C (Castagnoli) of `data`."""
    return _crc32c.crc32c(data)


def masked_crc32c(data):
    """TFRecord's masked CRC: rotate right by 15 bits, then add a constant (all mod 2^32)."""
    x = crc32c(data)
    return (((x >> 15) | (x << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(data):
    """One framed record, ready for a single write."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


# TFRecordCompressionType: "" (none), "ZLIB" (a zlib stream) or "GZIP" (a gzip stream) over the whole file.
_WBITS = {"ZLIB": zlib.MAX_WBITS, "GZIP": zlib.MAX_WBITS | 16}


def _compression(compression_type):
    kind = (compression_type or "").upper()
    if kind not in ("", "ZLIB", "GZIP"):
        raise ValueError(f"Unsupported compression type: {compression_type!r}")
    return kind


def open_for_read(path, compression_type=""):
    """`path` opened for reading, decompressed as `compression_type` says (records or text lines alike)."""
    kind = _compression(compression_type)
    f = open(path, "rb")
    if not kind:
        return f
    with f:
        compressed = f.read()
    try:
        return io.BytesIO(zlib.decompress(compressed, _WBITS[kind]))
    except zlib.error as e:
        raise errors.DataLossError(None, None, f"corrupted {kind} stream in {path}: {e}") from None


class RecordFileWriter:
    """Writes framed records to `path`, optionally through a ZLIB or GZIP stream (TF's RecordWriter)."""

    def __init__(self, path, compression_type="", compression_level=-1):
        kind = _compression(compression_type)
        self._file = open(path, "wb")
        level = -1 if compression_level is None else compression_level
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, _WBITS[kind]) if kind else None

    def write(self, data):
        record = encode_record(bytes(data))
        self._file.write(self._deflate.compress(record) if self._deflate else record)

    def flush(self):
        if self._deflate:
            self._file.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self):
        if self._file.closed:
            return
        if self._deflate:
            self._file.write(self._deflate.flush(zlib.Z_FINISH))
        self._file.close()


def tf_record_iterator(path, compression_type=""):
    """Yields the data of each record in `path`; a bad CRC raises DataLossError. A truncated last record
    (a writer still writing it) ends the iteration, as TensorBoard's reader does."""
    with open_for_read(path, compression_type) as f:
        offset = 0
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            (length,), (crc,) = struct.unpack("<Q", header[:8]), struct.unpack("<I", header[8:])
            if crc != masked_crc32c(header[:8]):
                raise errors.DataLossError(None, None, f"corrupted record at {offset} in {path}: length CRC "
                                                       f"mismatch")
            body = f.read(length + 4)
            if len(body) < length + 4:
                return
            data, (crc,) = body[:length], struct.unpack("<I", body[length:])
            if crc != masked_crc32c(data):
                raise errors.DataLossError(None, None, f"corrupted record at {offset} in {path}: data CRC "
                                                       f"mismatch")
            offset += 12 + length + 4
            yield data
