"""Shape and layout ops: placeholders, fills, reshape, concat/stack, slicing, one_hot, and Tensor[...]."""
import builtins

import numpy as np

from tfmini.core import dtypes, op_registry
from tfmini.core.indexing import slice_spec
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, _graph_of, get_default_graph
from tfmini.ops import shape_fns
from tfmini.ops.core import constant, constant_shape, constant_value, convert_to_tensor, make_output



def placeholder(dtype, shape=None, name=None):
    dtype = dtypes.as_dtype(dtype)
    shape = TensorShape(shape)
    return get_default_graph().create_op("Placeholder", [], {"dtype": dtype, "shape": shape},
                                         name=name or "Placeholder").outputs[0]


def placeholder_with_default(input, shape, name=None):  # noqa: A002
    x = convert_to_tensor(input)
    return make_output("PlaceholderWithDefault", [x], {"dtype": x.dtype.base_dtype, "shape": TensorShape(shape)},
                       name=name or "PlaceholderWithDefault", same_dtype=False, arg_names=["input"])


op_registry.register("Placeholder", lambda op: [(op.get_attr("dtype"), TensorShape(op.get_attr("shape")))])
op_registry.register("PlaceholderWithDefault",
                     lambda op: [(op.get_attr("dtype"), TensorShape(op.get_attr("shape")))])
op_registry.register("Const", lambda op: [(op.get_attr("dtype"), TensorShape(op.get_attr("value").tensor_shape))])


def identity(input, name=None):  # noqa: A002
    return make_output("Identity", [input], name=name or "Identity", arg_names=["input"])


def stop_gradient(input, name=None):  # noqa: A002
    return make_output("StopGradient", [input], name=name or "StopGradient", arg_names=["input"])


def fill(dims, value, name=None):
    graph = _graph_of([dims, value])
    with graph.as_default(), graph.name_scope(name or "Fill") as scope:
        dims = convert_to_tensor(dims, name="dims", preferred_dtype=dtypes.int32)
        value = convert_to_tensor(value, name="value")
        return graph.create_op("Fill", [dims, value], {"T": value.dtype.base_dtype,
                                                       "index_type": dims.dtype.base_dtype}, name=scope).outputs[0]


op_registry.register("Fill", lambda op: [(op.inputs[1].dtype.base_dtype, constant_shape(op.inputs[0]))])


def _filled(value, shape, dtype, name):
    dtype = dtypes.as_dtype(dtype)
    if isinstance(shape, Tensor):
        return fill(shape, constant(value, dtype=dtype), name=name)
    shape = [int(d) for d in (shape if isinstance(shape, (list, tuple, np.ndarray)) else [shape])]
    if int(np.prod(shape)) < 1000:  # TF writes small fills as one Const
        return constant(value, dtype=dtype, shape=shape, name=name)
    with get_default_graph().name_scope(name) as scope:
        return fill(constant(shape, dtype=dtypes.int32, name="shape"), constant(value, dtype=dtype, name="Const"),
                    name=scope)


def zeros(shape, dtype=dtypes.float32, name=None):
    return _filled(0, shape, dtype, name or "zeros")


def ones(shape, dtype=dtypes.float32, name=None):
    return _filled(1, shape, dtype, name or "ones")


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    x = convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != x.dtype.base_dtype:
        return zeros(shape(x), dtype=dtype, name=name)
    return make_output("ZerosLike", [x], name=name or "zeros_like")


def ones_like(tensor, dtype=None, name=None, optimize=True):
    x = convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != x.dtype.base_dtype:
        return ones(shape(x), dtype=dtype, name=name)
    return make_output("OnesLike", [x], name=name or "ones_like")


op_registry.register(["ZerosLike", "OnesLike"], shape_fns.unchanged)


def _shape_op(op_type):
    def fn(input, name=None, out_type=dtypes.int32):  # noqa: A002
        x = convert_to_tensor(input)
        return make_output(op_type, [x], {"T": x.dtype.base_dtype, "out_type": dtypes.as_dtype(out_type)},
                           name=name or op_type, same_dtype=False, arg_names=["input"])
    return fn


shape = _shape_op("Shape")
size = _shape_op("Size")


def rank(input, name=None):  # noqa: A002
    x = convert_to_tensor(input)
    return make_output("Rank", [x], {"T": x.dtype.base_dtype}, name=name or "Rank", same_dtype=False)


op_registry.register("Shape", lambda op: [(op.get_attr("out_type"), TensorShape([op.inputs[0].shape.ndims]))])
op_registry.register("Size", lambda op: [(op.get_attr("out_type"), TensorShape([]))])
op_registry.register("Rank", shape_fns.scalar_of(dtypes.int32))


def _with_index_input(op_type, name, x, x_arg, index, index_arg, index_attr):
    """`op_type` on a data tensor (attr `T`) and one integer tensor (attr `index_attr`), in TF's wrapper scope."""
    graph = _graph_of([x, index])
    with graph.as_default(), graph.name_scope(name or op_type) as scope:
        x = convert_to_tensor(x, name=x_arg)
        index = convert_to_tensor(index, name=index_arg, preferred_dtype=dtypes.int32)  # [] is an int32 index, as in TF
        attrs = {"T": x.dtype.base_dtype, index_attr: index.dtype.base_dtype}
        return graph.create_op(op_type, [x, index], attrs, name=scope).outputs[0]


def reshape(tensor, shape, name=None):
    return _with_index_input("Reshape", name, tensor, "tensor", shape, "shape", "Tshape")


@op_registry.shape_fn("Reshape")
def _reshape_shape(op):
    x, s = op.inputs
    target = constant_shape(s)
    if target.ndims is None:
        return [(x.dtype.base_dtype, target)]
    dims = target.as_list()
    value = constant_value(s)
    if value is not None:
        dims = [int(d) for d in np.reshape(value, [-1])]
        for d in dims:
            if d < -1:
                raise ValueError(f"Invalid value in tensor used for shape: {d}")
        if dims.count(-1) > 1:
            raise ValueError(f"Cannot infer multiple unknown dimensions in shape {dims} for '{op.name}'")
        n = x.shape.num_elements()
        known = int(np.prod([d for d in dims if d != -1]))
        if -1 in dims:
            fill_dim = n // known if n is not None and known else None
            if n is not None and known and n % known:
                raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} for '{op.name}'")
            dims = [fill_dim if d == -1 else d for d in dims]
        elif n is not None and n != known:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} ({known} elements) "
                             f"for '{op.name}' (op: 'Reshape')")
    return [(x.dtype.base_dtype, TensorShape(dims))]


def transpose(a, perm=None, name="transpose", conjugate=False):
    graph = _graph_of([a])
    with graph.as_default(), graph.name_scope(name) as scope:
        x = convert_to_tensor(a, name="a")
        if perm is None:
            if x.shape.ndims is not None:
                perm = np.arange(x.shape.ndims)[::-1].astype(np.int32)
            else:
                r = rank(x)
                perm = make_output("Sub", [make_output("Sub", [r, 1], name="sub"), make_output(
                    "Range", [0, r, 1], name="Range")], name="sub_1")
        p = convert_to_tensor(perm, name="perm", preferred_dtype=dtypes.int32)  # [] for a scalar: int32, as TF
        return graph.create_op("Transpose", [x, p], {"T": x.dtype.base_dtype, "Tperm": p.dtype.base_dtype},
                               name=scope).outputs[0]


@op_registry.shape_fn("Transpose")
def _transpose_shape(op):
    x, p = op.inputs
    perm = constant_value(p)
    if perm is None or x.shape.ndims is None:
        n = x.shape.ndims
        return [(x.dtype.base_dtype, TensorShape(None if n is None else [None] * n))]
    if len(perm) != x.shape.ndims:
        raise ValueError(f"Dimension must be {x.shape.ndims} but is {len(perm)} for '{op.name}' (op: 'Transpose')")
    dims = x.shape.as_list()
    return [(x.dtype.base_dtype, TensorShape([dims[i] for i in perm]))]


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    return _with_index_input("ExpandDims", name, input, "input", axis if axis is not None else dim, "dim", "Tdim")


@op_registry.shape_fn("ExpandDims")
def _expand_dims_shape(op):
    x, a = op.inputs
    axis = constant_value(a)
    if x.shape.ndims is None or axis is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    dims = x.shape.as_list()
    axis = int(np.reshape(axis, [-1])[0])
    if not -len(dims) - 1 <= axis <= len(dims):
        raise ValueError(f"Invalid dim {axis} for '{op.name}': rank is {len(dims)}")
    axis = axis + len(dims) + 1 if axis < 0 else axis
    return [(x.dtype.base_dtype, TensorShape(dims[:axis] + [1] + dims[axis:]))]


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    axis = axis if axis is not None else squeeze_dims
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return make_output("Squeeze", [input], {"squeeze_dims": axis}, name=name or "Squeeze", arg_names=["input"])


@op_registry.shape_fn("Squeeze")
def _squeeze_shape(op):
    x = op.inputs[0]
    axes = op.get_attr("squeeze_dims")
    if x.shape.ndims is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    dims = x.shape.as_list()
    axes = [a % len(dims) for a in axes]
    for a in axes:
        if dims[a] not in (None, 1):
            raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]} for '{op.name}'")
    if axes:
        out = [d for i, d in enumerate(dims) if i not in axes]
    elif any(d is None for d in dims):
        return [(x.dtype.base_dtype, TensorShape(None))]
    else:
        out = [d for d in dims if d != 1]
    return [(x.dtype.base_dtype, TensorShape(out))]


def concat(values, axis, name="concat"):
    if isinstance(values, (int, np.integer)) and isinstance(axis, (list, builtins.tuple)):
        values, axis = axis, values  # TF 0.x's tf.concat(concat_dim, values): unambiguous, so accepted
    values = list(values)
    if len(values) == 1:
        with get_default_graph().name_scope(name) as scope:
            return identity(values[0], name=scope)
    graph = _graph_of(values)
    with graph.as_default(), graph.name_scope(name) as scope:
        dtype = next((v.dtype.base_dtype for v in values if isinstance(v, Tensor)), None)
        tensors = [convert_to_tensor(v, preferred_dtype=dtype, name=f"values_{i}") for i, v in enumerate(values)]
        a = convert_to_tensor(axis, name="axis")
        return graph.create_op("ConcatV2", tensors + [a], {"N": len(tensors), "T": tensors[0].dtype.base_dtype,
                                                           "Tidx": a.dtype.base_dtype}, name=scope).outputs[0]


@op_registry.shape_fn("ConcatV2")
def _concat_shape(op):
    values, a = op.inputs[:-1], op.inputs[-1]
    dtype = values[0].dtype.base_dtype
    for v in values:
        if v.dtype.base_dtype != dtype:
            raise TypeError(f"Tensors in list passed to 'values' of 'ConcatV2' Op have types "
                            f"[{', '.join(t.dtype.base_dtype.name for t in values)}] that don't all match.")
    axis = constant_value(a)
    ranks = {v.shape.ndims for v in values} - {None}
    if len(ranks) > 1:
        raise ValueError(f"Shape must be rank {min(ranks)} but is rank {max(ranks)} for '{op.name}' (op: 'ConcatV2')")
    if axis is None or not ranks:
        return [(dtype, TensorShape(None if not ranks else [None] * ranks.pop()))]
    r = ranks.pop()
    axis = int(axis)
    if not -r <= axis < r:
        raise ValueError(f"ConcatV2 axis {axis} is out of range for rank {r} in '{op.name}'")
    axis %= r
    out = [None] * r
    for v in values:
        if v.shape.ndims is None:
            continue
        for i, d in enumerate(v.shape.as_list()):
            if i != axis:
                out[i] = out[i] if d is None else d if out[i] is None or out[i] == d else _clash(op, v, i, out[i], d)
    sizes = [v.shape[axis] if v.shape.ndims is not None else None for v in values]
    out[axis] = None if any(s is None for s in sizes) else sum(sizes)
    return [(dtype, TensorShape(out))]


def _clash(op, v, i, a, b):
    raise ValueError(f"Dimension {i} in both shapes must be equal, but are {a} and {b} for '{op.name}' "
                     f"(op: 'ConcatV2')")


def stack(values, axis=0, name="stack"):
    values = list(values)
    graph = _graph_of(values)
    with graph.as_default(), graph.name_scope(name) as scope:
        dtype = next((v.dtype.base_dtype for v in values if isinstance(v, Tensor)), None)
        tensors = [convert_to_tensor(v, preferred_dtype=dtype, name=f"values_{i}") for i, v in enumerate(values)]
        return graph.create_op("Pack", tensors, {"N": len(tensors), "T": tensors[0].dtype.base_dtype,
                                                 "axis": int(axis)}, name=scope).outputs[0]


pack = stack


@op_registry.shape_fn("Pack")
def _pack_shape(op):
    shape = TensorShape(None)
    for v in op.inputs:
        if v.dtype.base_dtype != op.inputs[0].dtype.base_dtype:
            raise TypeError("Tensors in list passed to 'values' of 'Pack' Op have types that don't all match.")
        shape = shape.merge_with(v.shape)
    if shape.ndims is None:
        return [(op.inputs[0].dtype.base_dtype, TensorShape(None))]
    dims = shape.as_list()
    axis = op.get_attr("axis")
    if not -len(dims) - 1 <= axis <= len(dims):
        raise ValueError(f"Pack axis {axis} is out of range for '{op.name}'")
    axis = axis + len(dims) + 1 if axis < 0 else axis
    return [(op.inputs[0].dtype.base_dtype, TensorShape(dims[:axis] + [len(op.inputs)] + dims[axis:]))]


def unstack(value, num=None, axis=0, name="unstack"):
    x = convert_to_tensor(value)
    if num is None:
        num = x.shape[axis] if x.shape.ndims is not None else None
    if num is None:
        raise ValueError(f"Cannot infer num from shape {x.shape}")
    op = make_output("Unpack", [x], {"num": num, "axis": axis}, name=name, arg_names=["value"]).op
    return op.outputs


unpack = unstack


@op_registry.shape_fn("Unpack")
def _unpack_shape(op):
    x = op.inputs[0]
    num, axis = op.get_attr("num"), op.get_attr("axis")
    if x.shape.ndims is None:
        return [(x.dtype.base_dtype, TensorShape(None))] * num
    dims = x.shape.as_list()
    del dims[axis]
    return [(x.dtype.base_dtype, TensorShape(dims))] * num


def _gather_shape(params, indices, axis):
    if params.shape.ndims is None or indices.shape.ndims is None or axis is None:
        return TensorShape(None)
    dims = params.shape.as_list()
    axis = int(np.reshape(axis, [-1])[0]) % max(len(dims), 1)
    return TensorShape(dims[:axis] + indices.shape.as_list() + dims[axis + 1:])


op_registry.register("Gather", lambda op: [(op.inputs[0].dtype.base_dtype,
                                           _gather_shape(op.inputs[0], op.inputs[1], 0))])
op_registry.register("GatherV2", lambda op: [(op.inputs[0].dtype.base_dtype, _gather_shape(
    op.inputs[0], op.inputs[1], constant_value(op.inputs[2])))])


def slice(input_, begin, size, name=None):  # noqa: A001 - TensorFlow's name
    graph = _graph_of([input_])
    with graph.as_default(), graph.name_scope(name or "Slice") as scope:
        x = convert_to_tensor(input_, name="input")
        b = convert_to_tensor(begin, name="begin", preferred_dtype=dtypes.int32)
        s = convert_to_tensor(size, dtype=b.dtype, name="size")
        return graph.create_op("Slice", [x, b, s], {"T": x.dtype.base_dtype, "Index": b.dtype.base_dtype},
                               name=scope).outputs[0]


@op_registry.shape_fn("Slice")
def _slice_shape(op):
    x, b, s = op.inputs
    begin, size = constant_value(b), constant_value(s)
    if size is None or x.shape.ndims is None:
        n = x.shape.ndims if x.shape.ndims is not None else (s.shape[0] if s.shape.ndims == 1 else None)
        return [(x.dtype.base_dtype, TensorShape(None if n is None else [None] * n))]
    dims = x.shape.as_list()
    out = []
    for i, sz in enumerate(size):
        if sz == -1:
            out.append(None if begin is None or dims[i] is None else dims[i] - int(begin[i]))
        else:
            out.append(int(sz))
    return [(x.dtype.base_dtype, TensorShape(out))]


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, name=None):
    graph = _graph_of([input_])
    with graph.as_default(), graph.name_scope(name or "StridedSlice") as scope:
        x = convert_to_tensor(input_, name="input")
        b = convert_to_tensor(begin, name="begin", preferred_dtype=dtypes.int32)
        e = convert_to_tensor(end, dtype=b.dtype, name="end")
        st = convert_to_tensor(strides if strides is not None else np.ones(len(begin), np.int32),
                               dtype=b.dtype, name="strides")
        attrs = {"T": x.dtype.base_dtype, "Index": b.dtype.base_dtype, "begin_mask": begin_mask,
                 "end_mask": end_mask, "ellipsis_mask": ellipsis_mask, "new_axis_mask": new_axis_mask,
                 "shrink_axis_mask": shrink_axis_mask}
        return graph.create_op("StridedSlice", [x, b, e, st], attrs, name=scope).outputs[0]


def strided_slice_spec(op):
    """The (begin, end, strides, masks) of a StridedSlice op as a tuple of Python slices/ints/None/Ellipsis."""
    begin, end, strides = (constant_value(t) for t in op.inputs[1:4])
    if begin is None or end is None or strides is None:
        return None
    masks = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                         "shrink_axis_mask")}
    return slice_spec(begin, end, strides, **masks)


@op_registry.shape_fn("StridedSlice")
def _strided_slice_shape(op):
    x = op.inputs[0]
    spec = strided_slice_spec(op)
    if spec is None or x.shape.ndims is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    # Apply the index to a dummy array of the known dims (unknown dims -> None in the result).
    dims = x.shape.as_list()
    probe = np.empty([d if d is not None else 1 for d in dims], dtype=np.int8)
    try:
        out = probe[spec].shape
    except IndexError as e:
        raise ValueError(f"slice index out of bounds for '{op.name}': {e}") from None
    unknown = _unknown_output_dims(dims, spec)
    return [(x.dtype.base_dtype, TensorShape([None if i in unknown else d for i, d in enumerate(out)]))]


def _unknown_output_dims(dims, spec):
    """Which output dims come from input dims that are unknown and sliced (not fixed by the slice)."""
    unknown, out_i, in_i = set(), 0, 0
    n_real = sum(1 for s in spec if s is not None and s is not Ellipsis)
    for s in spec:
        if s is Ellipsis:
            for _ in builtins.range(len(dims) - n_real):
                if dims[in_i] is None:
                    unknown.add(out_i)
                in_i, out_i = in_i + 1, out_i + 1
        elif s is None:
            out_i += 1
        elif isinstance(s, int):
            in_i += 1
        else:
            if dims[in_i] is None:
                unknown.add(out_i)
            in_i, out_i = in_i + 1, out_i + 1
    for d in dims[in_i:]:
        if d is None:
            unknown.add(out_i)
        out_i += 1
    return unknown


def _getitem(tensor, key):
    """Tensor[...] as a StridedSlice, with TF's masks."""
    key = key if isinstance(key, tuple) else (key,)
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, k in enumerate(key):
        bit = 1 << i
        if isinstance(k, builtins.slice):
            begin.append(0 if k.start is None else k.start)
            end.append(0 if k.stop is None else k.stop)
            strides.append(1 if k.step is None else k.step)
            masks["begin_mask"] |= bit if k.start is None else 0
            masks["end_mask"] |= bit if k.stop is None else 0
        elif k is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif k is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            begin.append(k), end.append(k + 1 if isinstance(k, int) else make_output("Add", [k, 1], name="add")),
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    with get_default_graph().name_scope("strided_slice") as scope:
        packed = [stack(v) if any(isinstance(e, Tensor) for e in v) else np.array(v, dtype=np.int32)
                  for v in (begin, end, strides)]
        return strided_slice(tensor, packed[0], packed[1], packed[2], name=scope, **masks)


Tensor._override_operator("__getitem__", _getitem)


def tile(input, multiples, name=None):  # noqa: A002
    return _with_index_input("Tile", name, input, "input", multiples, "multiples", "Tmultiples")


@op_registry.shape_fn("Tile")
def _tile_shape(op):
    x, m = op.inputs
    mult = constant_value(m)
    if x.shape.ndims is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    if mult is None:
        return [(x.dtype.base_dtype, TensorShape([None] * x.shape.ndims))]
    return [(x.dtype.base_dtype, TensorShape([None if d is None else d * int(k)
                                              for d, k in zip(x.shape.as_list(), mult)]))]


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    graph = _graph_of([indices])
    with graph.as_default(), graph.name_scope(name or "one_hot") as scope:
        idx = convert_to_tensor(indices, name="indices")
        dtype = dtypes.as_dtype(dtype) if dtype is not None else (
            on_value.dtype.base_dtype if isinstance(on_value, Tensor) else dtypes.float32)
        d = convert_to_tensor(depth, dtype=dtypes.int32, name="depth")
        on = convert_to_tensor(1 if on_value is None else on_value, dtype=dtype, name="on_value")
        off = convert_to_tensor(0 if off_value is None else off_value, dtype=dtype, name="off_value")
        attrs = {"T": dtype, "TI": idx.dtype.base_dtype, "axis": -1 if axis is None else axis}
        return graph.create_op("OneHot", [idx, d, on, off], attrs, name=scope).outputs[0]


@op_registry.shape_fn("OneHot")
def _one_hot_shape(op):
    idx, d = op.inputs[:2]
    depth = constant_value(d)
    depth = None if depth is None else int(depth)
    if idx.shape.ndims is None:
        return [(op.get_attr("T"), TensorShape(None))]
    dims = idx.shape.as_list()
    axis = op.get_attr("axis")
    axis = len(dims) if axis == -1 else axis
    return [(op.get_attr("T"), TensorShape(dims[:axis] + [depth] + dims[axis:]))]


op_registry.register("Range", lambda op: [(op.inputs[0].dtype.base_dtype, TensorShape([_range_len(op)]))])


def _range_len(op):
    values = [constant_value(t) for t in op.inputs]
    if any(v is None for v in values):
        return None
    return len(np.arange(*[v.item() for v in values]))


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001 - TensorFlow's name
    if limit is None:
        start, limit = 0, start
    graph = _graph_of([start, limit, delta])
    with graph.as_default(), graph.name_scope(name) as scope:
        inferred = dtypes.as_dtype(dtype) if dtype is not None else max(
            (convert_to_tensor(v).dtype.base_dtype if isinstance(v, Tensor) else
             dtypes.as_dtype(np.asarray(v).dtype if not isinstance(v, (int, float)) else type(v))
             for v in (start, limit, delta)), key=lambda t: [dtypes.int32, dtypes.int64, dtypes.float32,
                                                              dtypes.float64].index(t))
        tensors = [convert_to_tensor(v, dtype=inferred, name=n) for v, n in
                   ((start, "start"), (limit, "limit"), (delta, "delta"))]
        return graph.create_op("Range", tensors, {"Tidx": inferred}, name=scope).outputs[0]

