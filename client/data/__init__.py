"""tf.data (TF 1.x graph mode): datasets as graph ops, iterators as resources of the worker."""
from tfmini.data.dataset_ops import Dataset, FixedLengthRecordDataset, TextLineDataset, TFRecordDataset
from tfmini.data.iterator_ops import Iterator


def make_one_shot_iterator(dataset):
    """tf.compat.v1.data.make_one_shot_iterator."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset, shared_name=None):
    """tf.compat.v1.data.make_initializable_iterator."""
    return dataset.make_initializable_iterator(shared_name)


def get_output_types(dataset_or_iterator):
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    return dataset_or_iterator.output_classes
