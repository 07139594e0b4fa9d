"""tf.losses and tf.metrics: values against NumPy (weights, reductions, label smoothing), TF's collections and
variable names, the streaming state in local variables, and numeric gradients of the losses."""
import numpy as np
import pytest

import tfmini as tf
from test_gradients import numeric_check

R = tf.losses.Reduction
RNG = np.random.RandomState(0)
LOGITS = RNG.randn(5, 4).astype(np.float32)
ONEHOT = np.eye(4, dtype=np.float32)[RNG.randint(0, 4, 5)]
BINARY = RNG.randint(0, 2, (5, 4)).astype(np.float32)
WEIGHTS = np.array([1.0, 0.0, 2.0, 0.5, 1.0], np.float32)


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        return sess.run(fetches, feed)


def _softmax_xent(labels, logits):
    shifted = logits - logits.max(1, keepdims=True)
    return -(labels * (shifted - np.log(np.exp(shifted).sum(1, keepdims=True)))).sum(1)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_losses_against_numpy():
    probs = _sigmoid(LOGITS)
    w = WEIGHTS[:, None]
    smooth = ONEHOT * 0.8 + 0.2 / 4
    cases = [
        (tf.losses.softmax_cross_entropy(ONEHOT, LOGITS), _softmax_xent(ONEHOT, LOGITS).mean()),
        (tf.losses.softmax_cross_entropy(ONEHOT, LOGITS, weights=WEIGHTS, label_smoothing=0.2),
         (_softmax_xent(smooth, LOGITS) * WEIGHTS).sum() / 4),
        (tf.losses.sparse_softmax_cross_entropy(ONEHOT.argmax(1)[:, None], LOGITS, weights=w),
         (_softmax_xent(ONEHOT, LOGITS) * WEIGHTS).sum() / 4),
        (tf.losses.sigmoid_cross_entropy(BINARY, LOGITS, label_smoothing=0.1),
         (-(BINARY * 0.9 + 0.05) * np.log(probs) - (1 - (BINARY * 0.9 + 0.05)) * np.log(1 - probs)).mean()),
        (tf.losses.mean_squared_error(BINARY, probs, weights=w), ((BINARY - probs) ** 2 * w).sum() / 16),
        (tf.losses.mean_squared_error(BINARY, probs, reduction=R.SUM), ((BINARY - probs) ** 2).sum()),
        (tf.losses.absolute_difference(BINARY, probs, weights=w, reduction=R.MEAN),
         (np.abs(BINARY - probs) * w).sum() / (4 * WEIGHTS.sum())),
        (tf.losses.huber_loss(BINARY, LOGITS, delta=0.5, reduction=R.SUM_OVER_BATCH_SIZE),
         np.where(np.abs(LOGITS - BINARY) <= 0.5, 0.5 * (LOGITS - BINARY) ** 2,
                  0.5 * (np.abs(LOGITS - BINARY) - 0.25)).mean()),
        (tf.losses.hinge_loss(BINARY, LOGITS, reduction=R.NONE), np.maximum(0, 1 - (2 * BINARY - 1) * LOGITS)),
        (tf.losses.log_loss(BINARY, probs),
         (-BINARY * np.log(probs + 1e-7) - (1 - BINARY) * np.log(1 - probs + 1e-7)).mean()),
    ]
    got = run([t for t, _ in cases])
    for i, (value, (_, want)) in enumerate(zip(got, cases)):
        np.testing.assert_allclose(value, want, rtol=2e-5, atol=1e-6, err_msg=f"case {i}")


def test_loss_names_and_collections():
    a = tf.losses.softmax_cross_entropy(ONEHOT, LOGITS)
    b = tf.losses.mean_squared_error(BINARY, LOGITS, scope="mse")
    tf.losses.hinge_loss(BINARY, LOGITS, loss_collection=None)
    assert a.op.name == "softmax_cross_entropy_loss/value" and b.op.name == "mse/value"
    assert tf.losses.get_losses() == [a, b]
    w = tf.get_variable("w", [3], regularizer=tf.contrib.layers.l1_regularizer(0.5),
                        initializer=tf.constant_initializer([1.0, -2.0, 3.0]))
    assert [t.op.name for t in tf.losses.get_regularization_losses()] == ["w/Regularizer/l1_regularizer"]
    total = tf.losses.get_total_loss()
    extra = tf.constant(2.0)
    tf.losses.add_loss(extra)
    assert total.op.name == "total_loss" and tf.losses.get_losses()[-1] is extra
    got_a, got_b, got_total = run([a, b, total])
    np.testing.assert_allclose(got_total, got_a + got_b + 3.0, rtol=1e-6)
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        tf.losses.compute_weighted_loss(a, reduction="bogus")
    with pytest.raises(ValueError, match="weights can not be broadcast"):
        tf.losses.mean_squared_error(BINARY, LOGITS, weights=np.ones(4, np.float32))
    del w


def test_all_zero_weights_give_zero_loss():
    assert run(tf.losses.mean_squared_error(BINARY, LOGITS, weights=0.0)) == 0.0


@pytest.mark.parametrize("build", [
    lambda x: tf.losses.softmax_cross_entropy(ONEHOT, x, weights=WEIGHTS, label_smoothing=0.1),
    lambda x: tf.losses.sigmoid_cross_entropy(BINARY, x),
    lambda x: tf.losses.huber_loss(BINARY, x, delta=0.7),
    lambda x: tf.losses.log_loss(BINARY, tf.sigmoid(x)),
    lambda x: tf.losses.hinge_loss(BINARY, x * 0.3, reduction=R.SUM),
], ids=["softmax", "sigmoid", "huber", "log", "hinge"])
def test_loss_gradients(build):
    # tf.losses computes in float32 whatever the input (as TF), so the differences take a wide step
    numeric_check(build, [LOGITS.astype(np.float64)], rtol=1e-2, atol=1e-3, eps=3e-3)


# -- metrics ----------------------------------------------------------------------------------------------------
def _roc_auc_thresholded(labels, scores, n=200):
    """TF's auc, written out: confusion counts at n thresholds, then the trapezoid over (fpr, tpr)."""
    eps = 1e-7
    thresholds = np.array([-eps] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + eps], np.float32)
    pos = scores[None, :] > thresholds[:, None]
    lab = labels.astype(bool)[None, :]
    tp, fn = (pos & lab).sum(1), (~pos & lab).sum(1)
    tn, fp = (~pos & ~lab).sum(1), (pos & ~lab).sum(1)
    tpr = (tp + 1e-6) / (tp + fn + 1e-6)
    fpr = fp / (fp + tn + 1e-6)
    return np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def test_streaming_metrics_against_numpy_and_reset():
    rng = np.random.RandomState(1)
    labels_all = rng.randint(0, 2, (3, 10))
    scores_all = rng.rand(3, 10).astype(np.float32)
    labels = tf.placeholder(tf.int64, [None])
    scores = tf.placeholder(tf.float32, [None])
    predictions = tf.cast(scores > 0.5, tf.int64)
    pairs = [tf.metrics.accuracy(labels, predictions),
             tf.metrics.mean(scores, weights=tf.cast(labels, tf.float32) + 0.5),
             tf.metrics.precision(labels, predictions),
             tf.metrics.recall(labels, predictions),
             tf.metrics.auc(labels, scores),
             tf.metrics.mean_squared_error(tf.cast(labels, tf.float32), scores),
             tf.metrics.mean_absolute_error(tf.cast(labels, tf.float32), scores),
             tf.metrics.root_mean_squared_error(tf.cast(labels, tf.float32), scores)]
    assert [v.name for v in tf.local_variables()][:8] == [
        "accuracy/total:0", "accuracy/count:0", "mean/total:0", "mean/count:0",
        "precision/true_positives/count:0", "precision/false_positives/count:0",
        "recall/true_positives/count:0", "recall/false_negatives/count:0"]
    assert tf.get_collection(tf.GraphKeys.METRIC_VARIABLES) == tf.local_variables()
    assert tf.global_variables() == [] and pairs[0][0].op.name == "accuracy/value"
    assert pairs[4][1].op.name == "auc/update_op"
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        for i in range(3):
            sess.run([u for _, u in pairs], {labels: labels_all[i], scores: scores_all[i]})
        got = sess.run([v for v, _ in pairs])
        lab, sc = labels_all.ravel(), scores_all.ravel()
        pred = (sc > 0.5).astype(int)
        tp = ((pred == 1) & (lab == 1)).sum()
        w = lab + 0.5
        want = [(pred == lab).mean(), (sc * w).sum() / w.sum(), tp / pred.sum(), tp / lab.sum(),
                _roc_auc_thresholded(lab, sc), ((lab - sc) ** 2).mean(), np.abs(lab - sc).mean(),
                np.sqrt(((lab - sc) ** 2).mean())]
        np.testing.assert_allclose(got, want, rtol=1e-5)
        sess.run(tf.local_variables_initializer())
        assert sess.run([v for v, _ in pairs]) == [0.0] * 8


def test_metric_collections_and_unique_names():
    a = tf.metrics.accuracy([1, 0], [1, 1], metrics_collections=["my_metrics"], updates_collections=["my_updates"])
    b = tf.metrics.accuracy([1, 0], [0, 0])
    assert tf.get_collection("my_metrics") == [a[0]] and tf.get_collection("my_updates") == [a[1]]
    assert b[0].op.name == "accuracy_1/value"
    assert run([a[1], b[1]]) == [0.5, 0.5]
