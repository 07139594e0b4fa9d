"""The layers point one way: core below worker below server below client (docs/architecture.md).

Each folder may import only the layers below it (and `tfmini.protos`), counting imports inside
functions too; a server or worker process does not load the client's graph-building API.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# folder -> (its import prefix, the prefixes it may import besides its own and tfmini.protos)
LAYERS = {
    "core": ("tfmini.core", ()),
    "worker": ("tfmini.worker", ("tfmini.core",)),
    "server": ("tfmini.server", ("tfmini.core", "tfmini.worker")),
}


def _imports(path):
    """Every tfmini module a file imports, anywhere in it."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "tfmini":
                yield from (f"tfmini.{a.name}" for a in node.names)
            elif node.module.startswith("tfmini."):
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("tfmini"))


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below_it(folder):
    own, below = LAYERS[folder]
    allowed = (own, "tfmini.protos") + below
    bad = [f"{path.relative_to(ROOT)} imports {name}"
           for path in sorted((ROOT / folder).rglob("*.py")) if not path.name.endswith("_pb2.py")
           for name in _imports(path) if not any(_within(name, p) for p in allowed)]
    assert not bad, "\n".join(bad)


def test_the_import_checker_sees_function_local_and_package_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from tfmini.ops import array_ops\n\nfrom tfmini import graph\n")
    assert set(_imports(probe)) == {"tfmini.ops", "tfmini.graph"}


@pytest.mark.parametrize("module, allowed", [
    ("tfmini.worker.worker", ("tfmini.core", "tfmini.protos", "tfmini.worker")),
    ("tfmini.server.server", ("tfmini.core", "tfmini.protos", "tfmini.worker", "tfmini.server")),
    ("tfmini.server.cli", ("tfmini.core", "tfmini.protos", "tfmini.worker", "tfmini.server")),
])
def test_a_server_process_does_not_load_the_client(module, allowed):
    code = (f"import sys, {module}\n"
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('tfmini'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=60).stdout.split()
    assert module in loaded
    client = [m for m in loaded if m != "tfmini" and not any(_within(m, p) for p in allowed)]
    assert not client, f"importing {module} loaded {client}"
    assert not any(_within(m, p) for m in loaded for p in ("tfmini.ops", "tfmini.graph", "tfmini.session"))


def test_the_client_api_loads_on_first_use():
    code = ("import sys, tfmini as tf\n"
            "before = 'tfmini.graph' in sys.modules\n"
            "x = tf.constant(2.0)\n"
            "print(before, 'tfmini.graph' in sys.modules, tf.Session().run(x * 3.0), 'Session' in dir(tf))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60).stdout.split()
    assert out == ["False", "True", "6.0", "True"]


def test_a_missing_name_is_an_attribute_error():
    import tfmini as tf
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        tf.no_such_thing  # noqa: B018
    assert tf.errors.InvalidArgumentError.__module__ == "tfmini.core.errors"
    assert tf.dtypes.float32 is tf.float32
