"""A 1M x 64 embedding partitioned over two ps tasks (tfmini-server processes): a step that looks up 128 rows and
applies a sparse gradient-descent update moves about those rows over the wire, not the table.

The worker task is served by this test's own process (tf.train.Server), so server.grpc_transport.RPC_BYTES
sees every byte the step moves: the rows the ps send back from their Gathers and the gradient rows they pull
for their ScatterSubs (as callee), and the RunGraph calls the master makes to them (as caller).
"""

import numpy as np
import pytest

import tfmini as tf
from tfmini.server import grpc_transport as transport
from test_distributed import ProcessCluster, free_ports, wait_serving

ROWS, DIM, BATCH = 1 << 20, 64, 128
TABLE_BYTES = ROWS * DIM * 4


class PsProcesses(ProcessCluster):
    """`num_ps` ps tasks as tfmini-server processes, and one worker address left for an in-process server."""

    def __init__(self, log_dir, num_ps=2):
        ports = iter(free_ports(num_ps + 1))
        self.spec = {"ps": [f"127.0.0.1:{next(ports)}" for _ in range(num_ps)], "worker": [f"127.0.0.1:{next(ports)}"]}
        self.log_dir, self.procs = log_dir, {}
        for i in range(num_ps):
            self._start("ps", i)
        for address in self.spec["ps"]:
            wait_serving(address)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ps = PsProcesses(str(tmp_path_factory.mktemp("ps")))
    server = tf.train.Server(tf.train.ClusterSpec(ps.spec), job_name="worker", task_index=0, host="127.0.0.1")
    yield ps, server
    server.stop()
    ps.stop()


def test_sparse_step_moves_the_rows_not_the_table(cluster):
    ps, server = cluster
    tf.reset_default_graph()
    with tf.device(tf.train.replica_device_setter(cluster=ps.spec)):
        emb = tf.get_variable("emb", [ROWS, DIM], partitioner=tf.fixed_size_partitioner(2),
                              initializer=tf.zeros_initializer())
        ids = tf.placeholder(tf.int64, [None], name="ids")
        rows = tf.nn.embedding_lookup(emb, ids)
        loss = tf.reduce_sum(tf.square(rows - 1.0))
        step = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    assert [v.device for v in emb] == ["/job:ps/task:0", "/job:ps/task:1"]
    rng = np.random.RandomState(0)
    first, second = (rng.choice(ROWS, BATCH, replace=False) for _ in range(2))
    with tf.Session(server.target) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step, {ids: first})  # registers the step's plan on every task
        transport.RPC_BYTES.clear()
        sess.run(step, {ids: second})
        moved = sum(transport.RPC_BYTES.values())
        print("bytes moved by the step:", dict(transport.RPC_BYTES))
        after = sess.run(rows, {ids: np.concatenate([second[:4], first[:4]])})
    row_bytes = BATCH * DIM * 4  # 32 KiB: the rows looked up, then their gradient
    assert 2 * row_bytes <= moved < 0.01 * TABLE_BYTES, dict(transport.RPC_BYTES)
    assert moved < 4 * row_bytes, dict(transport.RPC_BYTES)
    np.testing.assert_allclose(after, np.full((8, DIM), 0.5, np.float32))  # 0 - 0.25 * 2 * (0 - 1)
