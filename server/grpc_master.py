"""The client's side of a remote master: `Session("grpc://host:port")` talks through this."""
import dataclasses

from tfmini.server import grpc_transport as transport
from tfmini.server import local, security


def connect_master(target, config=None):
    """A MasterService stub for `grpc://host:port` (or `host:port`), with the config's step deadline."""
    if isinstance(target, bytes):
        target = target.decode()
    address, tls = security.split_target(target)
    if "://" in address:
        raise ValueError(f"Unsupported session target {target!r}: tfmini speaks grpc://host:port "
                         "(grpcs://host:port: TLS)")
    in_process = local.lookup(address)
    if in_process is not None:  # a server of this very process: its master is called directly, as TF does
        return in_process
    settings = security.current()  # TLS and token from the environment (docs/security.md)
    if tls and not settings.client_tls:
        settings = dataclasses.replace(settings, tls=True)  # grpcs:// with no CA of ours: the system's roots
    return transport.MasterStub(address, transport.step_timeout(config), settings)
