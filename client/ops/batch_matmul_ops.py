"""BatchMatMul / BatchMatMulV2: matmul over a batch of matrices, what tf.matmul builds for rank >= 3 inputs.

`batch_matmul(x, y, adj_x, adj_y)` is TF 0.x's tf.batch_matmul (op `BatchMatMul`, equal batch dimensions);
tf.matmul of rank >= 3 builds `BatchMatMulV2`, which broadcasts the batch dimensions, as TF 1.14+ does.
"""
from tfmini.core import op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.ops import shape_fns
from tfmini.ops.core import make_output


def batch_matmul(x, y, adj_x=False, adj_y=False, name=None):
    return make_output("BatchMatMul", [x, y], {"adj_x": bool(adj_x), "adj_y": bool(adj_y)},
                       name=name or "BatchMatMul")


def batch_matmul_v2(x, y, adj_x=False, adj_y=False, name=None):
    return make_output("BatchMatMulV2", [x, y], {"adj_x": bool(adj_x), "adj_y": bool(adj_y)},
                       name=name or "BatchMatMulV2")


@op_registry.shape_fn("BatchMatMul", "BatchMatMulV2")
def _batch_matmul_shape(op):
    x, y = op.inputs
    dtype = x.dtype.base_dtype
    if x.shape.ndims is None or y.shape.ndims is None:
        return [(dtype, TensorShape(None))]
    for t in (x, y):
        if t.shape.ndims < 2:
            raise ValueError(f"Shape must be at least rank 2 but is rank {t.shape.ndims} for '{op.name}' "
                             f"(op: '{op.type}') with input shapes: {shape_fns._shape_str(x.shape)}, "
                             f"{shape_fns._shape_str(y.shape)}.")
    xs, ys = x.shape.as_list(), y.shape.as_list()
    rows, inner_x = (xs[-1], xs[-2]) if op.get_attr("adj_x") else (xs[-2], xs[-1])
    inner_y, cols = (ys[-1], ys[-2]) if op.get_attr("adj_y") else (ys[-2], ys[-1])
    if inner_x is not None and inner_y is not None and inner_x != inner_y:
        raise ValueError(f"Dimensions must be equal, but are {inner_x} and {inner_y} for '{op.name}' "
                         f"(op: '{op.type}') with input shapes: {shape_fns._shape_str(x.shape)}, "
                         f"{shape_fns._shape_str(y.shape)}.")
    if op.type == "BatchMatMul":
        if len(xs) != len(ys):
            raise ValueError(f"Shape must be rank {len(xs)} but is rank {len(ys)} for '{op.name}' (op: "
                             f"'BatchMatMul') with input shapes: {shape_fns._shape_str(x.shape)}, "
                             f"{shape_fns._shape_str(y.shape)}.")
        batch = TensorShape(xs[:-2]).merge_with(TensorShape(ys[:-2])).as_list()
    else:
        batch = shape_fns.broadcast_shapes(TensorShape(xs[:-2]), TensorShape(ys[:-2]), op).as_list()
    return [(dtype, TensorShape(batch + [rows, cols]))]
