"""The immutable sorted key/value table of LevelDB, which TensorFlow's checkpoint `.index` files are.

A table is data blocks of prefix-compressed entries, an (empty) meta-index block, an index block
mapping each data block's last key to its place, and a 48-byte footer:

    block   := entry* restart_offset:uint32* num_restarts:uint32
    entry   := shared:varint non_shared:varint value_len:varint key_delta value
    trailer := type:uint8 (0 none, 1 snappy) masked_crc32c(block + type):uint32   (after every block)
    footer  := metaindex_handle index_handle (varint offset, size; padded to 40 bytes) magic:uint64

TensorFlow writes its bundle indexes uncompressed; a snappy-compressed block is refused with a clear
error (see docs/checkpoint-format.md). Integers are little-endian.
"""
import struct

import crc32c

from tfmini.core import errors

MAGIC = 0xdb4775248b80fb57
FOOTER_SIZE = 48
BLOCK_SIZE = 4096        # a data block is closed once it grows past this many bytes (LevelDB's default)
RESTART_INTERVAL = 16    # a full key every 16 entries, so a reader may binary-search the restarts
_NO_COMPRESSION, _SNAPPY = 0, 1
_MASK_DELTA = 0xa282ead8


def mask(crc):
    """LevelDB's CRC mask, so that a CRC over data that holds CRCs is not degenerate."""
    return ((((crc >> 15) | (crc << 17)) & 0xffffffff) + _MASK_DELTA) & 0xffffffff


def masked_crc32c(data):
    return mask(crc32c.crc32c(data))


def put_varint(out, value):
    while value >= 0x80:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    out.append(value)


def get_varint(data, pos):
    """(value, next position) of the varint at data[pos]."""
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7f) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


class _BlockBuilder:
    def __init__(self, restart_interval):
        self.buf, self.restarts, self.count, self.last_key = bytearray(), [0], 0, b""
        self.restart_interval = restart_interval

    def add(self, key, value):
        shared = 0
        if self.count < self.restart_interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.count = 0
        put_varint(self.buf, shared)
        put_varint(self.buf, len(key) - shared)
        put_varint(self.buf, len(value))
        self.buf += key[shared:]
        self.buf += value
        self.last_key, self.count = key, self.count + 1

    def finish(self):
        return bytes(self.buf) + struct.pack(f"<{len(self.restarts) + 1}I", *self.restarts, len(self.restarts))

    def __len__(self):
        return len(self.buf) + 4 * len(self.restarts) + 4


def _handle(offset, size):
    out = bytearray()
    put_varint(out, offset)
    put_varint(out, size)
    return bytes(out)


def build_table(items):
    """The bytes of a table holding `items`, (key bytes, value bytes) pairs in strictly increasing key order."""
    out, index = bytearray(), _BlockBuilder(1)

    def emit(block_bytes):
        offset = len(out)
        out.extend(block_bytes)
        out.append(_NO_COMPRESSION)
        out.extend(struct.pack("<I", masked_crc32c(block_bytes + bytes([_NO_COMPRESSION]))))
        return _handle(offset, len(block_bytes))

    block, previous = _BlockBuilder(RESTART_INTERVAL), None
    for key, value in items:
        if previous is not None and key <= previous:
            raise ValueError(f"table keys must be strictly increasing: {key!r} after {previous!r}")
        block.add(key, value)
        previous = key
        if len(block) >= BLOCK_SIZE:
            index.add(block.last_key, emit(block.finish()))  # the block's last key: a valid separator
            block = _BlockBuilder(RESTART_INTERVAL)
    if block.count or not index.count:
        index.add(block.last_key, emit(block.finish()))
    metaindex = emit(_BlockBuilder(RESTART_INTERVAL).finish())
    index_handle = emit(index.finish())
    footer = (metaindex + index_handle).ljust(FOOTER_SIZE - 8, b"\0") + struct.pack("<Q", MAGIC)
    return bytes(out) + footer


def _read_block(data, handle, where):
    offset, pos = get_varint(handle, 0)
    size, _ = get_varint(handle, pos)
    if offset + size + 5 > len(data):
        raise ValueError(f"block at {offset} (+{size}) runs past the end of the file")
    block, kind = data[offset:offset + size], data[offset + size]
    (stored,) = struct.unpack_from("<I", data, offset + size + 1)
    if masked_crc32c(data[offset:offset + size + 1]) != stored:
        raise ValueError(f"checksum mismatch in the block at offset {offset}")
    if kind == _SNAPPY:
        raise errors.UnimplementedError(None, None, f"{where}: the table has snappy-compressed blocks, which "
                                                    f"tfmini does not read (TensorFlow writes checkpoint indexes "
                                                    f"uncompressed)")
    if kind != _NO_COMPRESSION:
        raise ValueError(f"unknown block compression type {kind}")
    return block


def _block_entries(block):
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    if end < 0:
        raise ValueError("bad restart array")
    pos, key = 0, b""
    while pos < end:
        shared, pos = get_varint(block, pos)
        non_shared, pos = get_varint(block, pos)
        value_len, pos = get_varint(block, pos)
        if shared > len(key) or pos + non_shared + value_len > end:
            raise ValueError("corrupted block entry")
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + value_len]
        pos += value_len


def read_table(data, where="table"):
    """[(key, value), ...] of the table in `data` (bytes), in key order. A damaged table raises
    DataLossError naming `where`."""
    try:
        if len(data) < FOOTER_SIZE:
            raise ValueError(f"file too short ({len(data)} bytes) to be an sstable")
        (magic,) = struct.unpack_from("<Q", data, len(data) - 8)
        if magic != MAGIC:
            raise ValueError("not an sstable (bad magic number)")
        footer = data[len(data) - FOOTER_SIZE:]
        _, pos = get_varint(footer, 0)
        _, pos = get_varint(footer, pos)  # skip the meta-index handle: TensorFlow's tables have no filters
        index_handle = footer[pos:]
        items = []
        for _, handle in _block_entries(_read_block(data, index_handle, where)):
            items.extend(_block_entries(_read_block(data, handle, where)))
        return items
    except (ValueError, struct.error) as e:
        raise errors.DataLossError(None, None, f"Unable to read {where}: {e}") from None
