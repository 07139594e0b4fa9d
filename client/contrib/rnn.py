"""tf.contrib.rnn: TF 1.x's core cells and RNN functions under their contrib names."""
from tfmini.ops.rnn_cell_impl import (BasicLSTMCell, BasicRNNCell, DropoutWrapper, GRUCell,  # noqa: F401
                                      LayerRNNCell, LSTMCell, LSTMStateTuple, MultiRNNCell, ResidualWrapper,
                                      RNNCell)
from tfmini.rnn import static_bidirectional_rnn, static_rnn  # noqa: F401
