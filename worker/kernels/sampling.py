"""Candidate samplers (TF's range samplers) and ComputeAccidentalHits, for sampled losses.

Each sampler keeps its generator for the life of the worker session, seeded from (seed, seed2) as the
random kernels are. The probabilities and expected counts follow TF's formulas: with `unique`, the
expected count of a class is 1 - (1 - p)^num_tries, where num_tries is how many draws it took to find
num_sampled distinct classes; without, it is p * num_sampled. The samples themselves come from numpy's
generator, not TF's Philox, so they differ from TF's draws.
"""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import kernel


def _generator(node):
    return node.env.rng(node.name, node.attrs.get("seed", 0), node.attrs.get("seed2", 0))


def _draw(rng, sample, probability, num_sampled, unique, range_max):
    """(samples, num_tries): `sample(rng, n)` draws n classes; with `unique`, draws go on, in batches,
    until num_sampled distinct classes turned up (in the order they first did)."""
    if not unique:
        return sample(rng, num_sampled), num_sampled
    if num_sampled > range_max:
        raise errors.InvalidArgumentError(None, None, f"Sampler's range is too small: range_max = {range_max} < "
                                                      f"num_sampled = {num_sampled}")
    found = np.empty(0, dtype=np.int64)
    tries = 0
    while found.size < num_sampled:
        batch = sample(rng, max(2 * (num_sampled - found.size), 16))
        stream = np.concatenate([found, batch])
        _, first = np.unique(stream, return_index=True)
        first.sort()
        # num_tries counts draws up to the one that completed the set, as TF's loop stops there
        if first.size >= num_sampled:
            last = first[num_sampled - 1]
            tries += int(last - found.size) + 1
            found = stream[first[:num_sampled]]
        else:
            tries += batch.size
            found = stream[first]
    return found, tries


def _expected(p, num_tries, num_sampled, unique):
    if unique:
        return -np.expm1(num_tries * np.log1p(-np.minimum(p, 1.0)))
    return p * num_sampled


def _sampler_kernel(op_type, distribution):
    """`distribution(node) -> (sample(rng, n), probability(classes))`."""
    def factory(node):
        rng = _generator(node)
        num_true, num_sampled = node.attrs["num_true"], node.attrs["num_sampled"]
        unique, range_max = node.attrs["unique"], node.attrs["range_max"]
        sample, probability = distribution(node)

        def fn(true_classes):
            true_classes = np.asarray(true_classes)
            if true_classes.ndim != 2 or true_classes.shape[1] != num_true:
                raise errors.InvalidArgumentError(None, None, f"true_classes must be a matrix with num_true = "
                                                              f"{num_true} columns, got {list(true_classes.shape)}")
            sampled, tries = _draw(rng, sample, probability, num_sampled, unique, range_max)
            true_expected = _expected(probability(true_classes), tries, num_sampled, unique)
            sampled_expected = _expected(probability(sampled), tries, num_sampled, unique)
            return (sampled.astype(np.int64), true_expected.astype(np.float32),
                    sampled_expected.astype(np.float32))
        return fn
    kernel(op_type, num_outputs=3)(factory)


def _uniform(node):
    range_max = node.attrs["range_max"]
    return (lambda rng, n: rng.integers(0, range_max, size=n, dtype=np.int64),
            lambda classes: np.full(np.shape(classes), 1.0 / range_max))


def _log_uniform(node):
    """P(class) = (log(class + 2) - log(class + 1)) / log(range_max + 1): Zipf-like, for classes sorted by
    decreasing frequency (TF's LogUniformSampler)."""
    range_max = node.attrs["range_max"]
    log_range = np.log(range_max + 1.0)

    def sample(rng, n):
        return (np.exp(rng.random(n) * log_range).astype(np.int64) - 1) % range_max

    def probability(classes):
        c = np.asarray(classes, dtype=np.float64)
        return (np.log(c + 2.0) - np.log(c + 1.0)) / log_range
    return sample, probability


def _fixed_unigram(node):
    """P(class) proportional to unigrams[class] ** distortion; the first num_reserved_ids classes get 0."""
    unigrams = np.asarray(node.attrs.get("unigrams") or [], dtype=np.float64)
    if node.attrs.get("vocab_file"):
        raise errors.UnimplementedError(None, None, "FixedUnigramCandidateSampler: vocab_file is not supported "
                                                    "by tfmini; pass unigrams")
    weights = np.concatenate([np.zeros(node.attrs.get("num_reserved_ids", 0)),
                              unigrams ** node.attrs.get("distortion", 1.0)])
    if weights.size != node.attrs["range_max"]:
        raise errors.InvalidArgumentError(None, None, f"range_max must equal the number of unigrams plus "
                                                      f"num_reserved_ids: {node.attrs['range_max']} vs {weights.size}")
    shard, shards = node.attrs.get("shard", 0), node.attrs.get("num_shards", 1)
    weights[np.arange(weights.size) % shards != shard] = 0.0
    p = weights / weights.sum()
    cumulative = np.cumsum(p)

    def sample(rng, n):
        return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), p.size - 1).astype(np.int64)
    return sample, lambda classes: p[np.asarray(classes, dtype=np.int64)]


_sampler_kernel("UniformCandidateSampler", _uniform)
_sampler_kernel("LogUniformCandidateSampler", _log_uniform)
_sampler_kernel("FixedUnigramCandidateSampler", _fixed_unigram)


@kernel("ComputeAccidentalHits", num_outputs=3)
def _accidental_hits(node):
    """Every (row, j) with sampled_candidates[j] among row's true classes: (rows, j's, -FLT_MAX weights)."""
    num_true = node.attrs["num_true"]

    def fn(true_classes, sampled_candidates):
        true_classes, sampled = np.asarray(true_classes), np.asarray(sampled_candidates)
        if true_classes.ndim != 2 or true_classes.shape[1] != num_true:
            raise errors.InvalidArgumentError(None, None, f"true_classes must be a matrix with num_true = {num_true}"
                                                          f" columns, got {list(true_classes.shape)}")
        hits = true_classes[:, :, None] == sampled[None, None, :]
        rows, _, cols = np.nonzero(hits)
        return (rows.astype(np.int32), cols.astype(np.int64),
                np.full(rows.size, -np.finfo(np.float32).max, dtype=np.float32))
    return fn
