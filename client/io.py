"""tf.io"""
from tfmini.importer import read_graph, write_graph  # noqa: F401
from tfmini.gfile import io_gfile as gfile  # noqa: F401,E402 - tf.io.gfile
from tfmini.python_io import TFRecordCompressionType, TFRecordOptions, TFRecordWriter  # noqa: F401,E402
from tfmini.python_io import tf_record_iterator  # noqa: F401,E402
from tfmini.ops.parsing_ops import (FixedLenFeature, FixedLenSequenceFeature, VarLenFeature,  # noqa: F401,E402
                                    parse_example, parse_single_example, parse_single_sequence_example,
                                    parse_tensor, serialize_tensor)
from tfmini.ops.io_ops import matching_files, read_file  # noqa: F401,E402
from tfmini.ops.string_ops import decode_csv, decode_raw  # noqa: F401,E402
