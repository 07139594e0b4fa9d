"""Op types as data: for each op type, how its outputs' dtypes and shapes follow from its inputs and attrs.

The client uses it to build graphs (and import GraphDefs); the master reads
`ref_inputs` for colocation. Kernels are registered apart, on the worker.
"""
from tfmini import errors


class OpDef:
    __slots__ = ("name", "infer", "ref_inputs", "stateful", "input_names")

    def __init__(self, name, infer, ref_inputs=(), stateful=False, input_names=None):
        self.name, self.infer = name, infer
        self.ref_inputs, self.stateful = tuple(ref_inputs), stateful
        self.input_names = input_names


_OPS = {}


def register(names, infer, ref_inputs=(), stateful=False, input_names=None):
    """Registers one or several op types; `infer(op)` returns [(dtype, TensorShape), ...] for the outputs."""
    for name in [names] if isinstance(names, str) else names:
        _OPS[name] = OpDef(name, infer, ref_inputs, stateful, input_names)


def shape_fn(*names, **kwargs):
    """Decorator form of `register`."""
    def wrap(fn):
        register(names, fn, **kwargs)
        return fn
    return wrap


def lookup(name, node_name=None):
    try:
        return _OPS[name]
    except KeyError:
        where = f" (node '{node_name}')" if node_name else ""
        raise errors.NotFoundError(None, None, f"Op type not registered '{name}'{where}") from None


def is_registered(name):
    return name in _OPS


def registered_ops():
    return sorted(_OPS)
