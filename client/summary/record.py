"""Event files are TFRecord files (core/tfrecord.py has the framing)."""
from tfmini.core.tfrecord import crc32c, encode_record, masked_crc32c, tf_record_iterator  # noqa: F401


def summary_iterator(path):
    """Yields the `Event` protos of an event file, in order (tf.train.summary_iterator)."""
    from tfmini.protos import event_pb2
    for data in tf_record_iterator(path):
        yield event_pb2.Event.FromString(data)
