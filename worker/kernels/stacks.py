"""The stacks of while-loop gradients. A StackV2 makes a new stack each time it runs (so each step has its
own); its handle is the stack itself, which never leaves its task (the placer keeps the pushes and pops
with it)."""
from tfmini.core import errors
from tfmini.worker.kernels import ANY_DEVICE, kernel


class Stack:
    __slots__ = ("name", "values", "max_size", "closed")

    def __init__(self, name, max_size):
        self.name, self.values, self.max_size, self.closed = name, [], max_size, False

    def read(self):  # a handle passes through ops that read refs
        return self


@kernel("StackV2", device_types=ANY_DEVICE)
def _stack(node):
    name = node.attrs.get("stack_name", b"")
    name = name.decode() if isinstance(name, bytes) else name
    label = name or node.name
    return lambda max_size: Stack(label, int(max_size))


@kernel("StackPushV2", device_types=ANY_DEVICE)
def _push(node):
    def push(stack, elem):
        if stack.closed:
            raise errors.InvalidArgumentError(None, None, f"Stack[{stack.name}] has already been closed.")
        if 0 <= stack.max_size <= len(stack.values):
            raise errors.InvalidArgumentError(None, None, f"Stack[{stack.name}] overflowed its max_size "
                                                          f"({stack.max_size})")
        stack.values.append(elem)
        return elem
    return push


@kernel("StackPopV2", device_types=ANY_DEVICE)
def _pop(node):
    def pop(stack):
        if not stack.values:
            raise errors.InvalidArgumentError(None, None, f"Stack[{stack.name}] is empty.")
        return stack.values.pop()
    return pop


@kernel("StackCloseV2", num_outputs=0, device_types=ANY_DEVICE)
def _close(node):
    def close(stack):
        stack.closed = True
        stack.values.clear()
    return close
