"""tf.io"""
from tfmini.importer import read_graph, write_graph  # noqa: F401
from tfmini.gfile import io_gfile as gfile  # noqa: F401,E402 - tf.io.gfile
