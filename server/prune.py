"""Pruning: the nodes a step needs to produce its fetches and run its targets, stopping at feeds."""
from tfmini.core import errors


def prune(edges, feeds, roots):
    """Names of the nodes reachable backwards from `roots`, not crossing fed tensors.

    `edges` maps each node name to its parsed inputs [(source, index)] (index -1: a control input);
    `feeds` is a set of (node, index) pairs.
    """
    needed, stack = set(), list(roots)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        sources = edges.get(name)
        if sources is None:
            raise errors.InvalidArgumentError(None, None, f"Node '{name}' is referenced but not in the graph")
        needed.add(name)
        for src in sources:
            if src[1] >= 0 and src in feeds:
                continue
            if src[0] not in needed:
                stack.append(src[0])
    return needed
