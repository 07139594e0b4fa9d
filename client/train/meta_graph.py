"""Meta graphs: tf.train.export_meta_graph / import_meta_graph and the `.meta` file Saver.save writes.

A MetaGraphDef (protos/meta_graph.proto, TF's field numbers) holds the GraphDef, the Saver's SaverDef and
the graph's collections, serialized as TF does: variables as VariableDef protos (bytes_list), ops and tensors
by name (node_list), numbers and strings as such, savers as SaverDefs. Collections of other Python objects
(queue runners, control-flow contexts) are left out with a warning, as TF leaves out what it cannot
serialize. Importing re-creates the ops, the variables (tfmini Variables over the imported ops) and the
collections, and returns a Saver built from the SaverDef, so `saver.restore(sess, prefix)` works on a
graph rebuilt from the file alone, TF's or tfmini's.
"""
import os

from google.protobuf import message, text_format

from tfmini.core import errors
from tfmini.graph import GraphKeys, Operation, Tensor, get_default_graph
from tfmini.protos import graph_pb2, meta_graph_pb2, saver_pb2

# Collections whose elements are Variables (serialized as VariableDef protos).
_VARIABLE_KEYS = {GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES, GraphKeys.LOCAL_VARIABLES,
                  GraphKeys.MODEL_VARIABLES, GraphKeys.GLOBAL_STEP, GraphKeys.MOVING_AVERAGE_VARIABLES,
                  GraphKeys.METRIC_VARIABLES, GraphKeys.CONCATENATED_VARIABLES, "trainable_resource_variables"}


# -- names under a scope -------------------------------------------------------------------------------
def _prepend(name, scope):
    if not scope:
        return name
    if name.startswith("^"):
        return "^" + scope + "/" + name[1:]
    if name.startswith("loc:@"):
        return "loc:@" + scope + "/" + name[5:]
    return scope + "/" + name


def _strip(name, scope):
    """`name` relative to `scope` (TF's ops.strip_name_scope); None when it is outside."""
    if not scope:
        return name
    for mark in ("^", "loc:@", ""):
        if name.startswith(mark + scope + "/"):
            return mark + name[len(mark) + len(scope) + 1:]
    return None


# -- variables -----------------------------------------------------------------------------------------
def variable_to_proto(var, export_scope=None):
    """A Variable's VariableDef (TF's RefVariable.to_proto); None when it is outside `export_scope`."""
    names = [var._variable.name, var.initializer.name, var._snapshot.name]
    if var._initial_value is not None:
        names.append(var._initial_value.name)
    stripped = [_strip(n, export_scope) for n in names]
    if None in stripped:
        return None
    proto = meta_graph_pb2.VariableDef(variable_name=stripped[0], initializer_name=stripped[1],
                                       snapshot_name=stripped[2], trainable=var.trainable)
    if len(stripped) > 3:
        proto.initial_value_name = stripped[3]
    info = getattr(var, "_save_slice_info", None)
    if info is not None:
        proto.save_slice_info_def.full_name = _strip(info.full_name, export_scope) or info.full_name
        proto.save_slice_info_def.full_shape.extend(info.full_shape)
        proto.save_slice_info_def.var_offset.extend(info.var_offset)
        proto.save_slice_info_def.var_shape.extend(info.var_shape)
    return proto


def init_variable_from_proto(var, variable_def, import_scope=None):
    """Makes `var` (a fresh Variable) stand for the ops a VariableDef names (TF's Variable(variable_def=...))."""
    if isinstance(variable_def, bytes):
        variable_def = meta_graph_pb2.VariableDef.FromString(variable_def)
    if variable_def.is_resource:
        raise errors.UnimplementedError(None, None, f"Variable {variable_def.variable_name} is a resource variable; "
                                                    "tfmini has only TF 1.x ref variables (use_resource=False)")
    graph = get_default_graph()
    var._variable = graph.as_graph_element(_prepend(variable_def.variable_name, import_scope))
    var._initializer_op = graph.as_graph_element(_prepend(variable_def.initializer_name, import_scope))
    var._snapshot = graph.as_graph_element(_prepend(variable_def.snapshot_name, import_scope))
    var._initial_value = (graph.as_graph_element(_prepend(variable_def.initial_value_name, import_scope))
                          if variable_def.initial_value_name else None)
    # TF 1.x files written before `trainable` existed leave it false; the collections say what is trainable.
    var._trainable = variable_def.trainable
    var.constraint = None
    if variable_def.HasField("save_slice_info_def"):
        from tfmini.partitioned_variables import SaveSliceInfo
        info = variable_def.save_slice_info_def
        var._save_slice_info = SaveSliceInfo(_prepend(info.full_name, import_scope), info.full_shape,
                                             info.var_offset, info.var_shape)


def _variable_from_proto(variable_def, import_scope):
    from tfmini.variables import Variable
    var = Variable.__new__(Variable)
    init_variable_from_proto(var, variable_def, import_scope)
    return var


# -- export --------------------------------------------------------------------------------------------
def _collection_def(key, items, export_scope):
    """A CollectionDef of `items`, or None when they are not serializable (TF skips those with a warning)."""
    from tfmini.train.saver import Saver
    from tfmini.variables import Variable
    out = meta_graph_pb2.CollectionDef()
    if all(isinstance(i, Variable) for i in items):
        protos = [variable_to_proto(v, export_scope) for v in items]
        out.bytes_list.value.extend(p.SerializeToString() for p in protos if p is not None)
    elif all(isinstance(i, Saver) for i in items):
        out.bytes_list.value.extend(s.as_saver_def().SerializeToString() for s in items)
    elif all(isinstance(i, (Operation, Tensor)) for i in items):
        names = [_strip(i.name, export_scope) for i in items]
        out.node_list.value.extend(n for n in names if n is not None)
    elif all(isinstance(i, bool) for i in items):
        return None
    elif all(isinstance(i, int) for i in items):
        out.int64_list.value.extend(items)
    elif all(isinstance(i, (int, float)) for i in items):
        out.float_list.value.extend(items)
    elif all(isinstance(i, (str, bytes)) for i in items):
        out.bytes_list.value.extend(i.encode() if isinstance(i, str) else i for i in items)
    else:
        return None
    return out


def _graph_def_in_scope(graph_def, export_scope, clear_devices):
    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if export_scope and _strip(node.name, export_scope) is None:
            continue
        copy = out.node.add()
        copy.CopyFrom(node)
        if export_scope:
            copy.name = _strip(node.name, export_scope)
            inputs = [_strip(i, export_scope) for i in node.input]
            if None in inputs:
                raise ValueError(f"Node '{node.name}' has an input outside export_scope '{export_scope}'")
            del copy.input[:]
            copy.input.extend(inputs)
            if "_class" in copy.attr:
                groups = [(_strip(s.decode(), export_scope) or s.decode()).encode() for s in copy.attr["_class"].list.s]
                del copy.attr["_class"].list.s[:]
                copy.attr["_class"].list.s.extend(groups)
        if clear_devices:
            copy.device = ""
    return out


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None, collection_list=None,
                      as_text=False, graph=None, export_scope=None, clear_devices=False,
                      clear_extraneous_savers=False, strip_default_attrs=False, save_debug_info=False, **kwargs):
    """The graph (default: the default graph) as a MetaGraphDef, also written to `filename` when given
    (binary, or text format with as_text)."""
    from tfmini import __version__
    from tfmini import tf_logging
    graph = graph or get_default_graph()
    meta = meta_graph_pb2.MetaGraphDef()
    if meta_info_def is not None:
        meta.meta_info_def.CopyFrom(meta_info_def)
    # TF parses tensorflow_version as a version number (empty: "recent"), so tfmini names itself in the free-form
    # git version field.
    meta.meta_info_def.tensorflow_git_version = meta.meta_info_def.tensorflow_git_version or f"tfmini-{__version__}"
    meta.meta_info_def.stripped_default_attrs = strip_default_attrs
    if graph_def is None:
        graph_def = graph.as_graph_def(add_shapes=True)
    elif not isinstance(graph_def, graph_pb2.GraphDef):
        graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
    meta.graph_def.CopyFrom(_graph_def_in_scope(graph_def, export_scope, clear_devices))
    if saver_def is not None:
        meta.saver_def.CopyFrom(saver_def if isinstance(saver_def, saver_pb2.SaverDef)
                                else saver_pb2.SaverDef.FromString(saver_def.SerializeToString()))
    keys = graph.get_all_collection_keys() if collection_list is None else collection_list
    for key in keys:
        items = graph.get_collection(key)
        if not items:
            continue
        if clear_extraneous_savers and key == GraphKeys.SAVERS:
            continue
        collection = _collection_def(key, items, export_scope)
        if collection is None:
            tf_logging.warning(f"Issue encountered when serializing {key}: its elements are not serializable; skipped.")
            continue
        meta.collection_def[key].CopyFrom(collection)
    if filename:
        _write(meta, filename, as_text)
    return meta


def _write(meta, filename, as_text):
    directory = os.path.dirname(os.path.abspath(filename))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{filename}.tmp{os.getpid()}"
    with open(tmp, "w" if as_text else "wb") as f:
        f.write(text_format.MessageToString(meta) if as_text else meta.SerializeToString())
    os.replace(tmp, filename)


# -- import --------------------------------------------------------------------------------------------
def read_meta_graph_file(filename):
    """A MetaGraphDef from a binary or text-format file (TF's read_meta_graph_file)."""
    if not os.path.exists(filename):
        raise OSError(f"File {filename} does not exist.")
    with open(filename, "rb") as f:
        data = f.read()
    meta = meta_graph_pb2.MetaGraphDef()
    try:
        meta.ParseFromString(data)
        return meta
    except message.DecodeError:
        pass
    try:
        text_format.Merge(data.decode("utf-8"), meta)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise errors.InvalidArgumentError(None, None, f"Cannot parse file {filename}: {e}") from None
    return meta


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Adds the meta graph's ops and collections to the default graph (names under `import_scope`); returns
    a Saver built from its SaverDef (a new Saver of all variables when it has none; None without variables)."""
    from tfmini.importer import import_graph_def
    from tfmini.train.saver import Saver
    if isinstance(meta_graph_or_file, (str, os.PathLike)):
        meta = read_meta_graph_file(os.fspath(meta_graph_or_file))
    elif isinstance(meta_graph_or_file, meta_graph_pb2.MetaGraphDef):
        meta = meta_graph_or_file
    else:  # TensorFlow's own MetaGraphDef message
        meta = meta_graph_pb2.MetaGraphDef.FromString(meta_graph_or_file.SerializeToString())
    graph = get_default_graph()
    graph_def = _graph_def_in_scope(meta.graph_def, None, clear_devices)
    import_graph_def(graph_def, name=import_scope or "")
    variables = {}  # one Variable per variable op, shared by the collections it is in
    for key in sorted(meta.collection_def):
        collection = meta.collection_def[key]
        kind = collection.WhichOneof("kind")
        if kind is None:
            continue
        if kind == "node_list":
            items = [graph.as_graph_element(_prepend(n, import_scope)) for n in collection.node_list.value]
        elif kind == "bytes_list" and key in _VARIABLE_KEYS:
            items = []
            for data in collection.bytes_list.value:
                proto = meta_graph_pb2.VariableDef.FromString(data)
                if proto.variable_name not in variables:
                    variables[proto.variable_name] = _variable_from_proto(proto, import_scope)
                items.append(variables[proto.variable_name])
        elif kind == "bytes_list" and key == GraphKeys.SAVERS:
            items = [Saver(saver_def=saver_pb2.SaverDef.FromString(d), name=import_scope)
                     for d in collection.bytes_list.value]
        else:
            items = list(getattr(collection, kind).value)
        for item in items:
            graph.add_to_collection(key, item)
    if meta.HasField("saver_def"):
        return Saver(saver_def=meta.saver_def, name=import_scope)
    if graph.get_collection(GraphKeys.GLOBAL_VARIABLES, import_scope):
        return Saver()
    return None
