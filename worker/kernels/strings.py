"""String and parsing ops of the input pipelines: DecodeCSV, DecodeRaw, StringSplit, StringToNumber, Substr,
StringJoin, AsString, ReadFile, MatchingFiles. Strings are object arrays of bytes, as everywhere in tfmini;
the work per string is Python's own string handling (numpy has no vector form of it).
"""
import csv
import glob

import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import CPU_ONLY, kernel


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _bytes(value):
    return value if isinstance(value, bytes) else str(value).encode()


def _objects(items, shape):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


def _number(text, dtype, what):
    """`text` as `dtype` (an int or float numpy type), or InvalidArgumentError naming `what`."""
    try:
        s = text.decode().strip()
        if np.issubdtype(dtype, np.integer):
            value = int(s, 10)
            info = np.iinfo(dtype)
            if not info.min <= value <= info.max:
                raise ValueError(s)
            return value
        return float(s)
    except (ValueError, UnicodeDecodeError):
        raise _invalid(what) from None


# -- DecodeCSV ---------------------------------------------------------------------------------------------
@kernel("DecodeCSV", num_outputs=lambda attrs: len(attrs["OUT_TYPE"]), device_types=CPU_ONLY)
def _decode_csv(node):
    attrs = node.attrs
    types = [t.as_numpy_dtype for t in attrs["OUT_TYPE"]]
    names = [t.name for t in attrs["OUT_TYPE"]]
    delim = attrs.get("field_delim", b",").decode()
    quoted = attrs.get("use_quote_delim", True)
    na_value = attrs.get("na_value", b"")
    select = list(attrs.get("select_cols", []))

    def split(record):
        text = record.decode()
        if quoted:
            rows = list(csv.reader([text], delimiter=delim, quotechar='"', strict=True)) if text else [[""]]
            return [f.encode() for f in rows[0]] if rows else [b""]
        return [f.encode() for f in text.split(delim)]

    def fn(records, *defaults):
        records = np.asarray(records)
        flat = records.reshape(-1)
        columns = [[] for _ in types]
        for r, record in enumerate(flat):
            try:
                fields = split(_bytes(record))
            except csv.Error:
                raise _invalid(f"Quote inside a string has to be escaped by another quote in record {r}") from None
            if select:
                fields = [fields[c] if c < len(fields) else None for c in select]
            if len(fields) != len(types):
                raise _invalid(f"Expect {len(types)} fields but have {len(fields)} in record {r}")
            for c, field in enumerate(fields):
                if field is None or field == b"" or field == na_value:
                    default = np.asarray(defaults[c]).reshape(-1)
                    if default.size == 0:
                        raise _invalid(f"Field {c} is required but missing in record {r}!")
                    columns[c].append(default[0])
                elif types[c] is np.object_:
                    columns[c].append(field)
                else:
                    columns[c].append(_number(field, types[c],
                                              f"Field {c} in record {r} is not a valid {names[c]}: "
                                              f"{field.decode(errors='replace')}"))
        out = []
        for c, dtype in enumerate(types):
            out.append(_objects(columns[c], records.shape) if dtype is np.object_
                       else np.array(columns[c], dtype=dtype).reshape(records.shape))
        return out[0] if len(out) == 1 else tuple(out)
    return fn


# -- DecodeRaw ---------------------------------------------------------------------------------------------
@kernel("DecodeRaw", device_types=CPU_ONLY)
def _decode_raw(node):
    dtype = np.dtype(node.attrs["out_type"].as_numpy_dtype)
    if not node.attrs.get("little_endian", True):
        dtype = dtype.newbyteorder(">")
    type_name = node.attrs["out_type"].name

    def fn(data):
        data = np.asarray(data)
        flat = [_bytes(b) for b in data.reshape(-1)]
        size = len(flat[0]) if flat else 0
        for i, b in enumerate(flat):
            if len(b) != size:
                raise _invalid(f"DecodeRaw requires input strings to all be the same size, but element {i} has "
                               f"size {len(b)} != {size}")
        if size % dtype.itemsize:
            raise _invalid(f"Input to DecodeRaw has length {size} that is not a multiple of {dtype.itemsize}, "
                           f"the size of {type_name}")
        values = np.frombuffer(b"".join(flat), dtype=dtype).astype(dtype.newbyteorder("="))
        return values.reshape(data.shape + (size // dtype.itemsize,))
    return fn


# -- StringSplit, StringToNumber, Substr, StringJoin, AsString -----------------------------------------------
@kernel("StringSplit", num_outputs=3, device_types=CPU_ONLY)
def _string_split(node):
    skip_empty = node.attrs.get("skip_empty", True)

    def fn(inputs, delimiter):
        inputs = np.asarray(inputs)
        if inputs.ndim != 1:
            raise _invalid(f"input must be a vector, got shape: {list(inputs.shape)}")
        delim = _bytes(np.asarray(delimiter).item())
        rows = []
        for s in inputs:
            s = _bytes(s)
            if not delim:
                tokens = [s[i:i + 1] for i in range(len(s))]
            else:  # any one of the delimiter's characters splits, as TF's StringSplit
                tokens = [s]
                for d in delim:
                    tokens = [part for t in tokens for part in t.split(bytes([d]))]
            rows.append([t for t in tokens if t] if skip_empty else tokens)
        indices = np.array([[i, j] for i, r in enumerate(rows) for j in range(len(r))], dtype=np.int64)
        values = _objects([t for r in rows for t in r], (-1,))
        width = max((len(r) for r in rows), default=0)
        return indices.reshape(-1, 2), values, np.array([len(rows), width], dtype=np.int64)
    return fn


@kernel("StringToNumber", device_types=CPU_ONLY)
def _string_to_number(node):
    dtype = node.attrs.get("out_type")
    dtype = np.float32 if dtype is None else dtype.as_numpy_dtype

    def fn(strings):
        strings = np.asarray(strings)
        values = [_number(_bytes(s), dtype, f"StringToNumberOp could not correctly convert string: "
                                            f"{_bytes(s).decode(errors='replace')}") for s in strings.reshape(-1)]
        return np.array(values, dtype=dtype).reshape(strings.shape)
    return fn


@kernel("Substr", device_types=CPU_ONLY)
def _substr(node):
    def fn(inputs, pos, length):
        inputs, pos, length = np.broadcast_arrays(np.asarray(inputs), np.asarray(pos), np.asarray(length))
        out = []
        for i, (s, p, n) in enumerate(zip(inputs.reshape(-1), pos.reshape(-1), length.reshape(-1))):
            s = _bytes(s)
            p = int(p) + (len(s) if p < 0 else 0)
            if not 0 <= p <= len(s):
                raise _invalid(f"pos {int(p)} out of range for string b'{s.decode(errors='replace')}' at index {i}")
            out.append(s[p:p + max(int(n), 0)])
        return _objects(out, inputs.shape)
    return fn


@kernel("StringJoin", device_types=CPU_ONLY)
def _string_join(node):
    separator = node.attrs.get("separator", b"")

    def fn(*inputs):
        arrays = np.broadcast_arrays(*[np.asarray(x, dtype=object) for x in inputs])
        joined = [separator.join(_bytes(v) for v in parts) for parts in zip(*[a.reshape(-1) for a in arrays])]
        return _objects(joined, arrays[0].shape)
    return fn


@kernel("AsString", device_types=CPU_ONLY)
def _as_string(node):
    attrs = node.attrs
    precision, width = attrs.get("precision", -1), attrs.get("width", -1)
    fill = attrs.get("fill", b"").decode()
    flags = ("0" if fill == "0" else "") + (str(width) if width > -1 else "")

    def fmt(x):
        if isinstance(x, (bool, np.bool_)):
            return b"true" if x else b"false"
        if isinstance(x, (np.integer, int)):
            return (f"%{flags}d" % x).encode()
        kind = "g" if attrs.get("shortest", False) else ("e" if attrs.get("scientific", False) else "f")
        prec = f".{precision}" if precision > -1 else ""
        return (f"%{flags}{prec}{kind}" % x).encode()

    def fn(value):
        value = np.asarray(value)
        return _objects([fmt(v) for v in value.reshape(-1)], value.shape)
    return fn


# -- the file system ------------------------------------------------------------------------------------------
@kernel("ReadFile", device_types=CPU_ONLY)
def _read_file(node):
    def fn(filename):
        path = _bytes(np.asarray(filename).item()).decode()
        try:
            with open(path, "rb") as f:
                return np.array(f.read(), dtype=object)
        except OSError as e:
            raise errors.NotFoundError(None, None, f"{path}; {e.strerror}") from None
    return fn


@kernel("MatchingFiles", device_types=CPU_ONLY)
def _matching_files(node):
    def fn(pattern):
        patterns = [_bytes(p).decode() for p in np.asarray(pattern).reshape(-1)]
        found = sorted({f for p in patterns for f in glob.glob(p)})
        return _objects([f.encode() for f in found], (-1,))
    return fn
