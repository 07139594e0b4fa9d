"""Top-k accuracy of a linear classifier, TF 1.x style: rank asserts on the inputs, tf.Print to watch a
batch go by, tf.nn.top_k for the best guesses, and a per-class breakdown with boolean_mask.

Run: python examples/top_k_accuracy.py   (prints the accuracies on stdout; tf.Print writes to stderr)
"""
import numpy as np

import tfmini as tf

NUM_CLASSES, FEATURES, K = 5, 8, 2


def make_data(n, seed):
    rng = np.random.RandomState(seed)
    centers = rng.randn(NUM_CLASSES, FEATURES) * 0.6
    labels = rng.randint(0, NUM_CLASSES, size=n)
    return (centers[labels] + rng.randn(n, FEATURES)).astype(np.float32), labels.astype(np.int32), centers


def main():
    features, labels, centers = make_data(200, seed=0)
    x = tf.placeholder(tf.float32, [None, FEATURES], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    # The classifier scores each class by closeness to its center: -|x - c|^2 up to a per-row constant.
    w = tf.constant(centers.T.astype(np.float32), name="w")
    b = tf.constant((-0.5 * (centers ** 2).sum(axis=1)).astype(np.float32), name="b")
    with tf.control_dependencies([tf.assert_rank(x, 2), tf.assert_rank(y, 1),
                                  tf.assert_non_negative(y, message="labels")]):
        logits = tf.matmul(x, w) + b
    logits = tf.Print(logits, [tf.shape(logits), tf.argmax(logits, 1)], "logits shape, argmax: ", first_n=1)

    _, top = tf.nn.top_k(logits, K)
    hit = tf.reduce_any(tf.equal(top, tf.expand_dims(y, 1)), axis=1)
    top1 = tf.reduce_mean(tf.cast(tf.equal(top[:, 0], y), tf.float32))
    topk = tf.reduce_mean(tf.cast(hit, tf.float32))
    per_class = [tf.reduce_mean(tf.cast(tf.boolean_mask(hit, tf.equal(y, c)), tf.float32))
                 for c in range(NUM_CLASSES)]

    with tf.Session() as sess:
        batches = [sess.run([top1, topk], {x: features[i:i + 50], y: labels[i:i + 50]}) for i in range(0, 200, 50)]
        print("top-1 accuracy: %.3f" % np.mean([a for a, _ in batches]))
        print("top-%d accuracy: %.3f" % (K, np.mean([a for _, a in batches])))
        for c, acc in enumerate(sess.run(per_class, {x: features, y: labels})):
            print("class %d top-%d: %.3f" % (c, K, acc))
        try:
            sess.run(topk, {x: features[:4], y: -labels[:4] - 1})
        except tf.errors.InvalidArgumentError as e:
            print("bad labels rejected:", e.message.splitlines()[0][:60])


if __name__ == "__main__":
    main()
