"""tf.nn.static_rnn, dynamic_rnn, bidirectional_dynamic_rnn and static_bidirectional_rnn, as TF 1.x builds them.

static_rnn unrolls the cell once per input in Python. dynamic_rnn runs it in a tf.while_loop over time, the
inputs unstacked into a TensorArray and the outputs written into another (`rnn/while/...`). With
`sequence_length`, a batch entry past its length outputs zeros and keeps its last state (a Select per tensor;
static_rnn also skips whole steps with tf.cond, as TF's _rnn_step). Variables are the cell's under the `rnn`
scope: `rnn/basic_lstm_cell/kernel`.
"""
from tfmini import variable_scope as vs
from tfmini.core import dtypes
from tfmini.core.tensor_shape import TensorShape
from tfmini.graph import get_default_graph, name_scope
from tfmini.ops import array_ops, math_ops
from tfmini.ops.array_utils import reverse
from tfmini.ops.control_flow_context import flatten, pack_as, skeleton
from tfmini.ops.cond import cond
from tfmini.ops.core import constant, convert_to_tensor
from tfmini.ops.logging_ops import Assert
from tfmini.ops.rnn_cell_impl import _batch_shape
from tfmini.ops.sequence_ops import reverse_sequence
from tfmini.ops.tensor_array_ops import TensorArray
from tfmini.ops.while_loop import while_loop


def _is_sequence(value):
    return isinstance(value, (list, tuple, dict))


def _flat(value):
    return flatten(value) if _is_sequence(value) else [value]


def _pack(structure, flat):
    return pack_as(structure, list(flat)) if _is_sequence(structure) else flat[0]


def _assert_same_structure(a, b):
    if _is_sequence(a) != _is_sequence(b) or (_is_sequence(a) and skeleton(a) != skeleton(b)):
        raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: {a}\n\n"
                         f"Second structure: {b}")


def assert_like_rnncell(cell_name, cell):
    missing = [what for what, ok in (("'output_size' property is missing", hasattr(cell, "output_size")),
                                     ("'state_size' property is missing", hasattr(cell, "state_size")),
                                     ("either 'zero_state' or 'get_initial_state' method is required",
                                      hasattr(cell, "zero_state") or hasattr(cell, "get_initial_state")),
                                     ("is not callable", callable(cell))) if not ok]
    if missing:
        raise TypeError(f"The argument {cell_name!r} ({cell}) is not an RNNCell: {', '.join(missing)}.")


def _transpose_batch_time(x):
    """[batch, time, ...] <-> [time, batch, ...]."""
    shape = x.shape
    if shape.ndims is not None and shape.ndims < 2:
        raise ValueError(f"Expected input tensor {x} to have rank at least 2, but saw shape: {shape}")
    perm = array_ops.concat([constant([1, 0]), array_ops.range(2, array_ops.rank(x))], 0)
    out = array_ops.transpose(x, perm)
    if shape.ndims is not None:
        dims = shape.as_list()
        out.set_shape([dims[1], dims[0]] + dims[2:])
    return out


def _best_effort_batch_size(flat_input):
    """Dimension 1 of the (time-major) inputs: static where known, else a tensor."""
    for x in flat_input:
        if x.shape.ndims is None:
            continue
        if x.shape.ndims < 2:
            raise ValueError(f"Input tensor should have rank >= 2, received shape: {x.shape}")
        if x.shape[1] is not None:
            return x.shape[1]
    return array_ops.shape(flat_input[0])[1]


def _size_list(size):
    return size.as_list() if isinstance(size, TensorShape) else ([size] if isinstance(size, int) else list(size))


def _zeros(batch_size, size, dtype):
    shape, static = _batch_shape(batch_size, size)
    z = array_ops.zeros(shape, dtype=dtype)
    z.set_shape(static)
    return z


def _initial_state(cell, initial_state, batch_size, dtype, message):
    if initial_state is not None:
        return initial_state
    if not dtype:
        raise ValueError(message)
    if getattr(cell, "get_initial_state", None) is not None:
        return cell.get_initial_state(inputs=None, batch_size=batch_size, dtype=dtype)
    return cell.zero_state(batch_size, dtype)


def _state_dtype(explicit, state):
    if explicit:
        return dtypes.as_dtype(explicit)
    flat = _flat(state)
    if not flat:
        raise ValueError("Unable to infer dtype from empty state.")
    kinds = {s.dtype.base_dtype for s in flat}
    if len(kinds) > 1:
        raise ValueError(f"State has tensors of different inferred_dtypes. Unable to infer a single representative "
                         f"dtype. Dtypes received: {sorted(k.name for k in kinds)}")
    return flat[0].dtype.base_dtype


def _rnn_step(time, sequence_length, min_sequence_length, max_sequence_length, zero_output, state, call_cell,
              skip_conditionals=False):
    """One step with sequence lengths: rows at or past their length get zeros out and keep their state."""
    flat_state, flat_zero_output = _flat(state), _flat(zero_output)
    copy_cond = time >= sequence_length

    def copy_one_through(old, new):
        if isinstance(old, TensorArray) or old.shape.ndims == 0:
            return new
        with get_default_graph().colocate_with(new):
            return math_ops.where(copy_cond, old, new)

    def copy_some_through(new_output, new_state):
        return ([copy_one_through(z, o) for z, o in zip(flat_zero_output, new_output)] +
                [copy_one_through(s, n) for s, n in zip(flat_state, new_state)])

    def called():
        new_output, new_state = call_cell()
        _assert_same_structure(zero_output, new_output)
        _assert_same_structure(state, new_state)
        return _flat(new_output), _flat(new_state)

    if skip_conditionals:
        result = copy_some_through(*called())
    else:
        def maybe_copy_some_through():
            new_output, new_state = called()
            return cond(time < min_sequence_length, lambda: new_output + new_state,
                        lambda: copy_some_through(new_output, new_state))
        result = cond(time >= max_sequence_length, lambda: flat_zero_output + flat_state, maybe_copy_some_through)
    result = list(result)
    n = len(flat_zero_output)
    outputs, states = result[:n], result[n:]
    for out, zero in zip(outputs, flat_zero_output):
        out.set_shape(zero.shape)
    for new, old in zip(states, flat_state):
        if not isinstance(new, TensorArray):
            new.set_shape(old.shape)
    return _pack(zero_output, outputs), _pack(state, states)


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None, scope=None):
    """The cell unrolled over the list `inputs` ([batch, depth] each): (outputs list, final state)."""
    assert_like_rnncell("cell", cell)
    if not _is_sequence(inputs):
        raise TypeError("inputs must be a sequence")
    if not inputs:
        raise ValueError("inputs must not be empty")
    outputs = []
    with vs.variable_scope(scope or "rnn") as varscope:
        first = inputs
        while _is_sequence(first):
            first = first[0]
        first = convert_to_tensor(first)
        if first.shape.ndims != 1:
            fixed_batch = first.shape.with_rank_at_least(2)[0]
            for x in _flat(inputs):
                shape = convert_to_tensor(x).shape.with_rank_at_least(2)
                if fixed_batch is not None and shape[0] is not None and shape[0] != fixed_batch:
                    raise ValueError(f"Dimensions {fixed_batch} and {shape[0]} are not compatible")
                fixed_batch = fixed_batch if fixed_batch is not None else shape[0]
                for i, size in enumerate(shape.as_list()[1:]):
                    if size is None:
                        raise ValueError(f"Input size (dimension {i} of inputs) must be accessible via shape "
                                         f"inference, but saw value None.")
        else:
            fixed_batch = first.shape[0]
        batch_size = fixed_batch if fixed_batch else array_ops.shape(first)[0]
        state = _initial_state(cell, initial_state, batch_size, dtype,
                               "If no initial_state is provided, dtype must be specified")
        if sequence_length is not None:
            sequence_length = convert_to_tensor(sequence_length, name="sequence_length")
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError("sequence_length must be a vector of length batch_size")
            output_size = cell.output_size
            zero_output = _pack(output_size, [_zeros(batch_size, s, dtype or _state_dtype(None, state))
                                              for s in _flat(output_size)])
            sequence_length = math_ops.cast(sequence_length, dtypes.int32)
            min_sequence_length = math_ops.reduce_min(sequence_length)
            max_sequence_length = math_ops.reduce_max(sequence_length)
        for time, input_ in enumerate(inputs):
            if time > 0:
                varscope.reuse_variables()
            call_cell = lambda input_=input_, state=state: cell(input_, state)  # noqa: E731
            if sequence_length is not None:
                output, state = _rnn_step(time, sequence_length, min_sequence_length, max_sequence_length,
                                          zero_output, state, call_cell)
            else:
                output, state = call_cell()
            outputs.append(output)
        return outputs, state


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """The cell run over time in a while loop: (outputs [batch, time, output_size] or time-major, final state)."""
    assert_like_rnncell("cell", cell)
    with vs.variable_scope(scope or "rnn"):
        flat_input = [convert_to_tensor(x) for x in _flat(inputs)]
        if not time_major:
            flat_input = [_transpose_batch_time(x) for x in flat_input]
        parallel_iterations = parallel_iterations or 32
        if sequence_length is not None:
            sequence_length = math_ops.cast(sequence_length, dtypes.int32)
            if sequence_length.shape.ndims not in (None, 1):
                raise ValueError(f"sequence_length must be a vector of length batch_size, but saw shape: "
                                 f"{sequence_length.shape}")
            sequence_length = array_ops.identity(sequence_length, name="sequence_length")
        batch_size = _best_effort_batch_size(flat_input)
        state = _initial_state(cell, initial_state, batch_size, dtype,
                               "If there is no initial_state, you must give a dtype.")
        if sequence_length is not None:
            seq_shape = array_ops.shape(sequence_length)
            packed = array_ops.stack([batch_size])
            check = Assert(math_ops.reduce_all(math_ops.equal(seq_shape, packed)),
                           [f"Expected shape for Tensor {sequence_length.name} is ", packed, " but saw shape: ",
                            seq_shape])
            with get_default_graph().control_dependencies([check]):
                sequence_length = array_ops.identity(sequence_length, name="CheckSeqLen")
        inputs = _pack(inputs, flat_input)
        outputs, final_state = _dynamic_rnn_loop(cell, inputs, state, parallel_iterations, swap_memory,
                                                 sequence_length, dtype)
        if not time_major:
            outputs = _pack(outputs, [_transpose_batch_time(o) for o in _flat(outputs)])
        return outputs, final_state


def _dynamic_rnn_loop(cell, inputs, initial_state, parallel_iterations, swap_memory, sequence_length, dtype):
    state = initial_state
    flat_input = _flat(inputs)
    flat_output_size = _flat(cell.output_size)
    time_steps = array_ops.shape(flat_input[0])[0]
    batch_size = _best_effort_batch_size(flat_input)
    shapes = [x.shape.with_rank_at_least(3) for x in flat_input]
    const_time_steps, const_batch_size = shapes[0].as_list()[:2]
    for shape in shapes:
        if not TensorShape(shape.as_list()[2:]).is_fully_defined():
            raise ValueError("Input size (depth of inputs) must be accessible via shape inference, but saw value "
                             "None.")
        if shape[0] != const_time_steps:
            raise ValueError("Time steps is not the same for all the elements in the input in a batch.")
        if shape[1] != const_batch_size:
            raise ValueError("Batch_size is not the same for all the elements in the input.")
    state_dtype = _state_dtype(dtype, state)
    zero_output = _pack(cell.output_size, [_zeros(batch_size, s, state_dtype) for s in flat_output_size])
    if sequence_length is not None:
        min_sequence_length = math_ops.reduce_min(sequence_length)
        max_sequence_length = math_ops.reduce_max(sequence_length)
    else:
        max_sequence_length = time_steps
    time = constant(0, dtype=dtypes.int32, name="time")
    with name_scope("dynamic_rnn") as base_name:
        pass

    def make_ta(name, element_shape, dtype):
        return TensorArray(dtype=dtype, size=time_steps, element_shape=element_shape,
                           tensor_array_name=base_name + name)

    output_ta = tuple(make_ta(f"output_{i}", TensorShape([const_batch_size] + _size_list(size)), state_dtype)
                      for i, size in enumerate(flat_output_size))
    input_ta = tuple(make_ta(f"input_{i}", TensorShape(x.shape.as_list()[1:]), x.dtype)
                     for i, x in enumerate(flat_input))
    input_ta = tuple(ta.unstack(x) for ta, x in zip(input_ta, flat_input))

    def time_step(time, output_ta_t, state):
        input_t = tuple(ta.read(time) for ta in input_ta)
        for x, shape in zip(input_t, shapes):
            x.set_shape(shape.as_list()[1:])
        input_t = _pack(inputs, input_t)
        call_cell = lambda: cell(input_t, state)  # noqa: E731
        if sequence_length is not None:
            output, new_state = _rnn_step(time, sequence_length, min_sequence_length, max_sequence_length,
                                          zero_output, state, call_cell, skip_conditionals=True)
        else:
            output, new_state = call_cell()
        output_ta_t = tuple(ta.write(time, out) for ta, out in zip(output_ta_t, _flat(output)))
        return time + 1, output_ta_t, new_state

    loop_bound = math_ops.minimum(time_steps, math_ops.maximum(1, max_sequence_length))
    _, output_final_ta, final_state = while_loop(
        lambda time, *_: time < loop_bound, time_step, (time, output_ta, state),
        parallel_iterations=parallel_iterations, maximum_iterations=time_steps, swap_memory=swap_memory)
    final_outputs = [ta.stack() for ta in output_final_ta]
    for out, size in zip(final_outputs, flat_output_size):
        out.set_shape([const_time_steps, const_batch_size] + _size_list(size))
    return _pack(cell.output_size, final_outputs), final_state


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None, initial_state_fw=None,
                              initial_state_bw=None, dtype=None, parallel_iterations=None, swap_memory=False,
                              time_major=False, scope=None):
    """((output_fw, output_bw), (state_fw, state_bw)): cell_bw runs over each sequence reversed (up to its length)."""
    assert_like_rnncell("cell_fw", cell_fw)
    assert_like_rnncell("cell_bw", cell_bw)
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)

    def reverse_all(value):
        def one(x):
            if sequence_length is not None:
                return reverse_sequence(x, sequence_length, seq_axis=time_axis, batch_axis=batch_axis)
            return reverse(x, axis=[time_axis])
        return _pack(value, [one(x) for x in _flat(value)])

    with vs.variable_scope(scope or "bidirectional_rnn"):
        with vs.variable_scope("fw") as fw_scope:
            output_fw, state_fw = dynamic_rnn(cell_fw, inputs, sequence_length=sequence_length,
                                              initial_state=initial_state_fw, dtype=dtype,
                                              parallel_iterations=parallel_iterations, swap_memory=swap_memory,
                                              time_major=time_major, scope=fw_scope)
        with vs.variable_scope("bw") as bw_scope:
            reversed_output, state_bw = dynamic_rnn(cell_bw, reverse_all(inputs), sequence_length=sequence_length,
                                                    initial_state=initial_state_bw, dtype=dtype,
                                                    parallel_iterations=parallel_iterations,
                                                    swap_memory=swap_memory, time_major=time_major, scope=bw_scope)
    return (output_fw, reverse_all(reversed_output)), (state_fw, state_bw)


def _reverse_seq(input_seq, lengths):
    """The list of (nested) step inputs reversed, per batch entry up to its length when `lengths` is given."""
    if lengths is None:
        return list(reversed(input_seq))
    flat_steps = [_flat(x) for x in input_seq]
    results = [[] for _ in input_seq]
    for sequence in zip(*flat_steps):
        joined = array_ops.stack(list(sequence))
        for r, result in zip(array_ops.unstack(reverse_sequence(joined, lengths, seq_axis=0, batch_axis=1)),
                             results):
            r.set_shape(sequence[0].shape)
            result.append(r)
    return [_pack(x, r) for x, r in zip(input_seq, results)]


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None, initial_state_bw=None, dtype=None,
                             sequence_length=None, scope=None):
    """(outputs with fw and bw concatenated on axis 1, state_fw, state_bw), unrolled as static_rnn."""
    if not _is_sequence(inputs):
        raise TypeError("inputs must be a sequence")
    if not inputs:
        raise ValueError("inputs must not be empty")
    with vs.variable_scope(scope or "bidirectional_rnn"):
        with vs.variable_scope("fw") as fw_scope:
            output_fw, state_fw = static_rnn(cell_fw, inputs, initial_state_fw, dtype, sequence_length, scope=fw_scope)
        with vs.variable_scope("bw") as bw_scope:
            tmp, state_bw = static_rnn(cell_bw, _reverse_seq(inputs, sequence_length), initial_state_bw, dtype,
                                       sequence_length, scope=bw_scope)
    output_bw = _reverse_seq(tmp, sequence_length)
    outputs = [_pack(fw, [array_ops.concat([a, b], 1) for a, b in zip(_flat(fw), _flat(bw))])
               for fw, bw in zip(output_fw, output_bw)]
    return outputs, state_fw, state_bw

