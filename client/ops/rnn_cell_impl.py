"""tf.nn.rnn_cell (and tf.contrib.rnn): TF 1.x's RNN cells, with TF's variable names and arithmetic.

A cell is a tf.layers Layer: its variables live in a scope named after its class (`basic_lstm_cell`, made
unique on the first call, under the caller's variable scope: `rnn/basic_lstm_cell/kernel`), and every later
call reuses them. `cell(inputs, state)` returns (output, new_state); `state_size` and `output_size` may be
nested (LSTMStateTuple, MultiRNNCell's tuples). Gate layouts are TF's (i, j, f, o for LSTMs; r, u for GRUs), so
a TF checkpoint's weights give the same numbers.
"""
import collections
import hashlib
import re

from tfmini import init_ops, tf_logging
from tfmini import variable_scope as vs
from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import Tensor, name_scope
from tfmini.layers import Layer
from tfmini.ops import array_ops, math_ops, nn_ops
from tfmini.ops.array_utils import split
from tfmini.ops.clip_ops import clip_by_value
from tfmini.ops.control_flow_context import flatten, pack_as
from tfmini.ops.core import constant, constant_value, convert_to_tensor
from tfmini.ops.random_ops import random_uniform


def _snake_case(name):
    """TF's layer base names: BasicLSTMCell -> basic_lstm_cell."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return "private" + name if name.startswith("_") else name


def _is_sequence(value):
    return isinstance(value, (list, tuple, dict))


def _map(fn, *structures):
    flat = [flatten(s) if _is_sequence(s) else [s] for s in structures]
    results = [fn(*args) for args in zip(*flat)]
    return pack_as(structures[0], results) if _is_sequence(structures[0]) else results[0]


def _batch_shape(batch_size, size):
    """[batch_size] + size as a shape tensor (or a list where both are static), and its static shape."""
    size = list(size.as_list()) if isinstance(size, TensorShape) else ([size] if isinstance(size, int) else list(size))
    static_batch = batch_size if isinstance(batch_size, int) else None
    if isinstance(batch_size, Tensor):
        known = constant_value(batch_size)
        static_batch = int(known) if known is not None else None
    if static_batch is not None:
        return [static_batch] + size, TensorShape([static_batch] + size)
    batch = array_ops.reshape(convert_to_tensor(batch_size, dtype=dtypes.int32), [1])
    return array_ops.concat([batch, constant(size, dtype=dtypes.int32)], 0), TensorShape([None] + size)


def _zero_state_tensors(state_size, batch_size, dtype):
    def zeros(size):
        shape, static = _batch_shape(batch_size, size)
        z = array_ops.zeros(shape, dtype=dtype)
        z.set_shape(static)
        return z
    return _map(zeros, state_size)


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """(c, h): an LSTM's cell state and output."""

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype} vs {h.dtype}")
        return c.dtype


class RNNCell(Layer):
    """An RNN cell: `__call__(inputs, state) -> (output, new_state)`; subclasses give `state_size`,
    `output_size`, `build` and `call`."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        super().__init__(trainable=trainable, name=name, dtype=dtype, _reuse=kwargs.pop("_reuse", None))
        self._base_name = _snake_case(type(self).__name__)

    def __call__(self, inputs, state, scope=None):
        if scope is not None and self._scope is None:  # TF: a given scope is the cell's scope
            self._given_name = scope.name if isinstance(scope, vs.VariableScope) else scope
        return super().__call__(inputs, state)

    def build(self, input_shape):
        self.built = True

    @property
    def state_size(self):
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self):
        raise NotImplementedError("Abstract method")

    def zero_state(self, batch_size, dtype):
        """Zeros shaped [batch_size, s] for each s of `state_size` (nested as it is)."""
        with name_scope(None, type(self).__name__ + "ZeroState"):
            return _zero_state_tensors(self.state_size, batch_size, dtype)

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        if inputs is not None:
            inputs = convert_to_tensor(inputs)
            batch_size = inputs.shape[0] if inputs.shape[0] is not None else array_ops.shape(inputs)[0]
            dtype = inputs.dtype
        return self.zero_state(batch_size, dtype)


LayerRNNCell = RNNCell


def _input_depth(cell, inputs_shape):
    if inputs_shape.ndims is None or inputs_shape[-1] is None:
        raise ValueError(f"Expected inputs.shape[-1] to be known, saw shape: {inputs_shape}")
    return inputs_shape[-1]


def _activation(activation):
    if activation is None:
        return math_ops.tanh
    if isinstance(activation, str):
        return getattr(nn_ops, activation, None) or getattr(math_ops, activation)
    return activation


class BasicRNNCell(RNNCell):
    """output = new_state = activation(W [inputs, state] + b)."""

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units, self._activation = num_units, _activation(activation)

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        depth = _input_depth(self, inputs_shape)
        self._kernel = self.add_weight("kernel", shape=[depth + self._num_units, self._num_units])
        self._bias = self.add_weight("bias", shape=[self._num_units], initializer=init_ops.Zeros())
        self.built = True

    def call(self, inputs, state):
        gate_inputs = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, state], 1), self._kernel), self._bias)
        output = self._activation(gate_inputs)
        return output, output


class GRUCell(RNNCell):
    """Gated recurrent unit (Cho et al. 2014): reset r and update u gates, then a candidate."""

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None, bias_initializer=None,
                 name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        self._num_units, self._activation = num_units, _activation(activation)
        self._kernel_initializer, self._bias_initializer = kernel_initializer, bias_initializer

    state_size = property(lambda self: self._num_units)
    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        depth, n = _input_depth(self, inputs_shape), self._num_units
        self._gate_kernel = self.add_weight("gates/kernel", shape=[depth + n, 2 * n],
                                            initializer=self._kernel_initializer)
        self._gate_bias = self.add_weight("gates/bias", shape=[2 * n], initializer=(
            self._bias_initializer if self._bias_initializer is not None else init_ops.Constant(1.0)))
        self._candidate_kernel = self.add_weight("candidate/kernel", shape=[depth + n, n],
                                                 initializer=self._kernel_initializer)
        self._candidate_bias = self.add_weight("candidate/bias", shape=[n], initializer=(
            self._bias_initializer if self._bias_initializer is not None else init_ops.Zeros()))
        self.built = True

    def call(self, inputs, state):
        gate_inputs = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel),
                                      self._gate_bias)
        r, u = split(math_ops.sigmoid(gate_inputs), num_or_size_splits=2, axis=1)
        candidate = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, r * state], 1),
                                                    self._candidate_kernel), self._candidate_bias)
        c = self._activation(candidate)
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class BasicLSTMCell(RNNCell):
    """LSTM without peepholes or projection (Zaremba et al.); `forget_bias` is added to the forget gate."""

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        if not state_is_tuple:
            tf_logging.warning(f"{self}: Using a concatenated state is slower and will soon be deprecated.  Use "
                               f"state_is_tuple=True.")
        self._num_units, self._forget_bias = num_units, forget_bias
        self._state_is_tuple, self._activation = state_is_tuple, _activation(activation)

    @property
    def state_size(self):
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    output_size = property(lambda self: self._num_units)

    def build(self, inputs_shape):
        depth, n = _input_depth(self, inputs_shape), self._num_units
        self._kernel = self.add_weight("kernel", shape=[depth + n, 4 * n])
        self._bias = self.add_weight("bias", shape=[4 * n], initializer=init_ops.Zeros())
        self.built = True

    def call(self, inputs, state):
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = split(state, num_or_size_splits=2, axis=1)
        gate_inputs = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, h], 1), self._kernel), self._bias)
        i, j, f, o = split(gate_inputs, num_or_size_splits=4, axis=1)
        forget_bias = constant(self._forget_bias, dtype=f.dtype)
        sigmoid = math_ops.sigmoid
        new_c = math_ops.add(math_ops.multiply(c, sigmoid(math_ops.add(f, forget_bias))),
                             math_ops.multiply(sigmoid(i), self._activation(j)))
        new_h = math_ops.multiply(self._activation(new_c), sigmoid(o))
        new_state = LSTMStateTuple(new_c, new_h) if self._state_is_tuple else array_ops.concat([new_c, new_h], 1)
        return new_h, new_state


class LSTMCell(RNNCell):
    """LSTM with optional peepholes (`use_peepholes`), cell clipping and an output projection (`num_proj`)."""

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None, num_proj=None,
                 proj_clip=None, num_unit_shards=None, num_proj_shards=None, forget_bias=1.0, state_is_tuple=True,
                 activation=None, reuse=None, name=None, dtype=None, **kwargs):
        super().__init__(_reuse=reuse, name=name, dtype=dtype, **kwargs)
        if num_unit_shards is not None or num_proj_shards is not None:
            tf_logging.warning(f"{self}: The num_unit_shards and proj_unit_shards parameters are deprecated and "
                               f"will be removed in Jan 2017.  Use a variable scope with a partitioner instead.")
        self._num_units, self._use_peepholes, self._cell_clip = num_units, use_peepholes, cell_clip
        self._initializer, self._num_proj, self._proj_clip = initializer, num_proj, proj_clip
        self._forget_bias, self._state_is_tuple = forget_bias, state_is_tuple
        self._activation = _activation(activation)
        self._output_size = num_proj if num_proj else num_units

    @property
    def state_size(self):
        if self._state_is_tuple:
            return LSTMStateTuple(self._num_units, self._output_size)
        return self._num_units + self._output_size

    output_size = property(lambda self: self._output_size)

    def build(self, inputs_shape):
        if inputs_shape.ndims is None or inputs_shape[-1] is None:
            raise ValueError(f"Expected inputs.shape[-1] to be known, saw shape: {inputs_shape}")
        depth, n, h_depth = inputs_shape[-1], self._num_units, self._output_size
        self._kernel = self.add_weight("kernel", shape=[depth + h_depth, 4 * n], initializer=self._initializer)
        self._bias = self.add_weight("bias", shape=[4 * n], initializer=init_ops.Zeros())
        if self._use_peepholes:
            self._w_f_diag = self.add_weight("w_f_diag", shape=[n], initializer=self._initializer)
            self._w_i_diag = self.add_weight("w_i_diag", shape=[n], initializer=self._initializer)
            self._w_o_diag = self.add_weight("w_o_diag", shape=[n], initializer=self._initializer)
        if self._num_proj is not None:
            self._proj_kernel = self.add_weight("projection/kernel", shape=[n, self._num_proj],
                                                initializer=self._initializer)
        self.built = True

    def call(self, inputs, state):
        n, sigmoid = self._num_units, math_ops.sigmoid
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev = array_ops.slice(state, [0, 0], [-1, n])
            m_prev = array_ops.slice(state, [0, n], [-1, self._output_size])
        if inputs.shape.ndims is None or inputs.shape[-1] is None:
            raise ValueError("Could not infer input size from inputs.get_shape()[-1]")
        lstm_matrix = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, m_prev], 1), self._kernel),
                                      self._bias)
        i, j, f, o = split(lstm_matrix, num_or_size_splits=4, axis=1)
        if self._use_peepholes:
            c = (sigmoid(f + self._forget_bias + self._w_f_diag * c_prev) * c_prev +
                 sigmoid(i + self._w_i_diag * c_prev) * self._activation(j))
        else:
            c = sigmoid(f + self._forget_bias) * c_prev + sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            c = clip_by_value(c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            m = sigmoid(o + self._w_o_diag * c) * self._activation(c)
        else:
            m = sigmoid(o) * self._activation(c)
        if self._num_proj is not None:
            m = math_ops.matmul(m, self._proj_kernel)
            if self._proj_clip is not None:
                m = clip_by_value(m, -self._proj_clip, self._proj_clip)
        new_state = LSTMStateTuple(c, m) if self._state_is_tuple else array_ops.concat([c, m], 1)
        return m, new_state


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output is the next one's input; cell i's variables are under `cell_<i>`."""

    def __init__(self, cells, state_is_tuple=True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not _is_sequence(cells):
            raise TypeError(f"cells must be a list or tuple, but saw: {cells}.")
        if len({id(cell) for cell in cells}) < len(cells):
            tf_logging.warning("At least two cells provided to MultiRNNCell are the same object and will share "
                               "weights.")
        self._cells, self._state_is_tuple = list(cells), state_is_tuple
        if not state_is_tuple and any(_is_sequence(c.state_size) for c in self._cells):
            raise ValueError(f"Some cells return tuples of states, but the flag state_is_tuple is not set.  "
                             f"State sizes are: {[c.state_size for c in self._cells]}")

    @property
    def state_size(self):
        if self._state_is_tuple:
            return tuple(cell.state_size for cell in self._cells)
        return sum(cell.state_size for cell in self._cells)

    output_size = property(lambda self: self._cells[-1].output_size)

    def zero_state(self, batch_size, dtype):
        with name_scope(None, type(self).__name__ + "ZeroState"):
            if self._state_is_tuple:
                return tuple(cell.zero_state(batch_size, dtype) for cell in self._cells)
            return super().zero_state(batch_size, dtype)

    @property
    def variables(self):
        return [w for cell in self._cells for w in cell.variables]

    weights = variables

    @property
    def trainable_variables(self):
        return [w for cell in self._cells for w in cell.trainable_variables]

    trainable_weights = trainable_variables

    def call(self, inputs, state):
        position, current, new_states = 0, inputs, []
        for i, cell in enumerate(self._cells):
            with vs.variable_scope(f"cell_{i}"):
                if self._state_is_tuple:
                    if not _is_sequence(state):
                        raise ValueError(f"Expected state to be a tuple of length {len(self.state_size)}, but "
                                         f"received: {state}")
                    cell_state = state[i]
                else:
                    cell_state = array_ops.slice(state, [0, position], [-1, cell.state_size])
                    position += cell.state_size
                current, new_state = cell(current, cell_state)
                new_states.append(new_state)
        return current, (tuple(new_states) if self._state_is_tuple else array_ops.concat(new_states, 1))


def _default_state_filter(substate):
    """TF's default: dropout on every state tensor but an LSTM's cell state c."""
    return LSTMStateTuple(c=False, h=True) if isinstance(substate, LSTMStateTuple) else True


class DropoutWrapper(RNNCell):
    """Dropout on a cell's inputs, outputs and (non-LSTM-c) state; `variational_recurrent` draws one mask per
    sequence (Gal & Ghahramani) instead of one per step. Adds no variables and no scope of its own."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        super().__init__()
        self._cell, self._seed, self._variational = cell, seed, variational_recurrent
        self._filter = dropout_state_filter_visitor or _default_state_filter
        self._keep = {}
        for attr, prob in (("input_keep_prob", input_keep_prob), ("state_keep_prob", state_keep_prob),
                           ("output_keep_prob", output_keep_prob)):
            value = constant_value(prob) if isinstance(prob, Tensor) else prob
            if value is not None:
                value = float(value)
                if value < 0 or value > 1:
                    raise ValueError(f"Parameter {attr} must be between 0 and 1: {value:g}")
            self._keep[attr] = value if value is not None and not isinstance(prob, Tensor) else prob
        self._noise = {}
        if variational_recurrent:
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")
            # One [1, size] draw per tensor for the whole sequence, made here (outside any loop), as TF.
            sizes = {"state": cell.state_size, "output": cell.output_size}
            if self._should_dropout(self._keep["input_keep_prob"]):
                if input_size is None:
                    raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 or is unknown, "
                                     "input_size must be provided")
                sizes["input"] = input_size
            for kind, size in sizes.items():
                flat = flatten(size) if _is_sequence(size) else [size]
                self._noise[kind] = [random_uniform([1] + (s.as_list() if isinstance(s, TensorShape) else [s]),
                                                    seed=self._gen_seed(kind, i), dtype=dtype)
                                     for i, s in enumerate(flat)]

    wrapped_cell = property(lambda self: self._cell)
    state_size = property(lambda self: self._cell.state_size)
    output_size = property(lambda self: self._cell.output_size)
    variables = property(lambda self: self._cell.variables)
    trainable_variables = property(lambda self: self._cell.trainable_variables)

    def zero_state(self, batch_size, dtype):
        with name_scope(None, type(self).__name__ + "ZeroState"):
            return self._cell.zero_state(batch_size, dtype)

    def _gen_seed(self, salt, index):
        if self._seed is None:
            return None
        return int(hashlib.md5(f"{self._seed}{salt}_{index}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF

    @staticmethod
    def _should_dropout(prob):
        return not isinstance(prob, float) or prob < 1

    def _state_mask(self, state):
        """Which state tensors get dropout: the filter sees each LSTMStateTuple whole (TF drops its h, not its c)."""
        if isinstance(state, LSTMStateTuple) or not _is_sequence(state):
            mask = self._filter(state)
            return LSTMStateTuple(mask, mask) if isinstance(state, LSTMStateTuple) and not _is_sequence(mask) \
                else mask
        items = [self._state_mask(s) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else type(state)(items)

    def _dropout(self, values, kind, keep_prob, filtered=None):
        flat = flatten(values) if _is_sequence(values) else [values]
        keep_flat = flatten(filtered) if filtered is not None and _is_sequence(filtered) else \
            [True if filtered is None else filtered] * len(flat)
        out = []
        for i, (v, keep) in enumerate(zip(flat, keep_flat)):
            if not keep:
                out.append(v)
            elif self._variational:
                binary = math_ops.floor(keep_prob + self._noise[kind][i])
                r = math_ops.div(v, keep_prob) * binary
                r.set_shape(v.shape)
                out.append(r)
            else:
                out.append(nn_ops.dropout(v, keep_prob=keep_prob, seed=self._gen_seed(kind, i)))
        return pack_as(values, out) if _is_sequence(values) else out[0]

    def __call__(self, inputs, state, scope=None):
        keep = self._keep
        if self._should_dropout(keep["input_keep_prob"]):
            inputs = self._dropout(inputs, "input", keep["input_keep_prob"])
        output, new_state = self._cell(inputs, state, scope=scope)
        if self._should_dropout(keep["state_keep_prob"]):
            filtered = self._state_mask(new_state)
            new_state = self._dropout(new_state, "state", keep["state_keep_prob"], filtered)
        if self._should_dropout(keep["output_keep_prob"]):
            output = self._dropout(output, "output", keep["output_keep_prob"])
        return output, new_state


class ResidualWrapper(RNNCell):
    """output = cell(inputs) + inputs (or `residual_fn(inputs, output)`)."""

    def __init__(self, cell, residual_fn=None):
        super().__init__()
        self._cell, self._residual_fn = cell, residual_fn

    state_size = property(lambda self: self._cell.state_size)
    output_size = property(lambda self: self._cell.output_size)

    def zero_state(self, batch_size, dtype):
        with name_scope(None, type(self).__name__ + "ZeroState"):
            return self._cell.zero_state(batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        output, new_state = self._cell(inputs, state, scope=scope)
        fn = self._residual_fn or (lambda i, o: _map(lambda a, b: a + b, i, o))
        return fn(inputs, output), new_state
