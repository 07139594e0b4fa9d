"""Between-graph replication on scikit-learn's digits, in the shape of TF 1.x's distributed how-to
(and mnist_replica.py): one process per task, each worker builds the whole graph with replica_device_setter
(variables on the ps tasks, compute on itself) and trains in a MonitoredTrainingSession; worker 0 is the chief
(initializes or restores, writes checkpoints and summaries). --sync_replicas aggregates each step's gradients
of all workers with SyncReplicasOptimizer.

A cluster of its own processes (each runs a tf.train.Server; a ps task serves until the chief is done):
    python examples/distributed_trainer.py --ps_hosts=localhost:2222 --worker_hosts=localhost:2223,localhost:2224 \\
        --job_name=ps --task_index=0 --checkpoint_dir=/tmp/digits_train &
    python examples/distributed_trainer.py ... --job_name=worker --task_index=0 --checkpoint_dir=/tmp/digits_train &
    python examples/distributed_trainer.py ... --job_name=worker --task_index=1

Against servers already running (`tfmini-server local`, compose): one trainer per worker, --existing_servers
(`tfmini-server local` prints the TLS/token environment a client needs; export it first):
    tfmini-server local --ps 1 --workers 2 --exit-after-chief --checkpoint-dir /tmp/digits_train &
    python examples/distributed_trainer.py --ps_hosts=127.0.0.1:2222 --worker_hosts=127.0.0.1:2223,127.0.0.1:2224 \\
        --existing_servers --job_name=worker --task_index=0 --checkpoint_dir=/tmp/digits_train &
    python examples/distributed_trainer.py ... --existing_servers --job_name=worker --task_index=1

Each worker prints `step <local> global <global> loss <loss> t <unix time>` every --log_every steps and
`done ...` at the end; a lost ps is recovered from by MonitoredTrainingSession on its own.
"""
import sys
import time

import numpy as np

import tfmini as tf

flags = tf.app.flags
flags.DEFINE_string("data_dir", "", "Cache the digits here as digits.npz (loaded without importing scikit-learn)")
flags.DEFINE_string("ps_hosts", "localhost:2222", "Comma-separated list of ps host:port pairs")
flags.DEFINE_string("worker_hosts", "localhost:2223,localhost:2224", "Comma-separated list of worker host:port pairs")
flags.DEFINE_string("job_name", "worker", "One of 'ps', 'worker'")
flags.DEFINE_integer("task_index", 0, "Index of the task within its job")
flags.DEFINE_boolean("existing_servers", False, "The tasks' servers are already running (tfmini-server): connect "
                     "to grpc://<this worker's host> instead of starting an in-process server")
flags.DEFINE_boolean("sync_replicas", False, "Aggregate the workers' gradients with SyncReplicasOptimizer")
flags.DEFINE_integer("replicas_to_aggregate", None, "Gradients per synchronous step (default: number of workers)")
flags.DEFINE_integer("train_steps", 200, "Global steps to train for")
flags.DEFINE_integer("batch_size", 64, "Examples per worker per step")
flags.DEFINE_integer("hidden_units", 32, "Hidden layer size")
flags.DEFINE_float("learning_rate", 0.05, "Learning rate (Adam)")
flags.DEFINE_string("checkpoint_dir", "", "Where the chief writes checkpoints and summaries ('' for none)")
flags.DEFINE_integer("save_checkpoint_steps", 20, "Global steps between checkpoints")
flags.DEFINE_integer("save_summaries_steps", 10, "Global steps between summaries")
flags.DEFINE_integer("step_timeout_ms", 20000, "Deadline of one step (a synchronous step waits at most this long "
                     "for the other replicas)")
flags.DEFINE_integer("log_every", 10, "Print progress every this many local steps")
flags.DEFINE_float("step_delay", 0.0, "Seconds to sleep after each step (to pace a demo or a test)")
FLAGS = flags.FLAGS


def load_digits_data(data_dir=""):
    """(images as [n, 64] floats in [0, 1], labels): from data_dir/digits.npz when cached there, else from
    scikit-learn (and cached, when data_dir is given)."""
    path = f"{data_dir.rstrip('/')}/digits.npz" if data_dir else None
    if path and tf.gfile.Exists(path):
        with np.load(path) as cached:
            return cached["x"], cached["y"]
    from sklearn.datasets import load_digits
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    if path:
        tf.gfile.MakeDirs(data_dir)
        np.savez(path + ".tmp.npz", x=x, y=y)
        tf.gfile.Rename(path + ".tmp.npz", path, overwrite=True)
    return x, y


def build_model(num_workers, is_chief):
    """The MLP and its train op; (train_op, loss, global_step, hooks of the optimizer)."""
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    with tf.variable_scope("hidden"):
        w1 = tf.get_variable("weights", [64, FLAGS.hidden_units], initializer=tf.glorot_uniform_initializer(seed=1))
        b1 = tf.get_variable("biases", [FLAGS.hidden_units], initializer=tf.zeros_initializer())
        h = tf.nn.relu(tf.matmul(x, w1) + b1)
    with tf.variable_scope("softmax"):
        w2 = tf.get_variable("weights", [FLAGS.hidden_units, 10], initializer=tf.glorot_uniform_initializer(seed=2))
        b2 = tf.get_variable("biases", [10], initializer=tf.zeros_initializer())
        logits = tf.matmul(h, w2) + b2
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    tf.summary.scalar("loss", loss)
    global_step = tf.train.get_or_create_global_step()
    opt = tf.train.AdamOptimizer(FLAGS.learning_rate)
    hooks = []
    if FLAGS.sync_replicas:
        opt = tf.train.SyncReplicasOptimizer(opt, replicas_to_aggregate=FLAGS.replicas_to_aggregate or num_workers,
                                             total_num_replicas=num_workers, name="digits_sync_replicas")
        hooks.append(opt.make_session_run_hook(is_chief))
    train_op = opt.minimize(loss, global_step=global_step)
    return (x, labels), train_op, loss, global_step, hooks


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    ps_hosts, worker_hosts = FLAGS.ps_hosts.split(","), FLAGS.worker_hosts.split(",")
    cluster = tf.train.ClusterSpec({"ps": ps_hosts, "worker": worker_hosts})
    if FLAGS.existing_servers:
        if FLAGS.job_name != "worker":
            sys.exit("--existing_servers: run one trainer per worker (the ps is a tfmini-server already)")
        target = f"grpc://{worker_hosts[FLAGS.task_index]}"
    else:
        # tfmini's own: the ps stops once the chief's MonitoredTrainingSession is done (exit_after_chief), and
        # Saver ops may write under the checkpoint directory (give every task the same --checkpoint_dir).
        server = tf.train.Server(cluster, job_name=FLAGS.job_name, task_index=FLAGS.task_index,
                                 exit_after_chief=FLAGS.job_name == "ps", checkpoint_dir=FLAGS.checkpoint_dir or None)
        if FLAGS.job_name == "ps":
            server.join()
            return
        target = server.target
    is_chief = FLAGS.task_index == 0
    x_all, y_all = load_digits_data(FLAGS.data_dir)
    rng = np.random.RandomState(FLAGS.task_index)
    with tf.device(tf.train.replica_device_setter(worker_device=f"/job:worker/task:{FLAGS.task_index}",
                                                  cluster=cluster)):
        (x, labels), train_op, loss, global_step, hooks = build_model(len(worker_hosts), is_chief)
    hooks.append(tf.train.StopAtStepHook(last_step=FLAGS.train_steps))
    config = tf.ConfigProto(operation_timeout_in_ms=FLAGS.step_timeout_ms)
    local_step, first_loss, last_loss = 0, float("nan"), float("nan")
    print(f"worker {FLAGS.task_index}: training on {target} ({'sync' if FLAGS.sync_replicas else 'async'}, "
          f"chief={is_chief})", flush=True)
    with tf.train.MonitoredTrainingSession(master=target, is_chief=is_chief,
                                           checkpoint_dir=FLAGS.checkpoint_dir or None, hooks=hooks,
                                           save_checkpoint_steps=FLAGS.save_checkpoint_steps,
                                           save_summaries_steps=FLAGS.save_summaries_steps, config=config,
                                           log_step_count_steps=50) as sess:
        while not sess.should_stop():
            batch = rng.randint(0, len(x_all), FLAGS.batch_size)
            _, step, batch_loss = sess.run([train_op, global_step, loss], {x: x_all[batch], labels: y_all[batch]})
            local_step += 1
            first_loss = batch_loss if local_step == 1 else first_loss
            last_loss = batch_loss
            if local_step % FLAGS.log_every == 0:
                print(f"step {local_step} global {step} loss {batch_loss:.4f} t {time.time():.3f}", flush=True)
            if FLAGS.step_delay:
                time.sleep(FLAGS.step_delay)
    print(f"done worker {FLAGS.task_index} local_steps {local_step} first_loss {first_loss:.4f} "
          f"last_loss {last_loss:.4f}", flush=True)


if __name__ == "__main__":
    tf.app.run(main=main)
