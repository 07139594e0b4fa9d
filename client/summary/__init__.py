"""tf.summary: summary ops, the event-file writer and reader (TF 1.x names)."""
from tfmini.ops.summary_ops import histogram, image, merge, merge_all, scalar
from tfmini.protos.event_pb2 import Event, SessionLog, TaggedRunMetadata
from tfmini.protos.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tfmini.summary.record import summary_iterator, tf_record_iterator
from tfmini.summary.writer import EventFileWriter, FileWriter
from tfmini.ops.tensor_summary_ops import tensor_summary, text
