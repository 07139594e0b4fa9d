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


def batch_matmul(case):
    """tf.matmul of rank-3 inputs (BatchMatMulV2, broadcast batch, adjoints), raw BatchMatMul, their gradients.

    Small integers and a power-of-two learning rate keep every float32 sum exact, so the order tfmini sums in
    does not matter."""
    rng = np.random.RandomState(1)

    def ints(*shape):
        return rng.randint(-3, 4, size=shape).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = v1.Variable(ints(2, 3, 4), name="x")
        y = v1.constant(ints(4, 5), name="y")
        z = v1.constant(ints(1, 3, 2), name="z")
        u = v1.constant(ints(2, 4, 3), name="u")
        xy = tf.matmul(x, y, name="xy")
        zx = tf.matmul(z, x, transpose_a=True, name="zx")
        ux = v1.raw_ops.BatchMatMul(x=u, y=x, adj_x=True, adj_y=True, name="ux")
        loss = tf.add_n([tf.reduce_sum(xy * ints(2, 3, 5)), tf.reduce_sum(zx), tf.reduce_sum(ux * ints(2, 3, 3))],
                        name="loss")
        grads = tf.gradients(loss, [x], name="grads")
        train = v1.train.GradientDescentOptimizer(0.125).minimize(loss, name="train")
        init = v1.global_variables_initializer()
    steps = [([], [init.name]), ([xy.name, zx.name, ux.name, loss.name, grads[0].name], []), ([], [train.name]),
             ([loss.name, x.name], [])]
    record(case, g, steps)


def conv_net(case):
    """A small conv net: conv2d SAME (stride 2) and VALID, max_pool, avg_pool, a depthwise conv and
    conv2d_transpose, trained by GradientDescent, so every conv/pool gradient op interchanges.

    Small integers and a power-of-two learning rate keep the first steps' float32 sums exact; the max
    pool reads a variable whose values lie 8 apart, so no window ever ties."""
    rng = np.random.RandomState(2)

    def ints(*shape):
        return rng.randint(-2, 3, size=shape).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        image = v1.Variable((rng.permutation(2 * 6 * 6 * 2) * 8.0 - 280).reshape(2, 6, 6, 2).astype(np.float32),
                            name="image")
        w_same = v1.Variable(ints(3, 3, 2, 3), name="w_same")
        w_valid = v1.Variable(ints(2, 2, 2, 3), name="w_valid")
        w_depthwise = v1.Variable(ints(3, 3, 2, 2), name="w_depthwise")
        w_transpose = v1.Variable(ints(3, 3, 2, 3), name="w_transpose")
        pooled = v1.nn.max_pool(image, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", name="max_pool")
        valid = v1.nn.conv2d(pooled, w_valid, strides=[1, 1, 1, 1], padding="VALID", name="conv_valid")
        same = v1.nn.conv2d(image, w_same, strides=[1, 2, 2, 1], padding="SAME", name="conv_same")
        averaged = v1.nn.avg_pool(same, ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding="VALID", name="avg_pool")
        depthwise = v1.nn.depthwise_conv2d(image, w_depthwise, [1, 1, 1, 1], "SAME", name="depthwise")
        transposed = v1.nn.conv2d_transpose(valid, w_transpose, [2, 4, 4, 2], [1, 2, 2, 1], padding="SAME",
                                            name="transpose")
        loss = tf.add_n([tf.reduce_sum(transposed * ints(2, 4, 4, 2)), tf.reduce_sum(averaged * ints(2, 2, 2, 3)),
                         tf.reduce_sum(depthwise * ints(2, 6, 6, 4))], name="loss")
        train = v1.train.GradientDescentOptimizer(2.0 ** -8).minimize(loss, name="train")
        init = v1.global_variables_initializer()
    variables = [v.name for v in (image, w_same, w_valid, w_depthwise, w_transpose)]
    steps = [([], [init.name]), ([pooled.name, valid.name, same.name, averaged.name, depthwise.name,
                                  transposed.name, loss.name], [])]
    for _ in range(3):
        steps += [([loss.name], [train.name]), (variables, [])]
    record(case, g, steps + [([loss.name], [])])


def embedding_sparse(case, make_optimizer, partition_strategy):
    """embedding_lookup over 2 shards (DynamicPartition, a Gather per shard, ParallelDynamicStitch) trained with
    sparse updates: the IndexedSlices gradient reaches ScatterSub (GD) or SparseApplyAdagrad as TF builds them.
    Quarter-integer values and a power-of-two learning rate keep GD's float32 sums exact."""
    rng = np.random.RandomState(2)
    g = tf.Graph()
    with g.as_default():
        shards = [v1.Variable(rng.randint(-4, 5, size=(n, 4)).astype(np.float32) / 4, name=f"emb_{i}")
                  for i, n in enumerate((4, 3))]
        w = v1.Variable(rng.randint(-4, 5, size=(4, 1)).astype(np.float32) / 4, name="w")
        ids = v1.constant([[0, 5], [6, 2], [5, 5]], name="ids")
        emb = v1.nn.embedding_lookup(shards, ids, partition_strategy=partition_strategy, name="lookup")
        out = tf.matmul(tf.reduce_sum(emb, 1), w, name="out")
        loss = tf.reduce_sum(tf.square(out), name="loss")
        train = make_optimizer().minimize(loss, name="train")
        init = v1.global_variables_initializer()
    steps = [([], [init.name]), ([emb.name], [])]
    for _ in range(3):
        steps += [([loss.name], [train.name]), ([shards[0].name, shards[1].name, w.name], [])]
    record(case, g, steps + [([loss.name], [])])


def array_utils(case):
    """split (Split, SplitV), gather_nd, top_k, cumsum, einsum, boolean_mask and a passing Assert (string and
    int32 data: a plain Assert, no AssertGuard cond), trained by GradientDescent, so each gradient
    (ConcatV2, ScatterNd, TopKV2's scatter, the reversed Cumsum, Einsum, GatherV2's) interchanges.
    The loss is linear in w, with small integers and a power-of-two learning rate: every float32 sum is exact;
    top_k's rows never tie."""
    rng = np.random.RandomState(3)
    g = tf.Graph()
    with g.as_default():
        x = v1.constant(rng.randint(-2, 3, size=(4, 6)).astype(np.float32), name="x")
        w = v1.Variable(rng.permutation(36).reshape(6, 6).astype(np.float32) - 18, name="w")
        h = tf.einsum("ij,jk->ik", x, w, name="mix")
        left, right = tf.split(h, 2, axis=1, name="halves")
        first, rest = tf.split(h, [2, 4], axis=1, name="parts")
        picked = tf.gather_nd(right, [[0, 1], [2, 2], [3, 0]], name="picked")
        top = tf.nn.top_k(w[:, :3] + tf.constant(np.arange(3, dtype=np.float32) * 0.25), 2, name="top")
        running = tf.cumsum(rest, axis=1, exclusive=True, reverse=True, name="running")
        masked = tf.boolean_mask(running, tf.constant([True, False, True, True]), name="masked")
        check = v1.Assert(tf.reduce_all(tf.equal(tf.shape(h), [4, 6])), ["h has shape", tf.shape(h)], name="check")
        with tf.control_dependencies([check]):
            loss = tf.add_n([tf.reduce_sum(top.values), tf.reduce_sum(picked * [1.0, 2.0, -1.0]),
                             tf.reduce_sum(masked), tf.reduce_sum(first * [[1.0, -2.0]])], name="loss")
        grads = tf.gradients(loss, [w], name="grads")
        train = v1.train.GradientDescentOptimizer(2.0 ** -10).minimize(loss, name="train")
        init = v1.global_variables_initializer()
    steps = [([], [init.name]), ([h.name, picked.name, top.values.name, top.indices.name, running.name, masked.name,
                                  loss.name, grads[0].name], [])]
    for _ in range(2):
        steps += [([loss.name], [train.name]), ([w.name], [])]
    record(case, g, steps + [([loss.name], [])])


def resource_gather_scatter(case):
    """tf.gather and the scatter updates of a resource variable: ResourceGather, ResourceScatterAdd/Update."""
    g = tf.Graph()
    with g.as_default():
        v = v1.Variable(np.arange(12, dtype=np.float32).reshape(4, 3), name="table", use_resource=True)
        rows = v1.gather(v, [[3, 0], [1, 1]], name="rows")
        add = v1.scatter_add(v, [0, 2, 0], np.ones((3, 3), np.float32), name="add")
        update = v1.scatter_update(v, [3], [[-1.0, -2.0, -3.0]], name="update")
        init = v1.global_variables_initializer()
    steps = [([], [init.name]), ([rows.name], []), ([], [add.op.name]), ([rows.name], []), ([], [update.op.name]),
             ([v.read_value().name], [])]
    record(case, g, steps)


def layers_model(case, make_optimizer):
    """A dense + batch-norm (training) + dropout(training=False) + dense model written as TF 1.x's tf.layers
    builds it (tf.compat.v1.layers needs Keras 2, absent from TF 2.21: same variables, same ops), trained by a
    few steps of `make_optimizer(decayed learning rate)` on tf.losses.softmax_cross_entropy with label smoothing,
    the batch-norm updates run through UPDATE_OPS, and an ExponentialMovingAverage of the weights."""
    rng = np.random.RandomState(3)
    data = rng.randn(16, 6).astype(np.float32)
    labels = rng.randint(0, 3, size=16).astype(np.int64)
    g = tf.Graph()
    with g.as_default():
        x = v1.constant(data, name="x")
        y = v1.one_hot(v1.constant(labels, name="labels"), 3, name="onehot")
        step = v1.train.get_or_create_global_step()
        with v1.variable_scope("dense"):
            k1 = v1.get_variable("kernel", initializer=rng.randn(6, 8).astype(np.float32) * 0.4)
            b1 = v1.get_variable("bias", initializer=np.zeros(8, np.float32))
            h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, k1), b1))
        with v1.variable_scope("batch_normalization"):
            gamma = v1.get_variable("gamma", initializer=np.ones(8, np.float32))
            beta = v1.get_variable("beta", initializer=np.zeros(8, np.float32))
            mm = v1.get_variable("moving_mean", initializer=np.zeros(8, np.float32), trainable=False)
            mv = v1.get_variable("moving_variance", initializer=np.ones(8, np.float32), trainable=False)
            mean, var = v1.nn.moments(h, [0])
            for moving, value in ((mm, mean), (mv, var)):
                with tf.name_scope("AssignMovingAvg") as scope:
                    v1.add_to_collection(v1.GraphKeys.UPDATE_OPS,
                                         v1.assign_sub(moving, (moving - value) * 0.01, name=scope))
            h = v1.nn.batch_normalization(h, mean, var, beta, gamma, 1e-3)
        with tf.name_scope("dropout"):
            h = tf.identity(h)
        with v1.variable_scope("dense_1"):
            k2 = v1.get_variable("kernel", initializer=rng.randn(8, 3).astype(np.float32) * 0.4)
            b2 = v1.get_variable("bias", initializer=np.zeros(3, np.float32))
            logits = tf.nn.bias_add(tf.matmul(h, k2), b2)
        loss = v1.losses.softmax_cross_entropy(y, logits, label_smoothing=0.1)
        lr = v1.train.exponential_decay(0.5, step, 2, 0.8, staircase=True)
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            minimize = make_optimizer(lr).minimize(loss, global_step=step)
        # ExponentialMovingAverage(0.9, num_updates=step).apply([k1, k2]) as tfmini builds it: TF's starts its
        # shadows from initialized_value(), a cond, which tfmini cannot run.
        averages, updates = {}, []
        with tf.control_dependencies([minimize]), tf.name_scope("ExponentialMovingAverage"):
            n = tf.cast(minimize.outputs[0], tf.float32, name="num_updates")  # the step's AssignAdd: after it
            decay = tf.minimum(0.9, (1.0 + n) / (10.0 + n))
            for k in (k1, k2):
                averages[k] = v1.Variable(k.initial_value, name=k.op.name + "/ExponentialMovingAverage/",
                                          trainable=False)
                with tf.name_scope("AssignMovingAvg") as scope:
                    # k read after the update, from its ref under the control dependency: a plain `k` is the
                    # `read` snapshot, which TF may run before the update (seeing it only through buffer aliasing).
                    fresh = tf.identity(k._ref(), name="fresh")
                    updates.append(v1.assign_sub(averages[k], (averages[k] - fresh) * (1.0 - decay), name=scope))
        train = tf.group(*updates, name="train")
        init = v1.global_variables_initializer()
    steps = [([], [init.name])]
    for _ in range(4):
        steps += [([loss.name, lr.name], [train.name]),
                  ([k1.name, b2.name, mm.name, mv.name, averages[k2].name], [])]
    record(case, g, steps + [([loss.name], [])])


def losses_and_schedules(case):
    """Every tf.losses loss (weights, reductions, label smoothing) and the learning-rate schedules along
    global_step (incremented by an AssignAdd between fetches)."""
    rng = np.random.RandomState(4)
    g = tf.Graph()
    with g.as_default():
        logits = v1.constant(rng.randn(5, 4).astype(np.float32), name="logits")
        onehot = v1.constant(np.eye(4, dtype=np.float32)[rng.randint(0, 4, 5)], name="onehot")
        sparse = v1.constant(rng.randint(0, 4, 5).astype(np.int32), name="sparse")
        probs = tf.sigmoid(logits, name="probs")
        binary = v1.constant(rng.randint(0, 2, (5, 4)).astype(np.float32), name="binary")
        weights = v1.constant(np.array([[1.0], [0.0], [2.0], [0.5], [1.0]], np.float32), name="weights")
        R = v1.losses.Reduction
        losses = [
            v1.losses.softmax_cross_entropy(onehot, logits),
            v1.losses.softmax_cross_entropy(onehot, logits, weights=weights[:, 0], label_smoothing=0.2),
            v1.losses.sparse_softmax_cross_entropy(sparse, logits, weights=weights),
            v1.losses.sigmoid_cross_entropy(binary, logits, label_smoothing=0.1),
            v1.losses.mean_squared_error(binary, probs, weights=weights),
            v1.losses.mean_squared_error(binary, probs, reduction=R.SUM),
            v1.losses.absolute_difference(binary, probs, reduction=R.MEAN, weights=weights),
            v1.losses.huber_loss(binary, logits, delta=0.5, reduction=R.SUM_OVER_BATCH_SIZE),
            v1.losses.hinge_loss(binary, logits, reduction=R.NONE, loss_collection=None),
            v1.losses.log_loss(binary, probs),
            tf.nn.weighted_cross_entropy_with_logits(labels=binary, logits=logits, pos_weight=2.0),
            v1.nn.l2_normalize(logits, 1),
            v1.nn.xw_plus_b(logits, v1.constant(rng.randn(4, 2).astype(np.float32)), v1.constant([1.0, -1.0])),
        ]
        total = v1.losses.get_total_loss(name="total_loss")
        step = v1.train.get_or_create_global_step()
        schedules = [
            v1.train.exponential_decay(0.1, step, 3, 0.5),
            v1.train.natural_exp_decay(0.1, step, 3, 0.5, staircase=True),
            v1.train.inverse_time_decay(0.1, step, 3, 0.5),
            v1.train.polynomial_decay(0.1, step, 4, 0.01, power=2.0),
            v1.train.polynomial_decay(0.1, step, 2, 0.01, cycle=True),
            v1.train.cosine_decay(0.1, step, 4, alpha=0.1),
        ]
        tick = v1.assign_add(step, 1, name="tick")
        init = v1.global_variables_initializer()
    names = [t.name for t in losses] + [total.name]
    steps = [([], [init.name]), (names, [])]
    for _ in range(6):
        steps += [([t.name for t in schedules], []), ([], [tick.name])]
    record(case, g, steps)


def metrics(case):
    """tf.metrics' streaming state over three batches: accuracy, mean (weighted), precision, recall and
    mean_squared_error; then tf.local_variables_initializer() resets them. (TF's auc guards its inputs with
    asserts inside conds, which tfmini cannot run; tests/test_losses_metrics.py checks auc against NumPy.)"""
    rng = np.random.RandomState(5)
    g = tf.Graph()
    with g.as_default():
        labels_all = v1.constant(rng.randint(0, 2, (3, 8)).astype(np.int64), name="labels_all")
        scores_all = v1.constant(rng.rand(3, 8).astype(np.float32), name="scores_all")
        index = v1.Variable(0, name="index", trainable=False)
        labels = tf.gather(labels_all, index, name="labels")
        scores = tf.gather(scores_all, index, name="scores")
        predictions = tf.cast(scores > 0.5, tf.int64, name="predictions")
        pairs = [v1.metrics.accuracy(labels, predictions),
                 v1.metrics.mean(scores, weights=tf.cast(labels, tf.float32) + 0.5),
                 v1.metrics.precision(labels, predictions),
                 v1.metrics.recall(labels, predictions),
                 v1.metrics.mean_squared_error(tf.cast(labels, tf.float32), scores)]
        next_batch = v1.assign_add(index, 1, name="next_batch")
        init = tf.group(v1.global_variables_initializer(), v1.local_variables_initializer(), name="init")
        reset = v1.local_variables_initializer()
    updates = [u.name for _, u in pairs]
    values = [v.name for v, _ in pairs]
    steps = [([], [init.name])]
    for _ in range(3):
        steps += [(updates, []), (values, []), ([], [next_batch.name])]
    steps += [([], [reset.name]), (values, [])]
    record(case, g, steps)


# tf.data pipelines: each is an expression of `tf` (tf.compat.v1 here, tfmini in tests/test_data.py) and `np`;
# the JSON keeps the code beside every element TF yielded, so the test replays exactly these pipelines.
DATA_PIPELINES = {
    "range_batch": "tf.data.Dataset.range(10).batch(3)",
    "range_batch_drop": "tf.data.Dataset.range(10).batch(3, drop_remainder=True)",
    "range_args": "tf.data.Dataset.range(2, 20, 3)",
    "slices_tuple": "tf.data.Dataset.from_tensor_slices((np.arange(6).reshape(3, 2), np.array([1.5, 2.5, 3.5])))",
    "slices_dict": "tf.data.Dataset.from_tensor_slices({'b': np.arange(4), 'a': np.array([b'w', b'x', b'y', b'z'])})"
                   ".batch(3)",
    "from_tensors": "tf.data.Dataset.from_tensors(np.arange(6).reshape(2, 3)).repeat(2)",
    "zip": "tf.data.Dataset.zip((tf.data.Dataset.range(5), tf.data.Dataset.range(10, 13))).batch(2)",
    "concatenate": "tf.data.Dataset.range(3).concatenate(tf.data.Dataset.range(7, 9))",
    "take_skip_repeat": "tf.data.Dataset.range(10).skip(2).take(5).repeat(2)",
    "skip_all": "tf.data.Dataset.range(4).skip(-1).concatenate(tf.data.Dataset.range(2).take(-1))",
    "shard": "tf.data.Dataset.range(11).shard(3, 1)",
    "padded_batch": "tf.data.Dataset.from_tensors(np.array([1, 2], np.int32)).concatenate("
                    "tf.data.Dataset.from_tensors(np.array([3, 4, 5], np.int32))).repeat(3).padded_batch(2, [None])",
    "padded_batch_fixed": "tf.data.Dataset.from_tensor_slices(np.arange(6.0).reshape(3, 2)).padded_batch("
                          "2, [4], padding_values=np.float64(-1))",
    "cache_prefetch": "tf.data.Dataset.range(4).cache().repeat(2).prefetch(2)",
    "map_filter": "tf.data.Dataset.range(12).map(lambda x: x * 3 + 1).filter(lambda x: tf.equal(x % 2, 0))"
                  ".batch(2)",
    "map_tuple_dict": "tf.data.Dataset.from_tensor_slices((np.arange(4), np.arange(4.0))).map("
                      "lambda a, b: {'sum': tf.cast(a, tf.float64) + b, 'sq': tf.square(a)}, num_parallel_calls=2)",
    "map_to_tuple": "tf.data.Dataset.range(3).map(lambda x: (x, tf.fill([2], x)))",
    "flat_map": "tf.data.Dataset.range(1, 4).flat_map(lambda x: tf.data.Dataset.range(x * 10, x * 10 + x))",
    "interleave": "tf.data.Dataset.range(1, 6).interleave(lambda x: tf.data.Dataset.from_tensors(x).repeat(x), "
                  "cycle_length=2, block_length=2)",
    "interleave_cycle3": "tf.data.Dataset.range(4).interleave(lambda x: tf.data.Dataset.range(x, x + 3), "
                         "cycle_length=3, block_length=1)",
    "flat_map_capture": "tf.data.Dataset.range(4).flat_map(lambda x: tf.data.Dataset.range(x).map("
                        "lambda y: y * 10 + x))",
    "map_captures_outer_tensor": "(lambda c: tf.data.Dataset.range(3).map(lambda x: x + c))(tf.constant("
                                 "np.int64(100)) * 2)",
}


def data_iterators(case):
    """A TF-written GraphDef of initializable and reinitializable iterators (no functions: TF's
    one-shot iterator and map put a FunctionDef in the library, which tfmini does not import)."""
    g = tf.Graph()
    with g.as_default():
        ds1 = v1.data.Dataset.from_tensor_slices((tf.range(10), tf.range(10) * 2)).batch(3).repeat(2).take(5)
        it1 = v1.data.make_initializable_iterator(ds1)
        a, b = it1.get_next(name="next1")
        ds2 = v1.data.Dataset.zip((v1.data.Dataset.range(4), v1.data.Dataset.range(10, 20).skip(2)))
        ds2 = ds2.shard(2, 1).batch(2, drop_remainder=True).concatenate(
            v1.data.Dataset.zip((v1.data.Dataset.range(5, 8), v1.data.Dataset.range(3))).batch(2, True))
        it2 = v1.data.Iterator.from_structure(v1.data.get_output_types(ds2), v1.data.get_output_shapes(ds2))
        init2 = it2.make_initializer(ds2, name="init2")
        c, d = it2.get_next(name="next2")
    get1, get2 = [a.name, b.name], [c.name, d.name]
    steps = [([], [it1.initializer.name])] + [(get1, [])] * 5 + [([], [init2.name]), (get2, []), (get2, []),
                                                                  ([], [it1.initializer.name]), (get1, [])]
    record(case, g, steps)


def data_pipelines():
    """Every element of each pipeline in DATA_PIPELINES, as TF's one-shot iterator yields them."""
    cases = {}
    for name, code in DATA_PIPELINES.items():
        g = tf.Graph()
        with g.as_default():
            dataset = eval(code, {"tf": v1, "np": np})  # noqa: S307 - our own constant strings
            flat = tf.nest.flatten(v1.data.make_one_shot_iterator(dataset).get_next())
            elements = []
            with v1.Session(graph=g) as sess:
                while True:
                    try:
                        values = sess.run(flat)
                    except tf.errors.OutOfRangeError:
                        break
                    elements.append([{"dtype": str(np.asarray(v).dtype), "value": _jsonable(v)} for v in values])
        cases[name] = {"code": code, "elements": elements}
    path = OUT.parent / "tf_data_pipelines.json"
    path.write_text(json.dumps({"tensorflow": tf.__version__, "cases": cases}, indent=1))
    print(f"wrote {path.name}: {len(cases)} pipelines")


def parse_examples(case):
    """tf.parse_example / parse_single_example (ParseExampleV2) of tf.train.Examples, and SparseToDense."""
    def example(**features):
        def feature(v):
            if isinstance(v[0], float):
                return tf.train.Feature(float_list=tf.train.FloatList(value=v))
            return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
        return tf.train.Example(features=tf.train.Features(
            feature={k: feature(v) for k, v in features.items()})).SerializeToString()
    serialized = [example(pixels=[0.5, 1.5, 2.5, -1.0], label=[3], tags=[1, 2, 3], rows=[1.0, 2.0, 3.0, 4.0]),
                  example(pixels=[4.0, 3.0, 2.0, 1.0], tags=[7], rows=[5.0, 6.0], counts=[4, 5]),
                  example(pixels=[0.0, 0.25, 0.5, 0.75], label=[1], counts=[6])]
    g = tf.Graph()
    with g.as_default():
        batch = v1.parse_example(v1.constant(serialized, name="serialized"), {
            "pixels": v1.FixedLenFeature([2, 2], tf.float32), "label": v1.FixedLenFeature([], tf.int64, -1),
            "tags": v1.VarLenFeature(tf.int64), "rows": v1.FixedLenSequenceFeature([2], tf.float32, True, -1.0),
            "counts": v1.FixedLenSequenceFeature([], tf.int64, allow_missing=True)})
        one = v1.parse_single_example(v1.constant(serialized[0], name="one"), {
            "pixels": v1.FixedLenFeature([4], tf.float32), "tags": v1.VarLenFeature(tf.int64),
            "weight": v1.FixedLenFeature([1], tf.float32, default_value=[0.5])})
        dense_tags = v1.sparse_tensor_to_dense(batch["tags"], default_value=-1)
        round_trip = v1.parse_tensor(v1.serialize_tensor(batch["pixels"]), tf.float32)
    tags, one_tags = batch["tags"], one["tags"]
    fetches = [batch["pixels"], batch["label"], tags.indices, tags.values, tags.dense_shape, dense_tags,
               one["pixels"], one["weight"], one_tags.indices, one_tags.values, one_tags.dense_shape,
               batch["rows"], batch["counts"], round_trip]
    record(case, g, [([t.name for t in fetches], [])])


def queues_and_strings(case):
    """FIFO, padding and priority queues (TF 1.x's V2 queue ops) step by step, and the CSV/raw/string ops."""
    g = tf.Graph()
    with g.as_default():
        fifo = v1.FIFOQueue(10, [tf.int32, tf.string], shapes=[[2], []], name="fifo")
        fill = fifo.enqueue_many([[[1, 2], [3, 4], [5, 6]], [b"a", b"b", b"c"]], name="fill")
        pad = v1.PaddingFIFOQueue(10, [tf.float32], shapes=[[None]], name="pad")
        pads = [pad.enqueue([v1.constant(v, tf.float32)], name=f"pad_{i}")
                for i, v in enumerate(([1.0], [2.0, 3.0, 4.0], [5.0, 6.0]))]
        prio = v1.PriorityQueue(10, [tf.string], shapes=[[]], name="prio")
        prio_fill = prio.enqueue_many([v1.constant([5, 1, 3, 1], tf.int64), [b"five", b"one", b"three", b"uno"]])
        close = fifo.close(name="close")
        many, many_s = fifo.dequeue_many(2, name="many")
        rest = fifo.dequeue_up_to(5, name="rest")
        padded = pad.dequeue_many(3, name="padded")
        prio_out = prio.dequeue_many(4, name="prio_out")
        records = v1.constant(["1,2.5,x", '7,,"q,r"', "3,-1e3,"], name="records")
        cols = v1.decode_csv(records, [[0], [0.5], ["dflt"]], name="csv")
        raw = v1.decode_raw(v1.constant([b"\x01\x00\x02\x00", b"\xff\xff\x10\x00"]), tf.int16, name="raw")
        number = v1.string_to_number(v1.constant(["1.5", "-2", "3e2"]), name="number")
        sub = v1.substr(v1.constant(["hello", "world"]), [1, 0], [3, 2], name="sub")
        joined = v1.string_join([v1.constant(["a", "b"]), "-", v1.constant(["x", "y"])], separator="+", name="joined")
        text = v1.as_string(v1.constant([1.5, -2.25]), precision=2, name="text")
        split = v1.string_split(v1.constant(["a b  c", "", "de"]), delimiter=" ")
    fills = [([], [fill.name, prio_fill.name])] + [([], [p.name]) for p in pads] + [([], [close.name])]
    strings = [many_s, rest[1], prio_out[1], cols[2], sub, joined, text, split.values]
    numbers = [[many], [rest[0]], [padded, prio_out[0]],
               [cols[0], cols[1], raw, number, split.indices, split.dense_shape]]
    # The GraphDef and its numeric fetches for test_tf_interchange.py (which compares numbers only) ...
    record(case, g, fills + [([t.name for t in step], []) for step in numbers])
    # ... and every fetch, strings too, for tests/test_queues.py.
    steps = fills + [([t.name for t in step], []) for step in [[many, many_s], rest, [padded] + prio_out,
                                                              cols + [raw, number, sub, joined, text,
                                                                      split.indices, split.values,
                                                                      split.dense_shape]]]
    results = []
    with v1.Session(graph=g) as sess:
        for fetches, targets in steps:
            values = sess.run(fetches + targets)[:len(fetches)]
            results.append({"fetch": fetches, "target": targets, "values": [_jsonable(v) for v in values],
                            "dtypes": [str(np.asarray(v).dtype) for v in values]})
    path = OUT.parent / "tf_queues.json"
    path.write_text(json.dumps({"tensorflow": tf.__version__, "strings": [t.name for t in strings],
                                "steps": results}, indent=1))
    print(f"wrote {path.name}")


def parse_sequence_example(case):
    """tf.parse_single_sequence_example (ParseSequenceExampleV2): context features and feature lists."""
    t = tf.train
    ints = lambda *v: t.Feature(int64_list=t.Int64List(value=v))  # noqa: E731
    floats = lambda *v: t.Feature(float_list=t.FloatList(value=v))  # noqa: E731
    example = t.SequenceExample(
        context=t.Features(feature={"id": ints(5), "scale": floats(0.5, 2.0), "tags": ints(3, 4)}),
        feature_lists=t.FeatureLists(feature_list={
            "frames": t.FeatureList(feature=[floats(1.0, 2.0), floats(3.0, 4.0), floats(5.0, 6.0)]),
            "words": t.FeatureList(feature=[ints(1, 2), ints(), ints(7)])}))
    g = tf.Graph()
    with g.as_default():
        context, lists = v1.parse_single_sequence_example(
            v1.constant(example.SerializeToString(), name="serialized"),
            context_features={"id": v1.FixedLenFeature([], tf.int64), "scale": v1.FixedLenFeature([2], tf.float32),
                              "label": v1.FixedLenFeature([], tf.int64, default_value=-1),
                              "tags": v1.VarLenFeature(tf.int64)},
            sequence_features={"frames": v1.FixedLenSequenceFeature([2], tf.float32),
                               "missing": v1.FixedLenSequenceFeature([], tf.int64, allow_missing=True),
                               "words": v1.VarLenFeature(tf.int64)})
    op = lists["frames"].op
    record(case, g, [([o.name for o in op.outputs], [])])


def control_flow_cond(case):
    """tf.cond (both branches taken, outside values switched in, a nested cond) and tf.case, with gradients
    (Switch's gradient is a Merge and Merge's a Switch)."""
    g = tf.Graph()
    with g.as_default():
        x = v1.constant([1.0, -2.0, 3.0], name="x")
        w = v1.constant(0.5, name="w")
        yes, no = v1.constant(True, name="yes"), v1.constant(False, name="no")
        a = v1.cond(yes, lambda: x * w, lambda: x + w, name="taken_true")
        b = v1.cond(no, lambda: x * w, lambda: tf.square(x) + w, name="taken_false")
        c = v1.cond(yes, lambda: v1.cond(no, lambda: x, lambda: tf.tanh(x) * w), lambda: x, name="nested")
        k = v1.constant(2, name="k")
        d = v1.case([(tf.less(k, 1), lambda: x), (tf.equal(k, 2), lambda: x * 3.0)], default=lambda: -x, name="case")
        total = tf.identity(tf.reduce_sum(a) + tf.reduce_sum(b) + tf.reduce_sum(c * c) + tf.reduce_sum(d), name="total")
        gx, gw = v1.gradients(total, [x, w])
    record(case, g, [([a.name, b.name, c.name, d.name, total.name, gx.name, gw.name], [])])


def control_flow_while(case):
    """tf.while_loop: a loop of matmul/tanh over a variable, maximum_iterations, a nested loop, a loop in a
    cond; values, gradients (the forward loop pushes on stacks, the backward loop pops) and training."""
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(1)
        x = v1.constant(rng.randn(2, 3).astype(np.float32), name="x")
        w = v1.Variable(rng.randn(3, 3).astype(np.float32) * 0.5, name="w")
        _, h = v1.while_loop(lambda i, h: i < 4, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w))),
                             [v1.constant(0), x], name="rnn")
        loss = tf.identity(tf.reduce_sum(h * h), name="loss")
        gx, gw = v1.gradients(loss, [x, w])
        capped = v1.while_loop(lambda v: v < 1000.0, lambda v: v * 3.0, [v1.constant(1.5)], maximum_iterations=4,
                               name="capped")
        gcap = tf.identity(capped, name="capped_value")

        def outer_body(i, acc):
            _, inner = v1.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, a * 1.5 + 1.0), [0, acc], name="inner")
            return i + 1, inner
        _, nested = v1.while_loop(lambda i, a: i < 3, outer_body, [0, v1.constant(1.0)], name="outer")
        in_cond = v1.cond(v1.constant(True), lambda: v1.while_loop(lambda v: v < 50.0, lambda v: v * 2.0 + x[0, 0],
                                                                   [v1.constant(1.0)]),
                          lambda: v1.constant(-1.0), name="loop_in_cond")
        train = v1.train.GradientDescentOptimizer(0.05).minimize(loss, name="train")
        init = v1.global_variables_initializer()
    fetch = [h.name, loss.name, gx.name, gw.name, gcap.name, nested.name, in_cond.name]
    record(case, g, [([], [init.name]), (fetch, []), ([], [train.name]), ([], [train.name]), ([loss.name], [])])


def control_flow_nested_grad(case):
    """Gradients of a loop nested in a loop (issue 15): a double loop of matmul/tanh whose inner count is the
    outer iteration's, and map_fn inside map_fn; values and TF's gradients (one stack for all the inner
    loop's runs, the inner backward loop inside the outer one)."""
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(5)
        x = v1.constant(rng.randn(2, 3).astype(np.float32), name="x")
        w = v1.constant(rng.randn(3, 3).astype(np.float32) * 0.6, name="w")

        def outer_body(i, h):
            _, inner = v1.while_loop(lambda j, a: j <= i, lambda j, a: (j + 1, tf.tanh(tf.matmul(a, w)) + a * 0.5),
                                     [0, h], name="inner")
            return i + 1, inner * h
        _, nested = v1.while_loop(lambda i, h: i < 3, outer_body, [0, x], name="outer")
        loss = tf.identity(tf.reduce_sum(nested * nested), name="loss")
        gx, gw = v1.gradients(loss, [x, w])
        e = v1.constant(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4), name="e")
        mapped = tf.identity(tf.map_fn(lambda row: tf.map_fn(lambda v: tf.sin(v) * v * w[0, 0], row), e),
                             name="mapped")
        ge, gw_map = v1.gradients(tf.reduce_sum(mapped * mapped), [e, w])
    record(case, g, [([nested.name, loss.name, gx.name, gw.name, mapped.name, ge.name, gw_map.name], [])])


def control_flow_import_grad(case):
    """A TF-written loop with a cond and a loop in its body, and a cond after it, for tfmini's tf.gradients of
    the imported graph (issue 15). TF's own gradients are fetched as the reference; the forward graph is the
    part of the GraphDef that does not start with "gradients"."""
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(9)
        x = v1.constant(rng.randn(2, 3) * 0.5, name="x")
        w = v1.constant(rng.randn(3, 3) * 0.5, name="w")
        p = v1.constant(False, name="p")

        def body(i, h):
            h = v1.cond(i % 2 > 0, lambda: tf.tanh(tf.matmul(h, w)), lambda: h * 1.5)
            _, h = v1.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, tf.sin(a) * h), [0, h], name="inner")
            return i + 1, h
        _, y = v1.while_loop(lambda i, h: i < 3, body, [0, x], name="loop")
        z = v1.cond(p, lambda: y * y, lambda: tf.exp(y) + w[0, 0], name="top")
        out = tf.identity(tf.reduce_sum(z), name="out")
        gx, gw = v1.gradients(out, [x, w])
    record(case, g, [([out.name, gx.name, gw.name], [])])


def rnn_dynamic_lstm(case):
    """tf.nn.dynamic_rnn of a BasicLSTMCell with sequence_length (TensorArrays in TF's rnn/while loop, TF 1.x's
    legacy cells), outputs, final state, gradients w.r.t. inputs and variables, then SGD steps (issue 15)."""
    from tensorflow.python.keras.layers.legacy_rnn import rnn_cell_impl
    g = tf.Graph()
    with g.as_default():
        rng = np.random.RandomState(7)
        x = v1.constant(rng.uniform(-1, 1, (3, 5, 4)).astype(np.float32), name="x")
        cell = rnn_cell_impl.BasicLSTMCell(6)
        def weights(shape, dtype=None, partition_info=None):  # constants, so tfmini starts from TF's values
            return v1.constant(rng.uniform(-0.4, 0.4, shape).astype(np.float32))
        with v1.variable_scope("rnn", initializer=weights):
            outputs, state = v1.nn.dynamic_rnn(cell, x, sequence_length=[5, 3, 1], dtype=tf.float32, scope="rnn")
        loss = tf.identity(tf.reduce_sum(outputs * outputs) + tf.reduce_sum(state.c), name="loss")
        kernel, bias = cell.variables
        gx, gk, gb = v1.gradients(loss, [x, kernel, bias])
        train = v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        init = v1.global_variables_initializer()
    fetch = [outputs.name, state.c.name, state.h.name, loss.name, gx.name, gk.name, gb.name]
    record(case, g, [([], [init.name]), (fetch, []), ([], [train.name]), ([], [train.name]), ([loss.name], [])])


def functional_map_scan(case):
    """tf.map_fn, tf.scan and tf.foldl (TensorArrays in while loops) with their gradients (issue 15)."""
    g = tf.Graph()
    with g.as_default():
        x = v1.constant(np.arange(12, dtype=np.float32).reshape(4, 3) / 4.0, name="x")
        mapped = tf.identity(tf.map_fn(lambda row: tf.reduce_sum(tf.sin(row) * row), x), name="mapped")
        scanned = tf.identity(tf.scan(lambda a, row: a * 0.5 + row, x), name="scanned")
        folded = tf.identity(tf.foldl(lambda a, row: a + row * row, x), name="folded")
        g_map, = v1.gradients(tf.reduce_sum(mapped), [x])
        g_scan, = v1.gradients(tf.reduce_sum(scanned), [x])
        g_fold, = v1.gradients(tf.reduce_sum(folded), [x])
    record(case, g, [([mapped.name, scanned.name, folded.name, g_map.name, g_scan.name, g_fold.name], [])])


def accumulators(case):
    """Conditional accumulators (what SyncReplicasOptimizer aggregates in): mean of two, a stale gradient dropped,
    a new global step; a sparse accumulator's per-row mean with duplicate rows."""
    g = tf.Graph()
    with g.as_default():
        acc = v1.ConditionalAccumulator(tf.float32, shape=[2], shared_name="acc")
        first = acc.apply_grad(v1.constant([1.0, 2.0]), local_step=0, name="first")
        second = acc.apply_grad(v1.constant([3.0, 6.0]), local_step=0, name="second")
        count = acc.num_accumulated()
        take = acc.take_grad(2, name="take")
        stale = acc.apply_grad(v1.constant([9.0, 9.0]), local_step=0, name="stale")
        set_step = acc.set_global_step(4, name="set_step")
        fresh = acc.apply_grad(v1.constant([5.0, 7.0]), local_step=4, name="fresh")
        take_one = acc.take_grad(1, name="take_one")
        sparse = v1.SparseConditionalAccumulator(tf.float32, shape=[4, 2], name="sparse")
        sa = sparse.apply_grad(v1.constant([0, 2], tf.int64), v1.constant([[1.0, 1.0], [2.0, 2.0]]), name="sa")
        sb = sparse.apply_grad(v1.constant([2], tf.int64), v1.constant([[4.0, 6.0]]), grad_shape=[4, 2], name="sb")
        sparse_count = sparse.num_accumulated()
        taken = sparse.take_grad(2, name="sparse_take")
    steps = [([], [first.name]), ([], [second.name]), ([count.name], []), ([take.name], []), ([], [stale.name]),
             ([count.name], []), ([], [set_step.name]), ([], [fresh.name]), ([take_one.name], []),
             ([], [sa.name]), ([], [sb.name]), ([sparse_count.name], []), ([t.name for t in taken], [])]
    record(case, g, steps)


def _jsonable(value):
    value = np.asarray(value)
    if value.dtype == object:
        return np.vectorize(lambda b: b.decode("latin-1"), otypes=[object])(value).tolist()
    return value.tolist()


if __name__ == "__main__":
    seed("seed_ref", use_resource=False)
    seed("seed_resource", use_resource=True)
    mlp("mlp_gradient_descent", lambda: v1.train.GradientDescentOptimizer(0.1))
    mlp("mlp_momentum", lambda: v1.train.MomentumOptimizer(0.1, 0.9))
    mlp("mlp_nesterov", lambda: v1.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True))
    mlp("mlp_adam", lambda: v1.train.AdamOptimizer(0.01))
    mlp("mlp_adagrad", lambda: v1.train.AdagradOptimizer(0.1))
    mlp("mlp_rmsprop", lambda: v1.train.RMSPropOptimizer(0.01))
    batch_matmul("batch_matmul")
    parse_examples("parse_examples")
    parse_sequence_example("parse_sequence_example")
    conv_net("conv_net")
    embedding_sparse("embedding_gd_mod", lambda: v1.train.GradientDescentOptimizer(0.125), "mod")
    embedding_sparse("embedding_adagrad_div", lambda: v1.train.AdagradOptimizer(0.125), "div")
    resource_gather_scatter("resource_gather_scatter")
    array_utils("array_utils")
    layers_model("layers_adadelta", lambda lr: v1.train.AdadeltaOptimizer(lr * 20.0))
    layers_model("layers_ftrl", lambda lr: v1.train.FtrlOptimizer(lr, l1_regularization_strength=0.001,
                                                                   l2_regularization_strength=0.01))
    layers_model("layers_ftrl_v2", lambda lr: v1.train.FtrlOptimizer(lr, l2_shrinkage_regularization_strength=0.05))
    layers_model("layers_proximal_gd", lambda lr: v1.train.ProximalGradientDescentOptimizer(
        lr, l1_regularization_strength=0.001, l2_regularization_strength=0.01))
    # No ProximalAdagrad golden: TF's kernel takes Eigen's approximate rsqrt, which drifts from an exact
    # 1/sqrt by an ulp within a few steps; tests/test_layers.py checks it against NumPy.
    losses_and_schedules("losses_and_schedules")
    metrics("metrics")
    data_pipelines()
    data_iterators("data_iterators")
    queues_and_strings("queues_and_strings")
    control_flow_cond("control_flow_cond")
    control_flow_while("control_flow_while")
    control_flow_nested_grad("control_flow_nested_grad")
    control_flow_import_grad("control_flow_import_grad")
    rnn_dynamic_lstm("rnn_dynamic_lstm")
    functional_map_scan("functional_map_scan")
    accumulators("accumulators")
