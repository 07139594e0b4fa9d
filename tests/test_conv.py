"""Convolutions and pools: values against direct NumPy references over drawn shapes, strides, dilations,
paddings and both data formats; numeric gradient checks of every op and of its gradient ops' own
gradients; TensorFlow's shape-function errors; the digits conv net example."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tfmini as tf
from test_gradients import numeric_check
from tfmini.ops.conv_ops import backprop_op

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROOT = pathlib.Path(__file__).resolve().parent.parent


# -- direct references: one window at a time, TF's padding arithmetic written out again ------------------

def same_pads(size, k, stride, dilation):
    eff = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2, total - total // 2


def geometry(size, k, stride, dilation, padding):
    if padding == "SAME":
        return same_pads(size, k, stride, dilation)
    return (size - (k - 1) * dilation - 1) // stride + 1, 0, 0


def padded(x, dims, value=0.0):
    return np.pad(x, ((0, 0), dims[0][1:], dims[1][1:], (0, 0)), constant_values=value)


def each_window(x, k_hw, strides, dilations, padding, value=0.0):
    """Yields (oh, ow, window [n, kh, kw, c]) over the padded input, and the dims first."""
    dims = [geometry(x.shape[1 + i], k_hw[i], strides[i], dilations[i], padding) for i in (0, 1)]
    xp = padded(x, dims, value)
    yield dims
    for oh in range(dims[0][0]):
        for ow in range(dims[1][0]):
            rows = slice(oh * strides[0], oh * strides[0] + (k_hw[0] - 1) * dilations[0] + 1, dilations[0])
            cols = slice(ow * strides[1], ow * strides[1] + (k_hw[1] - 1) * dilations[1] + 1, dilations[1])
            yield oh, ow, (rows, cols), xp[:, rows, cols, :]


def ref_conv2d(x, f, strides, dilations, padding):
    it = each_window(x, f.shape[:2], strides, dilations, padding)
    dims = next(it)
    out = np.zeros((x.shape[0], dims[0][0], dims[1][0], f.shape[3]))
    for oh, ow, _, win in it:
        out[:, oh, ow] = np.tensordot(win, f, axes=([1, 2, 3], [0, 1, 2]))
    return out


def ref_conv2d_transpose(dy, f, in_shape, strides, dilations, padding):
    """The adjoint of ref_conv2d: each output position's gradient spread back over its window."""
    x = np.zeros(in_shape)
    it = each_window(x, f.shape[:2], strides, dilations, padding)
    dims = next(it)
    dx = padded(x, dims)
    for oh, ow, (rows, cols), _ in it:
        dx[:, rows, cols, :] += np.einsum("no,ijco->nijc", dy[:, oh, ow], f)
    return dx[:, dims[0][1]:dims[0][1] + in_shape[1], dims[1][1]:dims[1][1] + in_shape[2]]


def ref_depthwise(x, f, strides, dilations, padding):
    it = each_window(x, f.shape[:2], strides, dilations, padding)
    dims = next(it)
    out = np.zeros((x.shape[0], dims[0][0], dims[1][0], f.shape[2] * f.shape[3]))
    for oh, ow, _, win in it:
        out[:, oh, ow] = np.einsum("nijc,ijcm->ncm", win, f).reshape(x.shape[0], -1)
    return out


def ref_pool(x, k_hw, strides, padding, reduce):
    value = -np.inf if reduce is np.max else np.nan
    it = each_window(x, k_hw, strides, (1, 1), padding, value)
    dims = next(it)
    out = np.zeros((x.shape[0], dims[0][0], dims[1][0], x.shape[3]))
    for oh, ow, _, win in it:
        out[:, oh, ow] = reduce(win, axis=(1, 2))
    return out


def to_format(x, fmt):
    return x.transpose(0, 3, 1, 2) if fmt == "NCHW" else x


def from_format(x, fmt):
    return x.transpose(0, 2, 3, 1) if fmt == "NCHW" else x


def four(v, fmt):
    return [1, 1, v[0], v[1]] if fmt == "NCHW" else [1, v[0], v[1], 1]


def run(fetch, feed=None):
    with tf.Session() as sess:
        return sess.run(fetch, feed)


@st.composite
def windows(draw, dilate=True):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilate else (1, 1)
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    hw = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    assume(padding == "SAME" or all(hw[i] >= (k[i] - 1) * dilations[i] + 1 for i in (0, 1)))
    return dict(n=draw(st.integers(1, 2)), hw=hw, c=draw(st.integers(1, 3)), k=k, strides=strides,
                dilations=dilations, padding=padding, fmt=draw(st.sampled_from(["NHWC", "NCHW"])),
                seed=draw(st.integers(0, 2**16)))


def data(w, *shapes):
    rng = np.random.RandomState(w["seed"])
    return [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]


# -- forward values ------------------------------------------------------------------------------------

@SETTINGS
@given(w=windows(), out_c=st.integers(1, 3))
def test_conv2d_matches_numpy(w, out_c):
    x, f = data(w, (w["n"],) + w["hw"] + (w["c"],), w["k"] + (w["c"], out_c))
    with tf.Graph().as_default():
        y = tf.nn.conv2d(to_format(x, w["fmt"]), f, strides=four(w["strides"], w["fmt"]), padding=w["padding"],
                         data_format=w["fmt"], dilations=four(w["dilations"], w["fmt"]))
        got = run(y)
        assert y.shape.as_list() == list(got.shape)
    want = ref_conv2d(x, f, w["strides"], w["dilations"], w["padding"])
    np.testing.assert_allclose(from_format(got, w["fmt"]), want, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(w=windows(), out_c=st.integers(1, 3))
def test_conv2d_transpose_matches_numpy(w, out_c):
    in_shape = (w["n"],) + w["hw"] + (out_c,)
    outs = [geometry(w["hw"][i], w["k"][i], w["strides"][i], w["dilations"][i], w["padding"])[0] for i in (0, 1)]
    dy, f = data(w, (w["n"],) + tuple(outs) + (w["c"],), w["k"] + (out_c, w["c"]))
    with tf.Graph().as_default():
        y = tf.nn.conv2d_transpose(to_format(dy, w["fmt"]), f, list(to_format(np.zeros(in_shape), w["fmt"]).shape),
                                   strides=four(w["strides"], w["fmt"]), padding=w["padding"], data_format=w["fmt"],
                                   dilations=four(w["dilations"], w["fmt"]))
        got = run(y)
        assert y.op.type == "Conv2DBackpropInput" and y.shape.as_list() == list(got.shape)
    want = ref_conv2d_transpose(dy, f, in_shape, w["strides"], w["dilations"], w["padding"])
    np.testing.assert_allclose(from_format(got, w["fmt"]), want, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(w=windows(), multiplier=st.integers(1, 2))
def test_depthwise_conv2d_matches_numpy(w, multiplier):
    x, f = data(w, (w["n"],) + w["hw"] + (w["c"],), w["k"] + (w["c"], multiplier))
    with tf.Graph().as_default():
        y = tf.nn.depthwise_conv2d_native(to_format(x, w["fmt"]), f, four(w["strides"], w["fmt"]), w["padding"],
                                          data_format=w["fmt"], dilations=four(w["dilations"], w["fmt"]))
        got = run(y)
        assert y.shape.as_list() == list(got.shape)
    want = ref_depthwise(x, f, w["strides"], w["dilations"], w["padding"])
    np.testing.assert_allclose(from_format(got, w["fmt"]), want, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(w=windows(dilate=False), pool=st.sampled_from(["max", "avg"]))
def test_pools_match_numpy(w, pool):
    (x,) = data(w, (w["n"],) + w["hw"] + (w["c"],))
    fn, reduce = (tf.nn.max_pool, np.max) if pool == "max" else (tf.nn.avg_pool, np.nanmean)
    with tf.Graph().as_default():
        y = fn(to_format(x, w["fmt"]), four(w["k"], w["fmt"]), four(w["strides"], w["fmt"]), w["padding"],
               data_format=w["fmt"])
        got = run(y)
        assert y.shape.as_list() == list(got.shape) and got.dtype == np.float32
    want = ref_pool(x, w["k"], w["strides"], w["padding"], reduce)
    np.testing.assert_allclose(from_format(got, w["fmt"]), want, rtol=1e-5, atol=1e-6)


def test_same_padding_puts_the_smaller_half_first():
    # in 4, k 4, stride 1: pad_total 3 -> 1 before, 2 after; the output's first value sees x[0:3].
    x = np.arange(4, dtype=np.float32).reshape(1, 4, 1, 1)
    with tf.Graph().as_default():
        y = run(tf.nn.conv2d(x, np.ones((4, 1, 1, 1), np.float32), [1, 1, 1, 1], "SAME"))
    np.testing.assert_array_equal(y.ravel(), [0 + 1 + 2, 0 + 1 + 2 + 3, 1 + 2 + 3, 2 + 3])


def test_explicit_padding_is_padding_then_valid():
    rng = np.random.RandomState(4)
    x, f = rng.randn(2, 5, 4, 3).astype(np.float32), rng.randn(3, 2, 3, 2).astype(np.float32)
    pads = [[0, 0], [3, 1], [0, 2], [0, 0]]
    xp = np.pad(x, pads)
    with tf.Graph().as_default():
        y = tf.nn.conv2d(x, f, [1, 2, 1, 1], pads)
        p = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], pads)
        assert y.op.get_attr("padding") == b"EXPLICIT" and y.op.get_attr("explicit_paddings") == sum(pads, [])
        got_y, got_p = run([y, p])
        dy = rng.randn(*got_y.shape).astype(np.float32)
        t = run(tf.nn.conv2d_backprop_input(list(x.shape), f, dy, [1, 2, 1, 1], pads))
    np.testing.assert_allclose(got_y, ref_conv2d(xp, f, (2, 1), (1, 1), "VALID"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_p, ref_pool(np.pad(x, pads, constant_values=-np.inf), (2, 2), (2, 2), "VALID",
                                               np.max), rtol=1e-6)
    want_t = ref_conv2d_transpose(dy, f, xp.shape, (2, 1), (1, 1), "VALID")[:, 3:8, 0:4]
    np.testing.assert_allclose(t, want_t, rtol=1e-5, atol=1e-5)
    numeric_check(lambda a, b: tf.nn.conv2d(a, b, [1, 2, 1, 1], pads), [x[:1, :4].astype(np.float64),
                                                                        f.astype(np.float64)])


def test_conv1d_is_expand_dims_conv2d_squeeze():
    rng = np.random.RandomState(0)
    x, f = rng.randn(2, 9, 3).astype(np.float32), rng.randn(3, 3, 4).astype(np.float32)
    with tf.Graph().as_default() as g:
        y = tf.nn.conv1d(x, f, stride=2, padding="SAME")
        assert [op.type for op in g.get_operations() if op.type != "Const"] == \
            ["ExpandDims", "ExpandDims", "Conv2D", "Squeeze"]
        assert y.op.inputs[0].op.get_attr("strides") == [1, 1, 2, 1]
        assert y.shape.as_list() == [2, 5, 4]
        got = run(y)
    want = ref_conv2d(x[:, None], f[None], (1, 2), (1, 1), "SAME")[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_op_types_attrs_and_names_are_tensorflows():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None, 8, 8, 3], name="x")
        f = tf.zeros([3, 3, 3, 4])
        y = tf.nn.conv2d(x, f, strides=2, padding="SAME")
        assert y.op.name == "Conv2D" and y.op.get_attr("strides") == [1, 2, 2, 1]
        assert y.op.get_attr("dilations") == [1, 1, 1, 1] and y.op.get_attr("use_cudnn_on_gpu") is True
        assert y.op.get_attr("data_format") == b"NHWC" and y.op.get_attr("explicit_paddings") == []
        assert y.shape.as_list() == [None, 4, 4, 4]
        p = tf.nn.max_pool(y, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
        a = tf.nn.avg_pool(y, ksize=2, strides=2, padding="VALID", name="pool")
        d = tf.nn.depthwise_conv2d(x, tf.zeros([3, 3, 3, 2]), [1, 1, 1, 1], "VALID")
        t = tf.nn.conv2d_transpose(y, tf.zeros([3, 3, 5, 4]), [7, 8, 8, 5], [1, 2, 2, 1])
        assert (p.op.type, p.op.name, a.op.type, a.op.name) == ("MaxPool", "MaxPool", "AvgPool", "pool")
        assert (d.op.type, d.op.name, d.shape.as_list()) == ("DepthwiseConv2dNative", "depthwise", [None, 6, 6, 6])
        assert (t.op.type, t.op.name, t.shape.as_list()) == ("Conv2DBackpropInput", "conv2d_transpose", [7, 8, 8, 5])
        dx, df = tf.gradients(tf.reduce_sum(p) + tf.reduce_sum(a), [x, f])
        types = {op.type for op in g.get_operations()}
        assert {"ShapeN", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPoolGrad", "AvgPoolGrad"} <= types
        assert dx.shape.as_list() == [None, 8, 8, 3] and df.shape.as_list() == [3, 3, 3, 4]


def test_backprop_wrappers_are_the_gradients():
    rng = np.random.RandomState(3)
    x, f = rng.randn(2, 6, 5, 3).astype(np.float32), rng.randn(3, 2, 3, 4).astype(np.float32)
    dw = rng.randn(3, 2, 3, 2).astype(np.float32)
    with tf.Graph().as_default():
        xt, ft, dwt = tf.constant(x), tf.constant(f), tf.constant(dw)
        y, d = tf.nn.conv2d(xt, ft, [1, 2, 1, 1], "SAME"), tf.nn.depthwise_conv2d_native(xt, dwt, [1, 1, 2, 1], "VALID")
        dy, dd = tf.ones_like(y), tf.ones_like(d)
        grads = [tf.gradients(y, xt, dy)[0], tf.gradients(y, ft, dy)[0], tf.gradients(d, xt, dd)[0],
                 tf.gradients(d, dwt, dd)[0]]
        wrapped = [tf.nn.conv2d_backprop_input([2, 6, 5, 3], ft, dy, [1, 2, 1, 1], "SAME"),
                   tf.nn.conv2d_backprop_filter(xt, [3, 2, 3, 4], dy, [1, 2, 1, 1], "SAME"),
                   tf.nn.depthwise_conv2d_native_backprop_input([2, 6, 5, 3], dwt, dd, [1, 1, 2, 1], "VALID"),
                   tf.nn.depthwise_conv2d_native_backprop_filter(xt, [3, 2, 3, 2], dd, [1, 1, 2, 1], "VALID")]
        assert [w.op.type for w in wrapped] == ["Conv2DBackpropInput", "Conv2DBackpropFilter",
                                                "DepthwiseConv2dNativeBackpropInput",
                                                "DepthwiseConv2dNativeBackpropFilter"]
        for got, want in zip(run(wrapped), run(grads)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert tf.nn.max_pool2d(xt, 2, 2, "SAME").op.name == "MaxPool2d"
        assert tf.nn.avg_pool2d(xt, 2, 2, "SAME").op.name == "AvgPool2D"


# -- shape-function and kernel errors ------------------------------------------------------------------

@pytest.mark.parametrize("build, message", [
    (lambda: tf.nn.conv2d(tf.zeros([2, 5, 5]), tf.zeros([3, 3, 1, 1]), [1, 1, 1, 1], "SAME"),
     r"Shape must be rank 4 but is rank 3 for 'Conv2D' \(op: 'Conv2D'\) with input shapes: \[2,5,5\], \[3,3,1,1\]"),
    (lambda: tf.nn.conv2d(tf.zeros([2, 5, 5, 3]), tf.zeros([3, 3, 2, 1]), [1, 1, 1, 1], "SAME"),
     r"Depth of input \(3\) is not a multiple of input depth of filter \(2\) for 'Conv2D'"),
    (lambda: tf.nn.conv2d(tf.zeros([2, 2, 5, 1]), tf.zeros([3, 3, 1, 1]), [1, 1, 1, 1], "VALID"),
     r"Negative dimension size caused by subtracting 3 from 2 for 'Conv2D'"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), [1, 1, 1, 1], "VALID", dilations=4),
     r"Negative dimension size caused by subtracting 5 from 4"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), [1, 1, 1], "VALID"),
     r"strides should be of length 1, 2 or 4. Received: strides=\[1, 1, 1\] of length 3"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), tf.zeros([2, 2, 1, 1]), 1, "FULL"),
     r"Value for attr 'padding' of \"FULL\" is not in the list of allowed values"),
    (lambda: tf.nn.max_pool(tf.zeros([1, 4, 4]), 2, 2, "VALID"), r"Shape must be rank 4 but is rank 3 for 'MaxPool'"),
    (lambda: tf.nn.max_pool(tf.zeros([1, 4, 4, 1]), 5, 1, "VALID"), r"subtracting 5 from 4 for 'MaxPool'"),
    (lambda: tf.nn.avg_pool(tf.zeros([1, 4, 4, 1]), 2, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]),
     r"Value for attr 'padding'"),
    (lambda: tf.nn.depthwise_conv2d_native(tf.zeros([1, 4, 4, 3]), tf.zeros([2, 2, 2, 1]), [1, 1, 1, 1], "SAME"),
     r"Dimensions must be equal, but are 3 and 2 for 'DepthwiseConv2dNative'"),
    (lambda: tf.nn.conv2d_transpose(tf.zeros([1, 4, 4, 3]), tf.zeros([3, 3, 2, 4]), [1, 8, 8, 2], [1, 2, 2, 1]),
     r"Dimensions must be equal, but are 3 and 4 for 'conv2d_transpose' \(op: 'Conv2DBackpropInput'\)"),
    (lambda: tf.nn.conv2d(tf.zeros([1, 4, 4, 1]), filter=tf.zeros([2, 2, 1, 1]), filters=tf.zeros([2, 2, 1, 1]),
                          strides=1, padding="SAME"), r"Cannot specify both 'filters' and 'filter'"),
])
def test_shape_function_errors_are_tensorflows(build, message):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=message):
            build()


def test_kernel_errors_are_invalid_argument():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32)
        y = tf.nn.conv2d(x, tf.zeros([3, 3, 2, 1]), [1, 1, 1, 1], "VALID")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="input must be 4-dimensional"):
                sess.run(y, {x: np.zeros((4, 4, 2))})
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"Computed output size would be negative: -1 "
                                                                     r"\[input_size: 1, effective_filter_size: 3"):
                sess.run(y, {x: np.zeros((1, 1, 4, 2))})
            # One row short of the window: TF's formula gives an empty output, not an error.
            assert sess.run(y, {x: np.zeros((1, 2, 4, 2))}).shape == (1, 0, 2, 1)
            with pytest.raises(tf.errors.InvalidArgumentError, match="evenly divisible by filter depth: 3 vs 2"):
                sess.run(y, {x: np.zeros((1, 4, 4, 3))})
        p = tf.nn.max_pool(x, [2, 2, 1, 1], [1, 1, 1, 1], "VALID")
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="batch dimension"):
            sess.run(p, {x: np.zeros((2, 4, 4, 1))})


# -- numeric gradients (float64): every op, and the gradients' own gradients ---------------------------

def rand(seed, *shape):
    return np.random.RandomState(seed).uniform(-1, 1, shape)


def distinct(seed, *shape):
    """Values at least 0.05 apart, so a max pool's argmax does not move under the check's nudges."""
    values = np.random.RandomState(seed).permutation(int(np.prod(shape))) * 0.05
    return values.reshape(shape) - values.mean()


CONV_CASES = [dict(strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 1, 1, 1], data_format="NHWC"),
              dict(strides=[1, 2, 1, 1], padding="VALID", dilations=[1, 1, 1, 1], data_format="NHWC"),
              dict(strides=[1, 1, 2, 2], padding="SAME", dilations=[1, 1, 1, 1], data_format="NCHW"),
              dict(strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 2, 1, 1], data_format="NHWC")]


def _nhwc_shape(shape, fmt):
    return (shape[0], shape[3], shape[1], shape[2]) if fmt == "NCHW" else shape


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients(case):
    x, f = rand(0, *_nhwc_shape((1, 5, 4, 2), case["data_format"])), rand(1, 3, 2, 2, 3)
    numeric_check(lambda a, b: tf.nn.conv2d(a, b, **case), [x, f])


@pytest.mark.parametrize("dynamic", [True, "partial"])
def test_gradients_with_unknown_shapes(dynamic):
    x, f = rand(13, 2, 5, 4, 2), rand(14, 3, 2, 2, 3)
    numeric_check(lambda a, b: tf.nn.conv2d(a, b, [1, 2, 1, 1], "SAME"), [x, f], dynamic=dynamic)
    numeric_check(lambda a, b: tf.nn.depthwise_conv2d(a, b[..., :2], [1, 1, 1, 1], "VALID"), [x, f], dynamic=dynamic)
    numeric_check(lambda a: tf.nn.max_pool(a, 2, 2, "SAME") + tf.nn.avg_pool(a, 3, 2, "SAME"),
                  [distinct(15, 2, 5, 4, 2)], dynamic=dynamic)


@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_conv2d_backprop_gradients(case):
    fmt = case["data_format"]
    x, f = rand(2, *_nhwc_shape((1, 5, 4, 2), fmt)), rand(3, 3, 2, 2, 3)
    attrs = dict(case, use_cudnn_on_gpu=True, explicit_paddings=[])
    with tf.Graph().as_default():
        dy_shape = run(tf.nn.conv2d(x, f, **case)).shape
    dy = rand(4, *dy_shape)
    # Conv2DBackpropInput (conv2d_transpose) in filter and out_backprop; its gradient: Conv2DBackpropFilter + Conv2D.
    numeric_check(lambda b, g: backprop_op("Conv2DBackpropInput", [tf.constant(list(x.shape)), b, g], attrs), [f, dy])
    # Conv2DBackpropFilter in input and out_backprop; its gradient: Conv2DBackpropInput + Conv2D.
    numeric_check(lambda a, g: backprop_op("Conv2DBackpropFilter", [a, tf.constant(list(f.shape)), g], attrs), [x, dy])


@pytest.mark.parametrize("case", CONV_CASES)
def test_depthwise_gradients(case):
    fmt = case["data_format"]
    x, f = rand(5, *_nhwc_shape((1, 5, 4, 2), fmt)), rand(6, 3, 2, 2, 2)
    numeric_check(lambda a, b: tf.nn.depthwise_conv2d_native(a, b, **case), [x, f])
    with tf.Graph().as_default():
        dy = rand(7, *run(tf.nn.depthwise_conv2d_native(x, f, **case)).shape)
    attrs = dict(case, explicit_paddings=[])
    numeric_check(lambda b, g: backprop_op("DepthwiseConv2dNativeBackpropInput", [tf.constant(list(x.shape)), b, g],
                                           attrs), [f, dy])
    numeric_check(lambda a, g: backprop_op("DepthwiseConv2dNativeBackpropFilter", [a, tf.constant(list(f.shape)), g],
                                           attrs), [x, dy])


POOL_CASES = [dict(ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", data_format="NHWC"),
              dict(ksize=[1, 3, 3, 1], strides=[1, 2, 1, 1], padding="SAME", data_format="NHWC"),
              dict(ksize=[1, 1, 2, 3], strides=[1, 1, 1, 2], padding="SAME", data_format="NCHW")]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_gradients(case):
    x = distinct(8, *_nhwc_shape((2, 5, 4, 2), case["data_format"]))
    numeric_check(lambda a: tf.nn.max_pool(a, **case), [x])
    with tf.Graph().as_default():
        y = tf.nn.max_pool(x, **case)
        dy = rand(9, *run(y).shape)
    # MaxPoolGrad is linear in its grad: its gradient there is MaxPoolGradGrad, whose own is MaxPoolGrad.
    numeric_check(lambda g: backprop_op("MaxPoolGrad", [tf.constant(x), tf.nn.max_pool(tf.constant(x), **case), g],
                                        dict(case, explicit_paddings=[])), [dy])
    numeric_check(lambda g: backprop_op("MaxPoolGradGrad", [tf.constant(x), tf.nn.max_pool(tf.constant(x), **case),
                                                            g], case), [rand(10, *x.shape)])


@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool_gradients(case):
    x = rand(11, *_nhwc_shape((2, 5, 4, 2), case["data_format"]))
    numeric_check(lambda a: tf.nn.avg_pool(a, **case), [x])
    with tf.Graph().as_default():
        dy = rand(12, *run(tf.nn.avg_pool(x, **case)).shape)
    numeric_check(lambda g: backprop_op("AvgPoolGrad", [tf.constant(list(x.shape)), g], case), [dy])


def test_max_pool_grad_gives_ties_to_the_first_maximum():
    x = np.array([[1, 3], [3, 2]], np.float32).reshape(1, 2, 2, 1)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        dx = tf.gradients(tf.nn.max_pool(xt, 2, 2, "VALID"), xt)[0]
        np.testing.assert_array_equal(run(dx).ravel(), [0, 1, 0, 0])


def test_max_pool_grad_over_exact_tiles_matches_the_general_path_with_many_ties():
    """2x2/2 pooling that tiles its input takes a fast path (tap by tap); pooling that overlaps takes the
    argmax path. Both give each window's gradient to its first maximum, ReLU's zeros tying everywhere."""
    rng = np.random.RandomState(5)
    x = np.maximum(rng.randint(-3, 3, size=(2, 8, 6, 3)), 0).astype(np.float32)
    dy = rng.rand(2, 4, 3, 3).astype(np.float32)
    windows = x.reshape(2, 4, 2, 3, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(2, 4, 3, 3, 4)
    first = windows.argmax(axis=-1)  # numpy's argmax picks the first maximum
    want = np.zeros((2, 4, 3, 3, 4), np.float32)
    np.put_along_axis(want, first[..., None], dy[..., None], axis=-1)
    want = want.reshape(2, 4, 3, 3, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        fast = tf.gradients(tf.nn.max_pool(xt, 2, 2, "VALID"), xt, grad_ys=tf.constant(dy))[0]
        padded = tf.concat([xt, tf.fill([2, 1, 6, 3], -1.0)], 1)
        padded = tf.concat([padded, tf.fill([2, 9, 1, 3], -1.0)], 2)  # 9x7: the windows no longer tile it
        general = tf.gradients(tf.nn.max_pool(padded, 2, 2, "VALID"), xt, grad_ys=tf.constant(dy))[0]
        got_fast, got_general = run([fast, general])
    np.testing.assert_array_equal(got_fast, want)
    np.testing.assert_array_equal(got_general, want)


# -- interchange: tfmini builds TensorFlow's graph, and TensorFlow runs tfmini's -------------------------

def golden_net():
    """The net of tools/make_tf_goldens.py:conv_net, built here by tfmini."""
    rng = np.random.RandomState(2)

    def ints(*shape):
        return rng.randint(-2, 3, size=shape).astype(np.float32)
    image = tf.Variable((rng.permutation(2 * 6 * 6 * 2) * 8.0 - 280).reshape(2, 6, 6, 2).astype(np.float32),
                        name="image")
    w_same = tf.Variable(ints(3, 3, 2, 3), name="w_same")
    w_valid = tf.Variable(ints(2, 2, 2, 3), name="w_valid")
    w_depthwise = tf.Variable(ints(3, 3, 2, 2), name="w_depthwise")
    w_transpose = tf.Variable(ints(3, 3, 2, 3), name="w_transpose")
    pooled = tf.nn.max_pool(image, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", name="max_pool")
    valid = tf.nn.conv2d(pooled, w_valid, strides=[1, 1, 1, 1], padding="VALID", name="conv_valid")
    same = tf.nn.conv2d(image, w_same, strides=[1, 2, 2, 1], padding="SAME", name="conv_same")
    averaged = tf.nn.avg_pool(same, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="VALID", name="avg_pool")
    depthwise = tf.nn.depthwise_conv2d(image, w_depthwise, [1, 1, 1, 1], "SAME", name="depthwise")
    transposed = tf.nn.conv2d_transpose(valid, w_transpose, [2, 4, 4, 2], [1, 2, 2, 1], padding="SAME",
                                        name="transpose")
    loss = tf.add_n([tf.reduce_sum(transposed * ints(2, 4, 4, 2)), tf.reduce_sum(averaged * ints(2, 2, 2, 3)),
                     tf.reduce_sum(depthwise * ints(2, 6, 6, 4))], name="loss")
    train = tf.train.GradientDescentOptimizer(2.0 ** -8).minimize(loss, name="train")
    return loss, train


CONV_TYPES = {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNative", "MaxPool",
              "MaxPoolGrad", "AvgPool", "AvgPoolGrad", "DepthwiseConv2dNativeBackpropInput",
              "DepthwiseConv2dNativeBackpropFilter", "ShapeN"}


def test_conv_nodes_are_those_tensorflow_writes():
    from tfmini import importer
    theirs = importer.read_graph(str(ROOT / "tests" / "data" / "tf_graphs" / "conv_net.pbtxt"))
    with tf.Graph().as_default() as g:
        golden_net()
    ours = g.as_graph_def()

    def conv_nodes(graph_def):
        by_name = {n.name: n for n in graph_def.node}

        def source(name):  # through the Identity nodes the gradients' tuples add (TF has more of them)
            node = by_name[name.split(":")[0]]
            return source(node.input[0]) if node.op == "Identity" else (node.name, node.op if node.op != "Const"
                                                                          else "Shape")
        return {n.name: (n.op, [source(i) for i in n.input], {k: v for k, v in n.attr.items() if not k.startswith("_")})
                for n in graph_def.node if n.op in CONV_TYPES}
    assert conv_nodes(ours) == conv_nodes(theirs)


def test_tfmini_conv_graph_runs_on_tensorflow(tmp_path, tf_python):
    import json
    from test_tf_interchange import _TF_SCRIPT
    with tf.Graph().as_default() as g:
        loss, train = golden_net()
        init = tf.global_variables_initializer()
        fetches = [init.name, loss.name, train.name, "w_same:0", "image:0", loss.name]
        with tf.Session() as sess:
            ours = [sess.run(f) for f in fetches]
        tf.io.write_graph(g, str(tmp_path), "g.pbtxt")
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(tmp_path / "g.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for i in (1, 3, 4, 5):
        np.testing.assert_allclose(np.float32(theirs[i]), ours[i], rtol=1e-6, err_msg=fetches[i])


# -- a program: the digits conv net ------------------------------------------------------------------------

def test_convnet_digits_example_learns():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "convnet_digits.py"), "--quiet"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    accuracy = float(out.stdout.strip().splitlines()[-1].split()[-1])
    assert accuracy >= 0.95, out.stdout
