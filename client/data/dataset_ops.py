"""tf.data.Dataset (TF 1.x graph mode): each dataset is one op of the default graph whose output is a
DT_VARIANT handle; the element structure (types and static shapes) is known here, when the graph is built."""
import numpy as np

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.data import functions
from tfmini.data import structure as nest
from tfmini.graph import get_seed
from tfmini.ops import array_ops  # noqa: F401 - Const's and Placeholder's shape functions
from tfmini.ops.core import constant_value, convert_to_tensor, make_op

_VARIANT_OPS = ("BatchDataset", "BatchDatasetV2", "CacheDataset", "ConcatenateDataset", "FixedLengthRecordDatasetV2",
                "FilterDataset", "FlatMapDataset", "InterleaveDataset", "MapDataset", "PaddedBatchDatasetV2", "PrefetchDataset", "RangeDataset", "RepeatDataset", "ShardDataset",
                "ShuffleDataset", "SkipDataset", "TakeDataset", "TensorDataset", "TensorSliceDataset",
                "TextLineDataset", "TFRecordDataset", "ZipDataset")
op_registry.register(_VARIANT_OPS, lambda op: [(dtypes.variant, TensorShape([]))])

_DEFAULT_READ_BUFFER = 256 * 1024


def _int64(value, name):
    return convert_to_tensor(value, dtype=dtypes.int64, name=name)


def _bool(value, name):
    return convert_to_tensor(value, dtype=dtypes.bool, name=name)


def _string(value, name):
    return convert_to_tensor(value, dtype=dtypes.string, name=name)


class Dataset(nest.Structured):
    """A pipeline of elements; `_variant` is the op output that describes it to the worker."""

    def __init__(self, variant, types, shapes):
        self._variant, self._types, self._shapes = variant, types, shapes

    def _flat_types(self):
        return nest.flatten(self._types)

    def _flat_shapes(self):
        return nest.flatten(self._shapes)

    def _attrs(self, types_key="output_types"):
        return {types_key: self._flat_types(), "output_shapes": self._flat_shapes()}

    def _derive(self, op_type, inputs, arg_names, shapes=None, extra=None, name=None):
        """A dataset made by `op_type` from this one (input 0) and `inputs`, with this one's element types."""
        shapes = self._shapes if shapes is None else shapes
        attrs = {"output_types": self._flat_types(), "output_shapes": nest.flatten(shapes)}
        attrs.update(extra or {})
        op = make_op(op_type, [self._variant] + list(inputs), attrs, name=name or op_type,
                     arg_names=["input_dataset"] + arg_names, same_dtype=False)
        return Dataset(op.outputs[0], self._types, shapes)

    # -- sources -------------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors):
        components = [convert_to_tensor(t, name="component_%d" % i) for i, t in enumerate(nest.flatten(tensors))]
        for t in components:
            if t.shape.ndims == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        first = {t.shape[0] for t in components if t.shape.ndims is not None and t.shape[0] is not None}
        if len(first) > 1:
            raise ValueError(f"Dimensions {sorted(first)} are not compatible")
        shapes = [TensorShape(None) if t.shape.ndims is None else TensorShape(t.shape.as_list()[1:])
                  for t in components]
        return _source("TensorSliceDataset", tensors, components, shapes)

    @staticmethod
    def from_tensors(tensors):
        components = [convert_to_tensor(t, name="component_%d" % i) for i, t in enumerate(nest.flatten(tensors))]
        return _source("TensorDataset", tensors, components, [t.shape for t in components])

    @staticmethod
    def range(*args):
        if not 1 <= len(args) <= 3:
            raise ValueError(f"Invalid arguments to Dataset.range: {args}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (tuple(args) + (1,))[:3]
        inputs = [_int64(start, "start"), _int64(stop, "stop"), _int64(step, "step")]
        op = make_op("RangeDataset", inputs, {"output_types": [dtypes.int64], "output_shapes": [TensorShape([])]},
                     name="RangeDataset", arg_names=["start", "stop", "step"], same_dtype=False)
        return Dataset(op.outputs[0], dtypes.int64, TensorShape([]))

    @staticmethod
    def zip(datasets):
        flat = nest.flatten(datasets)
        for d in flat:
            if not isinstance(d, Dataset):
                raise TypeError(f"The argument to `Dataset.zip()` must be a (nested) structure of `Dataset` "
                                f"objects, got {d!r}")
        types = nest.pack_as(datasets, [d.output_types for d in flat])
        shapes = nest.pack_as(datasets, [d.output_shapes for d in flat])
        op = make_op("ZipDataset", [d._variant for d in flat],
                     {"output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes), "N": len(flat)},
                     name="ZipDataset", arg_names=[f"input_datasets_{i}" for i in range(len(flat))],
                     same_dtype=False)
        return Dataset(op.outputs[0], types, shapes)

    # -- transformations -----------------------------------------------------------------------------
    def concatenate(self, dataset):
        nest.assert_same_structure(self._types, dataset.output_types)
        if self._flat_types() != nest.flatten(dataset.output_types):
            raise TypeError(f"Two datasets to concatenate have different types {self._types} and "
                            f"{dataset.output_types}")
        shapes = nest.pack_as(self._shapes, [_most_specific_compatible(a, b) for a, b in
                                             zip(self._flat_shapes(), nest.flatten(dataset.output_shapes))])
        return self._derive("ConcatenateDataset", [dataset._variant], ["another_dataset"], shapes)

    def batch(self, batch_size, drop_remainder=False):
        size = _int64(batch_size, "batch_size")
        known = constant_value(size)
        outer = int(known) if drop_remainder and known is not None else None
        shapes = nest.map_structure(lambda s: TensorShape([outer]).concatenate(s), self._shapes)
        return self._derive("BatchDatasetV2", [size, _bool(drop_remainder, "drop_remainder")],
                            ["batch_size", "drop_remainder"], shapes, {"parallel_copy": False})

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False):
        if padded_shapes is None:
            padded_shapes = nest.map_structure(lambda s: s, self._shapes)
        flat_types, flat_shapes = self._flat_types(), self._flat_shapes()
        wanted = [TensorShape(s) if not isinstance(s, TensorShape) else s for s in
                  _flatten_like(self._types, padded_shapes)]
        if padding_values is None:
            values = [b"" if t == dtypes.string else 0 for t in flat_types]
        else:
            values = _flatten_like(self._types, padding_values)
        size = _int64(batch_size, "batch_size")
        known = constant_value(size)
        outer = int(known) if drop_remainder and known is not None else None
        shape_tensors, value_tensors = [], []
        for i, (w, s, t, v) in enumerate(zip(wanted, flat_shapes, flat_types, values)):
            if w.ndims is None:
                raise ValueError("Padded shapes must be of known rank")
            if s.ndims is not None and s.ndims != w.ndims:
                raise ValueError(f"The padded shape {w} is not compatible with the corresponding input component "
                                 f"shape {s}.")
            shape_tensors.append(convert_to_tensor(np.array([-1 if d is None else d for d in w.as_list()],
                                                            dtype=np.int64), name=f"padded_shapes_{i}"))
            value_tensors.append(convert_to_tensor(v, dtype=t, name=f"padding_values_{i}"))
        shapes = nest.pack_as(self._shapes, [TensorShape([outer]).concatenate(w) for w in wanted])
        n = len(flat_types)
        op = make_op("PaddedBatchDatasetV2", [self._variant, size] + shape_tensors + value_tensors +
                     [_bool(drop_remainder, "drop_remainder")],
                     {"Toutput_types": flat_types, "output_shapes": nest.flatten(shapes), "N": n,
                      "parallel_copy": False}, name="PaddedBatchDatasetV2",
                     arg_names=["input_dataset", "batch_size"] + [f"padded_shapes_{i}" for i in range(n)] +
                     [f"padding_values_{i}" for i in range(n)] + ["drop_remainder"], same_dtype=False)
        return Dataset(op.outputs[0], self._types, shapes)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None):
        seed, seed2 = get_seed(seed)
        inputs = [_int64(buffer_size, "buffer_size"), _int64(seed or 0, "seed"), _int64(seed2 or 0, "seed2")]
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        return self._derive("ShuffleDataset", inputs, ["buffer_size", "seed", "seed2"],
                            extra={"reshuffle_each_iteration": reshuffle})

    def repeat(self, count=None):
        return self._derive("RepeatDataset", [_int64(-1 if count is None else count, "count")], ["count"])

    def take(self, count):
        return self._derive("TakeDataset", [_int64(count, "count")], ["count"])

    def skip(self, count):
        return self._derive("SkipDataset", [_int64(count, "count")], ["count"])

    def shard(self, num_shards, index):
        return self._derive("ShardDataset", [_int64(num_shards, "num_shards"), _int64(index, "index")],
                            ["num_shards", "index"], extra={"require_non_empty": False})

    def prefetch(self, buffer_size):
        return self._derive("PrefetchDataset", [_int64(buffer_size, "buffer_size")], ["buffer_size"])

    def cache(self, filename=""):
        if filename:
            raise NotImplementedError("tfmini caches datasets in memory only: Dataset.cache(filename) with a "
                                      "filename is not supported")
        return self._derive("CacheDataset", [_string(filename, "filename")], ["filename"])

    def map(self, map_func, num_parallel_calls=None):
        traced = functions.trace(map_func, self._types, self._shapes, "map")
        if nest.flatten(traced.output) and any(_is_dataset(r) for r in nest.flatten(traced.output)):
            raise TypeError("The function given to Dataset.map must return tensors, not datasets")
        types, shapes = functions.output_structure(traced.output)
        return self._apply("MapDataset", traced, "f", types, shapes,
                           {"use_inter_op_parallelism": True, "preserve_cardinality": False})

    def filter(self, predicate):
        traced = functions.trace(predicate, self._types, self._shapes, "filter")
        functions.check_predicate(traced.output)
        return self._apply("FilterDataset", traced, "predicate", self._types, self._shapes)

    def flat_map(self, map_func):
        traced = functions.trace(map_func, self._types, self._shapes, "flat_map")
        inner = _returned_dataset(traced, "flat_map")
        return self._apply("FlatMapDataset", traced, "f", inner.output_types, inner.output_shapes)

    def interleave(self, map_func, cycle_length=None, block_length=None, num_parallel_calls=None):
        traced = functions.trace(map_func, self._types, self._shapes, "interleave")
        inner = _returned_dataset(traced, "interleave")
        # TF 1.x's default cycle_length (AUTOTUNE in TF 2) is the number of CPU cores; tfmini takes 1.
        extra = [_int64(1 if cycle_length is None or cycle_length < 0 else cycle_length, "cycle_length"),
                 _int64(1 if block_length is None else block_length, "block_length")]
        return self._apply("InterleaveDataset", traced, "f", inner.output_types, inner.output_shapes,
                           inputs=extra, arg_names=["cycle_length", "block_length"])

    def _apply(self, op_type, traced, attr, types, shapes, extra=None, inputs=(), arg_names=()):
        captured = traced.captured
        attrs = {attr: traced.attr, "Targuments": [t.dtype.base_dtype for t in captured],
                 "output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes)}
        attrs.update(extra or {})
        op = make_op(op_type, [self._variant] + list(captured) + list(inputs), attrs, name=op_type,
                     arg_names=["input_dataset"] + [f"other_arguments_{i}" for i in range(len(captured))] +
                     list(arg_names), same_dtype=False)
        return Dataset(op.outputs[0], types, shapes)

    # -- iterators (TF 1.x) --------------------------------------------------------------------------
    def make_one_shot_iterator(self):
        from tfmini.data.iterator_ops import Iterator
        return Iterator._one_shot(self)

    def make_initializable_iterator(self, shared_name=None):
        from tfmini.data.iterator_ops import Iterator
        iterator = Iterator.from_structure(self._types, self._shapes, shared_name=shared_name)
        iterator._initializer = iterator.make_initializer(self)
        return iterator


def _is_dataset(value):
    return isinstance(value, Dataset)


def _returned_dataset(traced, what):
    if not _is_dataset(traced.output):
        raise TypeError(f"The function given to Dataset.{what} must return a Dataset, got {traced.output!r}")
    return traced.output


def _source(op_type, tensors, components, shapes):
    types = nest.pack_as(tensors, [t.dtype.base_dtype for t in components])
    op = make_op(op_type, components, {"Toutput_types": nest.flatten(types), "output_shapes": shapes},
                 name=op_type, arg_names=[f"components_{i}" for i in range(len(components))], same_dtype=False)
    return Dataset(op.outputs[0], types, nest.pack_as(tensors, shapes))


def _flatten_like(structure, value):
    """`value` flattened against `structure`: a leaf of `structure` takes a whole list/shape from `value`."""
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in _flatten_like(structure[k], value[k])]
    if isinstance(structure, tuple):
        return [x for s, v in zip(structure, value) for x in _flatten_like(s, v)]
    return [value]


def _most_specific_compatible(a, b):
    if a.ndims is None or b.ndims is None or a.ndims != b.ndims:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.as_list(), b.as_list())])


class _FileDataset(Dataset):
    def __init__(self, op_type, filenames, inputs, arg_names):
        names = _string(filenames, "filenames")
        op = make_op(op_type, [names] + inputs, {}, name=op_type, arg_names=["filenames"] + arg_names,
                     same_dtype=False)
        super().__init__(op.outputs[0], dtypes.string, TensorShape([]))


class TextLineDataset(_FileDataset):
    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        super().__init__("TextLineDataset", filenames,
                         [_string(compression_type or "", "compression_type"),
                          _int64(buffer_size or _DEFAULT_READ_BUFFER, "buffer_size")],
                         ["compression_type", "buffer_size"])


class TFRecordDataset(_FileDataset):
    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None):
        super().__init__("TFRecordDataset", filenames,
                         [_string(compression_type or "", "compression_type"),
                          _int64(buffer_size or _DEFAULT_READ_BUFFER, "buffer_size")],
                         ["compression_type", "buffer_size"])


class FixedLengthRecordDataset(_FileDataset):
    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None, buffer_size=None,
                 compression_type=None, num_parallel_reads=None):
        super().__init__("FixedLengthRecordDatasetV2", filenames,
                         [_int64(header_bytes or 0, "header_bytes"), _int64(record_bytes, "record_bytes"),
                          _int64(footer_bytes or 0, "footer_bytes"),
                          _int64(buffer_size or _DEFAULT_READ_BUFFER, "buffer_size"),
                          _string(compression_type or "", "compression_type")],
                         ["header_bytes", "record_bytes", "footer_bytes", "buffer_size", "compression_type"])
