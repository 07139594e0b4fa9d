"""tf.summary: summary ops, the event-file writer and reader (TF 1.x names)."""
from tfmini.ops.summary_ops import histogram, image, merge, merge_all, scalar
from tfmini.protos.event_pb2 import Event, SessionLog, TaggedRunMetadata
from tfmini.protos.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tfmini.summary.record import summary_iterator, tf_record_iterator
from tfmini.summary.writer import EventFileWriter, FileWriter
from tfmini.ops.tensor_summary_ops import tensor_summary, text


def __getattr__(name):  # TF's name for the writer cache the hooks share (tf.train.SummaryWriterCache in tfmini)
    if name == "FileWriterCache":
        from tfmini.train.basic_session_run_hooks import SummaryWriterCache
        return SummaryWriterCache
    raise AttributeError(f"module 'tfmini.summary' has no attribute {name!r}")
