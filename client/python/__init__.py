"""tfmini.python: TF 1.x import paths (`from tensorflow.python.client import timeline`)."""
