"""Nested structures of a dataset's elements, as tf.data (tf.nest) has them: tuples and dicts (keys sorted)
are structure; anything else is one component."""


def is_nested(value):
    return isinstance(value, (tuple, dict))


def flatten(value):
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in flatten(value[k])]
    if isinstance(value, tuple):
        return [x for v in value for x in flatten(v)]
    return [value]


def pack_as(structure, flat):
    """`flat` (a list of leaves) in the shape of `structure`."""
    it = iter(flat)
    packed = _pack(structure, it)
    if next(it, None) is not None:
        raise ValueError("Too many components for the structure")
    return packed


def _pack(structure, it):
    if isinstance(structure, dict):
        return {k: _pack(structure[k], it) for k in sorted(structure)}
    if isinstance(structure, tuple):
        items = [_pack(s, it) for s in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return next(it)


def map_structure(fn, structure):
    return pack_as(structure, [fn(x) for x in flatten(structure)])


def assert_same_structure(a, b):
    if _skeleton(a) != _skeleton(b):
        raise TypeError(f"The two structures don't have the same nested structure: {a!r} and {b!r}")


def _skeleton(value):
    if isinstance(value, dict):
        return {k: _skeleton(value[k]) for k in sorted(value)}
    if isinstance(value, tuple):
        return tuple(_skeleton(v) for v in value)
    return None


class Structured:
    """What datasets and iterators say of their elements: `_types` and `_shapes`, nested alike."""

    @property
    def output_types(self):
        return self._types

    @property
    def output_shapes(self):
        return self._shapes

    @property
    def output_classes(self):
        from tfmini.graph import Tensor
        return map_structure(lambda _: Tensor, self._types)
