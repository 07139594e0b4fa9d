"""Graph, Operation and Tensor with TensorFlow 1.x's naming, scoping and device rules.

A Graph only records ops; it never runs a kernel. `as_graph_def()` is what
a session sends to the master.
"""
import contextlib
import re
import threading

from tfmini.core import attrs as attr_lib
from tfmini.core import device as device_lib
from tfmini.core import dtypes
from tfmini.core import op_registry
from tfmini.core import op_types
from google.protobuf import text_format

from tfmini.core.tensor_shape import TensorShape, as_shape
from tfmini.protos import attr_value_pb2, graph_pb2, node_def_pb2, tensor_pb2


# Print protos as TensorFlow does (text format, map keys sorted, floats as 1.0), not upb's raw order.
for _message in (graph_pb2.GraphDef, node_def_pb2.NodeDef, attr_value_pb2.AttrValue, tensor_pb2.TensorProto):
    _message.__str__ = text_format.MessageToString

GRAPH_DEF_PRODUCER = 27  # the GraphDef version we write (TF 1.x era semantics)
DEFAULT_GRAPH_SEED = 87654321
_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


class GraphKeys:
    GLOBAL_VARIABLES = VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"


class Tensor:
    """One output of an Operation: `name` is "op:index"; `shape` is the static (possibly partial) shape."""

    __array_priority__ = 100  # numpy scalars defer to our reflected operators

    def __init__(self, op, value_index, dtype, shape):
        self._op, self._value_index = op, value_index
        self._dtype = dtypes.as_dtype(dtype)
        self._shape = as_shape(shape)
        self._consumers = []

    op = property(lambda self: self._op)
    value_index = property(lambda self: self._value_index)
    dtype = property(lambda self: self._dtype)
    graph = property(lambda self: self._op._graph)
    name = property(lambda self: f"{self._op._name}:{self._value_index}")
    device = property(lambda self: self._op.device)
    shape = property(lambda self: self._shape)

    def get_shape(self):
        return self._shape

    def set_shape(self, shape):
        self._shape = self._shape.merge_with(shape)

    def consumers(self):
        return list(self._consumers)

    def eval(self, feed_dict=None, session=None):
        from tfmini.session import _run_with_default_session
        return _run_with_default_session(self, feed_dict, session)

    def __str__(self):
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. "
                        "Use `if t is not None:` instead of `if t:` to test if a tensor is defined.")

    def __iter__(self):
        if self._shape.ndims is None or not self._shape.ndims or self._shape[0] is None:
            raise TypeError("'Tensor' object is not iterable.")
        return (self[i] for i in range(self._shape[0]))

    def __len__(self):
        raise TypeError(f"len is not well defined for symbolic Tensors. ({self.name})")

    __hash__ = object.__hash__  # identity, as in TF 1.x; == is not overloaded

    @classmethod
    def _override_operator(cls, operator, func):
        setattr(cls, operator, func)


class Operation:
    """A node: `type`, `inputs`, `control_inputs`, `outputs`, `device`, attrs; `node_def` is its NodeDef."""

    def __init__(self, graph, op_type, name, inputs, attrs, control_inputs):
        self._graph, self._type, self._name = graph, op_type, name
        self._inputs = list(inputs)
        self._control_inputs = []
        self._attrs = {k: attr_lib.to_attr(v) for k, v in (attrs or {}).items()}
        self._device = ""
        self._outputs = []
        self._node_def = None
        for c in control_inputs:
            self._add_control_input(c)

    name = property(lambda self: self._name)
    type = property(lambda self: self._type)
    graph = property(lambda self: self._graph)
    inputs = property(lambda self: tuple(self._inputs))
    outputs = property(lambda self: list(self._outputs))
    control_inputs = property(lambda self: list(self._control_inputs))
    device = property(lambda self: self._device)

    @property
    def node_def(self):
        if self._node_def is None:
            self._node_def = self._fill(node_def_pb2.NodeDef())
        return self._node_def

    def _fill(self, nd):
        """Writes this op into the NodeDef `nd` (a graph's node list is filled in place, not copied)."""
        nd.name, nd.op = self._name, self._type
        if self._device:
            nd.device = self._device
        nd.input.extend([_input_name(t) for t in self._inputs] + ["^" + c._name for c in self._control_inputs])
        for key in sorted(self._attrs):  # sorted, as TensorFlow prints them
            nd.attr[key].CopyFrom(self._attrs[key])
        return nd

    def get_attr(self, name):
        if name not in self._attrs:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.")
        return attr_lib.from_attr(self._attrs[name])

    def _set_attr(self, name, value):
        self._attrs[name] = attr_lib.to_attr(value)
        self._node_def = None

    def _set_device(self, device):
        self._device = device_lib.canonical_name(device) if device else ""
        self._node_def = None

    def _add_control_input(self, op):
        op = op.op if isinstance(op, Tensor) else op
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            self._node_def = None

    def _add_control_inputs(self, ops):
        for op in ops:
            self._add_control_input(op)

    def colocation_groups(self):
        if "_class" in self._attrs:
            return [s for s in self.get_attr("_class") if s.startswith(b"loc:@")]
        return [b"loc:@" + self._name.encode()]

    def values(self):
        return tuple(self._outputs)

    def run(self, feed_dict=None, session=None):
        from tfmini.session import _run_with_default_session
        _run_with_default_session(self, feed_dict, session)

    def __str__(self):
        return str(self.node_def)

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"


def _check_types(op):
    """TF's graph-building type check (core/op_types.py): TypeError/ValueError as TF's Python raises them; the
    type attrs the op leaves out are filled from its inputs or their defaults, as TF's NodeDefs have them."""
    try:
        checked = op_types.check_attrs(op._type, op._name, [t.dtype.base_dtype for t in op._inputs], op._attrs)
    except op_types.TypeCheckError as e:
        raise e.kind(e.client) from None
    if checked is not None:
        for name, value in checked[0].items():
            if name not in op._attrs:
                op._set_attr(name, value)


def _input_name(tensor):
    return tensor.op.name if tensor.value_index == 0 else f"{tensor.op.name}:{tensor.value_index}"


class _ControlDependencies:
    def __init__(self, control_inputs):
        self.control_inputs = control_inputs
        self.new_ops = set()


class Graph:
    """A TensorFlow graph: ops in creation order, name/device/control/colocation scopes, collections."""

    def __init__(self):
        self._lock = threading.RLock()
        self._ops = []
        self._by_name = {}
        self._names_in_use = {}
        self._name_stack = ""
        self._device_stack = []       # device functions, outermost first; None stops the search
        self._control_stack = []
        self._colocation_stack = []
        self._collections = {}
        self._finalized = False
        self._gradient_override_map = {}
        self.seed = None
        self._last_id = 0
        self._control_flow_context = None  # the cond/while being built (client/ops/control_flow_context.py)

    # -- ops --------------------------------------------------------------
    def create_op(self, op_type, inputs, attrs=None, name=None, output_types=None):
        """Adds an op; its outputs' dtypes and shapes come from the op registry (or `output_types`)."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Input to '{op_type}' must be a Tensor, got {t!r}")
            if t.graph is not self:
                raise ValueError(f"Tensor {t} must be from the same graph as the op being created.")
        with self._lock:
            name = name or op_type
            if name.endswith("/"):
                name = name[:-1]
                self._names_in_use.setdefault(name.lower(), 1)
            else:
                name = self.unique_name(name)
            if not _VALID_OP_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid node name")
            if name in self._by_name:
                raise ValueError(f"Duplicate node name in graph: '{name}'")
            input_ops = {t.op for t in inputs}
            control = self._control_dependencies_for(input_ops)
            op = Operation(self, op_type, name, inputs, attrs, control)
            _check_types(op)
            if output_types is None:
                outs = op_registry.infer(op)
            else:
                outs = [(dt, TensorShape(None)) for dt in output_types]
            op._outputs = [Tensor(op, i, dt, shape) for i, (dt, shape) in enumerate(outs)]
            self._apply_device_and_colocation(op)
            if self._gradient_override_map and op_type in self._gradient_override_map:
                op._set_attr("_gradient_op_type", self._gradient_override_map[op_type])
            for t in inputs:
                t._consumers.append(op)
            for controller in self._control_stack:
                controller.new_ops.add(op)
            self._ops.append(op)
            self._by_name[name] = op
            self._last_id += 1
            if self._control_flow_context is not None:  # routes outside values in through Switch/Enter
                self._control_flow_context.add_op(op)
            return op

    def _control_dependencies_for(self, input_ops):
        result = []
        for controller in self._control_stack:
            if any(op in controller.new_ops for op in input_ops):
                continue  # dominated: an input already runs after these controls
            result.extend(c for c in controller.control_inputs if c not in input_ops and c not in result)
        return result

    def _apply_device_and_colocation(self, op):
        if self._colocation_stack:
            groups = []
            for colocated in self._colocation_stack:
                groups.extend(colocated.colocation_groups())
                if colocated.device:
                    op._set_device(colocated.device)
            op._set_attr("_class", sorted(set(groups)))
            return
        for fn in reversed(self._device_stack):  # innermost first; outer scopes fill unset fields
            if fn is None:
                break
            op._set_device(fn(op))

    def get_operations(self):
        return list(self._ops)

    def get_operation_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError(f"Tensor names are strings (or similar), not {type(name).__name__}.")
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolves a Tensor, Operation or name ("op" / "op:0") to an element of this graph."""
        if hasattr(obj, "_as_graph_element"):
            obj = obj._as_graph_element()
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                op_name, _, index = obj.rpartition(":")
                if not index.isdigit():
                    raise ValueError(f"The name {obj!r} looks a like a Tensor name, but is not a valid one.")
                op = self._by_name.get(op_name)
                if op is None:
                    raise KeyError(f"The name {obj!r} refers to a Tensor which does not exist. "
                                   f"The operation, {op_name!r}, does not exist in the graph.")
                if int(index) >= len(op._outputs):
                    raise KeyError(f"The name {obj!r} refers to a Tensor which does not exist. The operation, "
                                   f"{op_name!r}, exists but only has {len(op._outputs)} outputs.")
                return op._outputs[int(index)]
            if ":" not in obj and allow_operation:
                if obj not in self._by_name:
                    raise KeyError(f"The name {obj!r} refers to an Operation not in the graph.")
                return self._by_name[obj]
            if ":" not in obj and allow_tensor and obj in self._by_name:
                raise ValueError(f"The name {obj!r} refers to an Operation, not a Tensor. "
                                 f"Tensor names must be of the form \"<op_name>:<output_index>\".")
            raise ValueError(f"Can not convert a {type(obj).__name__} into a "
                             f"{'Tensor' if allow_tensor else 'Operation'}.")
        if isinstance(obj, Tensor) and allow_tensor:
            if obj.graph is not self:
                raise ValueError(f"Tensor {obj} is not an element of this graph.")
            return obj
        if isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                raise ValueError(f"Operation {obj!r} is not an element of this graph.")
            return obj
        wanted = " or ".join(k for k, ok in (("Tensor", allow_tensor), ("Operation", allow_operation)) if ok)
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {wanted}.")

    @property
    def version(self):
        return self._last_id

    @property
    def _version(self):
        return len(self._ops)

    def as_graph_def(self, from_version=None, add_shapes=False):
        """A GraphDef of the ops (from op number `from_version` on), optionally with `_output_shapes`."""
        gd = graph_pb2.GraphDef()
        gd.versions.producer = GRAPH_DEF_PRODUCER
        for op in self._ops[from_version or 0:]:
            nd = op._fill(gd.node.add())
            if add_shapes and op._outputs:
                nd.attr["_output_shapes"].CopyFrom(attr_lib.to_attr([t.shape for t in op._outputs]))
        return gd

    @property
    def graph_def_versions(self):
        return self.as_graph_def(from_version=len(self._ops)).versions

    def finalize(self):
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    # -- names -------------------------------------------------------------
    def unique_name(self, name, mark_as_used=True):
        """`scope/name`, with `_1`, `_2`, ... appended when taken (case-insensitively), as TF does."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self):
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Enters scope `name` (made unique), or the absolute scope `name` if it ends in "/"; "" or None is the root."""
        old = self._name_stack
        if name:
            new = name[:-1] if name.endswith("/") else self.unique_name(name)
        else:
            new = ""
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    # -- scopes ------------------------------------------------------------
    @contextlib.contextmanager
    def device(self, device_name_or_function):
        if device_name_or_function is None:
            fn = None
        elif callable(device_name_or_function) and not isinstance(device_name_or_function, str):
            fn = device_name_or_function
        else:
            fn = device_lib.merge_device(device_name_or_function)
        self._device_stack.append(fn)
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for c in control_inputs:
            if hasattr(c, "_as_graph_element"):
                c = c._as_graph_element()
            if isinstance(c, Tensor):
                c = c.op
            if not isinstance(c, Operation):
                raise TypeError(f"Control input must be Operation or Tensor: {c!r}")
            if c.graph is not self:
                raise ValueError(f"Control input {c!r} is not an element of this graph.")
            if c not in ops:
                ops.append(c)
        self._control_stack.append(_ControlDependencies(ops))
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        if op is None and not ignore_existing:
            raise ValueError("Trying to reset colocation (op is None) but ignore_existing is not True")
        if hasattr(op, "_as_graph_element"):
            op = op._as_graph_element()
        if isinstance(op, Tensor):
            op = op.op
        saved_coloc, saved_dev = self._colocation_stack, self._device_stack
        if ignore_existing:
            self._colocation_stack = []
        if op is not None:
            self._colocation_stack = self._colocation_stack + [op]
            self._device_stack = []  # colocated ops take the device of the op they follow
        try:
            yield
        finally:
            self._colocation_stack, self._device_stack = saved_coloc, saved_dev

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map):
        saved = dict(self._gradient_override_map)
        self._gradient_override_map.update(op_type_map)
        try:
            yield
        finally:
            self._gradient_override_map = saved

    @contextlib.contextmanager
    def as_default(self):
        _default_graph_stack.push(self)
        try:
            yield self
        finally:
            _default_graph_stack.pop(self)

    # -- collections -------------------------------------------------------
    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        for name in [names] if isinstance(names, str) else set(names):
            self.add_to_collection(name, value)

    def get_collection_ref(self, name):
        return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None):
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [i for i in items if hasattr(i, "name") and pattern.match(i.name)]

    def get_all_collection_keys(self):
        return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name):
        self._collections.pop(name, None)

    def __contains__(self, name):
        return name in self._by_name


class _DefaultGraphStack(threading.local):
    """Per-thread stack of `as_default()` graphs over one process-wide global default."""

    global_default = None

    def __init__(self):
        self.stack = []

    def get(self):
        if self.stack:
            return self.stack[-1]
        if _DefaultGraphStack.global_default is None:
            _DefaultGraphStack.global_default = Graph()
        return _DefaultGraphStack.global_default

    def push(self, graph):
        self.stack.append(graph)

    def pop(self, graph):
        if self.stack and self.stack[-1] is graph:
            self.stack.pop()

    def reset(self):
        if self.stack:
            raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
        _DefaultGraphStack.global_default = Graph()


_default_graph_stack = _DefaultGraphStack()


def get_default_graph():
    return _default_graph_stack.get()


def reset_default_graph():
    _default_graph_stack.reset()


def _graph_of(values):
    default = get_default_graph()
    for v in values or ():
        g = getattr(v, "graph", None)
        if isinstance(g, Graph):
            # A function being traced (tfmini.data) captures its outer graphs' tensors: its ops stay in it.
            return default if g in getattr(default, "outer_graphs", ()) else g
    return default


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """tf.name_scope(name, default_name=None, values=None): yields the scope string ending in "/"."""
    graph = _graph_of(values)
    with graph.as_default() if graph is not get_default_graph() else contextlib.nullcontext():
        with graph.name_scope(name if name is not None else default_name) as scope:
            yield scope


def device(device_name_or_function):
    return get_default_graph().device(device_name_or_function)


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def colocate_with(op, ignore_existing=False):
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(name, scope=None):
    return get_default_graph().get_collection(name, scope)


def get_collection_ref(name):
    return get_default_graph().get_collection_ref(name)


def set_random_seed(seed):
    get_default_graph().seed = seed


def get_seed(op_seed):
    """The (seed, seed2) attrs of a random op: TF's combination of the graph seed and the op seed."""
    graph_seed = get_default_graph().seed
    if graph_seed is not None:
        if op_seed is None:
            op_seed = get_default_graph()._last_id
        return graph_seed, op_seed
    if op_seed is not None:
        return DEFAULT_GRAPH_SEED, op_seed
    return None, None
