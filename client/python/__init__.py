"""tfmini.python: TF 1.x import paths (`from tensorflow.python.client import timeline`, or
`tf.python.client.timeline.Timeline` by attribute)."""
from tfmini.python import client  # noqa: F401
