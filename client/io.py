"""tf.io"""
from tfmini.importer import read_graph, write_graph  # noqa: F401
