"""Numpy's (and TensorFlow's) broadcasting of two shapes, for shape inference, gradients and kernels alike.

A shape is a list of dims, each an int or None where it is not known statically. Shapes align from
their last axis; a missing leading axis counts as 1.
"""


class IncompatibleShapes(ValueError):
    """Two known dims that are neither equal nor 1: `.dims` is the clashing pair."""

    def __init__(self, a, b):
        super().__init__(f"Incompatible dims {a} and {b}")
        self.dims = (a, b)


def _aligned(s0, s1):
    n = max(len(s0), len(s1))
    return [1] * (n - len(s0)) + list(s0), [1] * (n - len(s1)) + list(s1)


def broadcast_shape(s0, s1):
    """The broadcast of two shapes (None where it depends on an unknown dim)."""
    out = []
    for a, b in zip(*_aligned(s0, s1)):
        if a == 1:
            out.append(b)
        elif b == 1 or b is None or a == b:
            out.append(a)
        elif a is None:
            out.append(b)
        else:
            raise IncompatibleShapes(a, b)
    return out


def reduction_axes(s0, s1):
    """TF's BCast reduction indices (r0, r1): the axes of the result each input was broadcast along, so
    its gradient is summed over them. An input reduces every axis where its dim is 1 (both do where
    both are 1, as TF does: the sum keeps the rank right). None when an unknown dim leaves it open."""
    if s0 == s1 and None not in s0:  # TF's fast path: nothing was broadcast
        return [], []
    r0, r1 = [], []
    for i, (a, b) in enumerate(zip(*_aligned(s0, s1))):
        if a == 1 or b == 1:
            if a == 1:
                r0.append(i)
            if b == 1:
                r1.append(i)
        elif a is None or b is None:
            return None
        elif a != b:
            raise IncompatibleShapes(a, b)
    return r0, r1
