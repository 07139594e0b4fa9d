"""One client session on the master: its graph, its versions, and its cached step plans.

The first step of each (feeds, fetches, targets) signature prunes, places,
partitions and registers the pieces with their workers; every later step of
that signature is just one RunGraph per involved worker.
"""
import logging
import random
import threading

from tfmini.core import dtypes, errors, log_context, op_types, tensor_util
from tfmini.core.names import canonical_tensor_name, input_source
from tfmini.core.partition import partition
from tfmini.protos import master_pb2, worker_pb2
from tfmini.server import clocks
from tfmini.server.placement import place
from tfmini.server.prune import prune
from tfmini.worker import kernels

log = logging.getLogger("tfmini.master")
# Cross-task tensors of this master's partitions are pushed by their sender (core/partition.py, worker/worker.py
# Step.push); False keeps TF's pulls, as the partitions of a TensorFlow master have them.
PUSH_TRANSFERS = True


def new_step_id():
    """A random 56-bit id with the top byte 0x01, as TensorFlow's master makes them."""
    return (0x01 << 56) | random.getrandbits(56)


def _merge_step_stats(into, results, offsets):
    """Puts every task's DeviceStepStats into one StepStats on the master's clock: `offsets[i]` is how far
    the clock of results[i]'s task is ahead of the master's (server/clocks.py)."""
    for r, offset in zip(results, offsets):
        shift = -offset
        for dev in r.step_stats.dev_stats:
            merged = into.dev_stats.add()
            merged.CopyFrom(dev)
            for s in merged.node_stats:
                s.all_start_micros += shift
                s.scheduled_micros += shift


class PartitionRun:
    """How to run one task's piece of a plan."""

    __slots__ = ("task", "worker", "graph_handle", "feeds", "recv_keys")

    def __init__(self, task, worker, graph_handle, feeds, recv_keys):
        self.task, self.worker, self.graph_handle = task, worker, graph_handle
        self.feeds = feeds          # (index in RunStepRequest.feed, rendezvous key)
        self.recv_keys = recv_keys  # keys this task hands back


class Plan:
    __slots__ = ("parts", "fetch_keys", "feed_types")

    def __init__(self, parts, fetch_keys, feed_types=()):
        self.parts = parts
        self.fetch_keys = fetch_keys  # rendezvous key of each requested fetch, in request order
        self.feed_types = feed_types  # (index in the request's feeds, DType) of each feed whose type is known

    def check_feeds(self, feed):
        """InvalidArgumentError for a fed tensor whose dtype is not its tensor's (a client converts numpy feeds;
        a request from the wire may not have)."""
        for i, dtype in self.feed_types:
            got = feed[i].tensor.dtype
            if got != dtype.as_datatype_enum:
                try:
                    got = op_types.tf_name(dtypes.as_dtype(got))
                except TypeError:
                    got = f"invalid DataType {got}"
                raise errors.InvalidArgumentError(None, None, f"Type mismatch: actual {got} vs. expect "
                                                              f"{op_types.tf_name(dtype)} (feed '{feed[i].name}')")


class MasterSession:
    def __init__(self, handle, config, cluster):
        self.handle, self.config, self.cluster = handle, config, cluster
        self.nodes = {}
        self.edges = {}  # name -> [(source node, output index or -1 for a control input)]
        self.types = op_types.GraphTypes()  # the checked nodes' output types (core/op_types.py)
        self.order = []
        self.version = 0
        self._plans = {}
        self._callables, self._next_callable = {}, 0
        self._lock = threading.Lock()

    # -- graph ---------------------------------------------------------------
    def extend(self, graph_def, current_version=None):
        """Adds new nodes; `current_version` None is the session's creation (version stays 0)."""
        with self._lock:
            if current_version is not None and current_version != self.version:
                raise errors.AbortedError(None, None, f"Current graph version {current_version} is not the "
                                                      f"session's version {self.version}")
            added = {}
            for node in graph_def.node:
                if not node.name:
                    raise errors.InvalidArgumentError(None, None, "Node with an empty name in GraphDef")
                if node.name in self.nodes or node.name in added:
                    raise errors.InvalidArgumentError(None, None, f"Duplicate node name in graph: '{node.name}'")
                kernels.lookup(node.op, node.name)  # NotFoundError for an op type tfmini does not run
                added[node.name] = node
            edges = {}
            for name, node in added.items():
                edges[name] = sources = [input_source(inp) for inp in node.input]
                for inp, (src, _) in zip(node.input, sources):
                    if src not in self.nodes and src not in added:
                        raise errors.InvalidArgumentError(None, None, f"Node '{name}': unknown input node '{inp}'")
            self.types.add(added.values(), edges)  # InvalidArgumentError for a node its inputs' types break
            # The request's own messages are kept (no copy); their inputs, parsed once, serve every plan.
            self.nodes.update(added)
            self.edges.update(edges)
            self.order.extend(added)
            if current_version is not None:
                self.version += 1
            return self.version

    # -- steps ---------------------------------------------------------------
    def run_step(self, request, timeout=None):
        response, fetched = self.run_step_arrays(request, None, timeout)
        for named, value in zip(response.tensor, fetched):
            if value is not None:
                named.tensor.CopyFrom(tensor_util.make_tensor_proto(value))
        return response

    def run_step_arrays(self, request, feeds, timeout=None):
        """A step whose feed i is feeds[i] where that is not None (feeds None: every feed is a TensorProto);
        returns (response, fetched) as core.interfaces.MasterInterface.run_step_arrays."""
        feed, fetch, target = request.feed, request.fetch, request.target
        key = (tuple([f.name for f in feed]) if len(feed) else (), tuple(fetch) if len(fetch) else (),
               tuple(target) if len(target) else ())
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._plans[key] = self._build_plan(*key)
        if plan.feed_types:
            plan.check_feeds(feed)
        step_id = new_step_id()
        log_context.step.set(step_id)  # log lines say the id the workers log (the master's _step resets it)
        pull_bytes = request.tfmini_pull_fetch_bytes if self.cluster.addresses else 0
        requests, sends = [], []
        for part in plan.parts:
            r = worker_pb2.RunGraphRequest(graph_handle=part.graph_handle, step_id=step_id)
            if part.recv_keys:
                r.recv_key.extend(part.recv_keys)
                r.tfmini_park_recv_bytes = pull_bytes
            arrays = {}
            for i, k in part.feeds:
                if feeds is not None and feeds[i] is not None:
                    arrays[k] = feeds[i]  # in process: the array itself, no TensorProto
                    continue
                nt = r.send.add()
                nt.name = k
                nt.tensor.CopyFrom(feed[i].tensor)
            requests.append(r)
            sends.append(arrays)
        options = request.options if request.HasField("options") else None
        if options is not None and options.output_partition_graphs:
            for r in requests:  # each worker reports its pieces, one per device, as TF's RunMetadata does
                r.exec_opts.record_partition_graphs = True
        traced = options is not None and options.trace_level != 0  # NO_TRACE
        if traced:
            for r in requests:
                r.exec_opts.record_timeline = True
        timeout = self._timeout(options.timeout_in_ms if options is not None else 0, timeout)
        if timeout is not None:  # blocking ops (queues) wait no longer than the step may run
            for r in requests:
                r.tfmini_timeout_ms = max(1, int(timeout * 1000))
        results_and_arrays = self.cluster.run_partitions(plan.parts, requests, step_id, timeout, sends)
        results = [r for r, _ in results_and_arrays]
        response = master_pb2.RunStepResponse()
        fetched = [None] * len(fetch)
        if plan.fetch_keys:
            arrays = {k: v for _, a in results_and_arrays for k, v in a.items()}
            by_key = {nt.name: nt.tensor for r in results for nt in r.recv}
            parked = {k: part.task for part, r in zip(plan.parts, results) for k in r.tfmini_parked}
            for i, (name, k) in enumerate(zip(fetch, plan.fetch_keys)):
                nt = response.tensor.add()
                nt.name = name
                if k in parked:  # large: the client streams it straight from the task that made it
                    response.tfmini_pull.add(index=i, task=parked[k], address=self.cluster.addresses[parked[k]],
                                             step_id=step_id, rendezvous_key=k)
                elif k in arrays:
                    fetched[i] = arrays[k]
                else:
                    nt.tensor.CopyFrom(by_key[k])
        if traced:
            _merge_step_stats(response.metadata.step_stats, results, [
                0 if part.task == self.cluster.local_task
                else clocks.offset_us(part.worker, self.cluster.addresses.get(part.task, part.task))
                for part in plan.parts])
        if options is not None and options.output_partition_graphs:
            response.metadata.partition_graphs.extend(g for r in results for g in r.partition_graph)
        return response, fetched

    # -- callables: a step signature named once, then run by handle with feeds in order -----------
    def make_callable(self, options):
        if len(options.tensor_connection):
            raise errors.UnimplementedError(None, None, "CallableOptions.tensor_connection is not supported")
        template = master_pb2.RunStepRequest(session_handle=self.handle, fetch=options.fetch, target=options.target)
        for name in options.feed:
            template.feed.add(name=name)
        if options.HasField("run_options"):
            template.options.CopyFrom(options.run_options)
        with self._lock:
            self._next_callable += 1
            self._callables[self._next_callable] = template
            return self._next_callable

    def run_callable(self, request, timeout=None):
        response, fetched = self.run_callable_arrays(request, None, timeout)
        for tensor, value in zip(response.fetch, fetched):
            if value is not None:
                tensor.CopyFrom(tensor_util.make_tensor_proto(value))
        return response

    def run_callable_arrays(self, request, feeds, timeout=None):
        """run_callable with feeds[i] the array of request.feed[i] where not None, as run_step_arrays."""
        template = self._callables.get(request.handle)
        if template is None:
            raise errors.InvalidArgumentError(None, None, f"No such callable handle: {request.handle}")
        if len(request.feed) != len(template.feed):
            raise errors.InvalidArgumentError(None, None, f"Expected {len(template.feed)} feed tensors, but got "
                                                          f"{len(request.feed)}")
        step = master_pb2.RunStepRequest()
        step.CopyFrom(template)
        step.tfmini_pull_fetch_bytes = request.tfmini_pull_fetch_bytes
        for named, tensor in zip(step.feed, request.feed):
            named.tensor.CopyFrom(tensor)
        response, fetched = self.run_step_arrays(step, feeds, timeout)
        return master_pb2.RunCallableResponse(fetch=[t.tensor for t in response.tensor], metadata=response.metadata,
                                              tfmini_pull=response.tfmini_pull), fetched

    def release_callable(self, handle):
        with self._lock:
            if self._callables.pop(handle, None) is None:
                raise errors.InvalidArgumentError(None, None, f"No such callable handle: {handle}")

    def _timeout(self, step_ms, cap=None):
        """The step's deadline in seconds (None: none of its own), no later than the caller's `cap`."""
        ms = step_ms or self.config.operation_timeout_in_ms
        own = ms / 1000.0 if ms > 0 else None
        return cap if own is None or (cap is not None and cap < own) else own

    def _build_plan(self, feed_names, fetch_names, targets):
        """Prunes, places, partitions and registers the graph for one step signature."""
        feeds = [canonical_tensor_name(f) for f in feed_names]
        fetches = [canonical_tensor_name(f) for f in fetch_names]
        feed_pairs = {input_source(f) for f in feeds}
        for node, _ in feed_pairs:
            self._require(node, "Feed")
        for f in fetches:
            self._require(input_source(f)[0], "Fetch")
        for t in targets:
            self._require(t, "Target")
        # A fetch that is also fed comes straight from its feed: its node need not run.
        roots = [input_source(f)[0] for f in fetches if input_source(f) not in feed_pairs] + list(targets)
        needed = prune(self.edges, feed_pairs, roots)
        order = [n for n in self.order if n in needed]
        devices = place(self.nodes, needed | {n for n, _ in feed_pairs}, self.cluster.device_names(),
                        self.cluster.default_device, self.config.allow_soft_placement, kernels.device_types)
        if self.config.log_device_placement:
            for name in order:
                log.info("%s: (%s): %s", name, self.nodes[name].op, devices[name])
        unique_fetches = list(dict.fromkeys(fetches))
        parts = partition(self.nodes, order, devices, list(dict.fromkeys(feeds)), unique_fetches,
                          self.cluster.incarnation, edges=self.edges, push=PUSH_TRANSFERS)
        feed_index = {f: i for i, f in enumerate(feeds)}
        runs, key_of_fetch = [], {}
        for task, graph_def in parts.graphs.items():
            worker = self.cluster.worker(task)
            response = worker.register_graph(worker_pb2.RegisterGraphRequest(
                session_handle=self.handle, graph_def=graph_def, create_worker_session_called=True))
            runs.append(PartitionRun(task, worker, response.graph_handle,
                                     [(feed_index[name], k) for name, k in parts.feed_keys[task]],
                                     [k for _, k in parts.fetch_keys[task]]))
            key_of_fetch.update(parts.fetch_keys[task])
        feed_types = [(i, self.types.type_of(*input_source(f))) for i, f in enumerate(feeds)]
        return Plan(runs, [key_of_fetch[f] for f in fetches], [(i, t) for i, t in feed_types if t is not None])

    def _require(self, name, what):
        if name not in self.nodes:
            raise errors.NotFoundError(None, None, f"{what} {name} was not found in the graph")
        return name

    def close(self):
        with self._lock:  # a step of this session may still be adding a plan (Reset closes sessions in use)
            plans, self._plans = list(self._plans.values()), {}
        for plan in plans:
            for part in plan.parts:
                try:
                    part.worker.deregister_graph(worker_pb2.DeregisterGraphRequest(
                        graph_handle=part.graph_handle, session_handle=self.handle))
                except errors.OpError:
                    pass  # a worker that is gone has nothing left to free
