"""tf.compat.v1: the whole tfmini API under TF 2's name for TF 1.x, so `import tfmini.compat.v1 as tf` works.

Every name is looked up on `tfmini` when first used (PEP 562), so this module stays in step with the API and
importing it does not load the graph API before a name is used.
"""
import tfmini as _tfmini


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(_tfmini, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return dir(_tfmini)
