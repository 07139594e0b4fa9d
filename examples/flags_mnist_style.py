"""Softmax regression on scikit-learn's digits, written as TF 1.x's mnist_softmax.py tutorial is.

A `tf.app.run` script: flags from the command line (`tf.app.flags`), the data set cached as CSV in
--data_dir through `tf.gfile`, progress through `tf.logging`, a scalar summary and a result file in --log_dir.

Run: python examples/flags_mnist_style.py --data_dir /tmp/digits_data --log_dir /tmp/digits_logs \\
         --learning_rate 0.5 --max_steps 300
"""
import sys

import numpy as np

import tfmini as tf

flags = tf.app.flags
flags.DEFINE_string("data_dir", "/tmp/digits_data", "Directory for storing input data")
flags.DEFINE_string("log_dir", "/tmp/digits_logs", "Summaries and the result file go here")
flags.DEFINE_float("learning_rate", 0.5, "Initial learning rate.")
flags.DEFINE_integer("max_steps", 300, "Number of steps to run trainer.", lower_bound=1)
flags.DEFINE_integer("batch_size", 100, "Examples per training step.")
flags.DEFINE_boolean("verbose", True, "Log progress with tf.logging.")
FLAGS = flags.FLAGS

DATA_FILE = "digits.csv"


def maybe_write_data(data_dir):
    """Writes the digits (label, then 64 pixels in [0, 1]) as CSV once; returns the file's path."""
    path = data_dir.rstrip("/") + "/" + DATA_FILE
    if tf.gfile.Exists(path):
        tf.logging.info("Using cached %s", path)
        return path
    from sklearn.datasets import load_digits
    digits = load_digits()
    tf.gfile.MakeDirs(data_dir)
    with tf.gfile.GFile(path, "w") as f:
        for label, pixels in zip(digits.target, digits.data / 16.0):
            f.write(f"{label}," + ",".join(f"{p:.4f}" for p in pixels) + "\n")
    tf.logging.info("Wrote %d examples to %s", len(digits.target), path)
    return path


def read_data(path):
    with tf.gfile.GFile(path) as f:
        rows = np.array([[float(v) for v in line.split(",")] for line in f], dtype=np.float32)
    labels, images = rows[:, 0].astype(np.int64), rows[:, 1:]
    order = np.random.RandomState(0).permutation(len(rows))
    split = len(rows) * 3 // 4
    train, test = order[:split], order[split:]
    return images[train], labels[train], images[test], labels[test]


def main(argv):
    if len(argv) > 1:
        tf.logging.warning("Ignoring extra arguments: %s", argv[1:])
    if FLAGS.verbose:
        tf.logging.set_verbosity(tf.logging.INFO)
    train_x, train_y, test_x, test_y = read_data(maybe_write_data(FLAGS.data_dir))
    if tf.gfile.Exists(FLAGS.log_dir):
        tf.gfile.DeleteRecursively(FLAGS.log_dir)
    tf.gfile.MakeDirs(FLAGS.log_dir)

    # Create the model
    x = tf.placeholder(tf.float32, [None, 64])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b

    # Define loss and optimizer
    y_ = tf.placeholder(tf.int64, [None])
    cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(FLAGS.learning_rate).minimize(cross_entropy)
    correct_prediction = tf.equal(tf.argmax(y, 1), y_)
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    tf.summary.scalar("cross_entropy", cross_entropy)
    merged = tf.summary.merge_all()

    sess = tf.InteractiveSession()
    writer = tf.summary.FileWriter(FLAGS.log_dir, sess.graph)
    tf.global_variables_initializer().run()
    rng = np.random.RandomState(1)
    for step in range(FLAGS.max_steps):
        batch = rng.randint(0, len(train_x), FLAGS.batch_size)
        summary, loss, _ = sess.run([merged, cross_entropy, train_step], {x: train_x[batch], y_: train_y[batch]})
        writer.add_summary(summary, step)
        tf.logging.log_every_n(tf.logging.INFO, "step %d: cross entropy %.4f", 100, step, loss)
    writer.close()

    # Test trained model
    test_accuracy = sess.run(accuracy, {x: test_x, y_: test_y})
    with tf.gfile.GFile(FLAGS.log_dir.rstrip("/") + "/result.txt", "w") as f:
        f.write(f"test_accuracy={test_accuracy:.4f}\nsteps={FLAGS.max_steps}\n")
    print(f"test accuracy {test_accuracy:.4f}")
    sess.close()
    return 0


if __name__ == "__main__":
    tf.app.run(main=main, argv=[sys.argv[0]] + sys.argv[1:])
