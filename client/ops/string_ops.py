"""String and parsing ops of TF 1.x input pipelines: tf.decode_csv, decode_raw, string_split, string_to_number
(tf.strings.to_number), substr, string_join, as_string."""
from tfmini.core import dtypes, op_registry
from tfmini.core.broadcast import broadcast_shape
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import name_scope
from tfmini.ops.core import convert_to_tensor


def _create(op_type, inputs, attrs, scope):
    return inputs[0].graph.create_op(op_type, inputs, attrs, name=scope)


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None, na_value="",
               select_cols=None):
    """One tensor per column, each of `records`' shape; `record_defaults[i]` gives column i's dtype and the
    value of an empty field (an empty default makes the column required)."""
    if select_cols is not None and any(select_cols[i] >= select_cols[i + 1] for i in range(len(select_cols) - 1)):
        raise ValueError("select_cols is not strictly increasing.")
    if select_cols is not None and select_cols and select_cols[0] < 0:
        raise ValueError("select_cols contains negative values.")
    if select_cols is not None and len(select_cols) != len(record_defaults):
        raise ValueError("Length of select_cols and record_defaults do not match.")
    with name_scope(name, "DecodeCSV") as scope:
        records = convert_to_tensor(records, dtype=dtypes.string, name="records")
        defaults = [convert_to_tensor(d, name=f"record_defaults_{i}") for i, d in enumerate(record_defaults)]
        attrs = {"OUT_TYPE": [d.dtype.base_dtype for d in defaults], "field_delim": field_delim,
                 "use_quote_delim": bool(use_quote_delim), "na_value": na_value,
                 "select_cols": list(select_cols or [])}
        return list(_create("DecodeCSV", [records] + defaults, attrs, scope).outputs)


def decode_raw(input_bytes=None, out_type=None, little_endian=True, name=None, bytes=None):  # noqa: A002
    """The bytes of each string as a vector of `out_type` (shape: input's + [n])."""
    input_bytes = bytes if input_bytes is None else input_bytes
    with name_scope(name, "DecodeRaw") as scope:
        data = convert_to_tensor(input_bytes, dtype=dtypes.string, name="bytes")
        attrs = {"out_type": dtypes.as_dtype(out_type), "little_endian": bool(little_endian)}
        return _create("DecodeRaw", [data], attrs, scope).outputs[0]


def string_split(source, delimiter=" ", skip_empty=True, delimiter_=None):
    """tf.string_split: a SparseTensor of the tokens of each string of the 1-D `source` (each character of
    `delimiter` splits; an empty delimiter splits into characters)."""
    from tfmini.sparse_tensor import SparseTensor
    with name_scope(None, "StringSplit"):  # as TF: the op is StringSplit/StringSplit
        source = convert_to_tensor(source, dtype=dtypes.string, name="input")
        delim = convert_to_tensor(delimiter, dtype=dtypes.string, name="delimiter")
        op = _create("StringSplit", [source, delim], {"skip_empty": bool(skip_empty)}, "StringSplit")
    return SparseTensor(*op.outputs)


def string_to_number(string_tensor, out_type=dtypes.float32, name=None):
    with name_scope(name, "StringToNumber") as scope:
        s = convert_to_tensor(string_tensor, dtype=dtypes.string, name="string_tensor")
        return _create("StringToNumber", [s], {"out_type": dtypes.as_dtype(out_type)}, scope).outputs[0]


def to_number(string_tensor, out_type=dtypes.float32, name=None):
    """tf.strings.to_number (TF 2's argument order is the same)."""
    return string_to_number(string_tensor, out_type, name)


def substr(input, pos, len, name=None, unit="BYTE"):  # noqa: A002 - TF's argument names
    if unit != "BYTE":
        raise NotImplementedError("tf.substr(unit='UTF8_CHAR') is not supported by tfmini")
    with name_scope(name, "Substr") as scope:
        s = convert_to_tensor(input, dtype=dtypes.string, name="input")
        p = convert_to_tensor(pos, name="pos", preferred_dtype=dtypes.int32)
        n = convert_to_tensor(len, dtype=p.dtype.base_dtype, name="len")
        return _create("Substr", [s, p, n], {"T": p.dtype.base_dtype, "unit": unit}, scope).outputs[0]


def string_join(inputs, separator="", name=None):
    with name_scope(name, "StringJoin") as scope:
        tensors = [convert_to_tensor(x, preferred_dtype=dtypes.string, name=f"inputs_{i}")  # a float: TF's TypeError
                   for i, x in enumerate(inputs)]
        return _create("StringJoin", tensors, {"N": len(tensors), "separator": separator},
                       scope).outputs[0]


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="", name=None):  # noqa: A002
    with name_scope(name, "AsString") as scope:
        x = convert_to_tensor(input, name="input")
        attrs = {"T": x.dtype.base_dtype, "precision": precision, "scientific": scientific, "shortest": shortest,
                 "width": width, "fill": fill}
        return _create("AsString", [x], attrs, scope).outputs[0]


# -- shape functions ----------------------------------------------------------------------------------------
def _broadcast(shapes):
    if any(s.ndims is None for s in shapes):
        return TensorShape(None)
    out = []
    for s in shapes:
        out = broadcast_shape(out, s.as_list())
    return TensorShape(out)


@op_registry.shape_fn("DecodeCSV")
def _decode_csv_shape(op):
    shape = op.inputs[0].shape
    return [(t, shape) for t in op.get_attr("OUT_TYPE")]


@op_registry.shape_fn("DecodeRaw")
def _decode_raw_shape(op):
    shape = op.inputs[0].shape
    return [(op.get_attr("out_type"), shape.concatenate(TensorShape([None])))]


op_registry.register("StringSplit", lambda op: [(dtypes.int64, TensorShape([None, 2])),
                                                (dtypes.string, TensorShape([None])),
                                                (dtypes.int64, TensorShape([2]))])
op_registry.register("StringToNumber", lambda op: [(op.get_attr("out_type"), op.inputs[0].shape)])
op_registry.register("AsString", lambda op: [(dtypes.string, op.inputs[0].shape)])
op_registry.register("Substr", lambda op: [(dtypes.string, _broadcast([t.shape for t in op.inputs]))])
op_registry.register("StringJoin", lambda op: [(dtypes.string, _broadcast([t.shape for t in op.inputs]))])
