"""tf.data on the worker: a dataset op outputs a DT_VARIANT handle, a Python object of this task that only
describes a pipeline; an iterator is a resource (in the worker's ResourceMgr) that walks one.

A dataset's `elements()` returns a fresh iterator of elements, each a tuple of numpy arrays (the flattened
components). Dataset objects never change once built, so one folded at registration serves every step;
what moves lives in the iterator.
"""
import itertools
import os
import threading

import numpy as np

from tfmini.core import errors, tfrecord
from tfmini.worker.kernels import CPU_ONLY, kernel
from tfmini.worker.resources import VariableRef


def _invalid(message):
    return errors.InvalidArgumentError(None, None, message)


class Dataset:
    def elements(self):
        raise NotImplementedError

    def indexed(self):
        """(components, make) when every element is row i of the components, for i in `make()`: a batch then
        gathers its rows with one fancy index per component instead of stacking element by element."""
        return None


class _Slices(Dataset):
    def __init__(self, components):
        n = {len(c) if np.ndim(c) else None for c in components}
        if None in n:
            raise _invalid("Slicing a tensor of rank 0 is not possible: from_tensor_slices needs rank >= 1")
        if len(n) > 1:
            raise _invalid("All components must have the same size in the 0th dimension")
        self.components, self.size = components, n.pop()

    def elements(self):
        components = self.components
        return (tuple(c[i] for c in components) for i in range(self.size))

    def indexed(self):
        return self.components, lambda: iter(range(self.size))


class _Tensors(Dataset):
    def __init__(self, components):
        self.components = components

    def elements(self):
        return iter([tuple(self.components)])


class _Range(Dataset):
    def __init__(self, start, stop, step):
        if step == 0:
            raise _invalid("step must be a non-zero integer.")
        self.range = range(int(start), int(stop), int(step))

    def elements(self):
        return ((np.int64(i),) for i in self.range)


class _Zip(Dataset):
    def __init__(self, datasets):
        self.datasets = datasets

    def elements(self):
        return (sum(parts, ()) for parts in zip(*[d.elements() for d in self.datasets]))


class _Concatenate(Dataset):
    def __init__(self, first, second):
        self.first, self.second = first, second

    def elements(self):
        yield from self.first.elements()
        yield from self.second.elements()


def _batches(dataset, size, drop_remainder):
    """Lists of up to `size` consecutive elements."""
    it, batch = dataset.elements(), []
    for element in it:
        batch.append(element)
        if len(batch) == size:
            yield batch
            batch = []
    if batch and not drop_remainder:
        yield batch


class _Batch(Dataset):
    def __init__(self, dataset, size, drop_remainder):
        if size <= 0:
            raise _invalid(f"Batch size must be greater than zero, got {size}")
        self.dataset, self.size, self.drop_remainder = dataset, int(size), bool(drop_remainder)

    def elements(self):
        base = self.dataset.indexed()
        if base is not None:
            yield from self._gathered(*base)
            return
        for batch in _batches(self.dataset, self.size, self.drop_remainder):
            yield tuple(_stack(k, parts) for k, parts in enumerate(zip(*batch)))

    def _gathered(self, components, make):
        it = make()
        while True:
            rows = np.fromiter(itertools.islice(it, self.size), dtype=np.int64)
            if not len(rows) or (self.drop_remainder and len(rows) < self.size):
                return
            yield tuple(c[rows] for c in components)


def _stack(component, parts):
    try:
        return np.stack(parts)
    except ValueError:
        shapes = [list(np.shape(p)) for p in parts]
        other = next(i for i, shape in enumerate(shapes) if shape != shapes[0])
        raise _invalid(f"Cannot batch tensors with different shapes in component {component}. First element had "
                       f"shape {shapes[0]} and element {other} had shape {shapes[other]}.") from None


class _PaddedBatch(Dataset):
    def __init__(self, dataset, size, padded_shapes, padding_values, drop_remainder):
        if size <= 0:
            raise _invalid(f"Batch size must be greater than zero, got {size}")
        self.dataset, self.size, self.drop_remainder = dataset, int(size), bool(drop_remainder)
        self.padded_shapes = [[int(d) for d in np.reshape(s, [-1])] for s in padded_shapes]
        self.padding_values = padding_values

    def elements(self):
        for batch in _batches(self.dataset, self.size, self.drop_remainder):
            out = []
            for k, parts in enumerate(zip(*batch)):
                shapes = np.array([np.shape(p) for p in parts], dtype=np.int64).reshape(len(parts), -1)
                wanted = self.padded_shapes[k]
                longest = shapes.max(axis=0) if shapes.size else np.zeros(len(wanted), np.int64)
                target = [int(m) if w < 0 else w for w, m in zip(wanted, longest)]
                for w, m in zip(wanted, longest):
                    if 0 <= w < m:
                        raise _invalid("Attempted to pad to a smaller size than the input element.")
                result = np.full([len(parts)] + target, self.padding_values[k],
                                 dtype=np.asarray(parts[0]).dtype)
                for i, p in enumerate(parts):  # one copy per element, not per value
                    result[(i,) + tuple(slice(0, d) for d in np.shape(p))] = p
                out.append(result)
            yield tuple(out)


class _Transform(Dataset):
    """A transformation that reorders or drops whole elements: `stream(make)` applies it to any iterable
    (`make()` a fresh one), so the same code runs on elements or, under a batch, on row indices."""

    def elements(self):
        return self.stream(self.dataset.elements)

    def indexed(self):
        base = self.dataset.indexed()
        if base is None:
            return None
        components, make = base
        return components, lambda: self.stream(make)


class _Repeat(_Transform):
    def __init__(self, dataset, count):
        self.dataset, self.count = dataset, int(count)

    def stream(self, make):
        n = 0
        while self.count < 0 or n < self.count:
            empty = True
            for element in make():
                empty = False
                yield element
            if empty:  # TF stops an endless repeat of an empty dataset
                return
            n += 1


class _Take(_Transform):
    def __init__(self, dataset, count):
        self.dataset, self.count = dataset, int(count)

    def stream(self, make):
        return make() if self.count < 0 else itertools.islice(make(), self.count)


class _Skip(_Transform):
    def __init__(self, dataset, count):
        self.dataset, self.count = dataset, int(count)

    def stream(self, make):
        return iter(()) if self.count < 0 else itertools.islice(make(), self.count, None)


class _Shard(_Transform):
    def __init__(self, dataset, num_shards, index):
        if num_shards <= 0:
            raise _invalid(f"Number of shards must be greater than zero (currently num_shards = {num_shards}).")
        if not 0 <= index < num_shards:
            raise _invalid(f"Index must be between 0 and {num_shards - 1} (currently index = {index}).")
        self.dataset, self.num_shards, self.index = dataset, int(num_shards), int(index)

    def stream(self, make):
        return itertools.islice(make(), self.index, None, self.num_shards)


class _Shuffle(_Transform):
    """TF's buffer: fill `buffer_size` elements, emit one chosen uniformly, put the next in its place."""

    def __init__(self, dataset, buffer_size, seed, seed2, reshuffle_each_iteration):
        if buffer_size <= 0:
            raise _invalid("buffer_size must be greater than zero.")
        self.dataset, self.buffer_size = dataset, int(buffer_size)
        self.seeded = bool(seed or seed2)
        self.seed = (int(seed), int(seed2))
        self.reshuffle, self.epoch = reshuffle_each_iteration, 0

    def stream(self, make):
        if not self.seeded:
            rng = np.random.default_rng()
        else:
            rng = np.random.default_rng(self.seed + ((self.epoch,) if self.reshuffle else ()))
            self.epoch += 1
        it = make()
        buffer = list(itertools.islice(it, self.buffer_size))
        picks = iter(())
        for element in it:
            i = next(picks, None)
            if i is None:  # draws come in blocks: one call per element would cost more than the element
                picks = iter(rng.integers(len(buffer), size=1024).tolist())
                i = next(picks)
            yield buffer[i]
            buffer[i] = element
        for i in rng.permutation(len(buffer)):
            yield buffer[i]


class _Cache(Dataset):
    """In memory: the first complete pass is kept and replayed."""

    def __init__(self, dataset):
        self.dataset, self.cache = dataset, None

    def elements(self):
        if self.cache is not None:
            return iter(self.cache)
        return self._fill()

    def _fill(self):
        seen = []
        for element in self.dataset.elements():
            seen.append(element)
            yield element
        self.cache = seen


class _Files(Dataset):
    def __init__(self, filenames, compression_type):
        self.filenames = [f.decode() if isinstance(f, bytes) else str(f) for f in np.reshape(filenames, [-1])]
        compression = compression_type.decode() if isinstance(compression_type, bytes) else str(compression_type)
        if compression not in ("", "GZIP", "ZLIB"):
            raise _invalid(f"Unsupported compression_type: {compression}.")
        self.compression = compression

    def _open(self, name):
        try:
            return tfrecord.open_for_read(name, self.compression)
        except FileNotFoundError:
            raise errors.NotFoundError(None, None, f"{name}; No such file or directory") from None

    def elements(self):
        for name in self.filenames:
            with self._open(name) as f:
                for record in self._records(f, name):
                    yield (np.array(record, dtype=object),)


class _TextLines(_Files):
    def _records(self, f, name):
        for line in f:
            line = line[:-1] if line.endswith(b"\n") else line
            yield line[:-1] if line.endswith(b"\r") else line


class _TFRecords(_Files):
    """Records through core/tfrecord.py, the one TFRecord reader (framing, CRCs, compression)."""

    def elements(self):
        for name in self.filenames:
            if not os.path.exists(name):
                raise errors.NotFoundError(None, None, f"{name}; No such file or directory")
            for record in tfrecord.tf_record_iterator(name, self.compression):
                yield (np.array(record, dtype=object),)


class _FixedLengthRecords(_Files):
    def __init__(self, filenames, header_bytes, record_bytes, footer_bytes, compression_type):
        super().__init__(filenames, compression_type)
        if record_bytes <= 0:
            raise _invalid(f"record_bytes must be > 0 not {record_bytes}")
        self.header, self.record, self.footer = int(header_bytes), int(record_bytes), int(footer_bytes)

    def _records(self, f, name):
        data = f.read()[self.header:]
        body = data[:max(len(data) - self.footer, 0)]
        for start in range(0, len(body) - self.record + 1, self.record):
            yield body[start:start + self.record]


def _scalar(x):
    return np.asarray(x).item()


kernel("TensorSliceDataset", device_types=CPU_ONLY)(lambda node: lambda *c: _Slices([np.asarray(x) for x in c]))
kernel("TensorDataset", device_types=CPU_ONLY)(lambda node: lambda *c: _Tensors([np.asarray(x) for x in c]))
kernel("RangeDataset", device_types=CPU_ONLY)(
    lambda node: lambda start, stop, step: _Range(_scalar(start), _scalar(stop), _scalar(step)))
kernel("ZipDataset", device_types=CPU_ONLY)(lambda node: lambda *datasets: _Zip(list(datasets)))
kernel("ConcatenateDataset", device_types=CPU_ONLY)(lambda node: _Concatenate)
kernel("BatchDataset", device_types=CPU_ONLY)(lambda node: lambda d, n: _Batch(d, _scalar(n), False))
kernel("BatchDatasetV2", device_types=CPU_ONLY)(
    lambda node: lambda d, n, drop: _Batch(d, _scalar(n), _scalar(drop)))


@kernel("PaddedBatchDatasetV2", device_types=CPU_ONLY)
def _padded_batch(node):
    n = node.attrs["N"]

    def fn(dataset, size, *rest):
        shapes, values, drop = rest[:n], rest[n:2 * n], rest[2 * n]
        return _PaddedBatch(dataset, _scalar(size), shapes, [np.asarray(v) for v in values], _scalar(drop))
    return fn


kernel("RepeatDataset", device_types=CPU_ONLY)(lambda node: lambda d, n: _Repeat(d, _scalar(n)))
kernel("TakeDataset", device_types=CPU_ONLY)(lambda node: lambda d, n: _Take(d, _scalar(n)))
kernel("SkipDataset", device_types=CPU_ONLY)(lambda node: lambda d, n: _Skip(d, _scalar(n)))
kernel("ShardDataset", device_types=CPU_ONLY)(lambda node: lambda d, n, i: _Shard(d, _scalar(n), _scalar(i)))
kernel("PrefetchDataset", device_types=CPU_ONLY)(lambda node: lambda d, n: d)  # elements come when asked for
kernel("CacheDataset", device_types=CPU_ONLY)(lambda node: lambda d, filename: _Cache(d))


@kernel("ShuffleDataset", device_types=CPU_ONLY)
def _shuffle(node):
    reshuffle = node.attrs.get("reshuffle_each_iteration", True)
    return lambda d, size, seed, seed2: _Shuffle(d, _scalar(size), _scalar(seed), _scalar(seed2), reshuffle)


kernel("TextLineDataset", device_types=CPU_ONLY)(
    lambda node: lambda names, compression, buffer_size: _TextLines(names, _scalar(compression)))
kernel("TFRecordDataset", device_types=CPU_ONLY)(
    lambda node: lambda names, compression, buffer_size: _TFRecords(names, _scalar(compression)))
kernel("FixedLengthRecordDatasetV2", device_types=CPU_ONLY)(
    lambda node: lambda names, header, record, footer, buffer_size, compression: _FixedLengthRecords(
        names, _scalar(header), _scalar(record), _scalar(footer), _scalar(compression)))


# -- iterators: a VariableRef of the ResourceMgr holds the iterator's state (its `value`) ---------------

_NOT_INITIALIZED = ("GetNext() failed because the iterator has not been initialized. Ensure that you have run "
                    "the initializer operation for this iterator before getting the next element.")


class IteratorState:
    """An iterator's position; steps that get_next at once take turns (a generator runs in one thread)."""

    __slots__ = ("elements", "lock")

    def __init__(self, dataset):
        self.elements, self.lock = dataset.elements(), threading.Lock()


def _iterator_ref(node):
    """A shared_name puts the iterator in the worker's ResourceMgr (it outlives sessions); without one, it
    belongs to this session's node, shared by all the session's plans that hold the node (TF's OpSegment)."""
    shared_name = node.attrs.get("shared_name", b"").decode()
    if shared_name:
        return node.env.resources.variable(node.attrs.get("container", b"").decode(), shared_name, None, None)
    return node.env.kernel_state.setdefault(("iterator", node.name), VariableRef(node.name, None, None))


kernel("IteratorV2", "Iterator", device_types=CPU_ONLY)(lambda node: (lambda ref: lambda: ref)(_iterator_ref(node)))


@kernel("OneShotIterator", device_types=CPU_ONLY)
def _one_shot(node):
    ref = _iterator_ref(node)

    def fn(dataset):
        if ref.value is None:
            ref.value = IteratorState(dataset)
        return ref
    return fn


@kernel("MakeIterator", num_outputs=0, device_types=CPU_ONLY)
def _make_iterator(node):
    def fn(dataset, ref):
        ref.value = IteratorState(dataset)
    return fn


@kernel("IteratorGetNext", num_outputs=lambda attrs: len(attrs["output_types"]), device_types=CPU_ONLY)
def _get_next(node):
    single = len(node.attrs["output_types"]) == 1

    def fn(ref):
        state = ref.value
        if state is None:
            raise errors.FailedPreconditionError(None, None, _NOT_INITIALIZED)
        with state.lock:
            element = next(state.elements, None)
        if element is None:
            raise errors.OutOfRangeError(None, None, "End of sequence")
        return element[0] if single else element
    return fn


_HANDLES = {}  # string handle -> VariableRef, within this process


@kernel("IteratorToStringHandle", device_types=CPU_ONLY)
def _to_string_handle(node):
    def fn(ref):
        handle = f"{node.env.task_name}|{ref.name}|{id(ref)}".encode()  # the task that holds it, as TF's
        _HANDLES[handle] = ref
        return np.array(handle, dtype=object)
    return fn


@kernel("IteratorFromStringHandleV2", "IteratorFromStringHandle", device_types=CPU_ONLY)
def _from_string_handle(node):
    def fn(handle):
        ref = _HANDLES.get(np.asarray(handle).item())
        if ref is None:
            raise _invalid(f"Could not parse an iterator string handle: {np.asarray(handle).item()!r}")
        return ref
    return fn
