"""Skip-gram word2vec on a tiny built-in corpus, written as TF 1.x's word2vec_basic.py is.

embedding_lookup + nce_loss, trained by gradient descent: each step updates only the embedding and NCE rows
its batch touches (ScatterSub of an IndexedSlices gradient). Prints the loss falling and each probe word's
nearest neighbours; words used in the same places (king/queen, dog/cat) end up close.

Run: python examples/word2vec_tiny.py [--steps 3001]
"""
import argparse
import collections

import numpy as np

import tfmini as tf

GROUPS = {  # a sentence is "the <subject> <verb> the <object>", all three from one topic
    "royal": (["king", "queen", "prince", "princess"], ["rules", "reigns", "governs"], ["kingdom", "castle", "throne"]),
    "animal": (["dog", "cat", "puppy", "kitten"], ["chases", "eats", "sniffs"], ["bone", "fish", "mouse"]),
    "kitchen": (["cook", "chef", "baker", "waiter"], ["bakes", "serves", "fries"], ["bread", "soup", "cake"]),
}


def make_corpus(sentences=3000, seed=0):
    rng = np.random.RandomState(seed)
    words = []
    for _ in range(sentences):
        subjects, verbs, objects = GROUPS[rng.choice(sorted(GROUPS))]
        words += ["the", rng.choice(subjects), rng.choice(verbs), "the", rng.choice(objects), "."]
    return words


def build_dataset(words):
    """Ids by decreasing frequency (what the log-uniform sampler assumes), as word2vec_basic's build_dataset."""
    count = collections.Counter(words).most_common()
    dictionary = {word: i for i, (word, _) in enumerate(count)}
    data = [dictionary[w] for w in words]
    return data, dictionary, {i: w for w, i in dictionary.items()}


def skipgram_pairs(data, skip_window=2):
    """(centre, context) for every context word within skip_window of every centre word."""
    data = np.asarray(data)
    centres, contexts = [], []
    for offset in range(-skip_window, skip_window + 1):
        if offset == 0:
            continue
        lo, hi = max(0, -offset), len(data) - max(0, offset)
        centres.append(data[lo:hi])
        contexts.append(data[lo + offset:hi + offset])
    return np.concatenate(centres), np.concatenate(contexts)


def train(steps=3001, batch_size=64, embedding_size=16, num_sampled=6, learning_rate=1.0, seed=0, progress=True):
    """Trains; returns (average losses per report interval, normalized embeddings, dictionary, reverse)."""
    words = make_corpus(seed=seed)
    data, dictionary, reverse_dictionary = build_dataset(words)
    vocabulary_size = len(dictionary)
    centres, contexts = skipgram_pairs(data)

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        train_inputs = tf.placeholder(tf.int32, shape=[batch_size])
        train_labels = tf.placeholder(tf.int32, shape=[batch_size, 1])
        embeddings = tf.Variable(tf.random_uniform([vocabulary_size, embedding_size], -1.0, 1.0))
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
        nce_weights = tf.Variable(tf.truncated_normal([vocabulary_size, embedding_size],
                                                      stddev=1.0 / np.sqrt(embedding_size)))
        nce_biases = tf.Variable(tf.zeros([vocabulary_size]))
        loss = tf.reduce_mean(tf.nn.nce_loss(weights=nce_weights, biases=nce_biases, labels=train_labels,
                                             inputs=embed, num_sampled=num_sampled, num_classes=vocabulary_size))
        optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss)
        norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
        normalized_embeddings = embeddings / norm
        init = tf.global_variables_initializer()

    rng = np.random.RandomState(seed)
    averages, average_loss = [], 0.0
    with tf.Session(graph=graph) as session:
        init.run()
        for step in range(steps):
            pick = rng.randint(0, len(centres), batch_size)
            feed_dict = {train_inputs: centres[pick], train_labels: contexts[pick, None]}
            _, loss_val = session.run([optimizer, loss], feed_dict=feed_dict)
            average_loss += loss_val
            if step % 500 == 0:
                if step > 0:
                    average_loss /= 500
                averages.append(average_loss)
                if progress:
                    print(f"Average loss at step {step}: {average_loss:.4f}")
                average_loss = 0.0
        final_embeddings = normalized_embeddings.eval()
    return averages, final_embeddings, dictionary, reverse_dictionary


def nearest(final_embeddings, dictionary, reverse_dictionary, word, top_k=3):
    sim = final_embeddings @ final_embeddings[dictionary[word]]
    return [reverse_dictionary[i] for i in (-sim).argsort()[1:top_k + 1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3001)
    args = parser.parse_args()
    _, final, dictionary, reverse = train(steps=args.steps)
    for word in ("king", "dog", "chef", "castle"):
        print(f"Nearest to {word}: {', '.join(nearest(final, dictionary, reverse, word))}")


if __name__ == "__main__":
    main()
