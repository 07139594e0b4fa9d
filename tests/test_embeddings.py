"""Embeddings the parameter-server way: gather and its IndexedSlices gradient, scatter ops, sparse optimizer
updates, embedding_lookup over shards, sampled losses and candidate samplers, partitioned variables."""
import numpy as np
import pytest

import tfmini as tf
from test_gradients import numeric_check


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


RNG = np.random.RandomState(7)


def run(fetches, init=True, feed=None):
    with tf.Session() as sess:
        if init:
            sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


# -- gather and IndexedSlices ---------------------------------------------------------------------------------
def test_gather_matches_numpy_on_each_axis():
    p = RNG.randn(5, 3, 4).astype(np.float32)
    ids = np.array([[4, 0], [2, 2]], dtype=np.int32)
    g0 = tf.gather(p, ids)
    g1 = tf.gather(p, [2, 0], axis=1)
    assert g0.op.type == "GatherV2" and g0.op.name == "GatherV2"
    assert g0.shape.as_list() == [2, 2, 3, 4] and g1.shape.as_list() == [5, 2, 4]
    a, b = run([g0, g1], init=False)
    np.testing.assert_array_equal(a, p[ids])
    np.testing.assert_array_equal(b, p[:, [2, 0]])


def test_gather_out_of_range_is_invalid_argument():
    x = tf.gather(tf.constant([1.0, 2.0]), tf.placeholder(tf.int32, [None]))
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(x, {x.op.inputs[1]: [0, 5]})


def test_gather_gradient_is_indexed_slices_of_the_rows_read():
    p = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    loss = tf.reduce_sum(tf.square(tf.gather(p, [0, 2, 2])))
    grad, = tf.gradients(loss, [p._ref()])
    assert isinstance(grad, tf.IndexedSlices)
    dense = tf.convert_to_tensor(grad)
    assert dense.op.type == "UnsortedSegmentSum"
    fetched, d = run([grad, dense])
    values, indices, shape = fetched  # a session fetches an IndexedSlices as TF's IndexedSlicesValue
    assert type(fetched).__name__ == "IndexedSlicesValue"
    base = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(indices, [0, 2, 2])
    np.testing.assert_array_equal(values, 2 * base[[0, 2, 2]])
    np.testing.assert_array_equal(shape, [4, 3])
    want = np.zeros_like(base)
    np.add.at(want, [0, 2, 2], 2 * base[[0, 2, 2]])
    np.testing.assert_array_equal(d, want)


def test_two_gathers_aggregate_by_concatenation():
    p = tf.Variable(np.ones((5, 2), np.float32))
    loss = tf.reduce_sum(tf.gather(p, [1, 3])) + 2 * tf.reduce_sum(tf.gather(p, [3]))
    grad, = tf.gradients(loss, [p._ref()])
    assert isinstance(grad, tf.IndexedSlices) and grad.values.op.type == "ConcatV2"
    d = run(tf.convert_to_tensor(grad))
    np.testing.assert_array_equal(d, [[0, 0], [1, 1], [0, 0], [3, 3], [0, 0]])


def test_gather_gradients_numerically_axis_0_and_1():
    p = RNG.randn(5, 3)
    # `* 1.0` makes the IndexedSlices reach a dense op: the check densifies it there (UnsortedSegmentSum)
    numeric_check(lambda x: tf.gather(x * 1.0, [[4, 1], [1, 1]]), [p])
    numeric_check(lambda x: tf.gather(x, [2, 0, 2], axis=1), [p])
    numeric_check(lambda x: tf.gather(x * 1.0, [3, 0, 3]), [p], dynamic=True)


def test_unsorted_segment_sum_drops_negative_ids_and_its_gradient():
    data = RNG.randn(4, 2)
    ids = [0, -1, 2, 0]
    out = run(tf.unsorted_segment_sum(data, ids, 3), init=False)
    np.testing.assert_allclose(out, [data[0] + data[3], [0, 0], data[2]])
    numeric_check(lambda d: tf.unsorted_segment_sum(d, ids, 3), [data])


def test_clip_by_global_norm_keeps_indexed_slices():
    p = tf.Variable(np.full((4, 2), 3.0, np.float32))
    grad, = tf.gradients(tf.reduce_sum(tf.gather(p, [1, 1])) * 4.0, [p._ref()])
    (clipped,), norm = tf.clip_by_global_norm([grad], 1.0)
    assert isinstance(clipped, tf.IndexedSlices)
    values, n = run([clipped.values, norm])
    assert np.isclose(n, 8.0)  # four values of 4
    np.testing.assert_allclose(values, np.full((2, 2), 0.5), rtol=1e-6)


# -- scatter ops ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,ufunc", [(tf.scatter_add, np.add), (tf.scatter_sub, np.subtract),
                                      (tf.scatter_mul, np.multiply), (tf.scatter_div, np.divide)])
def test_scatter_ops_match_numpy_with_duplicate_indices(fn, ufunc):
    init = RNG.uniform(1, 2, (5, 3)).astype(np.float32)
    updates = RNG.uniform(1, 2, (4, 3)).astype(np.float32)
    idx = [0, 3, 3, 1]
    v = tf.Variable(init)
    op = fn(v, idx, updates)
    assert op.op.type == "Scatter" + fn.__name__.split("_")[1].capitalize()
    assert op.dtype == v.dtype  # the ref, as TF's output_ref
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(op)
        got = sess.run(v)
    want = init.copy()
    ufunc.at(want, idx, updates)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_scatter_update_and_its_errors():
    v = tf.Variable(np.zeros((4, 2), np.float32))
    up = tf.scatter_update(v, [2, 0], [[1, 2], [3, 4]])
    assert up.op.get_attr("use_locking") is True
    bad = tf.scatter_update(v, tf.placeholder(tf.int32, [2]), [[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        tf.scatter_add(v, [0, 1], [[1.0, 2.0, 3.0]] * 2)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(up)
        np.testing.assert_array_equal(sess.run(v), [[3, 4], [0, 0], [1, 2], [0, 0]])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = 9 is not in \[0, 4\)"):
            sess.run(bad, {bad.op.inputs[1]: [0, 9]})


def test_a_fetched_value_does_not_change_under_a_later_scatter():
    v = tf.Variable(np.zeros((3, 1), np.float32))
    add = tf.scatter_add(v, [1], [[5.0]])
    with tf.Session() as sess:
        sess.run(v.initializer)
        before = sess.run(v)
        sess.run(add)
        np.testing.assert_array_equal(before, np.zeros((3, 1)))
        np.testing.assert_array_equal(sess.run(v), [[0], [5], [0]])


# -- sparse optimizer updates -------------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": (lambda: tf.train.GradientDescentOptimizer(0.1), "ScatterSub"),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.1, 0.9), "SparseApplyMomentum"),
    "nesterov": (lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True), "SparseApplyMomentum"),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.1), "SparseApplyAdagrad"),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.01), "SparseApplyRMSProp"),
    "centered": (lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True), "SparseApplyCenteredRMSProp"),
    "adam": (lambda: tf.train.AdamOptimizer(0.01), "ScatterAdd"),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_update_matches_the_dense_one(name):
    make, op_type = OPTIMIZERS[name]
    init = RNG.randn(6, 3).astype(np.float32)
    target = RNG.randn(4, 3).astype(np.float32)
    ids = [0, 2, 2, 5]  # a duplicate: the optimizers sum it (Unique + UnsortedSegmentSum, or ScatterSub itself)
    sparse_var = tf.Variable(init, name="sparse")
    dense_var = tf.Variable(init, name="dense")
    sparse_loss = tf.reduce_sum(tf.square(tf.gather(sparse_var, ids) - target))
    dense_loss = tf.reduce_sum(tf.square(tf.matmul(tf.one_hot(ids, 6), dense_var) - target))
    sparse_step = make().minimize(sparse_loss, var_list=[sparse_var])
    dense_step = make().minimize(dense_loss, var_list=[dense_var])
    types = {op.type for op in tf.get_default_graph().get_operations()}
    assert op_type in types
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run([sparse_step, dense_step])
        got, want = sess.run([sparse_var, dense_var])
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    if name != "adam":  # Adam's sparse form decays m and v everywhere (TF's), so only it moves other rows
        np.testing.assert_array_equal(got[[1, 3, 4]], init[[1, 3, 4]])
    assert not np.allclose(got[[0, 2, 5]], init[[0, 2, 5]])


def test_sparse_gradient_descent_builds_scatter_sub_colocated_with_the_variable():
    v = tf.Variable(np.zeros((10, 2), np.float32), name="emb")
    step = tf.train.GradientDescentOptimizer(0.5).minimize(tf.reduce_sum(tf.gather(v, [3])))
    ops = tf.get_default_graph().get_operations()
    scatter = [op for op in ops if op.type == "ScatterSub"]
    assert len(scatter) == 1 and scatter[0].inputs[0].op is v.op
    assert not [op for op in ops if op.type.startswith("Apply")]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        np.testing.assert_array_equal(sess.run(v)[3], [-0.5, -0.5])


# -- embedding_lookup --------------------------------------------------------------------------------------------------
def _shards(table, n, strategy):
    rows = np.arange(len(table))
    if strategy == "mod":
        return [table[rows % n == i] for i in range(n)]
    base, extra = divmod(len(table), n)
    sizes = [base + (1 if i < extra else 0) for i in range(n)]
    return np.split(table, np.cumsum(sizes)[:-1])


@pytest.mark.parametrize("strategy", ["mod", "div"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_embedding_lookup_over_shards_matches_numpy(n, strategy):
    table = RNG.randn(10, 3).astype(np.float32)
    ids = np.array([[9, 0, 4], [4, 7, 1]], dtype=np.int64)
    shards = [tf.Variable(s, name=f"shard_{i}") for i, s in enumerate(_shards(table, n, strategy))]
    out = tf.nn.embedding_lookup(shards if n > 1 else shards[0], ids, partition_strategy=strategy)
    assert out.shape.as_list() == [2, 3, 3]
    types = [op.type for op in tf.get_default_graph().get_operations()]
    assert ("ParallelDynamicStitch" in types) == (n > 1) and ("DynamicPartition" in types) == (n > 1)
    np.testing.assert_allclose(run(out), table[ids])


def test_embedding_lookup_gradient_numerically_through_three_shards():
    shards = [RNG.randn(4, 2), RNG.randn(3, 2), RNG.randn(3, 2)]
    ids = [[9, 0], [4, 4]]
    numeric_check(lambda a, b, c: tf.nn.embedding_lookup([a * 1.0, b * 1.0, c * 1.0], ids,
                                                         partition_strategy="div"), shards)


def test_embedding_lookup_max_norm_clips_rows():
    table = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32)
    out = run(tf.nn.embedding_lookup(tf.constant(table), [0, 1], max_norm=1.0), init=False)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_embedding_lookup_needs_params_and_a_known_strategy():
    with pytest.raises(ValueError, match="Need at least one param"):
        tf.nn.embedding_lookup([], [0])
    with pytest.raises(ValueError, match="Unrecognized partition strategy"):
        tf.nn.embedding_lookup([tf.constant([[1.0]]), tf.constant([[2.0]])], [0], partition_strategy="x")


# -- sampled losses and samplers ----------------------------------------------------------------------------------------
def _sampled_reference(w, b, labels, x, sampled, tec, sec, remove_hits):
    num_true = labels.shape[1]
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels] - np.log(tec)
    sampled_logits = x @ w[sampled].T + b[sampled] - np.log(sec)
    if remove_hits:
        hits = (labels[:, :, None] == sampled[None, None, :]).any(1)
        sampled_logits = sampled_logits + np.where(hits, -np.finfo(np.float32).max, 0)
    logits = np.concatenate([true_logits, sampled_logits], 1)
    targets = np.concatenate([np.full(true_logits.shape, 1.0 / num_true), np.zeros(sampled_logits.shape)], 1)
    return logits, targets


def _sampled_inputs(num_true):
    w = RNG.randn(20, 4).astype(np.float32)
    b = RNG.randn(20).astype(np.float32)
    x = RNG.randn(3, 4).astype(np.float32)
    labels = np.array([[1, 7], [3, 4], [7, 0]][:3], dtype=np.int64)[:, :num_true]
    sampled = np.array([7, 2, 11, 3, 5], dtype=np.int64)
    tec = RNG.uniform(0.1, 0.9, labels.shape).astype(np.float32)
    sec = RNG.uniform(0.1, 0.9, sampled.shape).astype(np.float32)
    return w, b, x, labels, sampled, tec, sec


@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("remove_hits", [False, True])
def test_nce_loss_matches_numpy_for_fixed_samples(num_true, remove_hits):
    w, b, x, labels, sampled, tec, sec = _sampled_inputs(num_true)
    loss = tf.nn.nce_loss(tf.constant(w), tf.constant(b), labels, tf.constant(x), num_sampled=5, num_classes=20,
                          num_true=num_true, sampled_values=(sampled, tec, sec), remove_accidental_hits=remove_hits)
    logits, targets = _sampled_reference(w, b, labels, x, sampled, tec, sec, remove_hits)
    xent = np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    np.testing.assert_allclose(run(loss, init=False), xent.sum(1), rtol=1e-5)


@pytest.mark.parametrize("remove_hits", [False, True])
def test_sampled_softmax_loss_matches_numpy_for_fixed_samples(remove_hits):
    w, b, x, labels, sampled, tec, sec = _sampled_inputs(1)
    loss = tf.nn.sampled_softmax_loss(tf.constant(w), tf.constant(b), labels, tf.constant(x), num_sampled=5,
                                      num_classes=20, sampled_values=(sampled, tec, sec),
                                      remove_accidental_hits=remove_hits)
    logits, targets = _sampled_reference(w, b, labels, x, sampled, tec, sec, remove_hits)
    shifted = logits - logits.max(1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    np.testing.assert_allclose(run(loss, init=False), -(targets * log_softmax).sum(1), rtol=1e-5)


def test_nce_loss_gradient_to_the_weights_is_sparse_and_trains():
    w = tf.Variable(RNG.randn(50, 4).astype(np.float32) * 0.1, name="nce_w")
    b = tf.Variable(np.zeros(50, np.float32), name="nce_b")
    x = tf.constant(RNG.randn(8, 4).astype(np.float32))
    labels = tf.constant(RNG.randint(0, 50, (8, 1)))
    loss = tf.reduce_mean(tf.nn.nce_loss(w, b, labels, x, num_sampled=6, num_classes=50))
    gw, = tf.gradients(loss, [w._ref()])
    assert isinstance(gw, tf.IndexedSlices)
    step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss)
        for _ in range(30):
            sess.run(step)
        assert sess.run(loss) < first


def test_uniform_sampler_shapes_ranges_and_expected_counts():
    true = tf.constant([[1], [4]], dtype=tf.int64)
    unique = tf.nn.uniform_candidate_sampler(true, 1, 6, True, 10, seed=3)
    plain = tf.nn.uniform_candidate_sampler(true, 1, 6, False, 10, seed=3)
    assert unique.sampled_candidates.shape.as_list() == [6] and unique.true_expected_count.shape.as_list() == [2, 1]
    (s, t, e), (s2, t2, e2) = run([unique, plain], init=False)
    assert len(set(s.tolist())) == 6 and s.min() >= 0 and s.max() < 10 and s.dtype == np.int64
    # unique: 1 - (1 - p)^tries with tries >= 6, the same for every class
    assert np.allclose(t, t[0, 0]) and np.allclose(e, t[0, 0]) and 1 - 0.9 ** 6 - 1e-6 <= t[0, 0] <= 1
    np.testing.assert_allclose(t2, np.full((2, 1), 0.6), rtol=1e-6)  # p * num_sampled
    np.testing.assert_allclose(e2, np.full(6, 0.6), rtol=1e-6)


def test_log_uniform_sampler_follows_its_distribution():
    range_max, n = 8, 40000
    s, _, e = run(tf.nn.log_uniform_candidate_sampler([[0]], 1, n, False, range_max, seed=1), init=False)
    k = np.arange(range_max)
    p = (np.log(k + 2) - np.log(k + 1)) / np.log(range_max + 1)
    np.testing.assert_allclose(np.bincount(s, minlength=range_max) / n, p, atol=0.01)
    np.testing.assert_allclose(e, p[s] * n, rtol=1e-5)


def test_fixed_unigram_sampler_draws_by_the_unigrams():
    s, t, _ = run(tf.nn.fixed_unigram_candidate_sampler([[2]], 1, 20000, False, 4, unigrams=[1, 0, 3, 4],
                                                        distortion=0.5, seed=2), init=False)
    p = np.sqrt([1, 0, 3, 4]) / np.sqrt([1, 0, 3, 4]).sum()
    np.testing.assert_allclose(np.bincount(s, minlength=4) / 20000, p, atol=0.015)
    np.testing.assert_allclose(t, [[p[2] * 20000]], rtol=1e-5)


def test_seeded_samplers_repeat_across_sessions():
    tf.set_random_seed(5)
    s = tf.nn.log_uniform_candidate_sampler([[1]], 1, 5, True, 100).sampled_candidates
    np.testing.assert_array_equal(run(s, init=False), run(s, init=False))


def test_compute_accidental_hits_matches_numpy():
    labels = np.array([[1, 7], [3, 4], [7, 0]], dtype=np.int64)
    sampled = np.array([7, 2, 0, 3], dtype=np.int64)
    i, ids, w = run(tf.nn.compute_accidental_hits(labels, sampled, num_true=2), init=False)
    np.testing.assert_array_equal(i, [0, 1, 2, 2])
    np.testing.assert_array_equal(ids, [0, 3, 0, 2])
    np.testing.assert_array_equal(w, np.full(4, -np.finfo(np.float32).max, np.float32))


# -- partitioned variables ------------------------------------------------------------------------------------------------
def test_fixed_size_partitioner_names_and_shapes():
    with tf.variable_scope("model"):
        emb = tf.get_variable("emb", [10, 4], partitioner=tf.fixed_size_partitioner(3))
    assert isinstance(emb, tf.PartitionedVariable) and len(emb) == 3
    assert [v.op.name for v in emb] == ["model/emb/part_0", "model/emb/part_1", "model/emb/part_2"]
    assert [v.shape.as_list() for v in emb] == [[4, 4], [3, 4], [3, 4]]
    assert emb.get_shape().as_list() == [10, 4]
    with tf.variable_scope("model", reuse=True):
        assert tf.get_variable("emb", [10, 4], partitioner=tf.fixed_size_partitioner(3)) is emb
    whole = run(tf.convert_to_tensor(emb))
    assert whole.shape == (10, 4)


def test_size_based_partitioners():
    shape, f32 = tf.TensorShape([100, 8]), tf.float32  # 32 bytes a row
    assert tf.variable_axis_size_partitioner(320)(shape, f32) == [10, 1]
    assert tf.variable_axis_size_partitioner(320, max_shards=4)(shape, f32) == [4, 1]
    assert tf.min_max_variable_partitioner(max_partitions=8, min_slice_size=1024)(shape, f32) == [4, 1]
    assert tf.min_max_variable_partitioner(max_partitions=2, min_slice_size=1024)(shape, f32) == [2, 1]
    assert tf.fixed_size_partitioner(5, axis=1)(shape, dtype=f32) == [1, 5]


def test_partitioned_embedding_lookup_and_replica_device_setter():
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        emb = tf.get_variable("emb", [7, 2], partitioner=tf.fixed_size_partitioner(3),
                              initializer=tf.constant_initializer(1.0))
    assert [v.device for v in emb] == ["/job:ps/task:0", "/job:ps/task:1", "/job:ps/task:0"]


def _rows_of(table):
    """An initializer giving each shard its rows of `table` (partition_info says where the shard starts)."""
    def init(shape, dtype=None, partition_info=None):
        start = partition_info.var_offset[0]
        return tf.constant(table[start:start + shape[0]])
    return init


def test_partitioned_variable_lookup_matches_numpy():
    table = RNG.randn(7, 2).astype(np.float32)
    emb = tf.get_variable("emb", [7, 2], partitioner=tf.fixed_size_partitioner(2), initializer=_rows_of(table))
    out = tf.nn.embedding_lookup(emb, [6, 0, 3], partition_strategy="div")
    np.testing.assert_allclose(run(out), table[[6, 0, 3]])


def test_saver_keeps_the_shards_under_the_full_name(tmp_path):
    table = np.arange(14, dtype=np.float32).reshape(7, 2)
    emb = tf.get_variable("emb", [7, 2], partitioner=tf.fixed_size_partitioner(2), initializer=_rows_of(table))
    other = tf.Variable(3.0, name="other")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "model"))
    from tfmini.train.saver import read_checkpoint
    stored = read_checkpoint(path)
    assert sorted(stored) == ["emb", "other"]
    np.testing.assert_array_equal(stored["emb"], table)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([tf.assign(v, tf.zeros_like(v)) for v in emb] + [tf.assign(other, 0.0)])
        saver.restore(sess, path)
        np.testing.assert_array_equal(np.concatenate(sess.run(list(emb))), table)
        assert sess.run(other) == 3.0


# -- a TF 1.x program: word2vec skip-gram with nce_loss -----------------------------------------------------------------
def test_word2vec_example_learns_topics(capsys):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "word2vec_tiny.py"
    spec = importlib.util.spec_from_file_location("word2vec_tiny", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    averages, final, dictionary, reverse = module.train(steps=2001)
    assert "Average loss at step 2000" in capsys.readouterr().out
    assert averages[-1] < 0.5 * averages[0]
    for topic, (subjects, verbs, objects) in module.GROUPS.items():
        same = set(subjects + verbs + objects)
        for word in (subjects[0], objects[0]):
            assert set(module.nearest(final, dictionary, reverse, word)) <= same, (word, topic)


def test_sparse_and_dense_gradients_of_one_variable_aggregate_and_train():
    init = RNG.randn(4, 2).astype(np.float32)
    v = tf.Variable(init)
    loss = tf.reduce_sum(tf.gather(v, [1, 1, 3])) + tf.reduce_sum(v * 2.0)
    grad, = tf.gradients(loss, [v._ref()])
    assert isinstance(grad, tf.IndexedSlices)  # the dense part becomes slices of every row, as in TF
    step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(tf.convert_to_tensor(grad)), [[2, 2], [4, 4], [2, 2], [3, 3]])
        sess.run(step)
        np.testing.assert_allclose(sess.run(v), init - 0.5 * np.array([[2, 2], [4, 4], [2, 2], [3, 3]]), rtol=1e-6)


def test_gather_of_a_concat_trains_with_gated_gradients():
    a, b = tf.Variable(np.zeros((2, 2), np.float32)), tf.Variable(np.zeros((3, 2), np.float32))
    loss = tf.reduce_sum(tf.gather(tf.concat([a, b], 0), [0, 4, 4]))
    step = tf.train.GradientDescentOptimizer(1.0).minimize(loss, gate_gradients=tf.train.Optimizer.GATE_GRAPH)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step)
        np.testing.assert_array_equal(sess.run(a), [[-1, -1], [0, 0]])
        np.testing.assert_array_equal(sess.run(b), [[0, 0], [0, 0], [-2, -2]])


def test_saver_takes_a_partitioned_variable_by_key(tmp_path):
    table = np.arange(10, dtype=np.float32).reshape(5, 2)
    emb = tf.get_variable("emb", [5, 2], partitioner=tf.fixed_size_partitioner(3), initializer=_rows_of(table))
    saver = tf.train.Saver({"table": emb})
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
        sess.run([tf.assign(v, tf.zeros_like(v)) for v in emb])
        saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(tf.convert_to_tensor(emb)), table)
