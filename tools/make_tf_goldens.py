"""Writes golden GraphDefs and fetched values from real TensorFlow for tests/test_tf_interchange.py.

Run with an interpreter that has tensorflow-cpu 2.21:  python tools/make_tf_goldens.py
Each case is tests/data/tf_graphs/<case>.pbtxt (the GraphDef TF wrote) and <case>.json: the steps to replay
(`run`: fetch names or target names) and the values TF fetched at each step.
"""
import json
import pathlib

import numpy as np
import tensorflow as tf
from google.protobuf import text_format

tf.compat.v1.disable_v2_behavior()
v1 = tf.compat.v1
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "tf_graphs"


def record(case, graph, steps):
    """Runs `steps` (list of (fetch names, target names)) in a fresh session; saves graph + values."""
    results = []
    with v1.Session(graph=graph) as sess:
        for fetches, targets in steps:
            values = sess.run(list(fetches) + list(targets))[:len(fetches)]
            results.append({"fetch": list(fetches), "target": list(targets),
                            "values": [np.asarray(v).tolist() for v in values],
                            "dtypes": [str(np.asarray(v).dtype) for v in values]})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{case}.pbtxt").write_text(text_format.MessageToString(graph.as_graph_def()))
    (OUT / f"{case}.json").write_text(json.dumps({"tensorflow": tf.__version__, "steps": results}, indent=1))
    print(f"wrote {case}: {len(graph.as_graph_def().node)} nodes")


def seed(case, use_resource):
    g = tf.Graph()
    with g.as_default():
        x = v1.constant(1.0, name="input")
        w = v1.Variable(0.8, name="weight", use_resource=use_resource)
        y = tf.multiply(w, x, name="output")
        y_ = v1.constant(0.0, name="correct_value")
        loss = tf.pow(y - y_, 2, name="loss")
        opt = v1.train.GradientDescentOptimizer(0.025)
        grads = opt.compute_gradients(loss)
        apply = opt.apply_gradients(grads, name="apply")
        train = opt.minimize(loss, name="train")
        init = v1.global_variables_initializer()
    # The seed's sequence: gradient 1.6, apply it (w = 0.76), then 100 train steps (y = 0.0044996012).
    steps = [([], [init.name]), ([y.name, grads[0][0].name], []), ([], [apply.name]), ([w.value().name], [])]
    steps += [([], [train.name])] * 100 + [([y.name, loss.name], [])]
    record(case, g, steps)


def mlp(case, make_optimizer):
    rng = np.random.RandomState(0)
    data = rng.randn(16, 8).astype(np.float32)
    labels = rng.randint(0, 3, size=16).astype(np.int64)
    g = tf.Graph()
    with g.as_default():
        x = v1.constant(data, name="x")
        y = v1.constant(labels, name="labels")
        w1 = v1.Variable(rng.randn(8, 6).astype(np.float32) * 0.3, name="w1")
        b1 = v1.Variable(np.zeros(6, np.float32), name="b1")
        w2 = v1.Variable(rng.randn(6, 3).astype(np.float32) * 0.3, name="w2")
        b2 = v1.Variable(np.zeros(3, np.float32), name="b2")
        hidden = tf.nn.relu(tf.matmul(x, w1) + b1, name="hidden")
        logits = tf.add(tf.matmul(hidden, w2), b2, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
        train = make_optimizer().minimize(loss, name="train")
        init = v1.global_variables_initializer()
    # Variables are fetched in runs of their own: fetched beside the train op, a ref variable's value
    # may be read before or after the update (TensorFlow gives no order between them).
    steps = [([], [init.name])]
    for _ in range(4):
        steps += [([loss.name], [train.name]), ([w1.name, b2.name], [])]
    record(case, g, steps + [([loss.name], [])])


if __name__ == "__main__":
    seed("seed_ref", use_resource=False)
    seed("seed_resource", use_resource=True)
    mlp("mlp_gradient_descent", lambda: v1.train.GradientDescentOptimizer(0.1))
    mlp("mlp_momentum", lambda: v1.train.MomentumOptimizer(0.1, 0.9))
    mlp("mlp_nesterov", lambda: v1.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True))
    mlp("mlp_adam", lambda: v1.train.AdamOptimizer(0.01))
    mlp("mlp_adagrad", lambda: v1.train.AdagradOptimizer(0.1))
    mlp("mlp_rmsprop", lambda: v1.train.RMSPropOptimizer(0.01))
