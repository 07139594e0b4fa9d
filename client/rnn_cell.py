"""tf.nn.rnn_cell: the RNN cells (client/ops/rnn_cell_impl.py)."""
from tfmini.ops.rnn_cell_impl import (BasicLSTMCell, BasicRNNCell, DropoutWrapper, GRUCell,  # noqa: F401
                                      LayerRNNCell, LSTMCell, LSTMStateTuple, MultiRNNCell, ResidualWrapper,
                                      RNNCell)
