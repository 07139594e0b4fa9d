"""Print, PrintV2, StringFormat, Assert and TensorSummaryV2: the kernels that show tensors.

Tensors are written as TensorFlow's `Tensor::SummarizeValue` writes them (tensorflow/core/framework/tensor.cc):
the v1 layout for Print and Assert (`[[0 1 2...]...]`), the numpy-like v2 layout for StringFormat
(`[[0 1 2 3]\n [4 5 6 7]]`, `...` between the first and last `summarize` entries of each dimension).
Only the entries that are printed are formatted, so a large tensor costs what its summary costs.
"""
import sys

import numpy as np

from tfmini.core import errors, tensor_util
from tfmini.protos import summary_pb2
from tfmini.worker.kernels import CPU_ONLY, kernel


def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _escape(s):
    """absl's Utf8SafeCEscape: C escapes for quotes, backslash and control characters; UTF-8 kept."""
    s = _text(s)
    table = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\"": "\\\"", "'": "\\'", "\\": "\\\\"}
    return "".join(table.get(c, c if ord(c) >= 32 else f"\\{ord(c):03o}") for c in s)


def _element_formatter(dtype, print_v2):
    """How TF's PrintOneElement writes one value of `dtype`."""
    if dtype == object or dtype.kind in "SU":
        return (lambda v: f"\"{_escape(v)}\"") if print_v2 else _escape
    if dtype == np.bool_:
        return lambda v: "1" if v else "0"
    if dtype.kind == "f":
        digits = 15 if dtype == np.float64 else 6  # FloatToBuffer / DoubleToBuffer: short if it round-trips
        cast = np.float64 if dtype == np.float64 else np.float32

        def real(v):
            short = "%.*g" % (digits, v)
            return short if cast(short) == cast(v) else "%.*g" % (digits + 2 + (dtype != np.float64), v)
        return real
    if dtype.kind == "c":
        part = _element_formatter(np.dtype(np.float64 if dtype == np.complex128 else np.float32), print_v2)
        return lambda v: f"({part(v.real)},{part(v.imag)})"
    return lambda v: str(int(v))


def summarize(value, max_entries, print_v2=False):
    """Tensor::SummarizeValue(max_entries, print_v2): at most `max_entries` values (all when negative)."""
    a = np.asarray(value)
    n = a.size
    limit = n if max_entries < 0 else min(max_entries, n)
    fmt = _element_formatter(a.dtype, print_v2)
    flat = a.reshape(-1)
    if a.ndim == 0:
        return " ".join(fmt(v) for v in flat[:limit]) + ("..." if n > limit else "")
    out = []
    if print_v2:
        _one_dim_v2(a, 0, a.ndim, limit, fmt, out)
        return "".join(out)
    _one_dim_v1(flat, a.shape, 0, limit, fmt, [0], out)
    return "".join(out) + ("..." if n > limit else "")


def _one_dim_v1(flat, shape, dim, limit, fmt, index, out):
    if index[0] >= limit:
        return
    if dim == len(shape) - 1:
        for i in range(shape[dim]):
            if index[0] >= limit:
                if dim != 0:
                    out.append("...")
                return
            out.append((" " if i else "") + fmt(flat[index[0]]))
            index[0] += 1
        return
    for _ in range(shape[dim]):
        if index[0] >= limit:  # nothing more is printed: TF's loop only runs on from here
            break
        out.append("[")
        _one_dim_v1(flat, shape, dim + 1, limit, fmt, index, out)
        out.append("]")


def _dim_spacing(dim, ndim):
    return " " if dim == ndim - 1 else "\n" * (ndim - dim - 1) + " " * (dim + 1)


def _one_dim_v2(a, dim, ndim, ends, fmt, out):
    """`a` is the sub-array at depth `dim` (an element once dim == ndim)."""
    if dim == ndim:
        out.append(fmt(a))
        return
    out.append("[")
    count = a.shape[0]
    for i in range(min(ends, count)):
        if i:
            out.append(_dim_spacing(dim, ndim))
        _one_dim_v2(a[i], dim + 1, ndim, ends, fmt, out)
    if count > 2 * ends:
        out.append(_dim_spacing(dim, ndim) + "...")
    for i in range(max(ends, count - ends), count):
        out.append(_dim_spacing(dim, ndim))
        _one_dim_v2(a[i], dim + 1, ndim, ends, fmt, out)
    out.append("]")


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _write(stream, text):
    stream.write(text)
    stream.flush()


@kernel("Print", device_types=CPU_ONLY)
def _print(node):
    message = _text(node.attrs.get("message", b""))
    first_n, summarize_n = node.attrs.get("first_n", -1), node.attrs.get("summarize", 3)
    # The count lives in the session, as TF's session keeps one Print kernel for every run of the node.
    state = getattr(node.env, "kernel_state", {})
    printed = state.setdefault(node.name, [0])

    def fn(x, *data):
        if first_n < 0 or printed[0] < first_n:
            printed[0] += 1
            _write(sys.stderr, message + "".join(f"[{summarize(d, summarize_n)}]" for d in data) + "\n")
        return x
    return fn


@kernel("StringFormat", device_types=CPU_ONLY)
def _string_format(node):
    template = _text(node.attrs.get("template", b"%s"))
    placeholder = _text(node.attrs.get("placeholder", b"%s"))
    summarize_n = node.attrs.get("summarize", 3)
    pieces = template.split(placeholder)
    n = len(node.attrs.get("T") or [])
    if len(pieces) - 1 != n:
        raise _invalid(f"num placeholders in template and num inputs must match: {len(pieces) - 1} vs. {n}")

    def fn(*inputs):
        text = [pieces[0]]
        for value, piece in zip(inputs, pieces[1:]):
            text += [summarize(value, summarize_n, print_v2=True), piece]
        return np.array("".join(text).encode(), dtype=object)
    return fn


_STREAMS = {"stdout": lambda: sys.stdout, "stderr": lambda: sys.stderr, "log(info)": lambda: sys.stderr,
            "log(warning)": lambda: sys.stderr, "log(error)": lambda: sys.stderr}


@kernel("PrintV2", num_outputs=0, device_types=CPU_ONLY)
def _print_v2(node):
    stream = _text(node.attrs.get("output_stream", b"stderr"))
    end = _text(node.attrs.get("end", b"\n"))
    if stream.startswith("file://"):
        path = stream[len("file://"):]

        def to_file(s):
            with open(path, "a", encoding="utf-8") as f:
                f.write(_text(np.asarray(s, dtype=object).item()) + end)
        return to_file
    if stream not in _STREAMS:
        raise _invalid(f"{stream} is not a valid output stream; valid streams are: "
                       f"{', '.join(sorted(_STREAMS))}, or file://<filename>")
    target = _STREAMS[stream]

    def fn(s):
        s = np.asarray(s, dtype=object)
        if s.ndim != 0:
            raise _invalid(f"Input is expected to be scalar, but got {list(s.shape)}")
        _write(target(), _text(s.item()) + end)
    return fn


@kernel("Assert", num_outputs=0, device_types=CPU_ONLY)
def _assert(node):
    summarize_n = node.attrs.get("summarize", 3)

    def fn(condition, *data):
        if np.ndim(condition) != 0 and np.size(condition) != 1:
            raise _invalid(f"In[0] should be a scalar: [{','.join(str(d) for d in np.shape(condition))}]")
        if not bool(np.reshape(condition, [-1])[0]):
            raise _invalid("assertion failed: " + " ".join(f"[{summarize(d, summarize_n)}]" for d in data))
    return fn


@kernel("TensorSummaryV2", device_types=CPU_ONLY)
def _tensor_summary(node):
    def fn(tag, tensor, serialized_summary_metadata):
        summary = summary_pb2.Summary()
        value = summary.value.add(tag=_text(np.asarray(tag, dtype=object).item()))
        value.metadata.ParseFromString(np.asarray(serialized_summary_metadata, dtype=object).item())
        value.tensor.CopyFrom(tensor_util.make_tensor_proto(np.asarray(tensor)))
        return np.array(summary.SerializeToString(), dtype=object)
    return fn
