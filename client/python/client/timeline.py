"""tensorflow.python.client.timeline."""
from tfmini.timeline import Timeline  # noqa: F401
