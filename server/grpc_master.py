"""The client's side of a remote master: `Session("grpc://host:port")` talks through this."""
from tfmini.server import grpc_transport as transport
from tfmini.server import local


def connect_master(target, config=None):
    """A MasterService stub for `grpc://host:port` (or `host:port`), with the config's step deadline."""
    if isinstance(target, bytes):
        target = target.decode()
    address = target[len("grpc://"):] if target.startswith("grpc://") else target
    if "://" in address:
        raise ValueError(f"Unsupported session target {target!r}: tfmini speaks grpc://host:port")
    in_process = local.lookup(address, transport.MasterStub.pull_fetch_bytes)
    if in_process is not None:  # a server of this very process: its master is called directly, as TF does
        return in_process
    return transport.MasterStub(address, transport.step_timeout(config))
