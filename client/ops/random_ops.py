"""Random tensors with TF's seeding: a graph seed plus an op seed give reproducible (seed, seed2) attrs."""
from tfmini.core import dtypes, op_registry
from tfmini.graph import get_default_graph, get_seed
from tfmini.ops import math_ops
from tfmini.ops.core import constant_shape, convert_to_tensor

op_registry.register(["RandomUniform", "RandomStandardNormal", "TruncatedNormal"],
                     lambda op: [(op.get_attr("dtype"), constant_shape(op.inputs[0]))])
op_registry.register("RandomUniformInt", lambda op: [(op.inputs[1].dtype.base_dtype, constant_shape(op.inputs[0]))])
op_registry.register("RandomShuffle", lambda op: [(op.inputs[0].dtype.base_dtype, op.inputs[0].shape)])


def _seed_attrs(seed):
    seed1, seed2 = get_seed(seed)
    return {"seed": seed1 or 0, "seed2": seed2 or 0}


def _random(op_type, shape, dtype, seed):
    graph = get_default_graph()
    shape_t = convert_to_tensor(shape, dtype=dtypes.int32, name="shape")
    attrs = {"dtype": dtypes.as_dtype(dtype), "T": shape_t.dtype.base_dtype}
    attrs.update(_seed_attrs(seed))
    return graph.create_op(op_type, [shape_t], attrs, name=op_type).outputs[0]


def _normal(op_type, default_name):
    """mean + stddev * `op_type`(shape): TF's random_normal / truncated_normal wrappers."""
    def fn(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
        graph = get_default_graph()
        with graph.name_scope(name or default_name) as scope:
            mean_t = convert_to_tensor(mean, dtype=dtype, name="mean")
            std_t = convert_to_tensor(stddev, dtype=dtype, name="stddev")
            rnd = _random(op_type, shape, dtype, seed)
            return math_ops.add(math_ops.multiply(rnd, std_t, name="mul"), mean_t, name=scope)
    fn.__name__ = default_name
    return fn


random_normal = _normal("RandomStandardNormal", "random_normal")
truncated_normal = _normal("TruncatedNormal", "truncated_normal")


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    dtype = dtypes.as_dtype(dtype)
    graph = get_default_graph()
    with graph.name_scope(name or "random_uniform") as scope:
        if dtype.is_integer:
            if maxval is None:
                raise ValueError(f"Must specify maxval for integer dtype {dtype}")
            shape_t = convert_to_tensor(shape, dtype=dtypes.int32, name="shape")
            lo = convert_to_tensor(minval, dtype=dtype, name="min")
            hi = convert_to_tensor(maxval, dtype=dtype, name="max")
            attrs = {"Tout": dtype, "T": dtypes.int32}
            attrs.update(_seed_attrs(seed))
            return graph.create_op("RandomUniformInt", [shape_t, lo, hi], attrs, name=scope).outputs[0]
        lo = convert_to_tensor(minval, dtype=dtype, name="min")
        hi = convert_to_tensor(1 if maxval is None else maxval, dtype=dtype, name="max")
        rnd = _random("RandomUniform", shape, dtype, seed)
        return math_ops.add(math_ops.multiply(rnd, math_ops.subtract(hi, lo, name="sub"), name="mul"), lo,
                            name=scope)


def random_shuffle(value, seed=None, name=None):
    x = convert_to_tensor(value)
    attrs = {"T": x.dtype.base_dtype}
    attrs.update(_seed_attrs(seed))
    return get_default_graph().create_op("RandomShuffle", [x], attrs, name=name or "RandomShuffle").outputs[0]
