"""tf.Session: sends graph deltas to a master and runs steps through it.

`Session()` starts an in-process master and worker and calls them directly;
`Session("grpc://host:port")` talks to a remote master. Both exchange the
same request/response messages.
"""
import atexit
import contextlib
import sys
import threading
import weakref

import numpy as np

from tfmini.core import dtypes, errors, tensor_util
from tfmini.graph import Graph, Operation, Tensor, get_default_graph
from tfmini.protos import config_pb2, master_pb2, named_tensor_pb2, tensor_pb2

_default_session = threading.local()
_EXIT_CLOSE_TIMEOUT = 0.5  # seconds a session still open at exit may spend closing (a frozen master)
_open_sessions = weakref.WeakSet()
_exit_hook = []


def _close_at_exit(session):
    """Closes `session` when the process exits, if the user did not. atexit runs while threads and grpc still
    work, with a short deadline; a finalizer during interpreter shutdown makes no RPC (one can deadlock in grpc)."""
    if not _exit_hook:
        _exit_hook.append(atexit.register(_close_open_sessions))  # after grpc's import: runs before its hooks
    _open_sessions.add(session)


def _close_open_sessions():
    for session in list(_open_sessions):
        session._close(_EXIT_CLOSE_TIMEOUT)


def get_default_session():
    stack = getattr(_default_session, "stack", None)
    return stack[-1] if stack else None


def _run_with_default_session(fetch, feed_dict, session):
    session = session or get_default_session()
    if session is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. Use "
                         "`with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    if session.graph is not fetch.graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph is different "
                         "from the session's graph.")
    return session.run(fetch, feed_dict)


def _connect(target, config):
    if not target:
        from tfmini.server.local import local_master
        return local_master(config)
    from tfmini.server.grpc_master import connect_master
    return connect_master(target, config)


class _FetchPlan:
    """How one `fetches` structure maps to fetch and target names, and how results go back into it."""

    def __init__(self, graph, fetches):
        self.fetch_names, self.targets = [], []
        self._index = {}
        self.request = None  # the RunStepRequest of these fetches with no feeds, once made
        self.rebuild = self._plan(graph, fetches)

    def _plan(self, graph, fetches):
        if fetches is None:
            raise TypeError(f"Fetch argument {fetches!r} has invalid type {type(fetches)}, must be a string or "
                            f"Tensor. (Can not convert a NoneType into a Tensor or Operation.)")
        if isinstance(fetches, (list, tuple)):
            subs = [self._plan(graph, f) for f in fetches]
            kind = type(fetches)
            if hasattr(fetches, "_fields"):  # namedtuple
                return lambda values: kind(*[s(values) for s in subs])
            return lambda values: kind(s(values) for s in subs)
        if isinstance(fetches, dict):
            subs = [(k, self._plan(graph, v)) for k, v in fetches.items()]
            kind = type(fetches)
            return lambda values: kind((k, s(values)) for k, s in subs)
        from tfmini.indexed_slices import IndexedSlices, IndexedSlicesValue
        if isinstance(fetches, IndexedSlices):  # fetched as TF's IndexedSlicesValue(values, indices, dense_shape)
            parts = [None if t is None else self._plan(graph, t)
                     for t in (fetches.values, fetches.indices, fetches.dense_shape)]
            return lambda values: IndexedSlicesValue(*[None if p is None else p(values) for p in parts])
        from tfmini.sparse_tensor import SparseTensor, SparseTensorValue
        if isinstance(fetches, SparseTensor):  # fetched as TF's SparseTensorValue(indices, values, dense_shape)
            parts = [self._plan(graph, t) for t in (fetches.indices, fetches.values, fetches.dense_shape)]
            return lambda values: SparseTensorValue(*[p(values) for p in parts])
        try:
            element = graph.as_graph_element(fetches, allow_tensor=True, allow_operation=True)
        except (TypeError, ValueError, KeyError) as e:
            raise type(e)(f"Fetch argument {fetches!r} cannot be interpreted as a Tensor. ({e})") from None
        if isinstance(element, Operation):
            if element.name not in self.targets:
                self.targets.append(element.name)
            return lambda values: None
        name = element.name
        if name not in self._index:
            self._index[name] = len(self.fetch_names)
            self.fetch_names.append(name)
        i = self._index[name]
        return lambda values: values[i]


class BaseSession:
    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else get_default_graph()
        if not isinstance(self._graph, Graph):
            raise TypeError(f"graph must be a tf.Graph, but got {type(self._graph)}")
        self._target = target.encode() if isinstance(target, str) else target
        self._config = config or config_pb2.ConfigProto()
        self._master = _connect(target, self._config)
        self._pull_bytes = self._master.pull_fetch_bytes  # a remote master leaves large fetches
        self._handle = None
        self._sent_ops = 0
        self._graph_version = 0
        self._closed = False
        self._lock = threading.Lock()
        self._default_cm = None
        self._fetch_plans = {}

    graph = property(lambda self: self._graph)
    sess_str = property(lambda self: self._target)

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    # -- graph deltas -------------------------------------------------------
    def _extend_graph(self):
        n = len(self._graph._ops)
        if self._handle is not None and n == self._sent_ops:
            return
        delta = self._graph.as_graph_def(from_version=self._sent_ops)
        if self._handle is None:
            resp = self._master.create_session(master_pb2.CreateSessionRequest(graph_def=delta, config=self._config))
            self._handle, self._graph_version = resp.session_handle, resp.graph_version
            _close_at_exit(self)
        else:
            resp = self._master.extend_session(master_pb2.ExtendSessionRequest(
                session_handle=self._handle, graph_def=delta, current_graph_version=self._graph_version))
            self._graph_version = resp.new_graph_version
        self._sent_ops = n

    # -- run ----------------------------------------------------------------
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        plan = self._fetch_plan(fetches)
        feeds, arrays = self._feeds(feed_dict) if feed_dict else (None, ())
        with self._lock:
            self._extend_graph()
        if options is not None and not options.ByteSize():
            options = None  # all defaults (NO_TRACE): the step as without options, its request reused
        if feeds is None and options is None:
            request = plan.request  # the same fetches again: the master only reads it
            if request is None:
                request = plan.request = master_pb2.RunStepRequest(
                    session_handle=self._handle, fetch=plan.fetch_names, target=plan.targets,
                    tfmini_pull_fetch_bytes=self._pull_bytes)
        else:
            request = master_pb2.RunStepRequest(session_handle=self._handle, feed=feeds, fetch=plan.fetch_names,
                                                target=plan.targets, tfmini_pull_fetch_bytes=self._pull_bytes)
            if options is not None:
                request.options.CopyFrom(options)
        # Feeds and fetches as arrays: an in-process master passes them by reference, a stub converts them.
        response, fetched = self._master.run_step_arrays(request, arrays)
        if run_metadata is not None:
            run_metadata.CopyFrom(response.metadata)
        return plan.rebuild(self._values([t.tensor for t in response.tensor], response.tfmini_pull, fetched))

    def _values(self, protos, pulls, fetched=None):
        """Fetched arrays: handed back as arrays (`fetched[i]`, by an in-process master), from the response's
        tensors, or pulled from their task when the master left them there (large ones, see MasterStub.pull);
        a tensor fetched twice is pulled once."""
        if fetched is not None:
            protos = [t if a is None else a for t, a in zip(protos, fetched)]
        if not pulls:
            return [_to_numpy(t) for t in protos]
        pulled, by_key = {}, {}
        for p in pulls:
            key = (p.task, p.step_id, p.rendezvous_key)
            if key not in by_key:
                by_key[key] = self._master.pull(p)
            pulled[p.index] = by_key[key]
        return [pulled[i] if i in pulled else _to_numpy(t) for i, t in enumerate(protos)]

    def _fetch_plan(self, fetches):
        """The _FetchPlan of `fetches`, kept for hashable fetches (a tensor, an op, a name, a tuple)."""
        try:
            plan = self._fetch_plans.get(fetches)
        except TypeError:  # a list or dict: planned afresh each time
            return _FetchPlan(self._graph, fetches)
        if plan is None:
            plan = _FetchPlan(self._graph, fetches)
            if len(self._fetch_plans) < 1024:
                self._fetch_plans[fetches] = plan
        return plan

    def _feeds(self, feed_dict):
        """(NamedTensorProtos, arrays) of the feeds, as _feed_pair makes them."""
        feeds, arrays = [], []
        for key, value in feed_dict.items():
            tensor = self._feed_key(key)
            proto, array = _feed_pair(tensor, value)
            feeds.append(named_tensor_pb2.NamedTensorProto(name=tensor.name, tensor=proto))
            arrays.append(array)
        return feeds, arrays

    def _feed_key(self, key):
        try:
            tensor = self._graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
        except (TypeError, ValueError, KeyError) as e:
            raise TypeError(f"Cannot interpret feed_dict key as Tensor: {e}") from None
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Cannot interpret feed_dict key as Tensor: {key!r}")
        return tensor

    def partial_run_setup(self, fetches, feeds=None):
        raise errors.UnimplementedError(None, None, "partial_run is not supported by tfmini")

    def list_devices(self):
        from tfmini.protos import master_pb2 as m
        with self._lock:
            self._extend_graph()
        resp = self._master.list_devices(m.ListDevicesRequest(session_handle=self._handle))
        return list(resp.local_device) + list(resp.remote_device)

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running `fetches` with positional feeds, through the master's MakeCallable/RunCallable:
        the step signature is named once, each call sends only the feed values."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        plan = _FetchPlan(self._graph, fetches)
        feed_tensors = [self._feed_key(f) for f in feed_list or []]
        with self._lock:
            self._extend_graph()
        options = config_pb2.CallableOptions(feed=[t.name for t in feed_tensors], fetch=plan.fetch_names,
                                             target=plan.targets)
        handle = self._master.make_callable(master_pb2.MakeCallableRequest(session_handle=self._handle,
                                                                           options=options)).handle

        def call(*args, **kwargs):
            if len(args) != len(feed_tensors):
                raise TypeError(f"Expected {len(feed_tensors)} feed values, got {len(args)}")
            if self._closed:
                raise RuntimeError("Attempted to use a closed Session.")
            pairs = [_feed_pair(t, v) for t, v in zip(feed_tensors, args)]
            request = master_pb2.RunCallableRequest(session_handle=self._handle, handle=handle,
                                                    feed=[proto for proto, _ in pairs],
                                                    tfmini_pull_fetch_bytes=self._pull_bytes)
            response, fetched = self._master.run_callable_arrays(request, [array for _, array in pairs])
            if kwargs.get("run_metadata") is not None:
                kwargs["run_metadata"].CopyFrom(response.metadata)
            return plan.rebuild(self._values(response.fetch, response.tfmini_pull, fetched))
        return call

    # -- lifetime -----------------------------------------------------------
    def close(self):
        self._close()

    def _close(self, timeout=None):
        if self._closed:
            return
        self._closed = True
        _open_sessions.discard(self)
        if self._handle is not None:
            try:
                self._master.close_session(master_pb2.CloseSessionRequest(session_handle=self._handle), timeout)
            except errors.OpError:
                pass  # the master may already be gone; the session is closed either way
        self._master.close()

    def __del__(self):
        if sys.is_finalizing():
            return  # closed at exit already (_close_open_sessions); an RPC now can deadlock in grpc
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def as_default(self):
        return _default_session_scope(self)

    def __enter__(self):
        self._default_cm = self.as_default()
        self._default_cm.__enter__()
        self._graph_cm = self._graph.as_default()
        self._graph_cm.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._graph_cm.__exit__(exc_type, exc, tb)
        self._default_cm.__exit__(exc_type, exc, tb)
        self.close()

    @staticmethod
    def reset(target, containers=None, config=None):
        master = _connect(target, config or config_pb2.ConfigProto())
        try:
            master.reset(master_pb2.ResetRequest(container=containers or []))
        finally:
            master.close()


def _feed_pair(tensor, value):
    """(TensorProto, array) of a feed: a numeric value is the array, its TensorProto only says the dtype
    (core.interfaces.MasterInterface.run_step_arrays); strings and bfloat16 travel as TensorProtos (array None)."""
    array = _feed_array(tensor, value)
    dtype = tensor.dtype.base_dtype
    if array.dtype.kind not in "biufc" or dtype == dtypes.bfloat16:
        return _feed_proto(tensor, array), None
    array = np.array(array)  # the step's own copy, read-only as a feed from the wire is
    array.flags.writeable = False
    return tensor_pb2.TensorProto(dtype=dtype.as_datatype_enum), array[()] if array.ndim == 0 else array


def _feed_proto(tensor, array):
    dtype = tensor.dtype.base_dtype
    # `array` already has the feed's dtype: only strings and bfloat16 need the dtype spelled out.
    return tensor_util.make_tensor_proto(array, dtype if dtype in (dtypes.string, dtypes.bfloat16) else None)


def _feed_array(tensor, value):
    """`value` as an array of `tensor`'s dtype, its shape checked (TF's errors)."""
    dtype = tensor.dtype.base_dtype
    if isinstance(value, Tensor):
        raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                        "Python scalars, strings, lists, numpy ndarrays, or TensorHandles.")
    try:
        array = np.asarray(value, dtype=dtype.as_numpy_dtype if dtype != dtypes.string else object)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Cannot feed value {value!r} for Tensor '{tensor.name}' of dtype {dtype.name}: {e}") from None
    if not _fits(tensor.shape.dims, array.shape):
        raise ValueError(f"Cannot feed value of shape {array.shape} for Tensor '{tensor.name}', which has shape "
                         f"'{tensor.shape}'")
    return array


def _fits(dims, shape):
    """Whether a static shape (dims, None = unknown) admits `shape`: TensorShape's test, without the objects."""
    if dims is None:
        return True
    return len(dims) == len(shape) and all(d is None or d == n for d, n in zip(dims, shape))


def _to_numpy(proto):
    """A fetch's value for the user: from its TensorProto, or the user's own copy of an array handed back."""
    if isinstance(proto, (np.ndarray, np.generic)) and proto.dtype.kind in "biufc":
        return proto.copy()[()] if proto.ndim == 0 else proto.copy()
    if not isinstance(proto, tensor_pb2.TensorProto):  # a value only its TensorProto gives TF's type (str, float)
        proto = tensor_util.make_tensor_proto(proto)
    array = tensor_util.make_ndarray(proto)
    if array.dtype != object and not array.flags.writeable:
        array = array.copy()  # users may write into results, as with TensorFlow
    return array[()] if array.ndim == 0 else array


@contextlib.contextmanager
def _default_session_scope(session):
    if not hasattr(_default_session, "stack"):
        _default_session.stack = []
    _default_session.stack.append(session)
    try:
        yield session
    finally:
        _default_session.stack.remove(session)


class Session(BaseSession):
    """tf.Session(target='', graph=None, config=None)."""


class InteractiveSession(BaseSession):
    """A Session that installs itself as the default, for shells: `t.eval()` and `op.run()` just work."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._default_cm = self.as_default()
        self._default_cm.__enter__()

    def close(self):
        if not self._closed and self._default_cm is not None:
            try:
                self._default_cm.__exit__(None, None, None)
            except ValueError:
                pass
        super().close()
