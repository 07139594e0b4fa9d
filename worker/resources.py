"""Variables live here, outside any step or session: that is what a parameter server is.

Containers map names to VariableRefs; `Reset`/`CleanupAll` drop whole containers.
"""
import threading

from tfmini.core import errors

DEFAULT_CONTAINER = "localhost"


class VariableRef:
    """The mutable buffer behind a ref-typed tensor (`float32_ref`): `value` is None until assigned."""

    __slots__ = ("name", "dtype", "shape", "value")

    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.shape = name, dtype, shape
        self.value = None

    def read(self):
        value = self.value
        if value is None:
            raise errors.FailedPreconditionError(
                None, None, f"Attempting to use uninitialized value {self.name}")
        return value


class ResourceMgr:
    def __init__(self):
        self._lock = threading.Lock()
        self._containers = {}

    def variable(self, container, name, dtype, shape):
        """The variable `container/name`, created (uninitialized) on first use."""
        container = container or DEFAULT_CONTAINER
        with self._lock:
            variables = self._containers.setdefault(container, {})
            ref = variables.get(name)
            if ref is None:
                ref = variables[name] = VariableRef(name, dtype, shape)
            return ref

    def resource(self, container, name, make):
        """The non-variable resource `container/name` (a queue, a reader), made by `make()` on first use."""
        container = container or DEFAULT_CONTAINER
        with self._lock:
            items = self._containers.setdefault(container, {})
            item = items.get(name)
            if item is None:
                item = items[name] = make()
            return item

    def clear(self, containers=None):
        """Drops the named containers (all of them when none are named)."""
        with self._lock:
            for c in list(containers or self._containers):
                self._containers.pop(c or DEFAULT_CONTAINER, None)

    def names(self):
        with self._lock:
            return {c: sorted(v) for c, v in self._containers.items()}
