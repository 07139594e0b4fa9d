"""tf.data.Iterator (TF 1.x): a resource of the worker where it is created; `get_next()` reads from it."""
from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape
from tfmini.data import structure as nest
from tfmini.graph import get_default_graph
from tfmini.ops.core import convert_to_tensor, make_op

op_registry.register(("Iterator", "IteratorV2", "OneShotIterator", "IteratorFromStringHandle",
                      "IteratorFromStringHandleV2"), lambda op: [(dtypes.resource, TensorShape([]))])
op_registry.register("IteratorToStringHandle", lambda op: [(dtypes.string, TensorShape([]))])
op_registry.register("MakeIterator", lambda op: [])
op_registry.register("IteratorGetNext", lambda op: [
    (t, TensorShape(s)) for t, s in zip(op.get_attr("output_types"), op.get_attr("output_shapes"))])


def _as_shapes(types, shapes):
    if shapes is None:
        return nest.map_structure(lambda _: TensorShape(None), types)
    if not nest.is_nested(types):
        return TensorShape(shapes)
    return nest.pack_as(types, [TensorShape(s) for s in _leaves_like(types, shapes)])


def _leaves_like(structure, value):
    if isinstance(structure, dict):
        return [x for k in sorted(structure) for x in _leaves_like(structure[k], value[k])]
    if isinstance(structure, tuple):
        return [x for s, v in zip(structure, value) for x in _leaves_like(s, v)]
    return [value]


class Iterator(nest.Structured):
    def __init__(self, iterator_resource, initializer, output_types, output_shapes, output_classes=None):
        self._resource, self._initializer = iterator_resource, initializer
        self._types, self._shapes = output_types, output_shapes

    @staticmethod
    def from_structure(output_types, output_shapes=None, shared_name=None, output_classes=None):
        types = nest.map_structure(dtypes.as_dtype, output_types)
        shapes = _as_shapes(types, output_shapes)
        graph = get_default_graph()
        op = graph.create_op("IteratorV2", [], {"shared_name": shared_name or "", "container": "",
                                                 "output_types": nest.flatten(types),
                                                 "output_shapes": nest.flatten(shapes)},
                             name="Iterator")
        return Iterator(op.outputs[0], None, types, shapes)

    @staticmethod
    def from_string_handle(string_handle, output_types, output_shapes=None, output_classes=None):
        types = nest.map_structure(dtypes.as_dtype, output_types)
        shapes = _as_shapes(types, output_shapes)
        handle = convert_to_tensor(string_handle, dtype=dtypes.string)
        op = make_op("IteratorFromStringHandleV2", [handle],
                     {"output_types": nest.flatten(types), "output_shapes": nest.flatten(shapes)},
                     name="IteratorFromStringHandleV2", arg_names=["string_handle"], same_dtype=False)
        return Iterator(op.outputs[0], None, types, shapes)

    @staticmethod
    def _one_shot(dataset):
        # TF builds the dataset inside a function (attr dataset_factory); tfmini has no functions, so the
        # dataset handle is the op's input and the iterator is made from it the first time the op runs.
        op = make_op("OneShotIterator", [dataset._variant],
                     {"output_types": dataset._flat_types(), "output_shapes": dataset._flat_shapes(),
                      "shared_name": "", "container": ""}, name="OneShotIterator",
                     arg_names=["dataset"], same_dtype=False)
        return Iterator(op.outputs[0], None, dataset.output_types, dataset.output_shapes)

    @property
    def initializer(self):
        if self._initializer is None:
            raise ValueError("Iterator does not have an initializer.")
        return self._initializer


    def make_initializer(self, dataset, name=None):
        try:
            nest.assert_same_structure(self._types, dataset.output_types)
        except TypeError:
            raise TypeError(f"Expected output types {self._types} but got dataset with output types "
                            f"{dataset.output_types}.") from None
        if nest.flatten(self._types) != dataset._flat_types():
            raise TypeError(f"Expected output types {self._types} but got dataset with output types "
                            f"{dataset.output_types}.")
        for mine, theirs in zip(nest.flatten(self._shapes), dataset._flat_shapes()):
            if not mine.is_compatible_with(theirs):
                raise TypeError(f"Expected output shapes compatible with {self._shapes} but got dataset with "
                                f"output shapes {dataset.output_shapes}.")
        return make_op("MakeIterator", [dataset._variant, self._resource], {}, name=name or "MakeIterator",
                       arg_names=["dataset", "iterator"], same_dtype=False)

    def get_next(self, name=None):
        op = make_op("IteratorGetNext", [self._resource],
                     {"output_types": nest.flatten(self._types), "output_shapes": nest.flatten(self._shapes)},
                     name=name or "IteratorGetNext", arg_names=["iterator"], same_dtype=False)
        return nest.pack_as(self._types, op.outputs)

    def string_handle(self, name=None):
        return make_op("IteratorToStringHandle", [self._resource], {}, name=name or "IteratorToStringHandle",
                       arg_names=["resource_handle"], same_dtype=False).outputs[0]
