"""TensorFlow's V2 checkpoint format (a "tensor bundle"), shared by the Saver kernels and the client's reader.

A checkpoint named by `prefix` is `prefix.index`, an sstable (core/sstable.py) holding a
BundleHeaderProto under the empty key and a BundleEntryProto per tensor name, and the tensors' bytes
in `prefix.data-00000-of-0000N`. Numeric tensors are their raw little-endian bytes in row-major order;
a string tensor is every element's length as a varint64, a masked CRC-32C of those lengths, then the
bytes. An entry's `crc32c` is the masked CRC-32C of exactly what its tensor wrote. See
docs/checkpoint-format.md.
"""
import os
import struct
import threading

import crc32c
import numpy as np

from tfmini.core import dtypes, errors, sstable
from tfmini.protos import tensor_bundle_pb2, tensor_shape_pb2, versions_pb2

BUNDLE_VERSION = 1  # TensorFlow's kTensorBundleVersion (producer), min_consumer 0


def sharded_filename(prefix, shard, num_shards):
    """TF's ShardedFilename: `<prefix>-00000-of-00002`."""
    return f"{prefix}-{shard:05d}-of-{num_shards:05d}"


def data_filename(prefix, shard, num_shards):
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def index_filename(prefix):
    return f"{prefix}.index"


def _write_string_tensor(f, array):
    """Writes a string tensor (an array of bytes) in TF's layout; returns (size, unmasked running crc)."""
    items = [x if isinstance(x, bytes) else str(x).encode() for x in np.asarray(array, dtype=object).reshape(-1)]
    lengths, crc = bytearray(), 0
    for item in items:
        sstable.put_varint(lengths, len(item))
        # TF checksums each length as a uint32 when it fits (older checkpoints' layout), else as a uint64.
        crc = crc32c.crc32c(struct.pack("<I" if len(item) <= 0xffffffff else "<Q", len(item)), crc)
    length_crc = struct.pack("<I", sstable.mask(crc))
    crc = crc32c.crc32c(length_crc, crc)
    f.write(lengths)
    f.write(length_crc)
    size = len(lengths) + 4
    for item in items:
        f.write(item)
        crc = crc32c.crc32c(item, crc)
        size += len(item)
    return size, crc


def _numeric_bytes(array, dtype):
    np_type = np.dtype(dtype.as_numpy_dtype).newbyteorder("<")
    return np.ascontiguousarray(np.asarray(array).astype(np_type, copy=False))


class BundleWriter:
    """Writes one bundle with a single data file: `add` each tensor, then `finish`. Files are written under
    temporary names and renamed, data first and index last, so an index that exists is complete."""

    def __init__(self, prefix):
        self.prefix = prefix
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        self._data_path = data_filename(prefix, 0, 1)
        self._tmp = f"{self._data_path}.tempstate{os.getpid()}_{id(self)}"
        self._file = open(self._tmp, "wb")
        self._entries, self._offset = {}, 0

    def add_slice(self, name, full_shape, extents, array, dtype):
        """Appends one slice ([(start, length)] per dimension, -1: whole) of the tensor `name`, as TF's
        BundleWriter::AddSlice: the bytes under encode_tensor_name_slice, the slice listed in `name`'s entry."""
        dtype = dtypes.as_dtype(dtype).base_dtype
        want = [d if n < 0 else n for (s, n), d in zip(extents, full_shape)]
        if list(np.shape(array)) != want:
            raise errors.InvalidArgumentError(None, None, f"Saving a slice of {name}: the slice "
                                                          f"{slice_spec(full_shape, extents)} has shape {want}, the "
                                                          f"tensor given has shape {list(np.shape(array))}")
        full = self._entries.get(name)
        if full is None:
            full = self._entries[name] = tensor_bundle_pb2.BundleEntryProto(
                dtype=dtype.as_datatype_enum, shape=tensor_shape_pb2.TensorShapeProto(
                    dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in full_shape]))
        elif not full.slices or full.dtype != dtype.as_datatype_enum or \
                [d.size for d in full.shape.dim] != list(full_shape):
            raise errors.InvalidArgumentError(None, None, f"Adding a slice of {name}, which is already saved with "
                                                          f"another shape or dtype, or whole")
        self.add(encode_tensor_name_slice(name, extents), array, dtype)
        full.slices.add().CopyFrom(slice_proto(extents))

    def add(self, name, array, dtype):
        """Appends tensor `name` (str; bytes for a slice's key) of DType `dtype`."""
        if name in self._entries:
            raise errors.InvalidArgumentError(None, None, f"Adding duplicate key: {name}")
        if not name:
            raise errors.InvalidArgumentError(None, None, "The empty string is reserved for the bundle header")
        dtype = dtypes.as_dtype(dtype).base_dtype
        array = np.asarray(array)
        if dtype == dtypes.string:
            size, crc = _write_string_tensor(self._file, array)
        elif dtype in (dtypes.resource, dtypes.variant):
            raise errors.UnimplementedError(None, None, f"Saving {name}: tensors of type {dtype.name} cannot "
                                                        f"be checkpointed")
        else:
            data = _numeric_bytes(array, dtype)
            view = memoryview(data).cast("B") if data.size else b""
            self._file.write(view)
            size, crc = len(view), crc32c.crc32c(view)
        shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d))
                                                       for d in array.shape])
        self._entries[name] = tensor_bundle_pb2.BundleEntryProto(
            dtype=dtype.as_datatype_enum, shape=shape, shard_id=0, offset=self._offset, size=size,
            crc32c=sstable.mask(crc))
        self._offset += size

    def finish(self):
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._data_path)
        write_index(self.prefix, self._entries, num_shards=1)

    def abort(self):
        self._file.close()
        try:
            os.remove(self._tmp)
        except FileNotFoundError:
            pass


def write_index(prefix, entries, num_shards):
    """Writes `prefix.index` for {name: BundleEntryProto} atomically."""
    header = tensor_bundle_pb2.BundleHeaderProto(
        num_shards=num_shards, endianness=tensor_bundle_pb2.BundleHeaderProto.LITTLE,
        version=versions_pb2.VersionDef(producer=BUNDLE_VERSION))
    items = [(b"", header.SerializeToString())]
    items += sorted((name.encode() if isinstance(name, str) else name, entry.SerializeToString())
                    for name, entry in entries.items())
    path = index_filename(prefix)
    tmp = f"{path}.tempstate{os.getpid()}_{threading.get_ident()}"
    with open(tmp, "wb") as f:
        f.write(sstable.build_table(items))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _not_found(prefix):
    return errors.NotFoundError(None, None, f"Unsuccessful TensorSliceReader constructor: Failed to find any "
                                            f"matching files for {prefix}")


class BundleReader:
    """Reads the bundle at `prefix`: its entries at once, a tensor's bytes when asked for (checksummed)."""

    def __init__(self, prefix):
        self.prefix = prefix
        path = index_filename(prefix)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _not_found(prefix) from None
        if data[:1] == b"{":
            raise errors.DataLossError(None, None, f"{path} is a tfmini version-1 checkpoint (JSON index), which this "
                                                   f"tfmini no longer reads: load it with the tfmini that wrote it and "
                                                   f"save it again (docs/checkpoint-format.md)")
        items = sstable.read_table(data, f"checkpoint index {path}")
        if not items or items[0][0] != b"":
            raise errors.DataLossError(None, None, f"Checkpoint index {path} has no bundle header")
        try:
            self.header = tensor_bundle_pb2.BundleHeaderProto.FromString(items[0][1])
            # Keys that start with a 0 byte are the slices of a partitioned tensor (encode_tensor_name_slice),
            # found through their full tensor's entry, not names.
            self.entries = {key.decode(): tensor_bundle_pb2.BundleEntryProto.FromString(value)
                            for key, value in items[1:] if not key.startswith(b"\x00")}
            self._slice_entries = {key: tensor_bundle_pb2.BundleEntryProto.FromString(value)
                                   for key, value in items[1:] if key.startswith(b"\x00")}
        except Exception as e:  # a protobuf DecodeError, or a key that is not UTF-8
            raise errors.DataLossError(None, None, f"Corrupted entry in checkpoint index {path}: {e}") from None
        if self.header.endianness != tensor_bundle_pb2.BundleHeaderProto.LITTLE:
            raise errors.UnimplementedError(None, None, f"{path}: big-endian checkpoints are not supported")
        if self.header.version.min_consumer > BUNDLE_VERSION:
            raise errors.InvalidArgumentError(None, None, f"Checkpoint {prefix} needs a bundle reader of version "
                                                          f"{self.header.version.min_consumer}; this one is "
                                                          f"{BUNDLE_VERSION}")

    def has(self, name):
        return name in self.entries

    def entry(self, name):
        entry = self.entries.get(name)
        if entry is None:
            raise errors.NotFoundError(None, None, f"Key {name} not found in checkpoint")
        return entry

    def dtype(self, name):
        return dtypes.as_dtype(self.entry(name).dtype)

    def shape(self, name):
        return [d.size for d in self.entry(name).shape.dim]

    def read(self, name):
        """The tensor `name` as a numpy array (bytes objects for strings); a sliced one put together whole."""
        entry = self.entry(name)
        if entry.slices:
            return self._assemble(name, entry)
        return self._read_entry(name, entry)

    def read_slice(self, name, extents):
        """One slice of tensor `name`: read alone when it was saved as that slice, else cut from the whole."""
        entry = self.entry(name)
        key = encode_tensor_name_slice(name, extents)
        if entry.slices and key in self._slice_entries:
            return self._read_entry(name, self._slice_entries[key])
        return self.read(name)[tuple(slice(None) if n < 0 else slice(s, s + n) for s, n in extents)]

    def _assemble(self, name, entry):
        shape, dtype = [d.size for d in entry.shape.dim], dtypes.as_dtype(entry.dtype)
        out = np.empty(shape, dtype=object if dtype == dtypes.string else dtype.as_numpy_dtype)
        covered = 0
        for proto in entry.slices:
            extents = slice_extents(proto, len(shape))
            key = encode_tensor_name_slice(name, extents)
            if key not in self._slice_entries:
                raise errors.DataLossError(None, None, f"Checkpoint {self.prefix}: slice {slice_spec(shape, extents)} "
                                                       f"of {name} is listed but not stored")
            part = self._read_entry(name, self._slice_entries[key])
            index = tuple(slice(None) if n < 0 else slice(s, s + n) for s, n in extents)
            out[index] = part
            covered += part.size
        if covered != out.size:
            raise errors.NotFoundError(None, None, f"Checkpoint {self.prefix}: the slices of {name} cover "
                                                   f"{covered} of its {out.size} elements")
        return out

    def _read_entry(self, name, entry):
        if not 0 <= entry.shard_id < max(self.header.num_shards, 1):
            raise errors.DataLossError(None, None, f"Checkpoint {self.prefix}: {name} names shard {entry.shard_id} "
                                                   f"of {self.header.num_shards}")
        path = data_filename(self.prefix, entry.shard_id, self.header.num_shards)
        try:
            with open(path, "rb") as f:
                f.seek(entry.offset)
                data = f.read(entry.size)
        except FileNotFoundError:
            raise errors.NotFoundError(None, None, f"Checkpoint data file {path} not found") from None
        where = f"tensor {name} in {path}"
        if len(data) != entry.size:
            raise errors.DataLossError(None, None, f"Checkpoint {where} is truncated: read {len(data)} of "
                                                   f"{entry.size} bytes")
        dtype, shape = dtypes.as_dtype(entry.dtype), [d.size for d in entry.shape.dim]
        if dtype == dtypes.string:
            value, crc = _parse_string_tensor(data, int(np.prod(shape)), where)
        else:
            np_type = np.dtype(dtype.as_numpy_dtype).newbyteorder("<")
            if np_type.itemsize * int(np.prod(shape)) != len(data):
                raise errors.DataLossError(None, None, f"Checkpoint {where} has {len(data)} bytes for shape {shape} "
                                                       f"of {dtype.name}")
            value, crc = np.frombuffer(data, dtype=np_type), crc32c.crc32c(data)
        if sstable.mask(crc) != entry.crc32c:
            raise errors.DataLossError(None, None, f"Checksum does not match: stored {entry.crc32c} vs. calculated on "
                                                   f"the restored bytes {sstable.mask(crc)} for {where}")
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        return value.reshape(shape)


# -- slices of partitioned tensors (TF's TensorSlice, saved_tensor_slice_util and OrderedCode) -----------
def slice_extents(proto, rank):
    """[(start, length)] per dimension of a TensorSliceProto; length -1 is the whole dimension."""
    extents = [(e.start, e.length if e.WhichOneof("has_length") else -1) for e in proto.extent]
    return extents + [(0, -1)] * (rank - len(extents))


def slice_proto(extents):
    proto = tensor_bundle_pb2.TensorSliceProto()
    for start, length in extents:
        extent = proto.extent.add()
        if length >= 0:
            extent.start, extent.length = start, length
    return proto


def parse_slice_spec(spec):
    """`"10 4 0,5:-"` (a SaveV2 / RestoreV2 shape_and_slices entry) -> (full shape, [(start, length)])."""
    try:
        *full, extents = spec.split(" ")
        full = [int(d) for d in full]
        parsed = [(0, -1) if e == "-" else tuple(int(x) for x in e.split(",")) for e in extents.split(":")]
        ok = len(parsed) == len(full) and all(len(e) == 2 for e in parsed) and all(
            n < 0 or (0 <= s and s + n <= d) for (s, n), d in zip(parsed, full))
    except ValueError:
        ok = False
    if not ok:
        raise errors.InvalidArgumentError(None, None, f"Expected a shape and slice spec like \"10 4 0,5:-\", "
                                                      f"got {spec!r}")
    return full, parsed


def slice_spec(full_shape, extents):
    return " ".join(str(d) for d in full_shape) + " " + ":".join("-" if n < 0 else f"{s},{n}" for s, n in extents)


def _ordered_unsigned(value):
    data = value.to_bytes(8, "big").lstrip(b"\x00")
    return bytes([len(data)]) + data


def _ordered_signed(value):
    x = ~value if value < 0 else value
    if x < 64:
        return bytes([(0x80 ^ value) & 0xff])
    length = x.bit_length() // 7 + 1  # TF's kBitsToLength
    data = bytearray((value & (2 ** (8 * length) - 1)).to_bytes(length, "big"))
    header = (0xffff << (16 - length)) & 0xffff  # TF's kLengthToHeaderBits: `length` one bits
    data[0] ^= header >> 8
    data[1] ^= header & 0xff
    return bytes(data)


def encode_tensor_name_slice(name, extents):
    """The index key TF stores a slice's bytes under (EncodeTensorNameSlice): OrderedCode of 0, the name,
    the rank, then each dimension's start and length (-1: whole)."""
    escaped = b"".join(b"\x00\xff" if c == 0 else b"\xff\x00" if c == 0xff else bytes([c]) for c in name.encode())
    key = _ordered_unsigned(0) + escaped + b"\x00\x01" + _ordered_unsigned(len(extents))
    for start, length in extents:
        key += _ordered_signed(start if length >= 0 else 0) + _ordered_signed(length)
    return key


def _parse_string_tensor(data, count, where):
    try:
        lengths, pos, crc = [], 0, 0
        for _ in range(count):
            n, pos = sstable.get_varint(data, pos)
            lengths.append(n)
            crc = crc32c.crc32c(struct.pack("<I" if n <= 0xffffffff else "<Q", n), crc)
        (stored,) = struct.unpack_from("<I", data, pos)
        if stored != sstable.mask(crc):
            raise ValueError("the checksum of the string lengths does not match")
        crc = crc32c.crc32c(data[pos:pos + 4], crc)
        pos += 4
        out = np.empty(count, dtype=object)
        for i, n in enumerate(lengths):
            if pos + n > len(data):
                raise ValueError("string data is truncated")
            out[i] = data[pos:pos + n]
            crc = crc32c.crc32c(out[i], crc)
            pos += n
        return out, crc
    except (ValueError, struct.error) as e:
        raise errors.DataLossError(None, None, f"Checkpoint {where}: {e}") from None


def merge_bundles(prefixes, merged_prefix, delete_old_dirs=True, allow_missing_files=False):
    """TF's MergeV2Checkpoints: the single-shard bundles at `prefixes` become one bundle at `merged_prefix`
    with one data file per input (renamed), under one index. The inputs' indexes go, and with
    `delete_old_dirs` their directories when that leaves them empty."""
    present = [p for p in prefixes if os.path.exists(index_filename(p))]
    if not allow_missing_files and len(present) != len(prefixes):
        missing = next(p for p in prefixes if p not in present)
        raise errors.NotFoundError(None, None, f"Failed to find the checkpoint shard {index_filename(missing)} to "
                                               f"merge into {merged_prefix}")
    if not present:
        raise errors.InvalidArgumentError(None, None, f"No checkpoint shards to merge into {merged_prefix}")
    readers = [BundleReader(p) for p in present]
    num_shards = sum(max(r.header.num_shards, 1) for r in readers)
    merged, first_shard = {}, 0
    for reader in readers:
        for name, entry in list(reader.entries.items()) + list(reader._slice_entries.items()):
            if name in merged and entry.slices and merged[name].slices:  # a partitioned tensor saved by many
                merged[name].slices.extend(entry.slices)
                continue
            if name in merged:
                raise errors.InvalidArgumentError(None, None, f"Duplicate tensor keyed by {name} encountered, when "
                                                              f"merging prefix: {reader.prefix}")
            copy = tensor_bundle_pb2.BundleEntryProto()
            copy.CopyFrom(entry)
            copy.shard_id = first_shard + entry.shard_id
            merged[name] = copy
        first_shard += max(reader.header.num_shards, 1)
    os.makedirs(os.path.dirname(os.path.abspath(merged_prefix)), exist_ok=True)
    shard = 0
    for reader in readers:
        n = max(reader.header.num_shards, 1)
        for i in range(n):
            os.replace(data_filename(reader.prefix, i, n), data_filename(merged_prefix, shard, num_shards))
            shard += 1
    write_index(merged_prefix, merged, num_shards)
    for reader in readers:
        os.remove(index_filename(reader.prefix))
        if delete_old_dirs:
            try:
                os.rmdir(os.path.dirname(os.path.abspath(reader.prefix)))
            except OSError:
                pass  # not empty, or already gone: TF also only tries
