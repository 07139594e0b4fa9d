"""tf.TensorArray as TF 1.x builds it in graphs: TensorArrayV3 and the ops on its handle, ordered by the flow.

Every write (write, scatter, unstack, split) returns a new TensorArray object: the same handle with the write's
flow output, so a later read depends on the write through its flow input. All the objects of one array share
its element shape (a one-element list, as TF's), which writes refine while `infer_shape` holds. A TensorArray
is a loop variable of `tf.while_loop` through its flow (`_loop_var_flow` / `_with_loop_var_flow`).
Kernels: worker/kernels/tensor_array.py; gradients: client/ops/tensor_array_grad.py.
"""
import contextlib

from tfmini.core import dtypes, op_registry
from tfmini.core.tensor_shape import TensorShape, as_shape
from tfmini.graph import Tensor, get_default_graph, name_scope
from tfmini.ops import array_ops, math_ops
from tfmini.ops.core import constant_value, convert_to_tensor


# -- shape functions ---------------------------------------------------------------------------------------
def _handle_and_flow(op):
    return [(dtypes.resource, TensorShape([])), (dtypes.float32, TensorShape([]))]


def _flow(op):
    return [(dtypes.float32, TensorShape([]))]


def _shape_attr(op, name):
    try:
        return as_shape(op.get_attr(name))
    except (KeyError, ValueError):
        return TensorShape(None)


def _gather_shape(op):
    element = _shape_attr(op, "element_shape")
    n = op.inputs[1].shape[0] if op.inputs[1].shape.ndims == 1 else None
    rest = TensorShape(None) if element.ndims is None else element
    return [(op.get_attr("dtype"), TensorShape([n]).concatenate(rest))]


def _concat_shape(op):
    except0 = _shape_attr(op, "element_shape_except0")
    value = TensorShape(None) if except0.ndims is None else TensorShape([None]).concatenate(except0)
    return [(op.get_attr("dtype"), value), (dtypes.int64, TensorShape([None]))]


op_registry.register(["TensorArrayV3", "TensorArrayGradV3"], _handle_and_flow)
op_registry.register(["TensorArrayWriteV3", "TensorArrayScatterV3", "TensorArraySplitV3"], _flow)
op_registry.register("TensorArrayReadV3", lambda op: [(op.get_attr("dtype"), TensorShape(None))])
op_registry.register("TensorArrayGatherV3", _gather_shape)
op_registry.register("TensorArrayConcatV3", _concat_shape)
op_registry.register("TensorArraySizeV3", lambda op: [(dtypes.int32, TensorShape([]))])
op_registry.register("TensorArrayCloseV3", lambda op: [])


def _create(graph, op_type, inputs, attrs, name):
    return graph.create_op(op_type, inputs, attrs, name=name)


def _index(value, name):
    return convert_to_tensor(value, dtype=dtypes.int32, name=name)


def _check_dtypes(value, dtype):
    if value.dtype.base_dtype != dtype:
        from tfmini import tf_logging
        tf_logging.error(f"Error: Input value {value} has dtype {value.dtype}, but expected dtype {dtype}.  This "
                         f"leads to undefined behavior and will be an error in future versions of TensorFlow.")


class TensorArray:
    """A list of tensors of one dtype, read and written by index within a step (tf.TensorArray)."""

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None, tensor_array_name=None,
                 handle=None, flow=None, infer_shape=True, element_shape=None, colocate_with_first_write_call=True,
                 name=None):
        if handle is not None and tensor_array_name:
            raise ValueError("Cannot construct with both handle and tensor_array_name")
        if handle is not None and not isinstance(handle, Tensor):
            raise TypeError("Handle must be a Tensor")
        if handle is None and size is None:
            raise ValueError("Size must be provided if handle is not provided")
        if handle is not None and size is not None:
            raise ValueError("Cannot provide both a handle and size at the same time")
        if handle is not None and element_shape is not None:
            raise ValueError("Cannot provide both a handle and element_shape at the same time")
        if handle is not None and dynamic_size is not None:
            raise ValueError("Cannot provide both a handle and dynamic_size at the same time")
        if handle is not None and clear_after_read is not None:
            raise ValueError("Cannot provide both a handle and clear_after_read at the same time")
        clear_after_read = True if clear_after_read is None else clear_after_read
        self._dynamic_size = dynamic_size or False
        self._dtype = dtypes.as_dtype(dtype).base_dtype
        self._colocate_with_first_write_call = colocate_with_first_write_call
        self._colocate_with = [] if colocate_with_first_write_call else None
        self._element_shape = [as_shape(element_shape)]  # shared by every TensorArray of this handle
        self._infer_shape = infer_shape
        self._size = None
        graph = get_default_graph() if handle is None else handle.graph
        with graph.as_default(), name_scope(name, "TensorArray") as scope:
            if handle is not None:
                if flow is None:
                    raise ValueError("flow must not be None if handle is not None.")
                self._handle, self._flow = handle, flow
                return
            size = _index(size, "size")
            self._size = size
            attrs = {"dtype": self._dtype, "element_shape": self._element_shape[0],
                     "dynamic_size": self._dynamic_size, "clear_after_read": clear_after_read,
                     "identical_element_shapes": infer_shape,
                     "tensor_array_name": (tensor_array_name or "").encode()}
            # Placed where its first write's value is (TF's colocate_with_first_write_call), not where it is made.
            with (graph.device(None) if colocate_with_first_write_call else contextlib.nullcontext()), \
                    (graph.colocate_with(None, ignore_existing=True) if colocate_with_first_write_call
                     else contextlib.nullcontext()):
                op = _create(graph, "TensorArrayV3", [size], attrs, scope)
            self._handle, self._flow = op.outputs

    # -- properties ---------------------------------------------------------
    flow = property(lambda self: self._flow)
    dtype = property(lambda self: self._dtype)
    handle = property(lambda self: self._handle)
    dynamic_size = property(lambda self: self._dynamic_size)

    @property
    def element_shape(self):
        return self._element_shape[0]

    def _graph(self):
        return self._handle.graph

    def _check_element_shape(self, shape):
        if not shape.is_compatible_with(self.element_shape):
            raise ValueError(f"Inconsistent shapes: saw {shape} but expected {self.element_shape} ")
        if self._infer_shape:
            self._element_shape[0] = self.element_shape.merge_with(shape)

    @contextlib.contextmanager
    def _maybe_colocate_with(self, value):
        if not self._colocate_with_first_write_call:
            yield
            return
        if not self._colocate_with:
            self._colocate_with.append(value)
        with self._graph().colocate_with(self._colocate_with[0]):
            yield

    def _with_flow(self, flow):
        """A TensorArray of this handle whose ops come after `flow` (TF's build_ta_with_new_flow)."""
        ta = TensorArray(dtype=self._dtype, handle=self._handle, flow=flow, infer_shape=self._infer_shape,
                         colocate_with_first_write_call=self._colocate_with_first_write_call)
        ta._dynamic_size, ta._size = self._dynamic_size, self._size
        ta._colocate_with, ta._element_shape = self._colocate_with, self._element_shape
        return ta

    # while_loop carries a TensorArray as its flow (client/ops/while_loop.py)
    def _loop_var_flow(self):
        return self._flow

    def _with_loop_var_flow(self, flow):
        return self._with_flow(flow)

    # -- ops ------------------------------------------------------------------
    def identity(self):
        with self._graph().as_default():
            return self._with_flow(array_ops.identity(self._flow))

    def grad(self, source, flow=None, name=None):
        """The gradient TensorArray of this one for `source` (the gradients' name scope), made on first use."""
        flow = self._flow if flow is None else flow
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayGrad"):
            with graph.colocate_with(self._handle):
                g_handle = _create(graph, "TensorArrayGradV3", [self._handle, flow],
                                   {"source": source.encode()}, None).outputs[0]
                with graph.control_dependencies([g_handle]):
                    flow = array_ops.identity(flow, name="gradient_flow")
                g = TensorArray(dtype=self._dtype, handle=g_handle, flow=flow, infer_shape=self._infer_shape,
                                colocate_with_first_write_call=False)
                g._element_shape = self._element_shape
                return g

    def read(self, index, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayReadV3") as scope:
            index = _index(index, "index")
            value = _create(graph, "TensorArrayReadV3", [self._handle, index, self._flow],
                            {"dtype": self._dtype}, scope).outputs[0]
        value.set_shape(self.element_shape)
        return value

    def write(self, index, value, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayWrite"):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            _check_dtypes(value, self._dtype)
            self._check_element_shape(value.shape)
            with self._maybe_colocate_with(value):
                with name_scope(name, "TensorArrayWriteV3") as scope:
                    index = _index(index, "index")
                    flow = _create(graph, "TensorArrayWriteV3", [self._handle, index, value, self._flow],
                                   {"T": value.dtype.base_dtype}, scope).outputs[0]
            return self._with_flow(flow)

    def size(self, name=None):
        graph = self._graph()
        with graph.as_default():
            return _create(graph, "TensorArraySizeV3", [self._handle, self._flow], {}, name or "TensorArraySizeV3"
                           ).outputs[0]

    def stack(self, name=None):
        graph = self._graph()
        with graph.as_default(), graph.colocate_with(self._handle), name_scope(name, "TensorArrayStack"):
            value = self.gather(array_ops.range(0, self.size()), name=name)
            size = None if self._size is None or self._dynamic_size else constant_value(self._size)
            if self.element_shape.ndims is not None and size is not None:
                value.set_shape(TensorShape([int(size)]).concatenate(self.element_shape))
            return value

    def gather(self, indices, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayGatherV3") as scope:
            indices = convert_to_tensor(indices, dtype=dtypes.int32, name="indices")
            value = _create(graph, "TensorArrayGatherV3", [self._handle, indices, self._flow],
                            {"dtype": self._dtype, "element_shape": self.element_shape}, scope).outputs[0]
        if self.element_shape.ndims is not None:
            value.set_shape(TensorShape([None]).concatenate(self.element_shape))
        return value

    def concat(self, name=None):
        graph = self._graph()
        shape = self.element_shape
        except0 = TensorShape(None) if shape.ndims is None else TensorShape(shape.as_list()[1:])
        with graph.as_default(), name_scope(name, "TensorArrayConcatV3") as scope:
            value = _create(graph, "TensorArrayConcatV3", [self._handle, self._flow],
                            {"dtype": self._dtype, "element_shape_except0": except0}, scope).outputs[0]
        if shape.ndims is not None and shape.ndims > 0:
            size = None if self._size is None or self._dynamic_size else constant_value(self._size)
            dim0 = int(size) * shape[0] if size is not None and shape[0] is not None and self._infer_shape else None
            value.set_shape(TensorShape([dim0]).concatenate(except0))
        return value

    def unstack(self, value, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayUnstack"):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            num_elements = array_ops.shape(value)[0]
            return self.scatter(indices=array_ops.range(0, num_elements), value=value, name=name)

    def scatter(self, indices, value, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArrayScatter"):
            value = convert_to_tensor(value, preferred_dtype=self._dtype, name="value")
            _check_dtypes(value, self._dtype)
            if value.shape.ndims is not None and value.shape.ndims > 0:
                self._check_element_shape(TensorShape(value.shape.as_list()[1:]))
            with self._maybe_colocate_with(value):
                with name_scope(name, "TensorArrayScatterV3") as scope:
                    indices = convert_to_tensor(indices, dtype=dtypes.int32, name="indices")
                    flow = _create(graph, "TensorArrayScatterV3", [self._handle, indices, value, self._flow],
                                   {"T": value.dtype.base_dtype}, scope).outputs[0]
            return self._with_flow(flow)

    def split(self, value, lengths, name=None):
        graph = self._graph()
        with graph.as_default(), name_scope(name, "TensorArraySplit"):
            value = convert_to_tensor(value, dtype=self._dtype, name="value")
            with self._maybe_colocate_with(value):
                lengths_64 = math_ops.cast(lengths, dtypes.int64)
                known = constant_value(lengths_64)
                if value.shape.ndims is not None and known is not None and known.ndim == 1 and len(known) and \
                        known.max() == known.min():
                    self._check_element_shape(TensorShape([int(known[0])]).concatenate(
                        TensorShape(value.shape.as_list()[1:])))
                with name_scope(name, "TensorArraySplitV3") as scope:
                    flow = _create(graph, "TensorArraySplitV3", [self._handle, value, lengths_64, self._flow],
                                   {"T": value.dtype.base_dtype}, scope).outputs[0]
            return self._with_flow(flow)

    def close(self, name=None):
        graph = self._graph()
        with graph.as_default():
            return _create(graph, "TensorArrayCloseV3", [self._handle], {}, name or "TensorArrayCloseV3")

    def mark_used(self):  # TF's tf_should_use hook: nothing to do here
        pass
