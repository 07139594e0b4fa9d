"""TFRecord files, tf.train.Example protos and their parsing, against TensorFlow 2.21 (conftest's tf_python, run
once in a subprocess) and its goldens (tests/data/tf_graphs/parse_examples, tools/make_tf_goldens.py)."""
import json
import pathlib
import subprocess
import textwrap

import numpy as np
import pytest

import tfmini as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "tf_graphs" / "parse_examples"
COMPRESSIONS = ["", "ZLIB", "GZIP"]
RECORDS = [b"first", b"", b"\x00\xff" * 300, "text"]  # tf.python_io writes a str as its UTF-8 bytes


def _example(**features):
    def feature(v):
        if isinstance(v[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        if isinstance(v[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    return tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in features.items()}))


EXAMPLES = [dict(pixels=[0.5, 1.5, 2.5, -1.0], label=[3], tags=[1, 2, 3], rows=[1.0, 2.0, 3.0, 4.0]),
            dict(pixels=[4.0, 3.0, 2.0, 1.0], tags=[7], rows=[5.0, 6.0], counts=[4, 5]),
            dict(pixels=[0.0, 0.25, 0.5, 0.75], label=[1], counts=[6])]
# Tensors SerializeTensor writes, in both (each as numpy code, for both interpreters).
TENSORS = ["np.array([[1.0, 2.0]], np.float32)", "np.array(3, np.int32)", "np.array([b'ab', b'c'])",
           "np.zeros([0, 2], np.int64)", "np.array([True, False])", "np.array(2.5, np.float64)"]

# Run by TensorFlow: reads the files tfmini wrote, writes its own, and serializes the same Examples.
_TF_SCRIPT = textwrap.dedent('''
    import json, sys
    import tensorflow as tf
    tmp, compressions = sys.argv[1], sys.argv[2].split(",")
    records = [b"first", b"", b"\\x00\\xff" * 300, b"text"]
    out = {"read": {}, "examples": []}
    for c in compressions:
        options = tf.io.TFRecordOptions(compression_type=c or None)
        out["read"][c] = [r.hex() for r in tf.compat.v1.io.tf_record_iterator(f"{tmp}/tfmini_{c}.tfrecord", options)]
        with tf.io.TFRecordWriter(f"{tmp}/tf_{c}.tfrecord", options) as w:
            for r in records:
                w.write(r)
    def feature(v):
        if isinstance(v[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        if isinstance(v[0], str):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[s.encode() for s in v]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    for features in json.loads(sys.argv[3]):
        ex = tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in features.items()}))
        out["examples"].append(ex.SerializeToString(deterministic=True).hex())
    seq = tf.train.SequenceExample(
        context=tf.train.Features(feature={"id": feature([9])}),
        feature_lists=tf.train.FeatureLists(feature_list={"frames": tf.train.FeatureList(
            feature=[feature([1.0, 2.0]), feature([3.0])])}))
    out["sequence"] = seq.SerializeToString().hex()
    import numpy as np
    tf.compat.v1.disable_eager_execution()
    with tf.compat.v1.Session() as sess:
        out["tensors"] = [sess.run(tf.io.serialize_tensor(eval(code))).hex() for code in json.loads(sys.argv[4])]
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def tensorflow_side(tf_python, tmp_path_factory):
    """Writes tfmini's files, runs TensorFlow once over them, and returns what it read and wrote."""
    tmp = tmp_path_factory.mktemp("records")
    for c in COMPRESSIONS:
        with tf.python_io.TFRecordWriter(str(tmp / f"tfmini_{c}.tfrecord"), tf.python_io.TFRecordOptions(c)) as w:
            for r in RECORDS:
                w.write(r)
    examples = EXAMPLES + [dict(name=["a", "bc"], x=[1.5], n=[-5, 2 ** 40])]
    done = subprocess.run([tf_python, "-c", _TF_SCRIPT, str(tmp), ",".join(COMPRESSIONS), json.dumps(examples),
                           json.dumps(TENSORS)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp, json.loads(done.stdout.strip().splitlines()[-1])


def _as_bytes(r):
    return r.encode() if isinstance(r, str) else r


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tensorflow_reads_tfmini_records(tensorflow_side, compression):
    _, out = tensorflow_side
    assert [bytes.fromhex(h) for h in out["read"][compression]] == [_as_bytes(r) for r in RECORDS]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tfmini_reads_tensorflow_records(tensorflow_side, compression):
    tmp, _ = tensorflow_side
    path = str(tmp / f"tf_{compression}.tfrecord")
    options = tf.io.TFRecordOptions(compression_type=compression or None)
    assert list(tf.io.tf_record_iterator(path, options)) == [_as_bytes(r) for r in RECORDS]
    # the compression given as TF's enum, or by name
    enum = getattr(tf.python_io.TFRecordCompressionType, compression or "NONE")
    assert list(tf.python_io.tf_record_iterator(path, tf.python_io.TFRecordOptions(enum))) == \
        list(tf.python_io.tf_record_iterator(path, compression or None))


def test_example_protos_are_byte_identical_to_tensorflow(tensorflow_side):
    _, out = tensorflow_side
    ours = [_example(**f) for f in EXAMPLES] + [_example(name=[b"a", b"bc"], x=[1.5], n=[-5, 2 ** 40])]
    assert [e.SerializeToString(deterministic=True).hex() for e in ours] == out["examples"]
    seq = tf.train.SequenceExample(
        context=tf.train.Features(feature={"id": tf.train.Feature(int64_list=tf.train.Int64List(value=[9]))}),
        feature_lists=tf.train.FeatureLists(feature_list={"frames": tf.train.FeatureList(feature=[
            tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0])),
            tf.train.Feature(float_list=tf.train.FloatList(value=[3.0]))])}))
    assert seq.SerializeToString().hex() == out["sequence"]
    back = tf.train.Example.FromString(bytes.fromhex(out["examples"][0]))
    assert list(back.features.feature["tags"].int64_list.value) == [1, 2, 3]


def test_writer_flush_close_and_corruption(tmp_path):
    path = str(tmp_path / "a.tfrecord")
    writer = tf.python_io.TFRecordWriter(path)
    writer.write(b"one")
    writer.flush()
    assert list(tf.python_io.tf_record_iterator(path)) == [b"one"]
    writer.write(b"two")
    writer.close()
    writer.close()  # closing twice is harmless, as in TF
    data = bytearray(pathlib.Path(path).read_bytes())
    data[-6] ^= 0x01  # a byte of the second record's data
    pathlib.Path(path).write_bytes(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match="corrupted record"):
        list(tf.python_io.tf_record_iterator(path))
    gz = tmp_path / "b.tfrecord"
    gz.write_bytes(b"not a gzip stream")
    with pytest.raises(tf.errors.DataLossError):
        list(tf.python_io.tf_record_iterator(str(gz), tf.python_io.TFRecordOptions("GZIP")))
    with pytest.raises(ValueError, match="Unsupported compression type"):
        tf.python_io.TFRecordOptions("LZ4")


def _parse_like_the_golden():
    serialized = [_example(**f).SerializeToString() for f in EXAMPLES]
    batch = tf.parse_example(tf.constant(serialized, name="serialized"), {
        "pixels": tf.FixedLenFeature([2, 2], tf.float32), "label": tf.FixedLenFeature([], tf.int64, -1),
        "tags": tf.VarLenFeature(tf.int64), "rows": tf.FixedLenSequenceFeature([2], tf.float32, True, -1.0),
        "counts": tf.FixedLenSequenceFeature([], tf.int64, allow_missing=True)})
    one = tf.parse_single_example(tf.constant(serialized[0], name="one"), {
        "pixels": tf.FixedLenFeature([4], tf.float32), "tags": tf.VarLenFeature(tf.int64),
        "weight": tf.FixedLenFeature([1], tf.float32, default_value=[0.5])})
    dense_tags = tf.sparse_tensor_to_dense(batch["tags"], default_value=-1)
    round_trip = tf.parse_tensor(tf.serialize_tensor(batch["pixels"]), tf.float32)
    tags, one_tags = batch["tags"], one["tags"]
    return [batch["pixels"], batch["label"], tags.indices, tags.values, tags.dense_shape, dense_tags,
            one["pixels"], one["weight"], one_tags.indices, one_tags.values, one_tags.dense_shape,
            batch["rows"], batch["counts"], round_trip]


def test_parse_example_values_and_graph_match_tensorflow():
    golden = json.loads(GOLDEN.with_suffix(".json").read_text())["steps"][0]
    with tf.Graph().as_default() as g:
        fetches = _parse_like_the_golden()
        assert [t.name for t in fetches] == golden["fetch"]
        with tf.Session() as sess:
            values = sess.run(fetches)
    for got, want, dtype in zip(values, golden["values"], golden["dtypes"]):
        assert str(np.asarray(got).dtype) == dtype
        np.testing.assert_array_equal(got, np.asarray(want, dtype))
    theirs = tf.io.read_graph(str(GOLDEN.with_suffix(".pbtxt")))
    ours = g.as_graph_def()
    assert [(n.name, n.op, list(n.input)) for n in ours.node] == [(n.name, n.op, list(n.input)) for n in theirs.node]
    parse = [n for n in ours.node if n.op == "ParseExampleV2"]
    for mine, tfs in zip(parse, [n for n in theirs.node if n.op == "ParseExampleV2"]):
        assert dict(mine.attr) == dict(tfs.attr)


def test_serialize_tensor_is_tensorflows_and_parses_back(tensorflow_side):
    _, out = tensorflow_side
    values = [eval(code) for code in TENSORS]  # noqa: S307 - our own constant strings
    with tf.Session() as sess:
        serialized = sess.run([tf.io.serialize_tensor(v) for v in values])
        assert [s.hex() for s in serialized] == out["tensors"]
        for v, s in zip(values, serialized):
            back = sess.run(tf.io.parse_tensor(s, tf.as_dtype(v.dtype)))
            assert tf.as_dtype(back.dtype) == tf.as_dtype(v.dtype) and back.shape == v.shape
            np.testing.assert_array_equal(back, v)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"Type mismatch between parsed tensor \(float\) and dtype \(int32\)"):
            sess.run(tf.parse_tensor(serialized[0], tf.int32))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse `serialized` as TensorProto, "
                                                                 "base64: B3p6"):
            sess.run(tf.parse_tensor(b"\x07zz", tf.int32))
    assert tf.parse_tensor(serialized[0], tf.float32).shape.rank is None
    assert tf.serialize_tensor(values[0]).shape.as_list() == []


def test_sequence_feature_rules():
    s = tf.placeholder(tf.string, [None])
    with pytest.raises(ValueError, match="requires allow_missing to be True"):
        tf.parse_example(s, {"q": tf.FixedLenSequenceFeature([2], tf.float32)})
    out = tf.parse_example(s, {"q": tf.io.FixedLenSequenceFeature([2], tf.float32, allow_missing=True)})
    assert out["q"].shape.as_list() == [None, None, 2]
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Name: <unknown>, Key: q, Index: 0.  Number of "
                           r"float values is not a multiple of stride length. Saw 3 values but output shape is: "
                           r"\[\?,2\]"):
            sess.run(out, {s: [_example(q=[1.0, 2.0, 3.0]).SerializeToString()]})
        assert sess.run(out["q"], {s: [b"", b""]}).shape == (2, 0, 2)



def _sequence_example():
    t = tf.train
    ints = lambda *v: t.Feature(int64_list=t.Int64List(value=v))  # noqa: E731
    floats = lambda *v: t.Feature(float_list=t.FloatList(value=v))  # noqa: E731
    return t.SequenceExample(
        context=t.Features(feature={"id": ints(5), "scale": floats(0.5, 2.0), "tags": ints(3, 4)}),
        feature_lists=t.FeatureLists(feature_list={
            "frames": t.FeatureList(feature=[floats(1.0, 2.0), floats(3.0, 4.0), floats(5.0, 6.0)]),
            "words": t.FeatureList(feature=[ints(1, 2), ints(), ints(7)])}))


SEQUENCE_FEATURES = {"frames": tf.FixedLenSequenceFeature([2], tf.float32),
                     "missing": tf.FixedLenSequenceFeature([], tf.int64, allow_missing=True),
                     "words": tf.VarLenFeature(tf.int64)}


def test_parse_single_sequence_example_matches_tensorflow():
    golden_path = GOLDEN.with_name("parse_sequence_example")
    golden = json.loads(golden_path.with_suffix(".json").read_text())["steps"][0]
    with tf.Graph().as_default() as g:
        context, lists = tf.io.parse_single_sequence_example(
            tf.constant(_sequence_example().SerializeToString(), name="serialized"),
            context_features={"id": tf.FixedLenFeature([], tf.int64), "scale": tf.FixedLenFeature([2], tf.float32),
                              "label": tf.FixedLenFeature([], tf.int64, default_value=-1),
                              "tags": tf.VarLenFeature(tf.int64)},
            sequence_features=SEQUENCE_FEATURES)
        outputs = lists["frames"].op.outputs
        assert [o.name for o in outputs] == golden["fetch"]
        with tf.Session() as sess:
            values = sess.run(outputs)
            ctx, seq = sess.run([context, lists])
    for got, want, dtype in zip(values, golden["values"], golden["dtypes"]):
        assert str(np.asarray(got).dtype) == dtype
        np.testing.assert_array_equal(got, np.asarray(want, dtype))
    theirs = tf.io.read_graph(str(golden_path.with_suffix(".pbtxt")))
    ours = g.as_graph_def()
    assert [(n.name, n.op, list(n.input)) for n in ours.node] == [(n.name, n.op, list(n.input)) for n in theirs.node]
    assert dict(ours.node[-1].attr) == dict(theirs.node[-1].attr)
    assert ctx["id"] == 5 and ctx["label"] == -1 and ctx["tags"].values.tolist() == [3, 4]
    np.testing.assert_array_equal(seq["frames"], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert seq["words"].indices.tolist() == [[0, 0], [0, 1], [2, 0]] and seq["words"].dense_shape.tolist() == [3, 2]
    assert seq["missing"].shape == (0,)
    assert lists["frames"].shape.as_list() == [None, 2] and lists["words"].indices.shape.as_list() == [None, 2]


def test_parse_single_sequence_example_errors():
    s = tf.placeholder(tf.string, [])
    _, lists = tf.parse_single_sequence_example(s, sequence_features=SEQUENCE_FEATURES)
    with tf.Session() as sess:
        empty = tf.train.SequenceExample().SerializeToString()
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(lists["frames"], {s: empty})
        assert e.value.message.split("\n")[0] == (
            "Name: <unknown>, Feature list 'frames' is required but could not be found.  Did you mean to include it "
            "in feature_list_dense_missing_assumed_empty or feature_list_dense_defaults?")
    with pytest.raises(ValueError, match="must be None"):
        tf.parse_single_sequence_example(s, sequence_features={"f": tf.FixedLenSequenceFeature([], tf.int64,
                                                                                              default_value=0)})
    with pytest.raises(ValueError, match="at least one should have values"):
        tf.parse_single_sequence_example(s)

def test_parse_static_shapes():
    s = tf.placeholder(tf.string, [None])
    out = tf.parse_example(s, {"a": tf.FixedLenFeature([2, 3], tf.float32), "b": tf.VarLenFeature(tf.string)})
    assert out["a"].shape.as_list() == [None, 2, 3]
    assert out["b"].indices.shape.as_list() == [None, 2] and out["b"].dense_shape.shape.as_list() == [2]
    assert out["b"].dtype == tf.string and out["b"].shape.as_list() == [None, None]
    one = tf.parse_single_example(tf.placeholder(tf.string, []), {"a": tf.FixedLenFeature([], tf.int64)})
    assert one["a"].shape.as_list() == []


def test_string_features_and_defaults():
    s = tf.placeholder(tf.string, [None])
    out = tf.io.parse_example(s, {"word": tf.FixedLenFeature([], tf.string, default_value="?"),
                                  "chars": tf.io.VarLenFeature(tf.string)})
    data = [_example(word=[b"hi"], chars=[b"h", b"i"]).SerializeToString(), _example(chars=[b"x"]).SerializeToString()]
    with tf.Session() as sess:
        words, chars = sess.run([out["word"], out["chars"]], {s: data})
    assert words.tolist() == [b"hi", b"?"]
    assert isinstance(chars, tf.SparseTensorValue)
    assert chars.indices.tolist() == [[0, 0], [0, 1], [1, 0]] and chars.values.tolist() == [b"h", b"i", b"x"]
    assert chars.dense_shape.tolist() == [2, 2]


# TensorFlow 2.21's messages for each mistake: (features, scalar input's message, batch input's message).
ERRORS = [
    ({"a": tf.FixedLenFeature([2], tf.float32)}, "Feature: a (data type: float) is required but could not be found.",
     "Name: <unknown>, Feature: a (data type: float) is required but could not be found."),
    ({"b": tf.FixedLenFeature([1], tf.float32)}, "Key: b.  Data types don't match. Data type: int64 but expected "
     "type: float", "Name: <unknown>, Key: b, Index: 0.  Data types don't match. Data type: int64 but expected "
     "type: float"),
    ({"c": tf.FixedLenFeature([2], tf.float32)}, "Key: c.  Can't parse serialized Example: Some float_list slice "
     "was not parsed.", "Name: <unknown>, Key: c, Index: 0.  Number of float values != expected.  Values size: 3 "
     "but output shape: [2]"),
    ({"b": tf.VarLenFeature(tf.string)}, "Key: b.  Data types don't match. Expected type: string, Actual type: "
     "int64", "Name: <unknown>, Key: b, Index: 0.  Data types don't match. Expected type: string, Actual type: "
     "int64"),
]


@pytest.mark.parametrize("features,single_message,batch_message", ERRORS)
def test_parse_errors_are_tensorflows(features, single_message, batch_message):
    data = _example(b=[7], c=[1.0, 2.0, 3.0]).SerializeToString()
    one, batch = tf.placeholder(tf.string, []), tf.placeholder(tf.string, [None])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(tf.parse_single_example(one, features), {one: data})
        assert e.value.message.split("\n")[0] == single_message
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            sess.run(tf.parse_example(batch, features), {batch: [data]})
        assert e.value.message.split("\n")[0] == batch_message
        with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse example input, value: '\x07garb"):
            sess.run(tf.parse_single_example(one, features), {one: b"\x07garbage"})


def test_sparse_tensor_fetch_and_to_dense():
    sp = tf.SparseTensor(indices=[[0, 1], [2, 0]], values=[5.0, 6.0], dense_shape=[3, 2])
    assert sp.shape.as_list() == [3, 2] and sp.dtype == tf.float32 and sp.indices.dtype == tf.int64
    dense = tf.sparse.to_dense(sp, default_value=-1.0)
    assert isinstance(tf.sparse.SparseTensor, type) and tf.sparse.SparseTensor is tf.SparseTensor
    with tf.Session() as sess:
        value, d, z = sess.run([sp, dense, tf.sparse_tensor_to_dense(sp)])
        assert isinstance(value, tf.SparseTensorValue)
        np.testing.assert_array_equal(value.indices, [[0, 1], [2, 0]])
        np.testing.assert_array_equal(value.values, [5.0, 6.0])
        np.testing.assert_array_equal(value.dense_shape, [3, 2])
        assert sp.eval().values.tolist() == [5.0, 6.0]
        # a SparseTensorValue (or tuple) densifies as well
        again = sess.run(tf.sparse.to_dense(tf.SparseTensorValue(*value)))
    want = np.array([[-1, 5], [-1, -1], [6, -1]], np.float32)
    np.testing.assert_array_equal(d, want)
    np.testing.assert_array_equal(z, np.where(want < 0, 0, want))
    np.testing.assert_array_equal(again, z)


# -- a TF 1.x program: the digits to TFRecords as tf.train.Example, read back in a graph, softmax regression -------
def write_digits(path, images, labels):
    with tf.python_io.TFRecordWriter(path, options=tf.python_io.TFRecordOptions(
            tf.python_io.TFRecordCompressionType.GZIP)) as writer:
        for image, label in zip(images, labels):
            example = tf.train.Example(features=tf.train.Features(feature={
                "image": tf.train.Feature(float_list=tf.train.FloatList(value=image)),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}))
            writer.write(example.SerializeToString())


def read_digits(path):
    serialized = tf.placeholder(tf.string, shape=[], name="serialized")
    features = tf.parse_single_example(serialized, features={
        "image": tf.FixedLenFeature([64], tf.float32), "label": tf.FixedLenFeature([], tf.int64)})
    images, labels = [], []
    options = tf.python_io.TFRecordOptions(tf.python_io.TFRecordCompressionType.GZIP)
    with tf.Session() as sess:
        for record in tf.python_io.tf_record_iterator(path, options=options):
            image, label = sess.run([features["image"], features["label"]], feed_dict={serialized: record})
            images.append(image)
            labels.append(label)
    return np.stack(images), np.array(labels)


def test_digits_through_tfrecords_train_softmax_regression(tmp_path):
    from sklearn.datasets import load_digits
    digits = load_digits()
    images, labels = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    path = str(tmp_path / "digits.tfrecord.gz")
    write_digits(path, images, labels)
    with tf.Graph().as_default():
        x_all, y_all = read_digits(path)
    np.testing.assert_array_equal(x_all, images)
    np.testing.assert_array_equal(y_all, labels)

    x = tf.placeholder(tf.float32, [None, 64])
    y_ = tf.placeholder(tf.int64, [None])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b
    cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), y_), tf.float32))
    train, test = slice(0, 1500), slice(1500, None)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(150):
            sess.run(train_step, feed_dict={x: x_all[train], y_: y_all[train]})
        acc = sess.run(accuracy, feed_dict={x: x_all[test], y_: y_all[test]})
    assert acc > 0.88


def test_gradients_through_parsing_ops_are_tensorflows():
    x = tf.constant([1.0, 2.0])
    assert tf.gradients(tf.parse_tensor(tf.serialize_tensor(x), tf.float32), x) == [None]
    with tf.Graph().as_default():
        parsed = tf.parse_example(tf.placeholder(tf.string, [None]), {"a": tf.FixedLenFeature([1], tf.float32, [0.])})
        with pytest.raises(LookupError, match="No gradient defined for operation 'ParseExample/ParseExampleV2'"):
            tf.gradients(parsed["a"], parsed["a"].op.inputs[5])


def test_compression_type_strings():
    get = tf.python_io.TFRecordOptions.get_compression_type_string
    assert [get(None), get(""), get("ZLIB"), get(tf.python_io.TFRecordCompressionType.GZIP)] == ["", "", "ZLIB", "GZIP"]
    assert get(tf.io.TFRecordOptions(compression_type="GZIP", compression_level=9)) == "GZIP"
