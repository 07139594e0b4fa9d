"""tf.data: datasets as graph ops, iterators as worker resources; values against NumPy and TF 2.21 goldens."""
import gzip
import json
import pathlib

import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tfrecord
from tfmini.data import structure

GOLDENS = json.loads((pathlib.Path(__file__).parent / "data" / "tf_data_pipelines.json").read_text())


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def drain(sess, next_element, feed_dict=None):
    out = []
    while True:
        try:
            out.append(sess.run(next_element, feed_dict))
        except tf.errors.OutOfRangeError:
            return out


def one_shot_values(dataset):
    with tf.Session() as sess:
        return drain(sess, dataset.make_one_shot_iterator().get_next())


def _golden_value(entry):
    if entry["dtype"] == "object":
        return np.vectorize(lambda s: s.encode("latin-1"), otypes=[object])(np.array(entry["value"], dtype=object))
    return np.array(entry["value"], dtype=entry["dtype"])


@pytest.mark.parametrize("case", sorted(GOLDENS["cases"]))
def test_pipeline_matches_tensorflow(case):
    golden = GOLDENS["cases"][case]
    dataset = eval(golden["code"], {"tf": tf, "np": np})  # noqa: S307 - the golden's own pipeline
    it = tf.compat.v1.data.make_one_shot_iterator(dataset)
    flat = structure.flatten(it.get_next())
    with tf.Session() as sess:
        got = drain(sess, flat)
    assert len(got) == len(golden["elements"])
    for element, expected in zip(got, golden["elements"]):
        for value, entry in zip(element, expected):
            want = _golden_value(entry)
            value = np.asarray(value)
            assert value.dtype == want.dtype and value.shape == want.shape
            np.testing.assert_array_equal(value, want)


def test_batch_gathers_rows_of_sliced_arrays_as_numpy_does():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(20))).shard(2, 1).skip(1).take(6).repeat(2).batch(4)
    rows = np.concatenate([np.arange(20)[1::2][1:7]] * 2)
    got = one_shot_values(ds)
    assert [b[1].tolist() for b in got] == [rows[i:i + 4].tolist() for i in range(0, 12, 4)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), x[rows])


def test_structure_types_and_shapes():
    x = np.zeros([5, 3], np.float32)
    ds = tf.data.Dataset.from_tensor_slices({"x": x, "y": np.arange(5)})
    assert ds.output_types == {"x": tf.float32, "y": tf.int64}
    assert ds.output_shapes["x"].as_list() == [3]
    batched = ds.batch(2)
    assert batched.output_shapes["x"].as_list() == [None, 3]
    assert ds.batch(2, drop_remainder=True).output_shapes["y"].as_list() == [2]
    assert tf.compat.v1.data.get_output_types(batched) == {"x": tf.float32, "y": tf.int64}
    assert tf.compat.v1.data.get_output_shapes(batched)["y"].as_list() == [None]
    assert batched._variant.op.type == "BatchDatasetV2"
    assert batched._variant.dtype == tf.variant
    element = batched.make_one_shot_iterator().get_next()
    assert element["x"].shape.as_list() == [None, 3] and element["x"].op.type == "IteratorGetNext"


def test_end_of_sequence_and_session_survives():
    it = tf.data.Dataset.range(2).make_one_shot_iterator()
    n = it.get_next()
    c = tf.constant(7)
    with tf.Session() as sess:
        assert [sess.run(n), sess.run(n)] == [0, 1]
        with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
            sess.run(n)
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(n)
        assert sess.run(c) == 7


def test_initializable_iterator_with_placeholder_reinitialized():
    limit = tf.placeholder(tf.int64, [])
    it = tf.data.Dataset.range(limit).batch(2).make_initializable_iterator()
    nxt = it.get_next()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(nxt)
        sess.run(it.initializer, {limit: 3})
        assert [v.tolist() for v in drain(sess, nxt)] == [[0, 1], [2]]
        sess.run(it.initializer, {limit: 5})
        assert [v.tolist() for v in drain(sess, nxt)] == [[0, 1], [2, 3], [4]]


def test_reinitializable_from_structure():
    train = tf.data.Dataset.range(10).batch(4)
    valid = tf.data.Dataset.range(100, 103).batch(4)
    it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    nxt = it.get_next()
    init_train, init_valid = it.make_initializer(train), it.make_initializer(valid)
    with tf.Session() as sess:
        sess.run(init_train)
        assert sess.run(nxt).tolist() == [0, 1, 2, 3]
        sess.run(init_valid)
        assert [v.tolist() for v in drain(sess, nxt)] == [[100, 101, 102]]
        sess.run(init_train)
        assert len(drain(sess, nxt)) == 3
    with pytest.raises(TypeError):
        it.make_initializer(tf.data.Dataset.from_tensors(np.float32(1)))


def test_feedable_iterator_string_handle():
    a = tf.data.Dataset.range(3).repeat()
    b = tf.data.Dataset.range(50, 53)
    handle = tf.placeholder(tf.string, [])
    it = tf.data.Iterator.from_string_handle(handle, a.output_types, a.output_shapes)
    nxt = it.get_next()
    ia, ib = a.make_one_shot_iterator(), b.make_initializable_iterator()
    with tf.Session() as sess:
        ha, hb = sess.run([ia.string_handle(), ib.string_handle()])
        sess.run(ib.initializer)
        assert [sess.run(nxt, {handle: ha}) for _ in range(4)] == [0, 1, 2, 0]
        assert sess.run(nxt, {handle: hb}) == 50
        assert sess.run(nxt, {handle: ha}) == 1


def _shuffled_epochs(seed, epochs=2, size=10, buffer_size=4, reshuffle=None):
    ds = tf.data.Dataset.range(size).shuffle(buffer_size, seed=seed, reshuffle_each_iteration=reshuffle)
    values = one_shot_values(ds.repeat(epochs))
    return [values[i * size:(i + 1) * size] for i in range(epochs)]


def test_shuffle_is_a_permutation_seeded_deterministic():
    first = _shuffled_epochs(seed=3)
    for epoch in first:
        assert sorted(epoch) == list(range(10))
    assert first[0] != first[1]  # reshuffled each iteration
    tf.reset_default_graph()
    assert _shuffled_epochs(seed=3) == first
    tf.reset_default_graph()
    same = _shuffled_epochs(seed=3, reshuffle=False)
    assert same[0] == same[1]


def test_shuffle_buffer_semantics_statistically():
    # With a buffer of b, the first element emitted is uniform over the first b elements only, and
    # element i cannot come out before position i - b + 1.
    size, b, trials = 20, 5, 400
    ds = tf.data.Dataset.range(size).shuffle(b).repeat(trials)
    values = np.array(one_shot_values(ds)).reshape(trials, size)
    firsts = np.bincount(values[:, 0], minlength=size)
    assert firsts[b:].sum() == 0
    assert firsts[:b].min() > trials / b * 0.6
    positions = np.argsort(values, axis=1)
    assert (positions >= np.arange(size) - b + 1).all()
    # not merely a rotation: many different orders
    assert len({tuple(v) for v in values}) > trials * 0.9


def test_text_line_dataset(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt.gz"
    a.write_bytes(b"one\ntwo\r\n\nlast")
    with gzip.open(b, "wb") as f:
        f.write(b"gz1\ngz2\n")
    lines = one_shot_values(tf.data.TextLineDataset([str(a)]))
    assert lines == [b"one", b"two", b"", b"last"]
    tf.reset_default_graph()
    assert one_shot_values(tf.data.TextLineDataset(str(b), compression_type="GZIP")) == [b"gz1", b"gz2"]
    tf.reset_default_graph()
    with pytest.raises(tf.errors.NotFoundError):
        one_shot_values(tf.data.TextLineDataset(str(tmp_path / "missing.txt")))


def test_tfrecord_dataset(tmp_path):
    path = tmp_path / "r.tfrecord"
    records = [b"alpha", b"", b"x" * 1000]
    path.write_bytes(b"".join(tfrecord.encode_record(r) for r in records))
    gz = tmp_path / "r.tfrecord.gz"
    with gzip.open(gz, "wb") as f:
        f.write(path.read_bytes())
    assert one_shot_values(tf.data.TFRecordDataset(str(path))) == records
    tf.reset_default_graph()
    both = tf.data.TFRecordDataset([str(path), str(gz)], compression_type="GZIP")
    with pytest.raises(tf.errors.DataLossError):  # the first file is not gzip-compressed... nor framed as gzip
        one_shot_values(both)
    tf.reset_default_graph()
    assert one_shot_values(tf.data.TFRecordDataset(str(gz), compression_type="GZIP")) == records
    corrupt = bytearray(path.read_bytes())
    corrupt[14] ^= 0xFF
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(corrupt))
    tf.reset_default_graph()
    with pytest.raises(tf.errors.DataLossError):
        one_shot_values(tf.data.TFRecordDataset(str(bad)))


def test_fixed_length_record_dataset(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"HDR" + b"aabbccdd" + b"e" + b"FT")  # the trailing partial record is dropped, as TF
    ds = tf.data.FixedLengthRecordDataset(str(path), 2, header_bytes=3, footer_bytes=2)
    assert one_shot_values(ds) == [b"aa", b"bb", b"cc", b"dd"]


def test_batch_shape_mismatch_is_invalid_argument():
    ds = tf.data.Dataset.from_tensors(np.zeros(2)).concatenate(tf.data.Dataset.from_tensors(np.zeros(3))).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot batch tensors with different shapes"):
        one_shot_values(ds)


def test_map_function_is_traced_into_its_own_graph():
    ds = tf.data.Dataset.from_tensor_slices({"x": np.arange(6.0, dtype=np.float32).reshape(3, 2)})
    mapped = ds.map(lambda e: (tf.reduce_sum(e["x"]), e["x"] * 2.0))
    assert mapped.output_types == (tf.float32, tf.float32)
    assert [s.as_list() for s in mapped.output_shapes] == [[], [2]]
    op = mapped._variant.op
    assert op.type == "MapDataset" and op.get_attr("f").name.startswith("__inference_map")
    assert all(o.type != "Sum" for o in tf.get_default_graph().get_operations())  # the body is not in the graph
    got = one_shot_values(mapped)
    assert [g[0] for g in got] == [1.0, 5.0, 9.0]
    np.testing.assert_array_equal(got[2][1], [8.0, 10.0])


def test_map_captures_a_placeholder_and_a_variable_fed_at_initialization():
    scale = tf.placeholder(tf.float32, [])
    w = tf.Variable(2.0)
    ds = tf.data.Dataset.from_tensor_slices(np.arange(3, dtype=np.float32)).map(lambda x: x * scale + w)
    assert ds._variant.op.get_attr("Targuments") == [tf.float32, tf.float32]
    it = ds.make_initializable_iterator()
    nxt = it.get_next()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(it.initializer, {scale: 10.0})
        assert drain(sess, nxt) == [2.0, 12.0, 22.0]
        sess.run(it.initializer, {scale: -1.0})
        assert drain(sess, nxt) == [2.0, 1.0, 0.0]


def test_random_ops_in_map_follow_the_graph_seed():
    def values():
        tf.reset_default_graph()
        tf.set_random_seed(7)
        ds = tf.data.Dataset.range(3).map(lambda x: tf.random_uniform([2]) + tf.cast(x, tf.float32))
        return np.array(one_shot_values(ds))
    first = values()
    np.testing.assert_array_equal(first, values())
    assert len({tuple(np.round(r - np.arange(3)[:, None][i], 6)) for i, r in enumerate(first)}) == 3


def test_filter_predicate_must_be_a_scalar_bool():
    with pytest.raises(ValueError, match="scalar boolean"):
        tf.data.Dataset.range(3).filter(lambda x: x)
    with pytest.raises(TypeError, match="must return a Dataset"):
        tf.data.Dataset.range(3).flat_map(lambda x: x)


def test_training_program_reads_a_dataset():
    rng = np.random.RandomState(0)
    x_data = rng.randn(256, 4).astype(np.float32)
    y_data = x_data @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((x_data * 10.0, y_data))
    dataset = dataset.map(lambda x, y: (x / 10.0, y)).shuffle(64, seed=1).repeat().batch(32).prefetch(1)
    x, y = dataset.make_one_shot_iterator().get_next()
    w = tf.Variable(tf.zeros([4, 1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(200):
            _, final = sess.run([train_op, loss])
    assert final < 1e-3


def test_cluster_workers_each_read_their_own_shard(tmp_path):
    from test_distributed import ProcessCluster
    cluster = ProcessCluster(str(tmp_path), num_ps=0, num_workers=2)
    try:
        nexts = []
        for i in range(2):
            with tf.device(f"/job:worker/task:{i}"):
                it = tf.data.Dataset.range(100).shard(2, i).make_initializable_iterator()
                nexts.append((it.initializer, it.get_next()))
        assert nexts[1][1].op.device.endswith("task:1")
        with tf.Session(cluster.target("worker", 0)) as sess:
            sess.run([init for init, _ in nexts])
            seen = [drain(sess, n) for _, n in nexts]
            sess.run(nexts[1][0])  # a re-initialized task-1 iterator starts its shard again
            again = sess.run(nexts[1][1])
            handles = sess.run([tf.data.Iterator(n.op.inputs[0], None, tf.int64, None).string_handle()
                                for _, n in nexts])
        assert seen[0] == list(range(0, 100, 2)) and seen[1] == list(range(1, 100, 2))
        assert again == 1
        for i, handle in enumerate(handles):  # a handle names the task holding the iterator resource
            assert handle.decode().startswith(f"/job:worker/replica:0/task:{i}|")
    finally:
        cluster.stop()


def test_tfmini_dataset_graph_runs_on_tensorflow(tmp_path, tf_python):
    import subprocess
    from test_tf_interchange import _TF_SCRIPT
    ds = tf.data.Dataset.zip((tf.data.Dataset.range(5), tf.data.Dataset.from_tensor_slices(np.arange(10, 16))))
    ds = ds.concatenate(tf.data.Dataset.zip((tf.data.Dataset.range(7, 9), tf.data.Dataset.range(2))))
    ds = ds.skip(1).shard(2, 0).padded_batch(2, ([], [])).repeat(2).take(3)
    it = ds.make_initializable_iterator()
    first, _ = it.get_next()
    with tf.Session() as sess:
        sess.run(it.initializer)
        ours = [v.tolist() for v in drain(sess, first)]
    tf.io.write_graph(tf.get_default_graph(), str(tmp_path), "g.pbtxt")
    fetches = [it.initializer.name] + [first.name] * 3
    proc = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(tmp_path / "g.pbtxt"), json.dumps(fetches)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])[1:] == ours == [[1, 3], [7], [1, 3]]
