"""Simple while loops compiled into Python `while` loops (the frame executor's fast path).

A loop frame is *simple* when it holds the loop's own structure (an Enter, Merge, Switch, Identity,
NextIteration and Exit per loop variable, one LoopCond), plain kernels and conds (Switch/Merge on another
predicate), no transfers, and only compiled loops within it. Such a frame runs as one node of its parent
frame: it takes the Enters' inputs and produces the Exits' outputs, and its iterations are straight-line code,

    m0, m1 = a0, a1                       # the Merges' values (the loop variables)
    while True:
        v5 = f5(m0, c0)                   # the condition's nodes
        if not v5: break                  # LoopCond
        v9 = f9(m1, c1)                   # the body's nodes
        m0, m1 = v7, v9                   # NextIteration
    return m0, m1                         # Exit

which runs the loop as TensorFlow does (iterations in order; the body of iteration i after its
condition) without tagging each value with a frame and an iteration. Inside an iteration, a cond's Switch
makes its untaken side `DEAD`, a node with a dead input is skipped (its outputs are DEAD), a Merge takes its
first live input; nodes no Switch reaches carry no test at all. A loop entered with dead values is dead as a
whole (the interpreter does not run a node with dead inputs). The deadline is checked every 256 iterations.
"""
import collections
import time

import numpy as np

from tfmini.core import errors, process_memory
from tfmini.core.deadness import DEAD

_FILENAME = "<tfmini loop>"


def compile_loops(plan):
    """Replaces each simple loop frame of `plan` (a frames.FramePlan), innermost first, by one node that
    runs it. Returns the names of the frames compiled."""
    from tfmini.worker import frames as fr
    members = collections.defaultdict(list)
    for i, info in enumerate(plan.frame_of):
        members[info].append(i)
    enters = collections.defaultdict(list)
    for i, info in plan.enter_frame.items():
        enters[info].append(i)
    children = collections.defaultdict(list)
    for info in members:
        if info.parent is not None:
            children[info.parent].append(info)

    def depth(info):
        d = 0
        while info.parent is not None:
            info, d = info.parent, d + 1
        return d

    done = set()
    for info in sorted((f for f in members if f.parent is not None), key=depth, reverse=True):
        if any(c not in done for c in children[info]):
            continue
        loop = _analyse(plan, fr, members[info], enters[info])
        if loop is None:
            continue
        node = _install(plan, info, loop, enters[info])
        members[info.parent] = [i for i in members[info.parent] if i not in set(enters[info])] + [node]
        done.add(info)
    return sorted(info.name for info in done)


class _Loop:
    __slots__ = ("merges", "switch_of", "loop_cond", "order", "body", "exits", "nexts", "constants",
                 "cond_switches", "cond_merges", "maybe_dead")


def _analyse(plan, fr, nodes, enters):
    """The loop's parts if the frame is simple, else None."""
    kind, ops = plan.kind, plan.ops
    if any(kind[i] in (fr.SEND, fr.RECV, fr.ENTER) for i in nodes):
        return None
    loop_conds = [i for i in nodes if ops[i] == "LoopCond"]
    if len(loop_conds) != 1:
        return None
    lc = loop_conds[0]
    member = set(nodes)
    constants = [e for e in enters if plan.is_constant_enter[e]]
    variables = {e for e in enters if not plan.is_constant_enter[e]}
    loop = _Loop()
    loop.switch_of, loop.loop_cond, loop.constants = {}, lc, constants
    loop.nexts, loop.exits, loop.merges, loop.cond_merges, loop.cond_switches = {}, [], [], [], []
    for m in (i for i in nodes if kind[i] == fr.MERGE):
        ins = plan.data_in[m]
        if any(src in variables or kind[src] == fr.NEXT for src, _ in ins):
            if len(ins) != 2 or plan.ctrl_in[m] or plan.out_edges[m][1]:
                return None
            (e, ep), (n, npt) = ins
            if e not in variables or kind[n] != fr.NEXT or plan.out_edges[e][0] != [(m, 0)] or plan.ctrl_out[e]:
                return None
            if plan.out_edges[n][0] != [(m, 1)] or plan.ctrl_out[n] or n not in member:
                return None
            loop.nexts[m] = n
            loop.merges.append(m)
        elif plan.deref[m] or len(ins) > 8:
            return None
        else:
            loop.cond_merges.append(m)  # a cond's Merge inside the body
    if len(loop.merges) != len(variables):
        return None
    for s in (i for i in nodes if kind[i] == fr.SWITCH):
        ins = plan.data_in[s]
        if len(ins) != 2:
            return None
        if ins[1] != (lc, 0):
            loop.cond_switches.append(s)  # a cond's Switch inside the body
            continue
        if ins[0][1] != 0 or ins[0][0] not in loop.nexts or plan.ctrl_in[s]:
            return None
        m = ins[0][0]
        if any(kind[d] != fr.EXIT for d, _ in plan.out_edges[s][0]) or m in loop.switch_of.values():
            return None
        loop.switch_of[s] = m
    if len(loop.switch_of) != len(loop.merges):
        return None
    merge_of_switch = loop.switch_of
    for x in (i for i in nodes if kind[i] == fr.EXIT):
        (s, port), = plan.data_in[x] or [(None, None)]
        if s not in merge_of_switch or port != 0:
            return None
        loop.exits.append((x, merge_of_switch[s]))
    steps = [i for i in nodes if kind[i] == fr.NORMAL] + loop.cond_switches + loop.cond_merges
    order = _order(plan, steps, set(steps))
    if order is None:
        return None
    body = set()
    for i in order:
        sources = [src for src, _ in plan.data_in[i]] + plan.ctrl_in[i]
        if any(src in merge_of_switch or src in body for src in sources):
            body.add(i)
    maybe_dead = _maybe_dead(plan, order, set(loop.cond_switches), set(loop.cond_merges))
    if lc in body or lc in maybe_dead:
        return None
    loop.order, loop.body, loop.maybe_dead = order, body, maybe_dead
    return loop


def _maybe_dead(plan, order, cond_switches, cond_merges):
    """The nodes whose outputs may be dead: a cond's Switches, what they reach, a Merge of only such inputs."""
    maybe_dead = set()
    for i in order:
        if i in cond_switches:
            maybe_dead.add(i)
        elif i in cond_merges:
            if all(src in maybe_dead for src, _ in plan.data_in[i]):
                maybe_dead.add(i)
        elif not plan.trigger[i] and any(src in maybe_dead for src in [s for s, _ in plan.data_in[i]] +
                                         plan.ctrl_in[i]):
            maybe_dead.add(i)
    return maybe_dead


def compile_root(plan):
    """The root frame as straight-line code, once every loop in it is compiled and it pulls from no peer (the
    interpreter keeps those); None otherwise. Conds are handled as in loops."""
    from tfmini.worker import frames as fr
    compiled = set(plan.compiled_loops)
    if plan.remote_recvs or any(info.name not in compiled for info in plan.enter_frame.values()):
        return None
    root, kind = plan.root_frame, plan.kind
    nodes = [i for i, info in enumerate(plan.frame_of) if info is root and kind[i] not in (fr.ENTER, fr.EXIT, fr.NEXT)]
    loop = _Loop()
    loop.merges, loop.switch_of, loop.constants, loop.exits, loop.nexts, loop.loop_cond = [], {}, [], [], {}, None
    loop.cond_switches = [i for i in nodes if kind[i] == fr.SWITCH]
    loop.cond_merges = [i for i in nodes if kind[i] == fr.MERGE]
    if any(plan.deref[m] or len(plan.data_in[m]) > 8 for m in loop.cond_merges) or \
            any(len(plan.data_in[i]) != 2 for i in loop.cond_switches):
        return None
    loop.order = _order(plan, nodes, set(nodes))
    if loop.order is None:
        return None
    loop.body = set()
    loop.maybe_dead = _maybe_dead(plan, loop.order, set(loop.cond_switches), set(loop.cond_merges))
    return _generate(plan, fr, loop, {}, None)[0]


def _order(plan, normal, members):
    """The frame's kernels in dependency order (Merges, Switches and Enters are inputs, always ready)."""
    pending = {i: 0 for i in normal}
    consumers = collections.defaultdict(list)
    for i in normal:
        for src in {src for src, _ in plan.data_in[i]} | set(plan.ctrl_in[i]):
            if src in members:
                pending[i] += 1
                consumers[src].append(i)
    ready = [i for i in normal if not pending[i]]
    order = []
    while ready:
        i = ready.pop()
        order.append(i)
        for c in consumers[i]:
            pending[c] -= 1
            if not pending[c]:
                ready.append(c)
    return order if len(order) == len(normal) else None


def _install(plan, info, loop, enters):
    """Adds the node that runs the loop and points the Enters' inputs and the Exits' consumers at it."""
    from tfmini.worker import frames as fr
    node = len(plan.kind)
    position = {e: k for k, e in enumerate(enters)}
    fn, source = _generate(plan, fr, loop, position, info)
    plan.names.append(f"{info.name} (loop)")
    plan.ops.append("_Loop")
    plan.kind.append(fr.NORMAL)
    plan.fns.append(fn)
    plan.takes_step.append(True)  # the loop hands its step to the kernels in it
    plan.n_data.append(len(enters))
    plan.deref.append(tuple(position[e] for e in enters if plan.deref[e]))
    plan.data_in.append([plan.data_in[e][0] for e in enters])
    plan.ctrl_in.append([c for e in enters for c in plan.ctrl_in[e]])
    plan.n_pending.append(len(enters) + len(plan.ctrl_in[node]))
    plan.keys.append(None)
    plan.client_send.append(False)
    plan.is_constant_enter.append(False)
    plan.trigger.append(False)
    plan.frame_of.append(info.parent)
    for e in enters:
        src, port = plan.data_in[e][0]
        plan.out_edges[src][port] = [(node, position[e]) if d == e else (d, p) for d, p in plan.out_edges[src][port]]
        for c in plan.ctrl_in[e]:
            plan.ctrl_out[c] = [node if d == e else d for d in plan.ctrl_out[c]]
    plan.out_edges.append([])
    plan.ctrl_out.append([])
    for j, (x, _) in enumerate(loop.exits):
        plan.out_edges[node].append(plan.out_edges[x][0])
        for d, p in plan.out_edges[x][0]:
            plan.data_in[d][p] = (node, j)
        plan.ctrl_out[node].extend(plan.ctrl_out[x])
        for d in plan.ctrl_out[x]:
            plan.ctrl_in[d] = [node if c == x else c for c in plan.ctrl_in[d]]
    plan.loop_sources = getattr(plan, "loop_sources", {})
    plan.loop_sources[info.name] = source
    return node


def _generate(plan, fr, loop, position, info):
    merge_var = {m: f"m{k}" for k, m in enumerate(loop.merges)}
    const_var = {e: f"c{k}" for k, e in enumerate(loop.constants)}
    cond_switches, cond_merges = set(loop.cond_switches), set(loop.cond_merges)
    maybe_dead = loop.maybe_dead

    def value(src, port):
        if src in merge_var:
            return merge_var[src]
        if src in loop.switch_of:
            return merge_var[loop.switch_of[src]]
        if src in const_var:
            return const_var[src]
        return f"v{src}_{port}"

    def dead_test(i):
        """An expression true when node `i` must not run (a dead data or control input), or None."""
        tests = [f"{value(s, p)} is DEAD" for s, p in plan.data_in[i] if s in maybe_dead]
        tests += [f"d{s}" for s in plan.ctrl_in[i] if s in maybe_dead]
        return " or ".join(dict.fromkeys(tests)) or None

    def arg(i, k, s, p):
        return value(s, p) + (".read()" if k in plan.deref[i] else "")

    def lines_of(i, pad):
        """The lines that compute node `i`; `(line offset, node)` pairs for naming a kernel that raises."""
        outs = len(plan.out_edges[i])
        names = [f"v{i}_{p}" for p in range(outs)]
        if i in cond_merges:
            choices = " else ".join(f"({value(s, p)}, I{k}) if {value(s, p)} is not DEAD"
                                    for k, (s, p) in enumerate(plan.data_in[i]))
            return [f"{pad}v{i}_0, v{i}_1 = {choices} else (DEAD, DEAD)", f"{pad}d{i} = v{i}_0 is DEAD"], []
        test = dead_test(i) if i in maybe_dead else None
        if i in cond_switches:
            x, pred = arg(i, 0, *plan.data_in[i][0]), arg(i, 1, *plan.data_in[i][1])
            return [f"{pad}d{i} = {test or 'False'}",
                    f"{pad}v{i}_0, v{i}_1 = (DEAD, DEAD) if d{i} else (DEAD, {x}) if {pred} else ({x}, DEAD)"], []
        args = ", ".join(arg(i, k, s, p) for k, (s, p) in enumerate(plan.data_in[i]))
        call = f"f{i}({'s, ' * plan.takes_step[i]}{args})"
        assign = f"{', '.join(names)}{',' if outs > 1 else ''} = " if outs else ""
        if test is None:
            return [f"{pad}{assign}{call}"], [(0, i)]
        if plan.kind[i] == fr.SEND:  # a dead tensor goes to a peer as dead; fetched, it is an error
            return [f"{pad}d{i} = {test}", f"{pad}if d{i}:", f"{pad}    dead_send(s, {i})", f"{pad}else:",
                    f"{pad}    {call}"], [(4, i)]
        dead = ", ".join(["DEAD"] * outs) if outs else "None"
        lines = [f"{pad}d{i} = {test}", f"{pad}if d{i}:", f"{pad}    {assign or '_ = '}{dead}", f"{pad}else:",
                 f"{pad}    {assign}{call}"]
        return lines, [(4, i)]

    kernels = [i for i in loop.order if i not in cond_switches and i not in cond_merges]
    lines = ["def make(" + "".join(f"f{i}, " for i in kernels) +
             "monotonic, too_late, lost, DEAD, I, dead_send):",
             "    " + ", ".join(f"I{k}" for k in range(8)) + ", = I",
             "    def loop(" + ", ".join(["s"] + [f"a{k}" for k in range(len(position))]) + "):",
             "        deadline = s.deadline if s is not None else None"]
    node_at = {}

    def emit(i, pad="            "):
        block, calls = lines_of(i, pad)
        for offset, node in calls:
            node_at[len(lines) + offset] = node
        lines.extend(block)
    if info is None:  # the root frame: its nodes once, in order
        for i in loop.order:
            lines.append("        if memory_over[0]: memory_check()")  # core/process_memory.py
            emit(i, "        ")
        lines += ["        return None", "    return loop"]
        return _finish(plan, lines, kernels, node_at, None)
    for m in loop.merges:
        enter = plan.data_in[m][0][0]
        lines.append(f"        {merge_var[m]} = a{position[enter]}")
    for e in loop.constants:
        lines.append(f"        {const_var[e]} = a{position[e]}")
    lines += ["        n = 0", "        while True:"]
    for i in (i for i in loop.order if i not in loop.body):
        emit(i)
    lines.append(f"            if not v{loop.loop_cond}_0:")
    lines.append("                break")
    for i in (i for i in loop.order if i in loop.body):
        emit(i)
    if loop.merges:
        nexts = [value(*plan.data_in[loop.nexts[m]][0]) for m in loop.merges]
        for m in loop.merges:  # a cond's Merge is live when one side ran: a dead loop variable is a broken graph
            if plan.data_in[loop.nexts[m]][0][0] in maybe_dead:
                lines.append(f"            if {value(*plan.data_in[loop.nexts[m]][0])} is DEAD:")
                lines.append(f"                lost({loop.merges.index(m)})")
        lines.append(f"            {', '.join(merge_var[m] for m in loop.merges)}, = {', '.join(nexts)},")
    lines += ["            n += 1",
              "            if memory_over[0]: memory_check()",  # core/process_memory.py, each iteration
              "            if not n & 255 and deadline is not None and monotonic() > deadline:",
              "                too_late(n)"]
    exits = [merge_var[m] for _, m in loop.exits]
    lines.append(f"        return {exits[0]}" if len(exits) == 1 else f"        return ({', '.join(exits)},)" if exits
                 else "        return None")
    lines.append("    return loop")
    return _finish(plan, lines, kernels, node_at, info)


def _finish(plan, lines, kernels, node_at, info):
    """Compiles the generated `make`, and wraps the function it makes so a kernel's error names its node."""
    source = "\n".join(lines) + "\n"
    namespace = {"memory_over": process_memory.OVER, "memory_check": process_memory.check}
    exec(compile(source, _FILENAME, "exec"), namespace)  # our own generated code, never input

    def too_late(n):
        raise errors.DeadlineExceededError(None, None, f"Deadline Exceeded: the step ran past its deadline "
                                                       f"(RunOptions.timeout_in_ms) in loop '{info.name}', "
                                                       f"iteration {n}")
    def lost(k):
        raise errors.InvalidArgumentError(None, None, f"Loop '{info.name}': loop variable {k} became dead (its "
                                                      f"NextIteration got the untaken side of a Switch)")
    def dead_send(step, i):
        if plan.client_send[i]:
            raise errors.InvalidArgumentError(None, None, f"Fetched tensor of '{plan.names[i]}' is dead: it comes "
                                                          f"from the untaken branch of a cond")
        plan.fns[i](step, DEAD)  # a _Send: it takes the step
    loop_fn = namespace["make"](*[plan.fns[i] for i in kernels], time.monotonic, too_late,
                                lost, DEAD, tuple(np.int32(k) for k in range(8)), dead_send)
    names = plan.names

    def run(*args):
        try:
            return loop_fn(*args)
        except errors.DeadlineExceededError:
            raise
        except Exception as e:  # noqa: BLE001 - name the node whose line raised
            tb = e.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == _FILENAME and tb.tb_lineno - 1 in node_at:
                    e._tfmini_node = names[node_at[tb.tb_lineno - 1]]
                tb = tb.tb_next
            raise
    return run, source
