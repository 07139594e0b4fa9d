"""TFRecord framing: event files, TFRecord datasets and readers, tf.python_io (TensorFlow's record format).

A record is `uint64 LE length | uint32 LE masked_crc32c(length bytes) | data | uint32 LE masked_crc32c(data)`.
"""
import struct

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


def tf_record_iterator(path):
    """Yields the data of each record in `path`; a bad CRC raises DataLossError. A truncated last record
    (a writer still writing it) ends the iteration, as TensorBoard's reader does."""
    with open(path, "rb") as f:
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
