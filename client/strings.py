"""tf.strings (TF 1.x's namespace of string ops)."""
from tfmini.ops.string_ops import as_string, string_join as join, substr, to_number  # noqa: F401
