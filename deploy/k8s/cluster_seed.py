"""The seed tutorial's training on a cluster: the weight on a ps task, the math on a worker.

  python examples/cluster_seed.py grpc://worker0:2222            (cluster from TF_CONFIG)
  python examples/cluster_seed.py grpc://127.0.0.1:2223 '{"ps": ["127.0.0.1:2222"], "worker": [...]}'
Prints the numbers the embedded session prints: 0.8, 1.6, 0.76, 0.0044996012.
"""
import json
import os
import sys

import tfmini as tf

target = sys.argv[1]
spec = json.loads(sys.argv[2]) if len(sys.argv) > 2 else json.loads(os.environ["TF_CONFIG"])["cluster"]
cluster = tf.train.ClusterSpec(spec)

with tf.device(tf.train.replica_device_setter(cluster=cluster)):
    x = tf.constant(1.0, name='input')
    w = tf.Variable(0.8, name='weight')
    y = tf.mul(w, x, name='output')
    y_ = tf.constant(0.0, name='correct_value')
    loss = tf.pow(y - y_, 2, name='loss')
    optim = tf.train.GradientDescentOptimizer(learning_rate=0.025)
    grads_and_vars = optim.compute_gradients(loss)
    train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)

with tf.Session(target) as sess:
    sess.run(tf.global_variables_initializer())
    print("y", sess.run(y))                              # 0.8
    print("grad", sess.run(grads_and_vars[0][0]))        # 1.6
    sess.run(optim.apply_gradients(grads_and_vars))
    print("w", sess.run(w))                              # 0.76
    for i in range(100):
        sess.run(train_step)
    print("y_after", sess.run(y))                        # 0.0044996012
    print("devices", w.device, y.device)
