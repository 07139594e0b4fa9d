"""Random kernels. Each op keeps its own generator for the life of the worker session,
seeded from (seed, seed2) so a seeded graph gives the same numbers in every run of a program."""
import numpy as np

from tfmini.core import memory_limits
from tfmini.worker.kernels import kernel


def _generator(node):
    return node.env.rng(node.name, node.attrs.get("seed", 0), node.attrs.get("seed2", 0))


def _shape(shape):
    """The output shape, checked against the allocation limit (the draw makes float64 first: 8 bytes each)."""
    dims = [int(d) for d in np.reshape(shape, [-1])]
    memory_limits.check_alloc(dims, 8, "a random op", "float64")
    return dims


@kernel("RandomUniform")
def _uniform(node):
    rng, dtype = _generator(node), node.attrs["dtype"].as_numpy_dtype
    return lambda shape: rng.random(_shape(shape), dtype=np.float64).astype(dtype)


@kernel("RandomStandardNormal")
def _normal(node):
    rng, dtype = _generator(node), node.attrs["dtype"].as_numpy_dtype
    return lambda shape: rng.standard_normal(_shape(shape)).astype(dtype)


@kernel("TruncatedNormal")
def _truncated(node):
    rng, dtype = _generator(node), node.attrs["dtype"].as_numpy_dtype

    def fn(shape):
        out = rng.standard_normal(_shape(shape))
        bad = np.abs(out) > 2
        while bad.any():  # redraw values more than two standard deviations out, as TF does
            out[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(out) > 2
        return out.astype(dtype)
    return fn


@kernel("RandomUniformInt")
def _uniform_int(node):
    rng = _generator(node)
    return lambda shape, lo, hi: rng.integers(lo, hi, size=_shape(shape)).astype(np.asarray(lo).dtype)


@kernel("RandomShuffle")
def _shuffle(node):
    rng = _generator(node)
    return lambda x: rng.permutation(x) if np.ndim(x) else x
