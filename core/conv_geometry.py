"""Window arithmetic of convolutions and pools, shared by the shape functions (client) and the kernels (worker).

TensorFlow's GetWindowedOutputSize: with SAME padding the output has ceil(in / stride) positions and the
padding the last window needs is split with the smaller half first; VALID takes only whole windows.
"""

NHWC, NCHW = "NHWC", "NCHW"


def as_str(value):
    return value.decode() if isinstance(value, bytes) else value


def spatial(values, data_format):
    """The (height, width) entries of a 4-vector given in `data_format` order."""
    values = list(values)
    return (values[2], values[3]) if as_str(data_format) == NCHW else (values[1], values[2])


def spatial_explicit(explicit_paddings, data_format):
    """((top, bottom), (left, right)) from EXPLICIT padding's flat list of 8, or None when there is none."""
    if not explicit_paddings:
        return None
    pairs = [tuple(explicit_paddings[i:i + 2]) for i in range(0, 8, 2)]
    return spatial(pairs, data_format)


def window(size, k, stride, dilation, padding, explicit=None):
    """(output size, padding before, padding after) of one spatial dimension, by TF's formula: a window one
    element too big gives size 0, a bigger one a negative size, which the kernels report as TF's do (the shape
    functions refuse any window larger than the padded input, see `fits`)."""
    effective = (k - 1) * dilation + 1
    padding = as_str(padding)
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        return out, total // 2, total - total // 2
    before, after = explicit if padding == "EXPLICIT" else (0, 0)
    ahead = size + before + after - effective + stride
    return (ahead // stride if ahead >= 0 else -(-ahead // stride)), before, after  # C++'s division truncates


def padded_size(size, padding, explicit=None):
    """The input size the windows slide over (SAME pads as much as the windows need, so it always fits)."""
    return size + sum(explicit) if as_str(padding) == "EXPLICIT" else size


def effective_size(k, dilation):
    return (k - 1) * dilation + 1
