"""The seed tutorial (../shared/seed), line for line, with `import tfmini as tf`.

Run: python examples/seed_tutorial.py   (embedded session: no servers to start)
Pass a target to run it on a cluster: python examples/seed_tutorial.py grpc://127.0.0.1:2223
"""
import sys

import tfmini as tf

target = sys.argv[1] if len(sys.argv) > 1 else ""

graph = tf.get_default_graph()
print(graph.get_operations())                       # []
input_value = tf.constant(1.0)
operations = graph.get_operations()
print(operations)
print(operations[0].node_def)
print(input_value)                                  # Tensor("Const:0", shape=(), dtype=float32)
sess = tf.Session(target)
print(sess.run(input_value))                        # 1.0
weight = tf.Variable(0.8)
for op in graph.get_operations(): print(op.name)    # Const, Variable/initial_value, Variable, ...
output_value = weight * input_value
op = graph.get_operations()[-1]
print(op.name)                                      # mul
for op_input in op.inputs: print(op_input)
init = tf.initialize_all_variables()
sess.run(init)
print(sess.run(output_value))                       # 0.8 (float32: 0.800000011920929)

x = tf.constant(1.0, name='input')
w = tf.Variable(0.8, name='weight')
y = tf.mul(w, x, name='output')
summary_writer = tf.train.SummaryWriter('log_simple_graph', sess.graph)
y_ = tf.constant(0.0)
loss = (y - y_)**2
optim = tf.train.GradientDescentOptimizer(learning_rate=0.025)
grads_and_vars = optim.compute_gradients(loss)
sess.run(tf.initialize_all_variables())
print(sess.run(grads_and_vars[1][0]))               # 1.6
sess.run(optim.apply_gradients(grads_and_vars))
print(sess.run(w))                                  # 0.76 (float32: 0.75999999)
train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
for i in range(100):
    sess.run(train_step)
print(sess.run(y))                                  # 0.0044996012

sess.run(tf.initialize_all_variables())
for i in range(100):
    print('before step {}, y is {}'.format(i, sess.run(y)))
    sess.run(train_step)

summary_y = tf.scalar_summary('output', y)
summary_writer = tf.train.SummaryWriter('log_simple_stats')
sess.run(tf.initialize_all_variables())
for i in range(100):
    summary_str = sess.run(summary_y)
    summary_writer.add_summary(summary_str, i)
    sess.run(train_step)

# The tutorial's final version, in a fresh graph.
tf.reset_default_graph()
x = tf.constant(1.0, name='input')
w = tf.Variable(0.8, name='weight')
y = tf.mul(w, x, name='output')
y_ = tf.constant(0.0, name='correct_value')
loss = tf.pow(y - y_, 2, name='loss')
train_step = tf.train.GradientDescentOptimizer(0.025).minimize(loss)
for value in [x, w, y, y_, loss]:
    tf.scalar_summary(value.op.name, value)
summaries = tf.merge_all_summaries()
sess = tf.Session(target)
summary_writer = tf.train.SummaryWriter('log_simple_stats', sess.graph)
sess.run(tf.initialize_all_variables())
for i in range(100):
    summary_writer.add_summary(sess.run(summaries), i)
    sess.run(train_step)
summary_writer.close()
print('final y is {}'.format(sess.run(y)))          # 0.8 * 0.95**100 = 0.0047364
