"""tfmini.core: what more than one role needs, below the client, the master and the worker.

Errors, dtypes, shapes, devices, attrs and tensor conversion; the op registry; tensor names and
rendezvous keys; broadcasting and index arithmetic; the partitioner; the master and worker interfaces.
It imports nothing of tfmini but `tfmini.protos` (docs/architecture.md, tests/test_layering.py).
"""
