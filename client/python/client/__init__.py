"""tfmini.python.client, as tensorflow.python.client."""
