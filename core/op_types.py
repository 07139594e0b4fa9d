"""Op type signatures as data (TF's REGISTER_OP input, output and type-attr lines), checked on both sides.

A signature says which inputs share a type attr (`x:T, y:T`), which have a fixed type (`depth:int32`),
which are lists (`values:N*T`), what the outputs are, and which types each type attr allows (and its
default). One checker, `check`, serves the client, which raises TF's Python TypeError/ValueError when an
op is built, and the server, which raises TF's InvalidArgumentError when a GraphDef from the wire is
registered (`check_node_def`). The signatures are in core/op_signatures.py; ops without one are not checked
(their kernels check what they need). Refs are typed as their base type: a `float32_ref` feeds a `float32` input.
"""
from tfmini.core import dtypes, errors

d = dtypes


def by_enum(*types):  # TF lists a type class (realnumbertypes...) in DataType enum order
    return tuple(sorted(types, key=lambda t: t.as_datatype_enum))


FLOAT = by_enum(d.float16, d.bfloat16, d.float32, d.float64)
INTEGER = by_enum(d.int8, d.int16, d.int32, d.int64, d.uint8, d.uint16, d.uint32, d.uint64)
REAL = by_enum(*FLOAT, *INTEGER)
NUMBER = by_enum(*REAL, d.complex64, d.complex128)
FLOAT_COMPLEX = by_enum(*FLOAT, d.complex64, d.complex128)
INDEX = (d.int32, d.int64)
MAX_OUTPUTS = 1 << 20  # tfmini's bound on one node's outputs (Unpack's num, Split's num_split...): each costs a slot

_TF_NAMES = {d.float32: "float", d.float64: "double", d.float16: "half"}


def tf_name(dtype):
    """TF's DataTypeString (what the C++ runtime's messages say): "float", "double", "int32", ..."""
    return _TF_NAMES.get(dtype, dtype.name)


class Attr:
    """A type attr: the types it allows (None: any) and its default (None: it must be given)."""

    __slots__ = ("allowed", "default")

    def __init__(self, allowed=None, default=None):
        self.allowed = None if allowed is None else tuple(allowed)  # in the order messages list them, as TF's
        self.default = default


class Arg:
    """One input or output: `name`, and its type: a type attr, or a fixed DType; `number` names the int
    attr that makes it a list of that many."""

    __slots__ = ("name", "type_attr", "fixed", "number")

    def __init__(self, text):
        self.name, _, kind = text.strip().partition(":")
        self.number, _, kind = kind.rpartition("*")
        self.number = self.number or None
        if kind.startswith("Ref(") and kind.endswith(")"):
            kind = kind[4:-1]
        try:
            self.fixed, self.type_attr = dtypes.as_dtype(kind), None
        except TypeError:
            self.fixed, self.type_attr = None, kind


_KINDS = {"string": "s", "int": "i", "float": "f", "bool": "b", "shape": "shape", "tensor": "tensor"}


class Signature:
    __slots__ = ("op", "inputs", "outputs", "attrs", "any_inputs", "other_attrs")

    def __init__(self, op, spec, attrs):
        self.op = op
        ins, _, outs = spec.partition("->")
        self.any_inputs = ins.strip() == "..."  # only the outputs are declared: the kernel checks its inputs
        ins = "" if self.any_inputs else ins
        self.inputs = [Arg(a) for a in ins.split(",") if a.strip()]
        self.outputs = [Arg(a) for a in outs.split(",") if a.strip()]
        self.attrs = {a.type_attr: Attr() for a in self.inputs + self.outputs if a.type_attr}
        self.other_attrs = {}  # attrs that are no types: name -> kind ("bool", "list(int)"...), checked if given
        for name, attr in attrs.items():
            if isinstance(attr, str):
                self.other_attrs[name] = attr
            else:
                self.attrs[name] = attr if isinstance(attr, Attr) else Attr(attr)

    def __str__(self):
        def arg(a):
            return f"{a.name}:{a.number + '*' if a.number else ''}{a.type_attr or a.fixed.name}"
        return (f"Op<name={self.op}; signature={'...' if self.any_inputs else ', '.join(map(arg, self.inputs))} -> "
                f"{', '.join(map(arg, self.outputs))}>")


SIGNATURES = {}


def sig(ops, spec, **attrs):
    """Declares the signature `spec` ("x:T, y:T -> z:T") for one op type or several; `attrs` give each type
    attr's allowed types (a tuple) or an `Attr(allowed, default)`."""
    for op in [ops] if isinstance(ops, str) else ops:
        if op in SIGNATURES:
            raise KeyError(f"Op type '{op}' has two type signatures")
        SIGNATURES[op] = Signature(op, spec, attrs)


def signature(op_type):
    """The Signature of `op_type`, or None when it is not checked."""
    return SIGNATURES.get(op_type)


def checked_ops():
    return sorted(SIGNATURES)


class TypeCheckError(Exception):
    """A node that breaks its op's signature: `client` is TF's Python message, `server` its runtime's,
    `kind` the Python class TF raises at graph-building time (TypeError or ValueError)."""

    def __init__(self, client, server, kind=TypeError):
        super().__init__(client)
        self.client, self.server, self.kind = client, server, kind


def _types_str(types, name=tf_name):
    return ", ".join(name(t) for t in types)


def check(sig_, node_name, input_types, type_attrs, number_attrs, input_names=None, infer=True):
    """Checks one node against its signature and returns (its type attrs, completed from its inputs and
    defaults, and its outputs as [(count, DType or None)]). `input_types`: the base DType of each data input
    (None where unknown); `type_attrs` {name: DType} and `number_attrs` {name: int} as the node gives them.
    `infer`: a type attr left out may be inferred from the inputs (TF's Python does; its runtime, given a
    NodeDef, wants every attr without a default). Raises TypeCheckError."""
    op = sig_.op
    where = _Where(node_name, sig_)  # formatted only for a message
    if sig_.any_inputs:
        input_types = []
    counts = []
    for arg in sig_.inputs:
        counts.append(1 if arg.number is None else number_attrs.get(arg.number))
    unknown = [i for i, c in enumerate(counts) if c is None]
    if len(unknown) == 1:  # a list's length not given: the inputs say it (TF's Python infers it)
        counts[unknown[0]] = len(input_types) - sum(c for c in counts if c is not None)
    if None in counts or sum(counts) != len(input_types) or min(counts, default=0) < 0:
        expected = []
        for arg, c in zip(sig_.inputs, counts):
            given = type_attrs.get(arg.type_attr)
            name = tf_name(arg.fixed or given) if arg.fixed or given else arg.type_attr
            expected.extend([name] * (c if c is not None and c >= 0 else 1))
        message = f"NodeDef expected inputs '{', '.join(expected)}' do not match {len(input_types)} inputs specified"
        raise TypeCheckError(f"{message}{where}", f"{message}{where}", ValueError)
    binding = {name: type_attrs[name] for name in sig_.attrs if type_attrs.get(name) is not None}
    source = {}  # type attr -> name of the first argument that gave it its type
    at = 0
    for arg, count in zip(sig_.inputs, counts):
        types = input_types[at:at + count]
        if arg.number is not None and arg.type_attr:
            known = [t for t in types if t is not None]
            if len(set(known)) > 1:
                message = (f"Tensors in list passed to '{arg.name}' of '{op}' Op have types "
                           f"[{', '.join(t.name for t in types)}] that don't all match.")
                first = next(i for i, t in enumerate(types) if t != known[0] and t is not None)
                raise TypeCheckError(message, _passed(at + first, node_name, types[first], known[0], input_names))
        for j, t in enumerate(types):
            if t is None:
                continue
            want = arg.fixed if arg.fixed is not None else binding.get(arg.type_attr)
            if want is None:
                binding[arg.type_attr], source[arg.type_attr] = t, arg.name
                continue
            if t != want:
                if arg.number is not None:
                    client = (f"Tensors in list passed to '{arg.name}' of '{op}' Op have types "
                              f"[{', '.join('<unknown>' if u is None else u.name for u in types)}] that do not "
                              f"match expected type {want.name}.")
                elif arg.fixed is not None:
                    client = (f"Input '{arg.name}' of '{op}' Op has type {t.name} that does not match expected "
                              f"type of {want.name}.")
                else:
                    first = source.get(arg.type_attr) or _first_arg(sig_, arg.type_attr)
                    client = (f"Input '{arg.name}' of '{op}' Op has type {t.name} that does not match type "
                              f"{want.name} of argument '{first}'.")
                raise TypeCheckError(client, _passed(at + j, node_name, t, want, input_names))
            source.setdefault(arg.type_attr, arg.name)
        at += count
    for name, attr in sig_.attrs.items():
        value = binding.get(name) if infer or name in type_attrs else None
        if value is None:
            if attr.default is None:
                message = f"NodeDef missing attr '{name}' from {sig_}; NodeDef: {{{{node {node_name}}}}}"
                raise TypeCheckError(message, message, ValueError)
            value = binding[name] = attr.default
        if attr.allowed is not None and value not in attr.allowed:
            param = _first_arg(sig_, name, inputs_only=True)
            client = (f"Value passed to parameter '{param}' has DataType {value.name} not in list of allowed "
                      f"values: {_types_str(attr.allowed, lambda t: t.name)}" if param else
                      f"Value for attr '{name}' of {value.name} is not in the list of allowed values: "
                      f"{_types_str(attr.allowed, lambda t: t.name)}")
            server = (f"Value for attr '{name}' of {tf_name(value)} is not in the list of allowed values: "
                      f"{_types_str(attr.allowed)}\n\t{where}")
            raise TypeCheckError(client, server)
    outputs = []
    for arg in sig_.outputs:
        count = 1 if arg.number is None else number_attrs.get(arg.number)
        if count is None:
            count = next((c for a, c in zip(sig_.inputs, counts) if a.number == arg.number), None)
        if count is None or not 0 <= count <= MAX_OUTPUTS:
            message = (f"Value for attr '{arg.number}' of {count} must be between 0 and {MAX_OUTPUTS} (the most "
                       f"outputs a tfmini op may have)"
                       if count is not None else f"NodeDef missing attr '{arg.number}' from {sig_}")
            raise TypeCheckError(f"{message}{where}", f"{message}{where}", ValueError)
        outputs.append((count, arg.fixed if arg.fixed is not None else binding.get(arg.type_attr)))
    return binding, outputs


def _first_arg(sig_, type_attr, inputs_only=False):
    for arg in sig_.inputs if inputs_only else sig_.inputs + sig_.outputs:
        if arg.type_attr == type_attr:
            return arg.name
    return None


def _passed(index, node_name, got, want, input_names):
    src = f" from {input_names[index]}" if input_names is not None else ""
    return (f"Input {index} of node {node_name} was passed {tf_name(got)}{src} incompatible with expected "
            f"{tf_name(want)}.")


def output_type(outputs, index):
    """The DType (None: unknown) of output `index` of a node whose outputs `check` gave; IndexError past them."""
    for count, dtype in outputs:
        if index < count:
            return dtype
        index -= count
    raise IndexError(index)


def declared_output_type(node, index):
    """The DType of output `index` of a NodeDef as its attrs declare it (None if it has no signature or its attrs
    do not say): what a _Send/_Recv of that output carries."""
    sig_ = SIGNATURES.get(node.op)
    if sig_ is None:
        return None
    for arg in sig_.outputs:
        count = 1
        if arg.number is not None:
            count = node.attr[arg.number].i if arg.number in node.attr else None
            if count is None:
                return None
        if index < count:
            if arg.fixed is not None:
                return arg.fixed
            value = node.attr[arg.type_attr] if arg.type_attr in node.attr else None
            if value is None or value.WhichOneof("value") != "type":
                return None
            try:
                return dtypes.as_dtype(value.type).base_dtype
            except TypeError:
                return None
        index -= count
    return None


def num_outputs(outputs):
    return sum(count for count, _ in outputs)


# -- the server's side: NodeDefs from the wire ---------------------------------------------------------------
_ATTR_KINDS = {"s": "string", "i": "int", "f": "float", "b": "bool", "type": "type", "shape": "shape",
               "tensor": "tensor", "list": "list", "func": "func", "placeholder": "placeholder"}


def check_attrs(op_type, node_name, input_types, attrs, input_names=None, infer=True):
    """`check` for a node given as its op type and AttrValue protos {name: AttrValue} (a NodeDef's `attr`, or a
    client op's): decodes its type and length attrs first. Returns (type attrs, outputs), or None for an op
    without a signature. Raises TypeCheckError."""
    sig_ = SIGNATURES.get(op_type)
    if sig_ is None:
        return None
    type_attrs, number_attrs = {}, {}
    for name in sig_.attrs:
        if name in attrs:
            type_attrs[name] = _decode(attrs[name], "type", name, node_name, sig_)
    for arg in sig_.inputs + sig_.outputs:
        if arg.number is not None and arg.number not in number_attrs and arg.number in attrs:
            number_attrs[arg.number] = _decode(attrs[arg.number], "i", arg.number, node_name, sig_)
    for name, kind in sig_.other_attrs.items():
        if name in attrs:
            _check_kind(attrs[name], kind.rstrip("!"), name, node_name, sig_)
        elif kind.endswith("!"):  # required: TF's attr without a default
            message = f"NodeDef missing attr '{name}' from {sig_}; NodeDef: {{{{node {node_name}}}}}"
            raise TypeCheckError(message, message, ValueError)
    return check(sig_, node_name, input_types, type_attrs, number_attrs, input_names, infer)


def check_node_def(node, input_types, input_names):
    """Checks a NodeDef from the wire: its type and length attrs, its inputs' types (`input_types`, None where
    unknown) and count. Adds the type attrs it lacks that have defaults (TF's AddDefaultAttrsToGraphDef).
    Returns its outputs as `check` does, or None for an op without a signature. Raises InvalidArgumentError."""
    try:
        checked = check_attrs(node.op, node.name, input_types, node.attr, input_names, infer=False)
    except TypeCheckError as e:
        raise _invalid(e.server) from None
    if checked is None:
        return None
    binding, outputs = checked
    for name, value in binding.items():
        if name not in node.attr:
            node.attr[name].type = value.as_datatype_enum
    return outputs


class _Where:
    """"; NodeDef: {{node n}}; Op<...>", the tail of TF's messages, formatted only when one is made."""

    __slots__ = ("node_name", "sig", "attr")

    def __init__(self, node_name, sig_, attr=None):
        self.node_name, self.sig, self.attr = node_name, sig_, attr

    def __format__(self, spec):
        head = f"\n\t for attr '{self.attr}'\n\t" if self.attr else ""
        return f"{head}; NodeDef: {{{{node {self.node_name}}}}}; {self.sig}"


def _check_kind(value, kind, name, node_name, sig_):
    """TypeCheckError, with TF's text, unless the AttrValue holds a `kind` ("int", "list(int)"...) value."""
    got = value.WhichOneof("value")
    if kind.startswith("list("):
        field = _KINDS[kind[5:-1]]
        if got == "list" and all(f.name == field for f, _ in value.list.ListFields()):
            return
    elif got == _KINDS[kind]:
        return
    message = (f"AttrValue had value with type '{_ATTR_KINDS.get(got, got)}' when '{kind}' expected\n\t for attr "
               f"'{name}'\n\t; NodeDef: {{{{node {node_name}}}}}; {sig_}")
    raise TypeCheckError(message, message)


def _decode(value, want, name, node_name, sig_):
    """The DType (`want` "type") or int (`want` "i") an AttrValue holds; TypeCheckError, with TF's text, if not."""
    kind = value.WhichOneof("value")
    where = _Where(node_name, sig_, name)
    if kind != want:
        message = (f"AttrValue had value with type '{_ATTR_KINDS.get(kind, kind)}' when "
                   f"'{_ATTR_KINDS[want]}' expected{where}")
        raise TypeCheckError(message, message)
    if want == "i":
        return value.i
    try:
        return dtypes.as_dtype(value.type).base_dtype
    except TypeError:
        message = f"AttrValue has invalid DataType enum: {value.type}{where}"
        raise TypeCheckError(message, message) from None


def _invalid(message):
    return errors.InvalidArgumentError(None, None, message)


class GraphTypes:
    """The output types of a graph's checked nodes, node by node as they are added (a session's graph grows
    by ExtendSession): `add(node_defs)` checks each new node against what feeds it."""

    def __init__(self):
        self.outputs = {}  # node name -> [(count, DType or None)]

    def type_of(self, node_name, index):
        """The DType of `node_name:index`, or None when unknown (an unchecked op, or no such output)."""
        outputs = self.outputs.get(node_name)
        if outputs is None:
            return None
        try:
            return output_type(outputs, index)
        except IndexError:
            return None

    def add(self, nodes, sources):
        """Checks `nodes` (NodeDefs in any order) whose parsed inputs are `sources[name]` [(node, index)]."""
        pending = {n.name: n for n in nodes if n.op in SIGNATURES}
        done, before = set(), dict(self.outputs)

        entered = set()

        def visit(node):  # producers first, so a node sees its inputs' types (iteratively: graphs are deep)
            stack = [(node, False)]
            while stack:
                n, ready = stack.pop()
                if n.name in done:
                    continue
                if not ready:
                    if n.name in entered:
                        continue  # a cycle (the executor rejects it): an input on it counts as of unknown type
                    entered.add(n.name)
                    stack.append((n, True))
                    stack.extend((pending[s], False) for s, i in sources[n.name] if i >= 0 and s in pending
                                 and s not in done and s != n.name)
                    continue
                done.add(n.name)
                data = [(s, i) for s, i in sources[n.name] if i >= 0]
                for s, i in data:
                    outputs = self.outputs.get(s)
                    if outputs is not None and i >= num_outputs(outputs):
                        raise _invalid(f"Node '{n.name}': Connecting to invalid output {i} of source node {s} which "
                                       f"has {num_outputs(outputs)} outputs.")
                names = [f"{s}:{i}" for s, i in data]
                self.outputs[n.name] = check_node_def(n, [self.type_of(s, i) for s, i in data], names)
        try:
            for node in pending.values():
                visit(node)
        except errors.InvalidArgumentError:
            self.outputs = before  # a graph that fails its check adds nothing
            raise


def check_graph(graph_def, sources=None):
    """Checks every node of a GraphDef from the wire (RegisterGraph); returns its GraphTypes."""
    from tfmini.core.names import input_source
    if sources is None:
        sources = {n.name: [input_source(i) for i in n.input] for n in graph_def.node}
    for node in graph_def.node:
        for inp, (src, _) in zip(node.input, sources[node.name]):
            if src not in sources:
                raise _invalid(f"Node '{node.name}': unknown input node '{inp}'")
    types = GraphTypes()
    types.add(graph_def.node, sources)
    return types


from tfmini.core import op_signatures  # noqa: E402,F401 - the table, which needs the definitions above
