"""ReverseSequence: reverses each batch entry's first `seq_lengths[b]` steps (bidirectional_dynamic_rnn)."""
import numpy as np

from tfmini.core import errors
from tfmini.worker.kernels import kernel


@kernel("ReverseSequence")
def _reverse_sequence(node):
    seq_dim, batch_dim = node.attrs["seq_dim"], node.attrs.get("batch_dim", 0)

    def fn(x, lengths):
        lengths = np.asarray(lengths).reshape(-1)
        if len(lengths) != x.shape[batch_dim]:
            raise errors.InvalidArgumentError(None, None, f"Length of seq_lengths != input.dims({batch_dim}), "
                                                          f"({len(lengths)} vs. {x.shape[batch_dim]})")
        out = np.array(x, copy=True)
        for b, n in enumerate(lengths):
            n = int(n)
            if n < 0 or n > x.shape[seq_dim]:
                raise errors.InvalidArgumentError(None, None, f"seq_lens({b}) > input.dims({seq_dim})" if n > 0
                                                  else f"seq_lens({b}) < 0")
            index = [slice(None)] * x.ndim
            index[batch_dim], index[seq_dim] = b, slice(0, n)
            src = [slice(None)] * x.ndim
            src[batch_dim], src[seq_dim] = b, slice(n - 1, None, -1) if n else slice(0, 0)
            out[tuple(index)] = x[tuple(src)]
        return out
    return fn
