"""Summary kernels: each returns a scalar string tensor holding a serialized `Summary` proto (TF's encodings)."""
import io
import sys

import numpy as np

from tfmini.core import errors, tensor_util
from tfmini.protos import summary_pb2
from tfmini.worker.kernels import kernel


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _out(summary):
    return np.array(summary.SerializeToString(), dtype=object)


def _str(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _shape_str(a):
    return "[" + ",".join(str(d) for d in np.shape(a)) + "]"


def _scalar_tag(tags):
    tags = np.asarray(tags, dtype=object)
    if tags.ndim != 0:
        raise _invalid(f"tags must be scalar, got shape {_shape_str(tags)}")
    return tags.item()


@kernel("ScalarSummary")
def _scalar_summary(node):
    def fn(tags, values):
        tags, values = np.asarray(tags, dtype=object), np.asarray(values)
        if tags.shape != values.shape:
            single = f" (tag '{_str(tags.reshape(-1)[0])}')" if tags.size == 1 else ""
            raise _invalid(f"tags and values are not the same shape: {_shape_str(tags)} != "
                           f"{_shape_str(values)}{single}")
        s = summary_pb2.Summary()
        for tag, value in zip(tags.reshape(-1), values.reshape(-1)):
            s.value.add(tag=_str(tag), simple_value=float(value))
        return _out(s)
    return fn


# -- histograms: tensorflow/core/lib/histogram/histogram.cc -------------------
def _default_bucket_limits():
    """-DBL_MAX, ..., -1e-12, 0, 1e-12, ..., 1e-12*1.1^k < 1e20, DBL_MAX: buckets that grow by 10%."""
    pos, v = [], 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    return [-p for p in reversed(pos)] + [0.0] + pos


BUCKET_LIMITS = np.array(_default_bucket_limits())


def histogram_proto(values, limits=BUCKET_LIMITS):
    """TF's Histogram::EncodeToProto(preserve_zero_buckets=false): each run of empty buckets becomes one
    empty bucket ending at the run's last limit. Bucket i counts values in [limit[i-1], limit[i])."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    h = summary_pb2.HistogramProto(num=float(x.size))
    if x.size:
        h.min, h.max = float(x.min()), float(x.max())
        h.sum = float(np.cumsum(x)[-1])  # sequential, as TF adds them one by one
        h.sum_squares = float(np.cumsum(x * x)[-1])
    else:
        h.min, h.max = sys.float_info.max, -sys.float_info.max
    index = np.minimum(np.searchsorted(limits, x, side="right"), len(limits) - 1)
    counts = np.bincount(index, minlength=len(limits))
    i, n = 0, len(limits)
    while i < n:
        end, count = limits[i], counts[i]
        i += 1
        if count <= 0:
            while i < n and counts[i] <= 0:
                end, count = limits[i], counts[i]
                i += 1
        h.bucket_limit.append(float(end))
        h.bucket.append(float(count))
    return h


@kernel("HistogramSummary")
def _histogram_summary(node):
    def fn(tag, values):
        tag = _scalar_tag(tag)
        x = np.asarray(values, dtype=np.float64)
        if np.isnan(x).any():
            raise _invalid(f"Nan in summary histogram for: {node.name}")
        if np.isinf(x).any():
            raise _invalid(f"Infinity in summary histogram for: {node.name}")
        s = summary_pb2.Summary()
        s.value.add(tag=_str(tag), histo=histogram_proto(x))
        return _out(s)
    return fn


# -- images: tensorflow/core/kernels/summary_image_op.cc ----------------------
def _to_uint8(img, bad_color):
    """Float pixels -> uint8: all >= 0 scale so the max is 255; else centre 0 at 128 and scale by max |v|.
    Pixels with any non-finite channel take `bad_color` and are left out of the min/max."""
    finite = np.isfinite(img).all(axis=-1)
    good = img[finite]
    lo = float(good.min()) if good.size else np.inf
    hi = float(good.max()) if good.size else -np.inf
    dtype = img.dtype.type
    if lo < 0:
        max_val = max(abs(lo), abs(hi))
        scale, offset = dtype(0.0 if max_val < 1e-6 else 127.0 / max_val), dtype(128.0)
    else:
        scale, offset = dtype(0.0 if hi < 1e-6 else 255.0 / hi), dtype(0.0)
    out = np.zeros(img.shape, np.uint8)
    out[finite] = (good * scale + offset).astype(np.uint8)
    out[~finite] = bad_color[:img.shape[-1]]
    return out


def _png(img):
    from PIL import Image
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[img.shape[-1]]
    buf = io.BytesIO()
    Image.fromarray(img[..., 0] if mode == "L" else img, mode).save(buf, format="PNG")
    return buf.getvalue()


@kernel("ImageSummary")
def _image_summary(node):
    max_images = node.attrs.get("max_images", 3)
    bad = node.attrs.get("bad_color")
    bad_color = np.array([255, 0, 0, 255], np.uint8) if bad is None else \
        tensor_util.make_ndarray(bad).astype(np.uint8).reshape(-1)

    def fn(tag, tensor):
        tag = _str(_scalar_tag(tag))
        t = np.asarray(tensor)
        if t.ndim != 4 or t.shape[3] not in (1, 3, 4):
            raise _invalid(f"Tensor must be 4-D with last dim 1, 3, or 4, not {_shape_str(t)}")
        if len(bad_color) < t.shape[3]:
            raise _invalid(f"bad_color has {len(bad_color)} channels but the image has {t.shape[3]}")
        batch = min(t.shape[0], max_images)
        s = summary_pb2.Summary()
        for i in range(batch):
            img = t[i] if t.dtype == np.uint8 else _to_uint8(t[i], bad_color)
            name = f"{tag}/image" if max_images == 1 else f"{tag}/image/{i}"
            s.value.add(tag=name, image=summary_pb2.Summary.Image(
                height=t.shape[1], width=t.shape[2], colorspace=t.shape[3], encoded_image_string=_png(img)))
        return _out(s)
    return fn


@kernel("MergeSummary")
def _merge_summary(node):
    def fn(*inputs):
        s, tags = summary_pb2.Summary(), set()
        for blob in (b for t in inputs for b in np.asarray(t, dtype=object).reshape(-1)):
            part = summary_pb2.Summary()
            try:
                part.ParseFromString(bytes(blob))
            except Exception:
                raise _invalid("Could not parse one of the summary inputs") from None
            for v in part.value:
                if v.tag and v.tag in tags:
                    raise _invalid(f"Duplicate tag {v.tag} found in summary inputs ")
                tags.add(v.tag)
            s.value.extend(part.value)
        return _out(s)
    return fn
