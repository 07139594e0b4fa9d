"""The dataset ops that run a graph function per element: MapDataset, FilterDataset, FlatMapDataset,
InterleaveDataset. The body (client/data/functions.py says how it travels) is compiled once, when the op's
kernel is built: kernels made, Consts computed; a call then runs its nodes in order on one element."""
import functools

import numpy as np

from tfmini.core import errors
from tfmini.core.names import input_source
from tfmini.protos import graph_pb2
from tfmini.worker import kernels
from tfmini.worker.kernels import CPU_ONLY, kernel
from tfmini.worker.kernels.data import Dataset


class Function:
    def __init__(self, func, env):
        body = graph_pb2.GraphDef.FromString(func.attr["_tfmini_body"].s)
        args = [a.decode() for a in func.attr["_tfmini_args"].list.s]
        rets = [input_source(r.decode()) for r in func.attr["_tfmini_rets"].list.s]
        from tfmini.worker.executor import KernelNode, _topological_order
        nodes = list(body.node)
        inputs = [[input_source(i) for i in n.input] for n in nodes]
        self.args, self.rets, self.values, self.program = args, rets, {}, []
        for i in _topological_order(nodes, inputs):
            node_def = nodes[i]
            if node_def.name in args:
                continue
            k = kernels.lookup(node_def.op, node_def.name)
            node = KernelNode(node_def, np, env)
            fn = k.factory(node)
            if k.takes_step:  # a function runs outside any step: a queue wait in it has no deadline of a step
                fn = functools.partial(fn, None)
            nout = k.num_outputs(node.attrs) if callable(k.num_outputs) else k.num_outputs
            data = tuple(e for e in inputs[i] if e[1] >= 0)
            outs = tuple((node_def.name, j) for j in range(nout))
            if node_def.op == "Const":  # computed here, once
                self.values[outs[0]] = fn()
            else:
                self.program.append((fn, data, outs))

    def __call__(self, *element):
        values = dict(self.values)
        for name, value in zip(self.args, element):
            values[name, 0] = value
        for fn, data, outs in self.program:
            result = fn(*[values[e] for e in data])
            if len(outs) == 1:
                values[outs[0]] = result
            elif outs:
                values.update(zip(outs, result))
        return tuple(values[r] for r in self.rets)


class _Map(Dataset):
    def __init__(self, dataset, fn):
        self.dataset, self.fn = dataset, fn

    def elements(self):
        fn = self.fn
        return (fn(*e) for e in self.dataset.elements())


class _Filter(Dataset):
    def __init__(self, dataset, predicate):
        self.dataset, self.predicate = dataset, predicate

    def elements(self):
        predicate = self.predicate
        return (e for e in self.dataset.elements() if bool(predicate(*e)[0]))


class _FlatMap(Dataset):
    def __init__(self, dataset, fn):
        self.dataset, self.fn = dataset, fn

    def elements(self):
        for e in self.dataset.elements():
            yield from self.fn(*e)[0].elements()


class _Interleave(Dataset):
    """TF's InterleaveDataset: `cycle_length` open inner datasets, `block_length` elements from each in turn;
    an exhausted one frees its slot, which takes the next input element when the cycle comes back to it."""

    def __init__(self, dataset, fn, cycle_length, block_length):
        if cycle_length <= 0:
            raise errors.InvalidArgumentError(None, None, "cycle_length must be greater than zero.")
        if block_length <= 0:
            raise errors.InvalidArgumentError(None, None, "block_length must be greater than zero.")
        self.dataset, self.fn, self.cycle, self.block = dataset, fn, int(cycle_length), int(block_length)

    def elements(self):
        outer = self.dataset.elements()
        slots, open_count, index, block_index, end_of_input = [None] * self.cycle, 0, 0, 0, False
        while not end_of_input or open_count:
            if slots[index] is not None:
                element = next(slots[index], None)
                if element is not None:
                    yield element
                    block_index += 1
                    if block_index == self.block:
                        block_index, index = 0, (index + 1) % self.cycle
                    continue
                slots[index], open_count = None, open_count - 1
                block_index, index = 0, (index + 1) % self.cycle
            elif not end_of_input:
                e = next(outer, None)
                if e is None:
                    end_of_input = True
                else:
                    slots[index], open_count = self.fn(*e)[0].elements(), open_count + 1
            else:
                block_index, index = 0, (index + 1) % self.cycle


def _scalar(x):
    return np.asarray(x).item()


def _with_function(op_type, attr, make, num_trailing=0):
    """A kernel whose inputs are (input_dataset, *other_arguments, *trailing): the captured values are bound
    after the element's components, as the traced body's arguments are ordered."""
    @kernel(op_type, device_types=CPU_ONLY)
    def factory(node):
        fn = Function(node.attrs[attr], node.env)
        n_captured = len(node.attrs.get("Targuments") or [])

        def build(dataset, *rest):
            captured, trailing = rest[:n_captured], rest[n_captured:]
            return make(dataset, (lambda *e: fn(*e, *captured)) if captured else fn, *trailing)
        return build
    return factory


_with_function("MapDataset", "f", lambda d, fn: _Map(d, fn))
_with_function("FilterDataset", "predicate", lambda d, fn: _Filter(d, fn))
_with_function("FlatMapDataset", "f", lambda d, fn: _FlatMap(d, fn))
_with_function("InterleaveDataset", "f", lambda d, fn, cycle, block: _Interleave(d, fn, _scalar(cycle),
                                                                                   _scalar(block)))
