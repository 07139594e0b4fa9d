"""One client session on the master: its graph, its versions, and its cached step plans.

The first step of each (feeds, fetches, targets) signature prunes, places,
partitions and registers the pieces with their workers; every later step of
that signature is just one RunGraph per involved worker.
"""
import logging
import random
import threading
import time

from tfmini.core import errors
from tfmini.core.names import canonical_tensor_name, input_source
from tfmini.core.partition import partition
from tfmini.protos import master_pb2, worker_pb2
from tfmini.server.placement import place
from tfmini.server.prune import prune
from tfmini.worker import kernels

log = logging.getLogger("tfmini.master")


def new_step_id():
    """A random 56-bit id with the top byte 0x01, as TensorFlow's master makes them."""
    return (0x01 << 56) | random.getrandbits(56)


def _merge_step_stats(into, results, sent_us, received_us):
    """Puts every task's DeviceStepStats into one StepStats on the master's clock: a task's offset is the
    midpoint of the step's RPCs on the master minus the midpoint of its RunGraph on the task (NTP-style)."""
    for r in results:
        shift = 0
        if r.tfmini_end_micros:
            shift = (sent_us + received_us) // 2 - (r.tfmini_start_micros + r.tfmini_end_micros) // 2
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
    __slots__ = ("parts", "fetch_keys")

    def __init__(self, parts, fetch_keys):
        self.parts = parts
        self.fetch_keys = fetch_keys  # rendezvous key of each requested fetch, in request order


class MasterSession:
    def __init__(self, handle, config, cluster):
        self.handle, self.config, self.cluster = handle, config, cluster
        self.nodes = {}
        self.edges = {}  # name -> [(source node, output index or -1 for a control input)]
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
            # The request's own messages are kept (no copy); their inputs, parsed once, serve every plan.
            self.nodes.update(added)
            self.edges.update(edges)
            self.order.extend(added)
            if current_version is not None:
                self.version += 1
            return self.version

    # -- steps ---------------------------------------------------------------
    def run_step(self, request, timeout=None):
        feed, fetch, target = request.feed, request.fetch, request.target
        key = (tuple([f.name for f in feed]) if len(feed) else (), tuple(fetch) if len(fetch) else (),
               tuple(target) if len(target) else ())
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._plans[key] = self._build_plan(*key)
        step_id = new_step_id()
        pull_bytes = request.tfmini_pull_fetch_bytes if self.cluster.addresses else 0
        requests = []
        for part in plan.parts:
            r = worker_pb2.RunGraphRequest(graph_handle=part.graph_handle, step_id=step_id)
            if part.recv_keys:
                r.recv_key.extend(part.recv_keys)
                r.tfmini_park_recv_bytes = pull_bytes
            for i, k in part.feeds:
                nt = r.send.add()
                nt.name = k
                nt.tensor.CopyFrom(feed[i].tensor)
            requests.append(r)
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
        sent_us = time.time_ns() // 1000
        results = self.cluster.run_partitions(plan.parts, requests, step_id, timeout)
        received_us = time.time_ns() // 1000
        response = master_pb2.RunStepResponse()
        if plan.fetch_keys:
            by_key = {nt.name: nt.tensor for r in results for nt in r.recv}
            parked = {k: part.task for part, r in zip(plan.parts, results) for k in r.tfmini_parked}
            for i, (name, k) in enumerate(zip(fetch, plan.fetch_keys)):
                nt = response.tensor.add()
                nt.name = name
                if k in parked:  # large: the client streams it straight from the task that made it
                    response.tfmini_pull.add(index=i, task=parked[k], address=self.cluster.addresses[parked[k]],
                                             step_id=step_id, rendezvous_key=k)
                else:
                    nt.tensor.CopyFrom(by_key[k])
        if traced:
            _merge_step_stats(response.metadata.step_stats, results, sent_us, received_us)
        if options is not None and options.output_partition_graphs:
            response.metadata.partition_graphs.extend(g for r in results for g in r.partition_graph)
        return response

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
        response = self.run_step(step, timeout)
        return master_pb2.RunCallableResponse(fetch=[t.tensor for t in response.tensor], metadata=response.metadata,
                                              tfmini_pull=response.tfmini_pull)

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
                          self.cluster.incarnation, edges=self.edges)
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
        return Plan(runs, [key_of_fetch[f] for f in fetches])

    def _require(self, name, what):
        if name not in self.nodes:
            raise errors.NotFoundError(None, None, f"{what} {name} was not found in the graph")
        return name

    def close(self):
        for plan in self._plans.values():
            for part in plan.parts:
                try:
                    part.worker.deregister_graph(worker_pb2.DeregisterGraphRequest(
                        graph_handle=part.graph_handle, session_handle=self.handle))
                except errors.OpError:
                    pass  # a worker that is gone has nothing left to free
        self._plans.clear()
