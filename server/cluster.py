"""The master's view of the cluster: which workers exist, their devices, and running a step on them.

Workers are core.interfaces.WorkerInterfaces: the master's own task is the Worker
object itself (called directly), the others are gRPC stubs.
"""
import concurrent.futures
import threading

from tfmini.core import errors, interfaces
from tfmini.core.device import DeviceSpec
from tfmini.protos import worker_pb2


class Cluster:
    def __init__(self, workers, local_task, addresses=None):
        self._workers = dict(workers)        # task name -> worker interface
        self.local_task = local_task
        self.addresses = dict(addresses or {})  # task name -> host:port (none in the embedded session)
        local = DeviceSpec.from_string(local_task)
        local.device_type, local.device_index = "CPU", 0
        self.default_device = local.to_string()
        self._devices = None
        self._lock = threading.Lock()

    def worker(self, task):
        try:
            return self._workers[task]
        except KeyError:
            raise errors.InvalidArgumentError(None, None, f"No worker known for task {task}") from None

    def _device_table(self):
        with self._lock:
            if self._devices is None:
                table = {}
                for task, worker in self._workers.items():
                    for d in worker.get_status(worker_pb2.GetStatusRequest()).device_attributes:
                        table[DeviceSpec.from_string(d.name).to_string()] = d
                self._devices = table
            return self._devices

    def device_names(self):
        return list(self._device_table())

    def device_attributes(self):
        return list(self._device_table().values())

    def incarnation(self, device):
        return self._device_table()[device].incarnation

    def forget_devices(self):
        """Drops the cached device table (a task restarted: its incarnation changed)."""
        with self._lock:
            self._devices = None

    def run_partitions(self, parts, requests, step_id, timeout, sends):
        """Runs one RunGraph per part, `sends[i]` ({rendezvous key: array}) beside requests[i]'s own; returns
        [(response, {key: array})] (WorkerInterface.run_graph_arrays). If any fails, the step is aborted
        everywhere and the error raised."""
        if len(parts) == 1:
            part = parts[0]
            if part.task == self.local_task:
                return [part.worker.run_graph_arrays(requests[0], sends[0])]
            try:
                return [part.worker.run_graph_arrays(requests[0], sends[0], timeout)]
            except errors.OpError:
                self._abort(parts, step_id)
                raise
        local = [i for i, p in enumerate(parts) if p.task == self.local_task]
        futures = {i: p.worker.start_run_graph(interfaces.sends_as_protos(requests[i], sends[i]), timeout)
                   for i, p in enumerate(parts) if i not in local}
        # A part waiting for a pushed tensor does not see its sender fail: the first failure aborts the step
        # everywhere at once (off the transport's thread), and it, not the aborts it causes, is the step's error.
        failures = []

        def failed(error):
            failures.append(error)
            if len(failures) == 1:
                threading.Thread(target=self._abort, args=(parts, step_id), name="abort-step", daemon=True).start()
        # A task whose part is done may still have pushed tensors in flight that another part waits for: if it
        # is lost before the step ends, those never come, so that fails the step too (TF's parts pull instead).
        watches = []
        for future in futures.values():
            future.on_failure(failed)
            watches.append(future.on_peer_lost(failed))
        results, first_error = [None] * len(parts), None
        try:
            try:
                for i in local:
                    results[i] = parts[i].worker.run_graph_arrays(requests[i], sends[i])
            except errors.OpError as e:
                first_error = failures[0] if failures else e
                self._abort(parts, step_id)
            for i, future in futures.items():
                try:
                    results[i] = future.result(None if timeout is None else timeout + 5), {}  # the RPC's deadline
                except concurrent.futures.TimeoutError:
                    first_error = first_error or errors.DeadlineExceededError(
                        None, None, f"Step {step_id} timed out on {parts[i].task}")
                    self._abort(parts, step_id)
                except errors.OpError as e:
                    if first_error is None:
                        first_error = failures[0] if failures else e
                        self._abort(parts, step_id)
        finally:
            for cancel in watches:
                cancel()
        if first_error is not None:
            raise first_error
        return results

    def _abort(self, parts, step_id):
        """CleanupGraph(step_id) on every task of the step, all at once: a frozen peer takes its deadline (3 s) to
        fail, and the others must not wait behind it."""
        def cleanup(worker):
            try:
                worker.cleanup_graph(worker_pb2.CleanupGraphRequest(step_id=step_id))
            except errors.OpError:
                pass  # a dead worker has nothing to clean up
        threads = []
        for p in parts:
            if p.task == self.local_task:
                cleanup(p.worker)  # called directly: at once
            else:
                threads.append(threading.Thread(target=cleanup, args=(p.worker,), name="cleanup-step", daemon=True))
                threads[-1].start()
        for t in threads:
            t.join()
