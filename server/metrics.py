"""Prometheus metrics of one tfmini-server, served over HTTP on a port of its own (`--metrics-port`).

Each Server has its own CollectorRegistry (tests run several servers in one process). The step path only
bumps counters where the work happens (the master's step: a counter and a histogram; the transport's
process-wide Counters in grpc_transport and grpc_link); everything else is computed when /metrics is scraped.
"""
import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tfmini.server import grpc_link, grpc_transport as transport
from tfmini.worker.resources import VariableRef

STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _ScrapeCollector:
    """The gauges and the transport's counters, read at scrape time."""

    def __init__(self, task, master, worker):
        self.task, self.master, self.worker = task, master, worker

    def collect(self):
        task = self.task
        served = CounterMetricFamily("tfmini_rpcs_served", "RPCs this process served, by method and status code.",
                                     labels=["task", "method", "status"])
        for (method, status), n in list(transport.RPCS_SERVED.items()):
            served.add_metric([task, method, status], n)
        made = CounterMetricFamily("tfmini_rpcs_made", "RPCs this process made, by method and status code.",
                                   labels=["task", "method", "status"])
        for (method, status), n in list(transport.RPCS_MADE.items()):
            made.add_metric([task, method, status], n)
        sent = CounterMetricFamily("tfmini_peer_sent_bytes", "Request payload bytes sent to each peer.",
                                   labels=["task", "peer"])
        received = CounterMetricFamily("tfmini_peer_received_bytes", "Response payload bytes received from "
                                       "each peer.", labels=["task", "peer"])
        for (peer, direction), n in list(transport.PEER_BYTES.items()):
            (sent if direction == "sent" else received).add_metric([task, peer], n)
        served_sent = CounterMetricFamily("tfmini_served_peer_sent_bytes", "Bytes this server answered each "
                                          "caller host with.", labels=["task", "peer"])
        served_received = CounterMetricFamily("tfmini_served_peer_received_bytes", "Bytes this server received "
                                              "from each caller host.", labels=["task", "peer"])
        for (peer, direction), n in list(grpc_link.SERVED_PEER_BYTES.items()):
            (served_sent if direction == "sent" else served_received).add_metric([task, peer], n)
        by_rpc = CounterMetricFamily("tfmini_rpc_bytes", "Payload bytes sent or received, as caller or server, "
                                     "by method.", labels=["task", "method"])
        for method, n in list(transport.RPC_BYTES.items()):
            by_rpc.add_metric([task, method], n)
        yield from (served, made, sent, received, served_sent, served_received, by_rpc)
        yield _gauge("tfmini_master_sessions", "Live master sessions.", task, len(self.master._sessions))
        yield _gauge("tfmini_registered_graphs", "Graphs registered with the worker.", task,
                     len(self.worker._graphs))
        yield _gauge("tfmini_variable_bytes", "Bytes of the variables held in the worker's resource manager.",
                     task, variable_bytes(self.worker.resources))
        yield _gauge("tfmini_threads", "Threads of this process.", task, threading.active_count())


def _gauge(name, doc, task, value):
    g = GaugeMetricFamily(name, doc, labels=["task"])
    g.add_metric([task], value)
    return g


def variable_bytes(resources):
    with resources._lock:
        items = [v for container in resources._containers.values() for v in container.values()]
    return sum(getattr(v.value, "nbytes", 0) for v in items if isinstance(v, VariableRef) and v.value is not None)


class ServerMetrics:
    """The metrics of the server of `task`; `start(port, host)` serves them at http://host:port/metrics."""

    def __init__(self, task, master, worker):
        self.task = task
        self.registry = CollectorRegistry(auto_describe=True)
        steps = Counter("tfmini_steps", "Steps run by this task's master (RunStep and RunCallable).", ["task"],
                        registry=self.registry).labels(task)
        latency = Histogram("tfmini_step_seconds", "Latency of the steps this task's master ran.", ["task"],
                            buckets=STEP_BUCKETS, registry=self.registry).labels(task)
        self.registry.register(_ScrapeCollector(task, master, worker))

        def on_step(seconds):
            steps.inc()
            latency.observe(seconds)
        master.on_step = on_step
        self._http = None
        self.port = None

    def start(self, port, host="0.0.0.0"):
        self._http, _ = start_http_server(port, host, registry=self.registry)
        self.port = self._http.server_port
        return self.port

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

