"""tf.qr (tf.linalg.qr): the Qr op, used by tf.orthogonal_initializer."""
from tfmini.core import op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.ops.core import make_op


def qr(input, full_matrices=False, name=None):  # noqa: A002 - TensorFlow's name
    op = make_op("Qr", [input], {"full_matrices": bool(full_matrices)}, name=name or "Qr", arg_names=["input"])
    return op.outputs[0], op.outputs[1]


@op_registry.shape_fn("Qr")
def _qr_shape(op):
    x = op.inputs[0]
    dtype = x.dtype.base_dtype
    if x.shape.ndims is None:
        return [(dtype, TensorShape(None)), (dtype, TensorShape(None))]
    if x.shape.ndims < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.shape.ndims} for '{op.name}' (op: 'Qr')")
    *batch, m, n = x.shape.as_list()
    k = None if m is None or n is None else min(m, n)
    full = op.get_attr("full_matrices")
    return [(dtype, TensorShape(batch + [m, m if full else k])), (dtype, TensorShape(batch + [m if full else k, n]))]
