"""Candidate samplers and the sampled losses tf.nn.nce_loss and tf.nn.sampled_softmax_loss (TF 1.x's graphs).

Both losses are TF's `_compute_sampled_logits`: the true and sampled classes' weights and biases are
looked up together with one embedding_lookup (so over a partitioned table only those rows move), logits
get log Q subtracted, and accidental hits (a sampled class that is a true one) can be removed with
ComputeAccidentalHits + SparseToDense.
"""
import collections

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph, get_seed
from tfmini.ops import array_ops, embedding_ops, math_ops, nn_ops
from tfmini.ops.core import convert_to_tensor

Sampled = collections.namedtuple("CandidateSampler", ["sampled_candidates", "true_expected_count",
                                                      "sampled_expected_count"])
AccidentalHits = collections.namedtuple("ComputeAccidentalHits", ["indices", "ids", "weights"])


def _sampler(op_type, true_classes, num_true, num_sampled, unique, range_max, seed, name, **attrs):
    graph = get_default_graph()
    with graph.name_scope(name or op_type) as scope:
        t = convert_to_tensor(true_classes, dtype=dtypes.int64, name="true_classes")
        seed1, seed2 = get_seed(seed)
        full = {"num_true": int(num_true), "num_sampled": int(num_sampled), "unique": bool(unique),
                "range_max": int(range_max), "seed": seed1 or 0, "seed2": seed2 or 0}
        full.update(attrs)
        return Sampled(*graph.create_op(op_type, [t], full, name=scope).outputs)


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    return _sampler("UniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed, name)


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    return _sampler("LogUniformCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed,
                    name)


def fixed_unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, vocab_file="",
                                    distortion=1.0, num_reserved_ids=0, num_shards=1, shard=0, unigrams=(),
                                    seed=None, name=None):
    return _sampler("FixedUnigramCandidateSampler", true_classes, num_true, num_sampled, unique, range_max, seed,
                    name, vocab_file=vocab_file, distortion=float(distortion), num_reserved_ids=int(num_reserved_ids),
                    num_shards=int(num_shards), shard=int(shard), unigrams=[float(u) for u in unigrams])


@op_registry.shape_fn("UniformCandidateSampler", "LogUniformCandidateSampler", "FixedUnigramCandidateSampler")
def _sampler_shape(op):
    n = op.get_attr("num_sampled")
    return [(dtypes.int64, TensorShape([n])), (dtypes.float32, op.inputs[0].shape),
            (dtypes.float32, TensorShape([n]))]


def compute_accidental_hits(true_classes, sampled_candidates, num_true, seed=None, name=None):
    graph = get_default_graph()
    with graph.name_scope(name or "ComputeAccidentalHits") as scope:
        t = convert_to_tensor(true_classes, dtype=dtypes.int64, name="true_classes")
        s = convert_to_tensor(sampled_candidates, dtype=dtypes.int64, name="sampled_candidates")
        seed1, seed2 = get_seed(seed)
        attrs = {"num_true": int(num_true), "seed": seed1 or 0, "seed2": seed2 or 0}
        return AccidentalHits(*graph.create_op("ComputeAccidentalHits", [t, s], attrs, name=scope).outputs)


op_registry.register("ComputeAccidentalHits", lambda op: [(dtypes.int32, TensorShape([None])),
                                                          (dtypes.int64, TensorShape([None])),
                                                          (dtypes.float32, TensorShape([None]))])


def _sum_rows(x):
    """reduce_sum(x, 1) as x @ ones: TF's form, whose gradient is cheaper."""
    cols = array_ops.shape(x)[1]
    ones = array_ops.ones(array_ops.stack([cols, 1]), x.dtype.base_dtype)
    return array_ops.reshape(math_ops.matmul(x, ones), [-1])


def _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                            sampled_values=None, subtract_log_q=True, remove_accidental_hits=False,
                            partition_strategy="mod", name=None, seed=None):
    """(logits [batch, num_true + num_sampled], labels of the same shape): the true classes first."""
    from tfmini.partitioned_variables import PartitionedVariable
    if isinstance(weights, PartitionedVariable):
        weights = list(weights)
    if not isinstance(weights, list):
        weights = [weights]
    graph = get_default_graph()
    with graph.name_scope(name or "compute_sampled_logits"):
        labels = convert_to_tensor(labels)
        inputs = convert_to_tensor(inputs)
        if labels.dtype.base_dtype != dtypes.int64:
            labels = math_ops.cast(labels, dtypes.int64)
        labels_flat = array_ops.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(true_classes=labels, num_true=num_true,
                                                           num_sampled=num_sampled, unique=True,
                                                           range_max=num_classes, seed=seed)
        sampled, true_expected_count, sampled_expected_count = (array_ops.stop_gradient(s) for s in sampled_values)
        sampled = math_ops.cast(sampled, dtypes.int64)
        all_ids = array_ops.concat([labels_flat, sampled], 0)
        all_w = embedding_ops.embedding_lookup(weights, all_ids, partition_strategy=partition_strategy)
        if all_w.dtype.base_dtype != inputs.dtype.base_dtype:
            all_w = math_ops.cast(all_w, inputs.dtype.base_dtype)
        true_w = array_ops.slice(all_w, [0, 0], array_ops.stack([array_ops.shape(labels_flat)[0], -1]))
        sampled_w = array_ops.slice(all_w, array_ops.stack([array_ops.shape(labels_flat)[0], 0]), [-1, -1])
        sampled_logits = math_ops.matmul(inputs, sampled_w, transpose_b=True)
        all_b = embedding_ops.embedding_lookup(biases, all_ids, partition_strategy=partition_strategy)
        if all_b.dtype.base_dtype != inputs.dtype.base_dtype:
            all_b = math_ops.cast(all_b, inputs.dtype.base_dtype)
        true_b = array_ops.slice(all_b, [0], array_ops.shape(labels_flat))
        sampled_b = array_ops.slice(all_b, array_ops.shape(labels_flat), [-1])
        dim = array_ops.shape(true_w)[1:2]
        new_true_w_shape = array_ops.concat([[-1, num_true], dim], 0)
        row_wise_dots = math_ops.multiply(array_ops.expand_dims(inputs, 1),
                                          array_ops.reshape(true_w, new_true_w_shape))
        dots_as_matrix = array_ops.reshape(row_wise_dots, array_ops.concat([[-1], dim], 0))
        true_logits = array_ops.reshape(_sum_rows(dots_as_matrix), [-1, num_true])
        true_b = array_ops.reshape(true_b, [-1, num_true])
        true_logits += true_b
        sampled_logits += sampled_b
        if remove_accidental_hits:
            acc_indices, acc_ids, acc_weights = compute_accidental_hits(labels, sampled, num_true=num_true)
            acc_indices_2d = array_ops.reshape(acc_indices, [-1, 1])
            acc_ids_2d_int32 = array_ops.reshape(math_ops.cast(acc_ids, dtypes.int32), [-1, 1])
            sparse_indices = array_ops.concat([acc_indices_2d, acc_ids_2d_int32], 1, "sparse_indices")
            sampled_logits_shape = array_ops.concat(
                [array_ops.shape(labels)[:1], array_ops.expand_dims(num_sampled, 0)], 0)
            if sampled_logits.dtype.base_dtype != acc_weights.dtype.base_dtype:
                acc_weights = math_ops.cast(acc_weights, sampled_logits.dtype.base_dtype)
            sampled_logits += embedding_ops.sparse_to_dense(sparse_indices, sampled_logits_shape, acc_weights,
                                                            default_value=0.0, validate_indices=False)
        if subtract_log_q:
            true_logits -= math_ops.log(true_expected_count)
            sampled_logits -= math_ops.log(sampled_expected_count)
        out_logits = array_ops.concat([true_logits, sampled_logits], 1)
        out_labels = array_ops.concat([array_ops.ones_like(true_logits) / num_true,
                                       array_ops.zeros_like(sampled_logits)], 1)
        return out_logits, out_labels


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
             remove_accidental_hits=False, partition_strategy="mod", name="nce_loss"):
    """Noise-contrastive estimation: a [batch_size] tensor of per-example losses."""
    from tfmini.ops.nn_impl import sigmoid_cross_entropy_with_logits
    logits, labels = _compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name)
    sampled_losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="sampled_losses")
    return _sum_rows(sampled_losses)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                         sampled_values=None, remove_accidental_hits=True, partition_strategy="mod",
                         name="sampled_softmax_loss", seed=None):
    """Softmax over the true and sampled classes only: a [batch_size] tensor of per-example losses."""
    logits, labels = _compute_sampled_logits(
        weights=weights, biases=biases, labels=labels, inputs=inputs, num_sampled=num_sampled,
        num_classes=num_classes, num_true=num_true, sampled_values=sampled_values, subtract_log_q=True,
        remove_accidental_hits=remove_accidental_hits, partition_strategy=partition_strategy, name=name, seed=seed)
    labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
    return nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
