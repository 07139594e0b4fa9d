"""The large-tensor path in one place: what "large" means and how a large tensor travels.

A tensor is large when it holds more than LARGE_TENSOR_BYTES bytes of fixed-size elements (strings are never
large: they have no flat buffer to stream). Every role uses this one threshold:

- between workers, a large RecvTensor answer is only a marker; the puller then streams the tensor with
  RecvTensorStream in CHUNK_BYTES raw chunks into one preallocated array (server/grpc_transport.py);
- a pushed large tensor (a _Send the master marked to push, worker/worker.py) is parked at the sender and
  only the marker PARKED is pushed; the receiver then streams it as above;
- a tfmini client asks its master (`RunStepRequest.tfmini_pull_fetch_bytes`, set to the threshold) to leave
  large fetches on the task that made them; the master passes it on to the workers
  (`RunGraphRequest.tfmini_park_recv_bytes`), a worker parks each large fetch in its step's rendezvous
  (worker/worker.py), and the client streams it from there (MasterStub.pull / InProcessMaster.pull).

The two request fields are the wire's names for this threshold (a TF peer never sets them, so it gets every
tensor inline); in code there is only LARGE_TENSOR_BYTES and `is_large`.
"""
LARGE_TENSOR_BYTES = 4 << 20  # above this a tensor is streamed in chunks / parked for a pull
CHUNK_BYTES = 1 << 20  # raw bytes per RecvTensorStream message after its header


class _Parked:
    def __repr__(self):
        return "PARKED"


# A pushed large tensor (worker/worker.py Step.push) travels as this marker: it stays parked at the sender, and
# the receiver streams it from there.
PARKED = _Parked()


def is_large(value, threshold=LARGE_TENSOR_BYTES):
    """True when `value` (a numpy-like array) goes by the large-tensor path at `threshold` bytes (0: never)."""
    return bool(threshold) and getattr(value, "dtype", object) != object and getattr(value, "nbytes", 0) > threshold
