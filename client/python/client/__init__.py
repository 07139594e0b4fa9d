"""tfmini.python.client, as tensorflow.python.client."""
from tfmini.python.client import timeline  # noqa: F401
