"""A character-level LSTM language model, written as TF 1.x's RNN tutorials are (flags, tf.app.run).

It reads a small text that ships with the repository (examples/data/tiny_text.txt), learns to predict each next
character with an embedding, a BasicLSTMCell run by tf.nn.dynamic_rnn and a softmax, prints the loss, saves a
checkpoint, and samples some text from the model one character at a time (the same cell, one step per run).

Run: python examples/char_rnn.py --steps 300 --hidden_size 128
"""
import os

import numpy as np

import tfmini as tf

flags = tf.app.flags
flags.DEFINE_string("data_path", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tiny_text.txt"),
                    "The text to learn")
flags.DEFINE_integer("hidden_size", 64, "LSTM units (and embedding size)")
flags.DEFINE_integer("seq_length", 25, "Characters per training sequence")
flags.DEFINE_integer("batch_size", 16, "Sequences per step")
flags.DEFINE_integer("steps", 200, "Training steps", lower_bound=1)
flags.DEFINE_float("learning_rate", 0.01, "Adam's learning rate")
flags.DEFINE_float("max_grad_norm", 5.0, "Gradients are clipped to this global norm")
flags.DEFINE_integer("log_every", 20, "Print the loss every this many steps")
flags.DEFINE_integer("sample_length", 80, "Characters to sample after training")
flags.DEFINE_string("save_path", "", "Save the model here after training (empty: don't)")
flags.DEFINE_integer("seed", 1, "Graph-level random seed and the batches' seed")
FLAGS = flags.FLAGS


def load_text(path):
    with tf.gfile.GFile(path, "r") as f:
        text = f.read()
    chars = sorted(set(text))
    return np.array([chars.index(c) for c in text], dtype=np.int32), chars


def batches(ids, batch_size, seq_length, rng):
    """Random windows of the text: inputs and the same windows shifted by one character (the targets)."""
    while True:
        starts = rng.randint(0, len(ids) - seq_length - 1, size=batch_size)
        window = np.stack([ids[s:s + seq_length + 1] for s in starts])
        yield window[:, :-1], window[:, 1:]


def main(_):
    ids, chars = load_text(FLAGS.data_path)
    vocab = len(chars)
    tf.set_random_seed(FLAGS.seed)
    inputs = tf.placeholder(tf.int32, [None, None], name="inputs")
    targets = tf.placeholder(tf.int32, [None, None], name="targets")
    embedding = tf.get_variable("embedding", [vocab, FLAGS.hidden_size])
    cell = tf.nn.rnn_cell.BasicLSTMCell(FLAGS.hidden_size)
    outputs, _ = tf.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(embedding, inputs), dtype=tf.float32)
    softmax_w = tf.get_variable("softmax_w", [FLAGS.hidden_size, vocab])
    softmax_b = tf.get_variable("softmax_b", [vocab], initializer=tf.zeros_initializer())
    logits = tf.matmul(tf.reshape(outputs, [-1, FLAGS.hidden_size]), softmax_w) + softmax_b
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(targets, [-1]),
                                                                         logits=logits))
    params = tf.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(loss, params), FLAGS.max_grad_norm)
    train_op = tf.train.AdamOptimizer(FLAGS.learning_rate).apply_gradients(zip(grads, params))

    # Sampling: one step of the same cell (its variables reused) from a fed state.
    char_in = tf.placeholder(tf.int32, [1], name="char_in")
    state_in = tf.nn.rnn_cell.LSTMStateTuple(tf.placeholder(tf.float32, [1, FLAGS.hidden_size], name="c_in"),
                                             tf.placeholder(tf.float32, [1, FLAGS.hidden_size], name="h_in"))
    step_out, state_out = cell(tf.nn.embedding_lookup(embedding, char_in), state_in)
    probs = tf.nn.softmax(tf.matmul(step_out, softmax_w) + softmax_b)

    rng = np.random.RandomState(FLAGS.seed)
    data = batches(ids, FLAGS.batch_size, FLAGS.seq_length, rng)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, FLAGS.steps + 1):
            x, y = next(data)
            value, _ = sess.run([loss, train_op], {inputs: x, targets: y})
            if step == 1 or step % FLAGS.log_every == 0 or step == FLAGS.steps:
                print(f"step {step} loss {value:.4f}", flush=True)
        if FLAGS.save_path:
            print("saved", saver.save(sess, FLAGS.save_path))
        c = h = np.zeros([1, FLAGS.hidden_size], np.float32)
        current, text = int(ids[0]), [chars[int(ids[0])]]
        for _ in range(FLAGS.sample_length):
            p, (c, h) = sess.run([probs, state_out], {char_in: [current], state_in.c: c, state_in.h: h})
            current = int(rng.choice(vocab, p=p[0] / p[0].sum()))
            text.append(chars[current])
        print("sample:", repr("".join(text)))


if __name__ == "__main__":
    tf.app.run(main)
