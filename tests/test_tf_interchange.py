"""GraphDefs move between TensorFlow and tfmini and give the same answers on both sides.

The golden GraphDefs and values in tests/data/tf_graphs were written by TensorFlow 2.21
(tools/make_tf_goldens.py); the export test needs TensorFlow itself and skips without it.
"""
import json
import pathlib
import subprocess

import numpy as np
import pytest

import tfmini as tf
from tfmini import importer
from tfmini.protos import graph_pb2

DATA = pathlib.Path(__file__).parent / "data" / "tf_graphs"
CASES = sorted(p.stem for p in DATA.glob("*.pbtxt"))


def replay(case):
    graph_def = importer.read_graph(str(DATA / f"{case}.pbtxt"))
    expected = json.loads((DATA / f"{case}.json").read_text())["steps"]
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    with tf.Session(graph=graph) as sess:
        for step in expected:
            values = sess.run(step["fetch"] + step["target"])[:len(step["fetch"])]
            yield step, values


@pytest.mark.parametrize("case", CASES)
def test_tensorflow_graph_runs_on_tfmini(case):
    exact = case.startswith("seed")  # scalar float32 math: bit-for-bit; MLPs sum in another order
    for step, values in replay(case):
        for name, got, want, dtype in zip(step["fetch"], values, step["values"], step["dtypes"]):
            got = np.asarray(got)
            assert str(got.dtype) == dtype, name
            want = np.asarray(want, dtype=dtype)
            if exact:
                np.testing.assert_array_equal(got, want, err_msg=name)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


def test_seed_golden_has_the_seed_numbers():
    for case in ("seed_ref", "seed_resource"):
        steps = list(replay(case))
        assert steps[1][1][0] == np.float32(0.8) and steps[1][1][1] == np.float32(1.6)
        assert steps[3][1][0] == np.float32(0.76)
        assert steps[-1][1][0] == np.float32(0.0044996012)


def test_unknown_op_is_not_found_naming_op_and_node():
    graph_def = graph_pb2.GraphDef()
    graph_def.node.add(name="mystery", op="NoSuchOp")
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.NotFoundError, match="NoSuchOp.*mystery"):
            tf.import_graph_def(graph_def)


def test_unknown_op_sent_straight_to_the_master_is_not_found():
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0)
    graph._ops[0]._type = "NoSuchOp"  # what a foreign client could send
    graph._ops[0]._node_def = None
    with tf.Session(graph=graph) as sess:
        with pytest.raises(tf.errors.NotFoundError, match="NoSuchOp"):
            sess.run("Const:0")


def test_import_prefix_input_map_and_return_elements():
    source = tf.Graph()
    with source.as_default():
        a = tf.placeholder(tf.float32, [2], name="a")
        b = tf.multiply(a, 3.0, name="b")
    graph_def = source.as_graph_def()
    with tf.Graph().as_default() as g:
        feed = tf.constant([1.0, 2.0], name="feed")
        out, op = tf.import_graph_def(graph_def, input_map={"a:0": feed}, return_elements=["b:0", "b"])
        again = tf.import_graph_def(graph_def, input_map={"a:0": feed}, return_elements=["b:0"])[0]
        assert out.name == "import/b:0" and op.name == "import/b" and again.name == "import_1/b:0"
        assert out.shape.as_list() == [2]
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(out), [3.0, 6.0])
    with pytest.raises(ValueError, match="not found in graph_def"):
        with tf.Graph().as_default():
            tf.import_graph_def(graph_def, input_map={"nope:0": tf.constant(1.0)})


def test_write_graph_round_trip(tmp_path):
    with tf.Graph().as_default() as g:
        tf.Variable(0.8, name="weight") * tf.constant(1.0, name="input")
        for write, as_text, name in ((tf.io.write_graph, True, "g.pbtxt"), (tf.train.write_graph, False, "g.pb")):
            path = write(g, str(tmp_path), name, as_text=as_text)
            back = importer.read_graph(path)
            assert [n.name for n in back.node] == [op.name for op in g.get_operations()]
            assert back == g.as_graph_def()


_TF_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
tf.compat.v1.disable_v2_behavior()
graph_def = text_format.Parse(open(sys.argv[1]).read(), tf.compat.v1.GraphDef())
fetches = json.loads(sys.argv[2])
with tf.Graph().as_default() as g:
    tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=g) as sess:
        out = [np.asarray(sess.run(f)).tolist() if f else sess.run(f) for f in fetches]
print(json.dumps(out))
"""


def test_tfmini_graph_runs_on_tensorflow(tmp_path, tf_python):
    python = tf_python
    with tf.Graph().as_default() as g:
        x = tf.constant([[1.0, 2.0], [3.0, 4.0]], name="x")
        w = tf.Variable([[0.5], [-1.0]], name="w")
        y = tf.nn.relu(tf.matmul(x, w) + 1.0, name="y")
        s = tf.reduce_sum(tf.square(y), name="s")
        init = tf.global_variables_initializer()
        with tf.Session() as sess:
            sess.run(init)
            ours = [sess.run(y).tolist(), float(sess.run(s))]
    path = tmp_path / "g.pbtxt"
    tf.io.write_graph(g, str(tmp_path), "g.pbtxt")
    fetches = [init.name, "y:0", "s:0"]
    proc = subprocess.run([python, "-c", _TF_SCRIPT, str(path), json.dumps(fetches)], capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.float32(theirs[1]), np.float32(ours[0]))
    assert np.float32(theirs[2]) == np.float32(ours[1])
