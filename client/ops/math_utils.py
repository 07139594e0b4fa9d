"""top_k (TopKV2), cumsum/cumprod (Cumsum/Cumprod) and einsum (Einsum), with TF's names and attrs."""
import collections

from tfmini.core import dtypes, op_registry
from tfmini.core.broadcast import IncompatibleShapes, broadcast_shape
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import _graph_of
from tfmini.ops import shape_fns
from tfmini.ops.core import constant_value, convert_to_tensor

TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, name=None, index_type=dtypes.int32):  # noqa: A002 - TF's names
    """tf.nn.top_k: the k largest entries of the last axis, in descending order (ties: lower index first)."""
    graph = _graph_of([input, k])
    with graph.as_default(), graph.name_scope(name or "TopKV2") as scope:
        x = convert_to_tensor(input, name="input")
        k_t = convert_to_tensor(k, dtype=dtypes.int32 if not hasattr(k, "dtype") else None, name="k")
        attrs = {"T": x.dtype.base_dtype, "Tk": k_t.dtype.base_dtype, "index_type": dtypes.as_dtype(index_type),
                 "sorted": bool(sorted)}
        return TopKV2(*graph.create_op("TopKV2", [x, k_t], attrs, name=scope).outputs)


@op_registry.shape_fn("TopKV2")
def _top_k_shape(op):
    x, k_t = op.inputs
    index_type = op.get_attr("index_type") if "index_type" in op._attrs else dtypes.int32
    k = constant_value(k_t)
    if x.shape.ndims is None:
        shape = TensorShape(None)
    else:
        dims = x.shape.as_list()
        if not dims:
            raise ValueError(f"Shape must be at least rank 1 but is rank 0 for '{op.name}' (op: 'TopKV2')")
        if k is not None and dims[-1] is not None and dims[-1] < int(k):
            raise ValueError(f"input must have last dimension >= k = {int(k)} but is {dims[-1]} for '{op.name}' "
                             f"(op: 'TopKV2')")
        shape = TensorShape(dims[:-1] + [None if k is None else int(k)])
    return [(x.dtype.base_dtype, shape), (index_type, shape)]


def _scan(op_type):
    def fn(x, axis=0, exclusive=False, reverse=False, name=None):
        graph = _graph_of([x, axis])
        with graph.as_default(), graph.name_scope(name or op_type) as scope:
            x = convert_to_tensor(x, name="x")
            a = convert_to_tensor(axis, name="axis")
            attrs = {"T": x.dtype.base_dtype, "Tidx": a.dtype.base_dtype, "exclusive": bool(exclusive),
                     "reverse": bool(reverse)}
            return graph.create_op(op_type, [x, a], attrs, name=scope).outputs[0]
    fn.__name__ = op_type.lower()
    fn.__doc__ = f"tf.{op_type.lower()}: the running {op_type[3:].lower()} along `axis` (optionally exclusive, " \
                 f"or from the end)."
    return fn


cumsum = _scan("Cumsum")
cumprod = _scan("Cumprod")
op_registry.register(["Cumsum", "Cumprod"], shape_fns.unchanged)


# -- einsum ---------------------------------------------------------------------------------------------
def parse_equation(equation, n_inputs):
    """(input subscripts, output subscripts) of an einsum equation, spaces removed and the implicit output
    (labels seen once, sorted, after the ellipsis) made explicit, as TF's _einsum_v2 resolves it."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != n_inputs:
        raise ValueError(f"Got {n_inputs} arguments for equation \"{equation}\", expecting {len(inputs)}")
    if not arrow:
        labels = "".join(inputs).replace("...", "")
        rhs = ("..." if "..." in lhs else "") + "".join(sorted(c for c in set(labels) if labels.count(c) == 1))
    return inputs, rhs


def einsum(equation, *inputs, **kwargs):
    """tf.einsum: one Einsum op for one or two operands; more are contracted pairwise, left to right."""
    name = kwargs.pop("name", None)
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments for this function: {', '.join(sorted(kwargs))}")
    graph = _graph_of(list(inputs))
    with graph.as_default(), graph.name_scope(name or "einsum"):
        tensors = [convert_to_tensor(x) for x in inputs]
        subs, out = parse_equation(equation, len(tensors))
        while len(tensors) > 2:  # contract the first two, keeping every label still needed later or in the output
            later = set("".join(subs[2:]) + out)
            keep = "".join(dict.fromkeys(c for c in subs[0].replace("...", "") + subs[1].replace("...", "")
                                         if c in later))
            ellipsis = "..." if "..." in subs[0] + subs[1] else ""
            pair = _einsum_op(f"{subs[0]},{subs[1]}->{ellipsis}{keep}", tensors[:2])
            tensors, subs = [pair] + tensors[2:], [ellipsis + keep] + subs[2:]
        return _einsum_op(",".join(subs) + "->" + out, tensors)


def _einsum_op(equation, tensors):
    dtype = tensors[0].dtype.base_dtype
    for t in tensors[1:]:
        if t.dtype.base_dtype != dtype:
            raise TypeError(f"Tensors in list passed to 'inputs' of 'Einsum' Op have types "
                            f"[{', '.join(x.dtype.base_dtype.name for x in tensors)}] that don't all match.")
    return tensors[0].graph.create_op("Einsum", tensors, {"N": len(tensors), "T": dtype, "equation": equation},
                                      name="Einsum").outputs[0]


@op_registry.shape_fn("Einsum")
def _einsum_shape(op):
    equation = op.get_attr("equation")
    equation = equation.decode() if isinstance(equation, bytes) else equation
    subs, out = parse_equation(equation, len(op.inputs))
    dtype = op.inputs[0].dtype.base_dtype
    sizes, ellipsis = {}, []
    for s, t in zip(subs, op.inputs):
        if t.shape.ndims is None:
            return [(dtype, TensorShape(None))]
        dims = t.shape.as_list()
        head, has_ellipsis, tail = s.partition("...")
        if len(head) + len(tail) > len(dims) or (not has_ellipsis and len(s) != len(dims)):
            raise ValueError(f"Expected input {list(op.inputs).index(t)} to have rank {len(s)} but got: "
                             f"{len(dims)} for '{op.name}' (op: 'Einsum')")
        labelled = dims[:len(head)] + (dims[len(dims) - len(tail):] if tail else [])
        for c, d in zip(head + tail, labelled):
            if d is not None and sizes.get(c) not in (None, d):
                raise ValueError(f"Expected dimension {sizes[c]} at axis of input for label '{c}', got {d} for "
                                 f"'{op.name}' (op: 'Einsum')")
            sizes[c] = d if d is not None else sizes.get(c)
        if has_ellipsis:
            ellipsis.append(dims[len(head):len(dims) - len(tail)])
    try:
        batch = _broadcast_known(ellipsis)
    except IncompatibleShapes:
        raise ValueError(f"Ellipsis dimensions of the inputs of '{op.name}' do not broadcast") from None
    head, _, tail = out.partition("...")
    return [(dtype, TensorShape([sizes.get(c) for c in head] + (batch if "..." in out else [])
                                + [sizes.get(c) for c in tail]))]


def _broadcast_known(shapes):
    out = []
    for s in shapes:
        if any(d is None for d in s) or any(d is None for d in out):
            n = max(len(out), len(s))
            out = [None] * n
        else:
            out = list(broadcast_shape(out, s))
    return out
