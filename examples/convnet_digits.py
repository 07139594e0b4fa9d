"""A small conv net on scikit-learn's bundled digits (8x8 images, 10 classes; no download), TF 1.x style.

conv 3x3x16 -> relu -> max_pool 2x2 -> conv 3x3x32 -> relu -> dense 10 -> softmax cross entropy, Adam.
Run: python examples/convnet_digits.py [--epochs 15]   Reaches >= 95% test accuracy in some seconds.
"""
import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import tfmini as tf


def load(seed=0):
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # [n, 8, 8, 1]: NHWC
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def conv_layer(inputs, filters, name, seed):
    with tf.variable_scope(name):
        shape = [3, 3, int(inputs.shape[-1]), filters]
        w = tf.get_variable("weights", shape, initializer=tf.glorot_uniform_initializer(seed=seed))
        b = tf.get_variable("biases", [filters], initializer=tf.zeros_initializer())
        return tf.nn.relu(tf.nn.conv2d(inputs, w, strides=[1, 1, 1, 1], padding="SAME") + b)


def build(learning_rate=0.005, seed=0):
    """The graph: placeholders, the conv net, its loss, an Adam train op and the accuracy."""
    tf.set_random_seed(seed)
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    h1 = conv_layer(x, 16, "conv1", seed)                                                 # [?, 8, 8, 16]
    p1 = tf.nn.max_pool(h1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")   # [?, 4, 4, 16]
    h2 = conv_layer(p1, 32, "conv2", seed + 1)                                            # [?, 4, 4, 32]
    flat = tf.reshape(h2, [-1, 4 * 4 * 32])
    with tf.variable_scope("softmax"):
        w = tf.get_variable("weights", [4 * 4 * 32, 10], initializer=tf.glorot_uniform_initializer(seed=seed + 2))
        b = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())
        logits = tf.matmul(flat, w) + b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    return x, labels, loss, train_op, accuracy


def train(epochs=15, batch_size=64, seed=0, progress=True):
    """Trains from scratch in a fresh graph; returns (test accuracy, final epoch's mean loss)."""
    x_train, x_test, y_train, y_test = load(seed)
    with tf.Graph().as_default():
        x, labels, loss, train_op, accuracy = build(seed=seed)
        rng = np.random.RandomState(seed)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            bar = tqdm(range(epochs), desc="epochs", disable=not progress)
            mean_loss = float("nan")
            for _ in bar:
                order = rng.permutation(len(x_train))
                losses = []
                for i in range(0, len(order), batch_size):
                    batch = order[i:i + batch_size]
                    _, batch_loss = sess.run([train_op, loss], {x: x_train[batch], labels: y_train[batch]})
                    losses.append(batch_loss)
                mean_loss = float(np.mean(losses))
                bar.set_postfix(loss=f"{mean_loss:.4f}")
            return float(sess.run(accuracy, {x: x_test, labels: y_test})), mean_loss


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()
    acc, loss = train(args.epochs, args.batch_size, args.seed, progress=not args.quiet)
    print(f"final training loss {loss:.4f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
