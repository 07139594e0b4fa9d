"""Convolutions and pools, forward and backward: windows as strided views, then one matmul (im2col).

Every kernel works in NHWC: an NCHW input is viewed transposed on the way in (no copy; the im2col
reshape copies once anyway) and the result transposed back on the way out. The transposed ops
(Conv2DBackpropInput, the depthwise and average-pool input gradients) are convolutions too: the
output gradient is spread at stride intervals into a zero buffer with the window's overhang, then
correlated at stride 1 with the flipped filter, so no kernel scatters element by element. Only
MaxPoolGrad scatters, through one bincount over the windows' argmax positions.
"""
import numpy as np

from tfmini.core import errors
from tfmini.core.conv_geometry import NCHW, as_str, effective_size, spatial, spatial_explicit, window
from tfmini.worker.kernels import ANY_DEVICE, kernel


def _invalid(message):
    return errors.InvalidArgumentError(None, None, message)


def _shape_str(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


class _Geometry:
    """A node's window attrs, read once: spatial strides, dilations, ksize, padding and layout."""

    def __init__(self, node, op, window_attr=None):
        attrs = node.attrs
        self.op, self.xp = op, node.xp
        fmt = as_str(attrs.get("data_format", b"NHWC"))
        self.nchw = fmt == NCHW
        strides = list(attrs["strides"])
        if len(strides) != 4:
            raise _invalid("Sliding window strides field must specify 4 dimensions")
        outer = (strides[0], strides[1]) if self.nchw else (strides[0], strides[3])
        if outer != (1, 1):
            raise _invalid("Current implementation does not yet support strides in the batch and depth dimensions.")
        self.strides = spatial(strides, fmt)
        self.dilations = spatial(attrs.get("dilations", [1, 1, 1, 1]), fmt)
        self.ksize = None
        if window_attr:
            ksize = list(attrs[window_attr])
            if len(ksize) != 4:
                raise _invalid("Sliding window ksize field must specify 4 dimensions")
            if ksize[0] != 1:
                raise _invalid("Pooling is not yet supported on the batch dimension.")
            if ksize[1 if self.nchw else 3] != 1:
                raise _invalid("tfmini pools over height and width only: ksize must be 1 in the depth dimension")
            self.ksize = spatial(ksize, fmt)
        self.padding = as_str(attrs["padding"])
        self.explicit = spatial_explicit(list(attrs.get("explicit_paddings", [])), fmt)

    def nhwc(self, x, what="input"):
        if x.ndim != 4:
            raise _invalid(f"{what} must be 4-dimensional{_shape_str(x.shape)}")
        return x.transpose(0, 2, 3, 1) if self.nchw else x

    def out(self, y):
        return self.xp.ascontiguousarray(y.transpose(0, 3, 1, 2)) if self.nchw else y

    def sizes_nhwc(self, sizes):
        sizes = [int(d) for d in np.reshape(np.asarray(sizes), [-1])]
        if len(sizes) != 4:
            raise _invalid(f"{self.op}: input_sizes must be 4-dimensional, got: {len(sizes)}")
        return [sizes[0], sizes[2], sizes[3], sizes[1]] if self.nchw else sizes

    def windows(self, size_hw, k_hw, dilation_hw):
        """Per spatial dim (out, before, after); InvalidArgumentError as TF's when a window does not fit."""
        dims = []
        for i in (0, 1):
            explicit = self.explicit[i] if self.explicit else None
            out, before, after = window(size_hw[i], k_hw[i], self.strides[i], dilation_hw[i], self.padding, explicit)
            if out < 0:
                raise _invalid(f"Computed output size would be negative: {out} [input_size: {size_hw[i]}, "
                               f"effective_filter_size: {effective_size(k_hw[i], dilation_hw[i])}, "
                               f"stride: {self.strides[i]}]")
            dims.append((out, before, after))
        return dims


def _pad(xp, x, dims, value=0):
    (_, top, bottom), (_, left, right) = dims
    if not (top or bottom or left or right):
        return x
    return xp.pad(x, ((0, 0), (top, bottom), (left, right)) + ((0, 0),) * (x.ndim - 3), constant_values=value)


def _patches(xp, x, out_hw, k_hw, stride_hw, dilation_hw):
    """View [n, oh, ow, kh, kw, *rest] of the windows of x [n, h, w, *rest] (no copy)."""
    s = x.strides
    shape = (x.shape[0], out_hw[0], out_hw[1], k_hw[0], k_hw[1]) + x.shape[3:]
    strides = (s[0], s[1] * stride_hw[0], s[2] * stride_hw[1], s[1] * dilation_hw[0], s[2] * dilation_hw[1]) + s[3:]
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def _spread(xp, dy, in_hw, k_hw, stride_hw, dilation_hw, dims):
    """The zero buffer [n, h + ek - 1, w + ek - 1, *rest] holding dy at its windows' origins (stride apart),
    shifted so that a stride-1 correlation with the flipped window gives the gradient of the unpadded input."""
    shape, index = [dy.shape[0]], [slice(None)]
    src = [slice(None)]
    for i in (0, 1):
        ek = effective_size(k_hw[i], dilation_hw[i])
        size = in_hw[i] + ek - 1
        lo = ek - 1 - dims[i][1]  # where output position 0 lands; < 0 when explicit padding exceeds the window
        first = -(-max(-lo, 0) // stride_hw[i])  # the first output position that lands inside the buffer
        last = min(dy.shape[1 + i], (size - 1 - lo) // stride_hw[i] + 1)
        shape.append(size)
        src.append(slice(first, max(last, first)))
        index.append(slice(lo + first * stride_hw[i], lo + max(last, first) * stride_hw[i], stride_hw[i]))
    buf = xp.zeros(tuple(shape) + dy.shape[3:], dtype=dy.dtype)
    buf[tuple(index)] = dy[tuple(src)]
    return buf


def _im2col_matmul(xp, x, w2d, out_hw, k_hw, stride_hw, dilation_hw):
    """x [n, h, w, c] (padded) correlated with w2d [kh * kw * c, co]: one matmul -> [n, oh, ow, co]."""
    n = x.shape[0]
    cols = _patches(xp, x, out_hw, k_hw, stride_hw, dilation_hw).reshape(n * out_hw[0] * out_hw[1], w2d.shape[0])
    return (cols @ w2d).reshape(n, out_hw[0], out_hw[1], w2d.shape[1])


def _check_filter(x, f, op):
    if f.ndim != 4:
        raise _invalid(f"filter must be 4-dimensional: {_shape_str(f.shape)}")
    if x.shape[3] != f.shape[2]:
        raise _invalid(f"input depth must be evenly divisible by filter depth: {x.shape[3]} vs {f.shape[2]}"
                       if x.shape[3] % max(f.shape[2], 1) else
                       f"{op}: tfmini does not run grouped convolutions (input depth {x.shape[3]}, filter depth "
                       f"{f.shape[2]})")


def _conv2d(g, x, f):
    """Conv2D on NHWC x: [n, h, w, c] * [kh, kw, c, co] -> [n, oh, ow, co]."""
    xp = g.xp
    _check_filter(x, f, g.op)
    k_hw = f.shape[:2]
    dims = g.windows(x.shape[1:3], k_hw, g.dilations)
    out_hw = (dims[0][0], dims[1][0])
    return _im2col_matmul(xp, _pad(xp, x, dims), f.reshape(-1, f.shape[3]), out_hw, k_hw, g.strides, g.dilations)


def _conv2d_input_grad(g, in_shape, f, dy):
    """Conv2DBackpropInput in NHWC: dy [n, oh, ow, co] -> dx [n, h, w, c], a stride-1 conv of spread dy."""
    xp = g.xp
    in_hw, k_hw = in_shape[1:3], f.shape[:2]
    dims = g.windows(in_hw, k_hw, g.dilations)
    if f.ndim != 4 or f.shape[2] != in_shape[3] or f.shape[3] != dy.shape[3] or \
            tuple(dy.shape[:3]) != (in_shape[0], dims[0][0], dims[1][0]):
        raise _invalid(f"Conv2DCustomBackpropInput: input_sizes {_shape_str(in_shape)}, filter "
                       f"{_shape_str(f.shape)} and out_backprop {_shape_str(dy.shape)} do not agree")
    buf = _spread(xp, dy, in_hw, k_hw, g.strides, g.dilations, dims)
    flipped = f[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, f.shape[2])
    return _im2col_matmul(xp, buf, flipped, in_hw, k_hw, (1, 1), g.dilations)


def _conv2d_filter_grad(g, x, f_shape, dy):
    xp = g.xp
    k_hw = f_shape[:2]
    dims = g.windows(x.shape[1:3], k_hw, g.dilations)
    out_hw = (dims[0][0], dims[1][0])
    if f_shape[2] != x.shape[3] or tuple(dy.shape) != (x.shape[0],) + out_hw + (f_shape[3],):
        raise _invalid(f"Conv2DCustomBackpropFilter: input {_shape_str(x.shape)}, filter_sizes "
                       f"{_shape_str(f_shape)} and out_backprop {_shape_str(dy.shape)} do not agree")
    cols = _patches(xp, _pad(xp, x, dims), out_hw, k_hw, g.strides, g.dilations).reshape(-1, int(np.prod(f_shape[:3])))
    return (cols.T @ dy.reshape(-1, f_shape[3])).reshape(f_shape)


def _sizes(v):
    return [int(d) for d in np.reshape(np.asarray(v), [-1])]


@kernel("Conv2D", device_types=ANY_DEVICE)
def _conv2d_kernel(node):
    g = _Geometry(node, "Conv2D")
    return lambda x, f: g.out(_conv2d(g, g.nhwc(x), f))


@kernel("Conv2DBackpropInput", device_types=ANY_DEVICE)
def _conv2d_backprop_input(node):
    g = _Geometry(node, "Conv2DBackpropInput")
    return lambda sizes, f, dy: g.out(_conv2d_input_grad(g, g.sizes_nhwc(sizes), f, g.nhwc(dy, "out_backprop")))


@kernel("Conv2DBackpropFilter", device_types=ANY_DEVICE)
def _conv2d_backprop_filter(node):
    g = _Geometry(node, "Conv2DBackpropFilter")
    return lambda x, sizes, dy: _conv2d_filter_grad(g, g.nhwc(x), _sizes(sizes), g.nhwc(dy, "out_backprop"))


# -- depthwise: channel c of the input meets filter[:, :, c, :]; output channel c * multiplier + m ----------

def _depthwise(g, x, f):
    xp = g.xp
    if f.ndim != 4 or f.shape[2] != x.shape[3]:
        raise _invalid(f"input and filter must have the same depth: {x.shape[3]} vs "
                       f"{f.shape[2] if f.ndim == 4 else _shape_str(f.shape)}")
    n, c, m = x.shape[0], x.shape[3], f.shape[3]
    k_hw = f.shape[:2]
    dims = g.windows(x.shape[1:3], k_hw, g.dilations)
    out_hw = (dims[0][0], dims[1][0])
    patches = _patches(xp, _pad(xp, x, dims), out_hw, k_hw, g.strides, g.dilations)  # [n, oh, ow, kh, kw, c]
    cols = patches.transpose(5, 0, 1, 2, 3, 4).reshape(c, -1, k_hw[0] * k_hw[1])      # [c, n*oh*ow, kh*kw]
    out = xp.matmul(cols, f.transpose(2, 0, 1, 3).reshape(c, -1, m))                  # [c, n*oh*ow, m]
    return out.transpose(1, 0, 2).reshape(n, out_hw[0], out_hw[1], c * m)


def _depthwise_input_grad(g, in_shape, f, dy):
    xp = g.xp
    n, c, m = in_shape[0], in_shape[3], f.shape[3]
    in_hw, k_hw = in_shape[1:3], f.shape[:2]
    dims = g.windows(in_hw, k_hw, g.dilations)
    if f.shape[2] != c or tuple(dy.shape) != (n, dims[0][0], dims[1][0], c * m):
        raise _invalid(f"DepthwiseConv2dNativeBackpropInput: input_sizes {_shape_str(in_shape)}, filter "
                       f"{_shape_str(f.shape)} and out_backprop {_shape_str(dy.shape)} do not agree")
    buf = _spread(xp, dy.reshape(dy.shape[:3] + (c, m)), in_hw, k_hw, g.strides, g.dilations, dims)
    patches = _patches(xp, buf, in_hw, k_hw, (1, 1), g.dilations)                 # [n, h, w, kh, kw, c, m]
    cols = patches.transpose(5, 0, 1, 2, 3, 4, 6).reshape(c, n * in_hw[0] * in_hw[1], k_hw[0] * k_hw[1] * m)
    flipped = f[::-1, ::-1].transpose(2, 0, 1, 3).reshape(c, -1, 1)               # [c, kh*kw*m, 1]
    return xp.matmul(cols, flipped).reshape(c, n, in_hw[0], in_hw[1]).transpose(1, 2, 3, 0)


def _depthwise_filter_grad(g, x, f_shape, dy):
    xp = g.xp
    n, c, m = x.shape[0], x.shape[3], f_shape[3]
    k_hw = f_shape[:2]
    dims = g.windows(x.shape[1:3], k_hw, g.dilations)
    out_hw = (dims[0][0], dims[1][0])
    if f_shape[2] != c or tuple(dy.shape) != (n,) + out_hw + (c * m,):
        raise _invalid(f"DepthwiseConv2dNativeBackpropFilter: input {_shape_str(x.shape)}, filter_sizes "
                       f"{_shape_str(f_shape)} and out_backprop {_shape_str(dy.shape)} do not agree")
    patches = _patches(xp, _pad(xp, x, dims), out_hw, k_hw, g.strides, g.dilations)
    cols = patches.transpose(5, 3, 4, 0, 1, 2).reshape(c, k_hw[0] * k_hw[1], -1)  # [c, kh*kw, n*oh*ow]
    dyc = dy.reshape(-1, c, m).transpose(1, 0, 2)                                  # [c, n*oh*ow, m]
    return xp.matmul(cols, dyc).reshape(c, k_hw[0], k_hw[1], m).transpose(1, 2, 0, 3)


@kernel("DepthwiseConv2dNative", device_types=ANY_DEVICE)
def _depthwise_kernel(node):
    g = _Geometry(node, "DepthwiseConv2dNative")
    return lambda x, f: g.out(_depthwise(g, g.nhwc(x), f))


@kernel("DepthwiseConv2dNativeBackpropInput", device_types=ANY_DEVICE)
def _depthwise_backprop_input(node):
    g = _Geometry(node, "DepthwiseConv2dNativeBackpropInput")
    return lambda sizes, f, dy: g.out(_depthwise_input_grad(g, g.sizes_nhwc(sizes), f, g.nhwc(dy, "out_backprop")))


@kernel("DepthwiseConv2dNativeBackpropFilter", device_types=ANY_DEVICE)
def _depthwise_backprop_filter(node):
    g = _Geometry(node, "DepthwiseConv2dNativeBackpropFilter")
    return lambda x, sizes, dy: _depthwise_filter_grad(g, g.nhwc(x), _sizes(sizes), g.nhwc(dy, "out_backprop"))


# -- pools ------------------------------------------------------------------------------------------------

_NO_DILATION = (1, 1)


def _lowest(xp, dtype):
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _tiles(g, x, dims):
    """x as [n, oh, kh, ow, kw, c] when the windows tile it exactly (stride = window, no padding; the 2x2/2
    pooling of most conv nets), else None: a reshape, no copy, where reductions run fast."""
    (oh, top, bottom), (ow, left, right) = dims
    kh, kw = g.ksize
    if tuple(g.strides) != (kh, kw) or top or bottom or left or right or (oh * kh, ow * kw) != x.shape[1:3]:
        return None
    return x.reshape(x.shape[0], oh, kh, ow, kw, x.shape[3])


def _max_pool(g, x):
    xp = g.xp
    dims = g.windows(x.shape[1:3], g.ksize, _NO_DILATION)
    tiles = _tiles(g, x, dims)
    if tiles is not None:
        return _tile_max(xp, tiles)
    padded = _pad(xp, x, dims, _lowest(xp, x.dtype))
    return _patches(xp, padded, (dims[0][0], dims[1][0]), g.ksize, g.strides, _NO_DILATION).max(axis=(3, 4))


def _argmax_flat(g, x):
    """(flat index into the padded input of each window's first maximum, padded shape, dims): TF's CPU
    MaxPoolGrad gives a window's gradient to its first maximum in row-major order, as argmax picks."""
    xp = g.xp
    n, _, _, c = x.shape
    dims = g.windows(x.shape[1:3], g.ksize, _NO_DILATION)
    padded = _pad(xp, x, dims, _lowest(xp, x.dtype))
    (oh, _, _), (ow, _, _) = dims
    kh, kw = g.ksize
    patches = _patches(xp, padded, (oh, ow), g.ksize, g.strides, _NO_DILATION)      # [n, oh, ow, kh, kw, c]
    # The window's taps last and contiguous: argmax along the last axis is the fast one.
    tap = xp.argmax(patches.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, kh * kw), axis=-1)  # [n, oh, ow, c]
    hp, wp = padded.shape[1:3]
    rows = xp.arange(oh).reshape(1, oh, 1, 1) * g.strides[0] + tap // kw
    cols = xp.arange(ow).reshape(1, 1, ow, 1) * g.strides[1] + tap % kw
    flat = ((xp.arange(n).reshape(n, 1, 1, 1) * hp + rows) * wp + cols) * c + xp.arange(c).reshape(1, 1, 1, c)
    return flat, padded.shape, dims


def _crop(padded, x_shape, dims):
    top, left = dims[0][1], dims[1][1]
    return padded[:, top:top + x_shape[1], left:left + x_shape[2]]


def _taps(tiles):
    """The window's taps of exact tiles, in row-major order: each a pooled-size [n, oh, ow, c] view."""
    return [tiles[:, :, i, :, j] for i in range(tiles.shape[2]) for j in range(tiles.shape[4])]


def _tile_max(xp, tiles):
    """Max over each tile, tap by tap: a few elementwise maxima beat one reduction over two strided axes."""
    taps = _taps(tiles)
    top = xp.maximum(taps[0], taps[1]) if len(taps) > 1 else taps[0].copy()
    for tap in taps[2:]:
        xp.maximum(top, tap, out=top)
    return top


def _tiled_max_pool_grad(xp, tiles, dy):
    """MaxPoolGrad over exact tiles: each window's gradient goes to its first maximum (row-major), found tap
    by tap over the few taps of the window (elementwise on pooled-size arrays: no argmax over a copy)."""
    top = _tile_max(xp, tiles)
    out = xp.zeros_like(tiles)
    free = xp.ones(top.shape, dtype=bool)
    for tap, grad in zip(_taps(tiles), _taps(out)):
        hit = tap == top
        hit &= free
        xp.multiply(dy, hit, out=grad)
        free &= ~hit
    return out


def _max_pool_grad(g, x, dy):
    xp = g.xp
    tiles = _tiles(g, x, g.windows(x.shape[1:3], g.ksize, _NO_DILATION))
    if tiles is not None and tuple(dy.shape) == tiles.shape[:2] + tiles.shape[3:4] + tiles.shape[5:] and \
            not xp.isnan(tiles).any():  # a NaN max matches nothing: the general path gives it its gradient
        return _tiled_max_pool_grad(xp, tiles, dy).reshape(x.shape)
    flat, padded_shape, dims = _argmax_flat(g, x)
    if tuple(dy.shape) != tuple(flat.shape):
        raise _invalid(f"Expected grad shape to be {_shape_str(flat.shape)}, but got {_shape_str(dy.shape)}")
    size = int(np.prod(padded_shape))
    if all(s >= k for s, k in zip(g.strides, g.ksize)):  # windows do not overlap: each index appears once
        out = xp.zeros(size, dtype=dy.dtype)
        out[flat.ravel()] = dy.ravel()
    else:  # overlapping windows add up
        out = xp.bincount(flat.ravel(), weights=dy.ravel(), minlength=size).astype(dy.dtype)
    return _crop(out.reshape(padded_shape), x.shape, dims)


def _max_pool_grad_grad(g, x, grad):
    xp = g.xp
    flat, padded_shape, dims = _argmax_flat(g, x)
    if tuple(grad.shape) != tuple(x.shape):
        raise _invalid(f"Expected grad shape to be {_shape_str(x.shape)}, but got {_shape_str(grad.shape)}")
    return _pad(xp, grad, dims).ravel()[flat]


def _window_counts(xp, dims, size_hw, k_hw, strides, dtype):
    """[oh, ow, 1]: how many real (unpadded) elements each window covers; TF's AvgPool divides by it."""
    counts = []
    for i in (0, 1):
        start = xp.arange(dims[i][0]) * strides[i] - dims[i][1]
        counts.append(xp.minimum(start + k_hw[i], size_hw[i]) - xp.maximum(start, 0))
    return (counts[0].reshape(-1, 1, 1) * counts[1].reshape(1, -1, 1)).astype(dtype)


def _avg_pool(g, x):
    xp = g.xp
    dims = g.windows(x.shape[1:3], g.ksize, _NO_DILATION)
    out_hw = (dims[0][0], dims[1][0])
    sums = _patches(xp, _pad(xp, x, dims), out_hw, g.ksize, g.strides, _NO_DILATION).sum(axis=(3, 4))
    return sums / _window_counts(xp, dims, x.shape[1:3], g.ksize, g.strides, x.dtype)


def _avg_pool_grad(g, in_shape, dy):
    xp = g.xp
    in_hw = in_shape[1:3]
    dims = g.windows(in_hw, g.ksize, _NO_DILATION)
    if tuple(dy.shape) != (in_shape[0], dims[0][0], dims[1][0], in_shape[3]):
        raise _invalid(f"AvgPoolGrad: orig_input_shape {_shape_str(in_shape)} does not match grad "
                       f"{_shape_str(dy.shape)}")
    share = dy / _window_counts(xp, dims, in_hw, g.ksize, g.strides, dy.dtype)
    buf = _spread(xp, share, in_hw, g.ksize, g.strides, _NO_DILATION, dims)
    return _patches(xp, buf, in_hw, g.ksize, (1, 1), _NO_DILATION).sum(axis=(3, 4))


@kernel("MaxPool", device_types=ANY_DEVICE)
def _max_pool_kernel(node):
    g = _Geometry(node, "MaxPool", "ksize")
    return lambda x: g.out(_max_pool(g, g.nhwc(x)))


@kernel("MaxPoolGrad", device_types=ANY_DEVICE)
def _max_pool_grad_kernel(node):
    g = _Geometry(node, "MaxPoolGrad", "ksize")
    return lambda x, y, dy: g.out(_max_pool_grad(g, g.nhwc(x, "orig_input"), g.nhwc(dy, "grad")))


@kernel("MaxPoolGradGrad", device_types=ANY_DEVICE)
def _max_pool_grad_grad_kernel(node):
    g = _Geometry(node, "MaxPoolGradGrad", "ksize")
    return lambda x, y, grad: g.out(_max_pool_grad_grad(g, g.nhwc(x, "orig_input"), g.nhwc(grad, "grad")))


@kernel("AvgPool", device_types=ANY_DEVICE)
def _avg_pool_kernel(node):
    g = _Geometry(node, "AvgPool", "ksize")
    return lambda x: g.out(_avg_pool(g, g.nhwc(x, "value")))


@kernel("AvgPoolGrad", device_types=ANY_DEVICE)
def _avg_pool_grad_kernel(node):
    g = _Geometry(node, "AvgPoolGrad", "ksize")
    return lambda sizes, dy: g.out(_avg_pool_grad(g, g.sizes_nhwc(sizes), g.nhwc(dy, "grad")))


@kernel("ShapeN", num_outputs=lambda attrs: attrs["N"], device_types=ANY_DEVICE)
def _shape_n(node):
    out = node.attrs.get("out_type").as_numpy_dtype
    return lambda *xs: tuple(np.array(np.shape(x), dtype=out) for x in xs)
