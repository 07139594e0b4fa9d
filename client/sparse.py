"""tf.sparse: the SparseTensor names under their TF 2 spellings."""
from tfmini.sparse_tensor import SparseTensor, SparseTensorValue  # noqa: F401
from tfmini.sparse_tensor import sparse_tensor_to_dense as to_dense  # noqa: F401
