"""Messages per step of the issue-13 MLP (1 ps + 2 workers, 64-256-10, replica_device_setter), and its results
beside the embedded session's. The servers run in this process, so RPC_COUNTS sees every call of the step."""
import numpy as np
import pytest

import tfmini as tf
import tfmini.train  # noqa: F401
from tfmini.server import grpc_transport as transport
from tfmini.server.server import ClusterSpec, Server
from test_distributed import free_ports

train = tf.train
BATCH, STEPS = 32, 5


@pytest.fixture(scope="module")
def cluster():
    ports = free_ports(3)
    spec = ClusterSpec({"ps": [f"127.0.0.1:{ports[0]}"],
                        "worker": [f"127.0.0.1:{ports[1]}", f"127.0.0.1:{ports[2]}"]})
    servers = [Server(spec, "ps", 0, host="127.0.0.1"), Server(spec, "worker", 0, host="127.0.0.1"),
               Server(spec, "worker", 1, host="127.0.0.1")]
    yield spec, servers
    for s in servers:
        s.stop()


def _mlp(device_fn):
    """The MLP with fixed initial values, so every session starts from the same variables."""
    rng = np.random.default_rng(0)
    with tf.Graph().as_default() as g:
        with tf.device(device_fn):
            x = tf.placeholder(tf.float32, [None, 64])
            y = tf.placeholder(tf.int64, [None])
            w1 = tf.Variable(rng.standard_normal((64, 256)).astype(np.float32) * 0.1)
            b1 = tf.Variable(np.zeros(256, np.float32))
            w2 = tf.Variable(rng.standard_normal((256, 10)).astype(np.float32) * 0.1)
            b2 = tf.Variable(np.zeros(10, np.float32))
            h = tf.nn.relu(tf.matmul(x, w1) + b1)
            logits = tf.matmul(h, w2) + b2
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            step = train.GradientDescentOptimizer(0.1).minimize(loss)
            init = tf.global_variables_initializer()
    return g, x, y, loss, step, init


def _batches():
    rng = np.random.default_rng(1)  # one batch, over and over: its loss must fall
    return [(rng.standard_normal((BATCH, 64)).astype(np.float32), rng.integers(0, 10, BATCH))] * STEPS


def _train(target, device_fn, counts=None, worker=None):
    g, x, y, loss, step, init = _mlp(device_fn)
    with tf.Session(target, graph=g) as sess:
        sess.run(init)
        sess.run(loss, {x: _batches()[0][0], y: _batches()[0][1]})  # registers the plan of the loss fetch
        sess.run([loss, step], {x: _batches()[0][0], y: _batches()[0][1]})  # and of the train step
        transport.RPC_COUNTS.clear()
        losses = [sess.run([loss, step], {x: bx, y: by})[0] for bx, by in _batches()]
        if counts is not None:
            counts.update(transport.RPC_COUNTS)
        if worker is not None:
            # Its 4 variables come from the ps whatever it does (the ps waits on nobody before it sends them):
            # worker 0 waits for them in its compiled fixed order, not in dataflow order.
            plans = [plan for plan, _ in worker._graphs.values() if len(plan.remote_recvs) == 4]
            assert plans and not any(plan.dataflow for plan in plans)
    return losses


def test_mlp_step_messages_and_results_match_the_embedded_session(cluster):
    spec, servers = cluster
    counts = {}
    distributed = _train(servers[1].target, train.replica_device_setter(cluster=spec), counts, servers[1].worker)
    embedded = _train("", None)
    # The same arithmetic on the same numbers: only where it runs differs.
    np.testing.assert_allclose(distributed, embedded, rtol=1e-5, atol=1e-6)
    assert distributed[-1] < distributed[0]
    # Session(server.target) in worker 0's process: no RunStep RPC. Per step: 1 RunGraph to the ps (request and
    # response), the ps's 4 variables pushed to worker 0 in one one-way frame and the 4 gradients pushed back in
    # another: 4 messages (pulling each tensor with RecvTensor took 18).
    per_step = {rpc: n / STEPS for rpc, n in counts.items()}
    assert per_step == {"RunGraph": 1, "PushTensors": 2}, per_step
