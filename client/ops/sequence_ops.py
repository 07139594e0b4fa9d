"""tf.reverse_sequence (ReverseSequence), which bidirectional_dynamic_rnn uses to run its backward cell."""
from tfmini.core import dtypes, op_registry
from tfmini.gradients import RegisterGradient
from tfmini.ops.core import convert_to_tensor, make_output
from tfmini.ops.shape_fns import unchanged

op_registry.register("ReverseSequence", unchanged)


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None, seq_dim=None,  # noqa: A002
                     batch_dim=None):
    """Reverses input[b, :seq_lengths[b]] along `seq_axis` for each b along `batch_axis` (TF's argument order)."""
    seq_axis = seq_axis if seq_axis is not None else seq_dim
    batch_axis = batch_axis if batch_axis is not None else (batch_dim if batch_dim is not None else 0)
    if seq_axis is None:
        raise TypeError("reverse_sequence() missing required argument: 'seq_axis'")
    x = convert_to_tensor(input, name="input")
    lengths = convert_to_tensor(seq_lengths, name="seq_lengths", preferred_dtype=dtypes.int64)
    return make_output("ReverseSequence", [x, lengths], {"seq_dim": int(seq_axis), "batch_dim": int(batch_axis),
                                                         "T": x.dtype.base_dtype,
                                                         "Tlen": lengths.dtype.base_dtype},
                       name=name or "ReverseSequence", arg_names=["input", "seq_lengths"], same_dtype=False)


@RegisterGradient("ReverseSequence")
def _reverse_sequence_grad(op, grad):
    return [reverse_sequence(grad, op.inputs[1], seq_axis=op.get_attr("seq_dim"),
                             batch_axis=op.get_attr("batch_dim")), None]
