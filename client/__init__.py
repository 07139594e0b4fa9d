"""tfmini: TensorFlow 1.x's graph-and-session API. `import tfmini as tf`.

The API (`tfmini.api`) loads on the first `tf.<name>`, not here: a server or worker process imports
`tfmini.server`/`tfmini.worker` (and the shared `tfmini.core`) without loading the graph-building client.
"""
import importlib

__version__ = "0.1.0"
VERSION = __version__


def _api():
    return importlib.import_module(f"{__name__}.api")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:  # a submodule (`from tfmini import init_ops`) loads alone
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    api = vars(_api())
    globals().update((k, v) for k, v in api.items() if not k.startswith("__"))
    try:
        return api[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | {k for k in vars(_api()) if not k.startswith("__")})
