"""The names the roles pass each other: tensor names, NodeDef inputs and rendezvous keys.

A tensor is "node:index" ("node" alone is index 0); a NodeDef input is a tensor name or "^node" for a
control input. A rendezvous key is TensorFlow's `<send_device>;<hex incarnation>;<recv_device>;<tensor>;<frame:iter>`.
"""
from tfmini.core import errors


def parse_tensor_name(name):
    """("node", index) of "node:index" (index 0 when absent); InvalidArgumentError if the index is no number."""
    node, _, index = name.partition(":")
    if not index:
        return node, 0
    if index.isascii() and index.isdigit():  # not int()'s "-1", " 1" or "1_0"
        return node, int(index)
    raise errors.InvalidArgumentError(None, None, f"Invalid tensor name '{name}': '{index}' is not an output index")


def input_source(name):
    """(node, index) of a NodeDef input; index -1 marks a control input ("^node")."""
    if name.startswith("^"):
        return name[1:], -1
    return parse_tensor_name(name)


def canonical_tensor_name(name):
    """"node:index" of a tensor name; InvalidArgumentError for a control input."""
    node, index = input_source(name)
    if index < 0:
        raise errors.InvalidArgumentError(None, None, f"'{name}' is not a tensor name")
    return f"{node}:{index}"


def make_key(send_device, incarnation, recv_device, tensor_name, frame_iter="0:0"):
    return f"{send_device};{incarnation:016x};{recv_device};{tensor_name};{frame_iter}"


def parse_key(key):
    """(send_device, incarnation, recv_device, tensor_name) of a key; InvalidArgumentError if malformed."""
    parts = key.split(";")
    if len(parts) != 5:
        raise errors.InvalidArgumentError(None, None, f"Invalid rendezvous key: {key}")
    try:
        incarnation = int(parts[1], 16)
    except ValueError:
        raise errors.InvalidArgumentError(None, None, f"Invalid rendezvous key: {key}") from None
    return parts[0], incarnation, parts[2], parts[3]
