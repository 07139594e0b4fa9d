"""Program scaffolding: tf.app.run, tf.app.flags, tf.logging, tf.gfile / tf.io.gfile, tf.compat.

The TF 0.x/1.x aliases and BatchMatMul are in test_scaffolding_aliases.py.
"""
import logging
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import tfmini as tf
from tfmini import flags as flags_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _python(code, *args, cwd=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


# -- flags ------------------------------------------------------------------------------------------------
@pytest.fixture
def fv():
    """A FlagValues of its own with one flag of each kind (the global FLAGS is left alone)."""
    values = flags_lib.FlagValues()
    f = tf.app.flags
    f.DEFINE_string("data_dir", "/tmp/data", "Where the data is.", flag_values=values)
    f.DEFINE_integer("steps", 100, "Training steps.", lower_bound=1, flag_values=values)
    f.DEFINE_float("learning_rate", 0.01, "Learning rate.", flag_values=values)
    f.DEFINE_boolean("fake_data", False, "Use fake data.", flag_values=values)
    f.DEFINE_bool("shuffle", True, "Shuffle.", flag_values=values)
    f.DEFINE_list("hidden", "64,32", "Hidden layer sizes.", flag_values=values)
    f.DEFINE_enum("optimizer", "sgd", ["sgd", "adam"], "Optimizer.", flag_values=values)
    return values


def test_flags_module_is_shared_by_app_and_tf():
    assert tf.flags is tf.app.flags
    assert tf.app.flags.FLAGS is tf.flags.FLAGS
    assert tf.compat.v1.flags is tf.flags and tf.compat.v1.app.run is tf.app.run


def test_defaults_after_parsing_with_no_arguments(fv):
    assert fv(["prog"]) == ["prog"]
    assert (fv.data_dir, fv.steps, fv.learning_rate, fv.fake_data, fv.shuffle) == ("/tmp/data", 100, 0.01, False,
                                                                                     True)
    assert fv.hidden == ["64", "32"] and fv.optimizer == "sgd"
    assert fv["steps"].using_default_value


def test_equals_and_space_separated_values_and_booleans(fv):
    rest = fv(["prog", "--data_dir=/x", "--steps", "7", "-learning_rate=0.5", "--fake_data", "--noshuffle",
               "--hidden=1,2,3", "--optimizer", "adam", "positional"])
    assert rest == ["prog", "positional"]
    assert (fv.data_dir, fv.steps, fv.learning_rate, fv.fake_data, fv.shuffle) == ("/x", 7, 0.5, True, False)
    assert fv.hidden == ["1", "2", "3"] and fv.optimizer == "adam"
    assert isinstance(fv.steps, int) and isinstance(fv.learning_rate, float)
    assert not fv["steps"].using_default_value


@pytest.mark.parametrize("arg, value", [("--fake_data=true", True), ("--fake_data=false", False),
                                        ("--fake_data=1", True), ("--fake_data=0", False), ("--nofake_data", False)])
def test_boolean_spellings(fv, arg, value):
    fv(["prog", arg])
    assert fv.fake_data is value


def test_double_dash_ends_the_flags(fv):
    assert fv(["prog", "--steps=3", "--", "--steps=9", "x"]) == ["prog", "--steps=9", "x"]
    assert fv.steps == 3


def test_integer_flags_take_hex_and_negative_values():
    values = flags_lib.FlagValues()
    tf.flags.DEFINE_integer("n", 0, "n", flag_values=values)
    values(["prog", "--n=0x10"])
    assert values.n == 16
    values(["prog", "--n", "-3"])
    assert values.n == -3


@pytest.mark.parametrize("argv, message", [
    (["--steps=abc"], "flag --steps=abc: invalid literal for int"),
    (["--steps=0"], "flag --steps=0: 0 is not >= 1"),
    (["--learning_rate=fast"], "flag --learning_rate=fast"),
    (["--fake_data=maybe"], "Non-boolean argument to boolean flag"),
    (["--optimizer=rmsprop"], "value should be one of <sgd|adam>"),
])
def test_bad_values_are_illegal_flag_value_errors(fv, argv, message):
    with pytest.raises(tf.flags.IllegalFlagValueError, match=message):
        fv(["prog"] + argv)


def test_unknown_flags_raise_unless_known_only(fv):
    with pytest.raises(tf.flags.UnrecognizedFlagError, match="Unknown command line flag 'bogus'"):
        fv(["prog", "--bogus=1"])
    assert fv(["prog", "--bogus=1", "--steps=2"], known_only=True) == ["prog", "--bogus=1"]
    assert fv.steps == 2


def test_reading_before_parsing_raises_and_undefined_is_attribute_error(fv):
    with pytest.raises(tf.flags.UnparsedFlagAccessError, match="before flags were parsed"):
        fv.steps
    fv(["prog"])
    with pytest.raises(AttributeError):
        fv.no_such_flag
    assert isinstance(tf.flags.UnparsedFlagAccessError("x"), tf.flags.Error)


def test_missing_value_duplicate_definition_and_bad_argv(fv):
    with pytest.raises(tf.flags.Error, match="Missing value for flag --steps"):
        fv(["prog", "--steps"])
    with pytest.raises(tf.flags.DuplicateFlagError, match="The flag 'steps' is defined twice"):
        tf.flags.DEFINE_integer("steps", 1, "again", flag_values=fv)
    with pytest.raises(TypeError):
        fv("prog --steps=1")


def test_required_flags(fv):
    tf.flags.DEFINE_string("output", None, "Where to write.", flag_values=fv)
    tf.flags.mark_flag_as_required("output", flag_values=fv)
    with pytest.raises(tf.flags.IllegalFlagValueError, match="Flag --output must have a value other than None"):
        fv(["prog"])
    fv(["prog", "--output=/o"])
    assert fv.output == "/o"
    with pytest.raises(KeyError):
        tf.flags.mark_flag_as_required("nope", flag_values=fv)


def test_setting_a_flag_value_in_code(fv):
    fv(["prog"])
    fv.steps = 5
    assert fv.steps == 5 and fv.flag_values_dict()["steps"] == 5


APP_SCRIPT = """
import sys
import tfmini as tf
tf.app.flags.DEFINE_integer("steps", 10, "Training steps.")
tf.app.flags.DEFINE_boolean("fake_data", False, "Use fake data.")
tf.app.flags.DEFINE_string("name", None, "A name.")
FLAGS = tf.app.flags.FLAGS

def main(argv):
    print("steps", FLAGS.steps, "fake", FLAGS.fake_data, "argv", argv[1:])
    return FLAGS.steps % 7

if __name__ == "__main__":
    if "--require_name" in sys.argv:
        sys.argv.remove("--require_name")
        tf.app.flags.mark_flag_as_required("name")
    tf.app.run()
"""


def test_app_run_parses_flags_passes_argv_and_exits_with_mains_result(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(APP_SCRIPT)
    run = subprocess.run([sys.executable, str(script), "--steps", "9", "--fake_data", "--unknown=1", "pos"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr  # main returned 9 % 7
    # TF's tf.app.run keeps flags nobody defined in main's argv instead of failing on them
    assert run.stdout.strip() == "steps 9 fake True argv ['--unknown=1', 'pos']"


def test_app_run_exits_1_on_a_bad_flag_and_on_a_missing_required_one(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(APP_SCRIPT)
    bad = subprocess.run([sys.executable, str(script), "--steps=many"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "FATAL Flags parsing error: flag --steps=many" in bad.stderr
    missing = subprocess.run([sys.executable, str(script), "--require_name"], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 1 and "Flag --name must have a value other than None" in missing.stderr


def test_help_lists_the_flags_and_exits(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(APP_SCRIPT)
    run = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "--steps: Training steps." in run.stdout and "--[no]fake_data: Use fake data." in run.stdout
    assert "(default: '10')" in run.stdout


# -- logging ----------------------------------------------------------------------------------------------
def test_logging_levels_are_pythons():
    assert (tf.logging.DEBUG, tf.logging.INFO, tf.logging.WARN, tf.logging.WARNING, tf.logging.ERROR,
            tf.logging.FATAL) == (10, 20, 30, 30, 40, 50)
    assert tf.compat.v1.logging is tf.logging


@pytest.fixture
def log(caplog):
    old = tf.logging.get_verbosity()
    caplog.set_level(logging.DEBUG)  # lets records through to caplog; set_verbosity below filters again
    yield caplog
    tf.logging.set_verbosity(old)


def test_set_verbosity_filters_by_level(log):
    tf.logging.set_verbosity(tf.logging.WARN)
    assert tf.logging.get_verbosity() == tf.logging.WARN
    tf.logging.debug("d")
    tf.logging.info("i %d", 1)
    tf.logging.warn("w %s", "x")
    tf.logging.warning("w2")
    tf.logging.error("e")
    tf.logging.fatal("f")
    assert [(r.levelname, r.getMessage()) for r in log.records if r.name == "tfmini"] == [
        ("WARNING", "w x"), ("WARNING", "w2"), ("ERROR", "e"), ("CRITICAL", "f")]
    log.clear()
    tf.logging.set_verbosity(tf.logging.DEBUG)
    tf.logging.debug("d")
    tf.logging.info("i")
    assert [r.getMessage() for r in log.records if r.name == "tfmini"] == ["d", "i"]


def test_log_every_n_first_n_and_vlog(log):
    tf.logging.set_verbosity(tf.logging.DEBUG)
    for i in range(10):
        tf.logging.log_every_n(tf.logging.INFO, "every %d", 4, i)
    for i in range(10):
        tf.logging.log_first_n(tf.logging.INFO, "first %d", 3, i)
    tf.logging.set_verbosity(tf.logging.INFO)
    tf.logging.vlog(1, "too verbose")
    tf.logging.vlog(tf.logging.INFO, "shown")
    assert [r.getMessage() for r in log.records if r.name == "tfmini"] == [
        "every 0", "every 4", "every 8", "first 0", "first 1", "first 2", "shown"]


def test_logger_is_ours_and_writes_to_stderr_by_default():
    run = _python("""
        import tfmini as tf
        tf.logging.info("hidden")
        tf.logging.set_verbosity(tf.logging.INFO)
        tf.logging.info("hello %s", "there")
        print(tf.logging.get_logger().name)
    """)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "tfmini"
    assert "INFO:tfmini:hello there" in run.stderr and "hidden" not in run.stderr


# -- compat -------------------------------------------------------------------------------------------------
def test_compat_v1_is_the_whole_api_in_a_fresh_interpreter():
    run = _python("""
        import sys
        import tfmini.compat.v1 as tf
        loaded_early = "tfmini.graph" in sys.modules
        tf.disable_eager_execution()
        tf.disable_v2_behavior()
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.get_variable("w", [2, 1], initializer=tf.ones_initializer())
        y = tf.matmul(x, w)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            print(loaded_early, sess.run(y, {x: [[1.0, 2.0]]}).tolist(), tf.executing_eagerly())
        from tfmini.compat.v1 import placeholder, train
        import tfmini
        print(placeholder is tfmini.placeholder, train.AdamOptimizer is tfmini.train.AdamOptimizer,
              tf.gfile is tfmini.gfile, tf.logging is tfmini.logging, tf.app is tfmini.app)
    """)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["False [[3.0]] False", "True True True True True"]


def test_compat_v1_missing_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="tfmini.compat.v1"):
        tf.compat.v1.no_such_thing
    assert "placeholder" in dir(tf.compat.v1)


def test_eager_execution_is_a_clear_error():
    for enable in (tf.enable_eager_execution, tf.compat.v1.enable_eager_execution, tf.compat.v1.enable_v2_behavior):
        with pytest.raises(tf.errors.UnimplementedError, match="graph-only"):
            enable()
    assert tf.executing_eagerly() is False


def test_compat_string_helpers():
    c = tf.compat
    assert c.as_bytes("héllo") == "héllo".encode() and c.as_bytes(b"x") == b"x"
    assert c.as_bytes(bytearray(b"ab")) == b"ab" and c.as_bytes("é", "latin-1") == b"\xe9"
    assert c.as_text(b"h\xc3\xa9") == "hé" and c.as_str("s") == "s" and c.as_str is c.as_text
    assert c.as_str_any(b"b") == "b" and c.as_str_any(3) == "3"
    assert c.path_to_str(pathlib.Path("/a/b")) == "/a/b" and c.path_to_str(7) == 7
    for fn in (c.as_bytes, c.as_text):
        with pytest.raises(TypeError, match="Expected binary or unicode string, got 3"):
            fn(3)
    assert isinstance(b"", c.bytes_or_text_types) and isinstance(3, c.integral_types)


# -- gfile ------------------------------------------------------------------------------------------------
def test_gfile_directories(tmp_path):
    g = tf.gfile
    d = str(tmp_path / "a" / "b")
    assert not g.Exists(d) and not g.IsDirectory(d)
    g.MakeDirs(d)
    g.MakeDirs(d)  # an existing directory is fine
    assert g.Exists(d) and g.IsDirectory(d)
    with pytest.raises(tf.errors.AlreadyExistsError):
        g.MkDir(d)
    with pytest.raises(tf.errors.NotFoundError):
        g.MkDir(str(tmp_path / "x" / "y"))
    g.MkDir(str(tmp_path / "a" / "c"))
    with g.GFile(str(tmp_path / "a" / "f.txt"), "w") as f:
        f.write("x")
    assert g.ListDirectory(str(tmp_path / "a")) == ["b", "c", "f.txt"]
    assert sorted(g.Glob(str(tmp_path / "a" / "*.txt"))) == [str(tmp_path / "a" / "f.txt")]
    assert g.Glob(str(tmp_path / "nothing*")) == []
    assert list(g.Walk(str(tmp_path / "a"))) == [(str(tmp_path / "a"), ["b", "c"], ["f.txt"]),
                                                 (str(tmp_path / "a" / "b"), [], []),
                                                 (str(tmp_path / "a" / "c"), [], [])]
    assert list(g.Walk(str(tmp_path / "a"), in_order=False))[-1][0] == str(tmp_path / "a")
    assert list(g.Walk(str(tmp_path / "missing"))) == []
    with pytest.raises(tf.errors.NotFoundError):
        g.ListDirectory(str(tmp_path / "missing"))
    st = g.Stat(str(tmp_path / "a"))
    assert st.is_directory
    g.DeleteRecursively(str(tmp_path / "a"))
    assert not g.Exists(str(tmp_path / "a"))
    with pytest.raises(tf.errors.NotFoundError):
        g.DeleteRecursively(str(tmp_path / "a"))


def test_gfile_files_copy_rename_remove_stat(tmp_path):
    g = tf.gfile
    src, dst = str(tmp_path / "src.bin"), str(tmp_path / "dst.bin")
    with g.GFile(src, "wb") as f:
        f.write(b"\x00\x01\x02")
    st = g.Stat(src)
    assert st.length == 3 and not st.is_directory and st.mtime_nsec > 0
    g.Copy(src, dst)
    with pytest.raises(tf.errors.AlreadyExistsError):
        g.Copy(src, dst)
    g.Copy(src, dst, overwrite=True)
    with pytest.raises(tf.errors.NotFoundError):
        g.Copy(str(tmp_path / "none"), dst)
    moved = str(tmp_path / "moved.bin")
    g.Rename(dst, moved)
    assert not g.Exists(dst) and g.Exists(moved)
    with pytest.raises(tf.errors.AlreadyExistsError):
        g.Rename(src, moved)
    g.Rename(src, moved, overwrite=True)
    assert not g.Exists(src)
    with pytest.raises(tf.errors.NotFoundError):
        g.Rename(src, moved)
    g.Remove(moved)
    for fn in (g.Remove, g.Stat):
        with pytest.raises(tf.errors.NotFoundError, match="No such file or directory"):
            fn(moved)


def test_gfile_text_and_binary_reading_and_writing(tmp_path):
    path = str(tmp_path / "t.txt")
    with tf.gfile.GFile(path, "w") as f:
        f.write("line one\n")
        f.write(b"line two\n")
        f.flush()
    with tf.gfile.GFile(path, "a") as f:
        f.write("héllo\n")
    with tf.gfile.Open(path) as f:
        assert f.readline() == "line one\n"
        assert f.tell() == 9
        assert f.readlines() == ["line two\n", "héllo\n"]
        assert f.readline() == ""
        f.seek(0)
        assert f.read(4) == "line" and f.size() == 25
        f.seek(offset=5)
        assert f.read() == "one\nline two\nhéllo\n"
    with tf.gfile.FastGFile(path, "rb") as f:
        data = f.read()
        assert isinstance(data, bytes) and data.endswith("héllo\n".encode())
        f.seek(-7, 2)
        assert f.read() == "héllo\n".encode()
    assert list(tf.gfile.GFile(path)) == ["line one\n", "line two\n", "héllo\n"]


def test_gfile_errors(tmp_path):
    missing = tf.gfile.GFile(str(tmp_path / "nope"))  # opened lazily, as TF's: the read fails
    with pytest.raises(tf.errors.NotFoundError, match="nope; No such file or directory"):
        missing.read()
    path = str(tmp_path / "f")
    with tf.gfile.GFile(path, "w") as f:
        with pytest.raises(tf.errors.PermissionDeniedError, match="File isn't open for reading"):
            f.read()
    assert not os.path.exists(path)  # nothing written, nothing created, as TF's
    with tf.gfile.GFile(path, "w") as f:
        f.write("")
    with tf.gfile.GFile(path) as f:
        with pytest.raises(tf.errors.PermissionDeniedError, match="File isn't open for writing"):
            f.write("x")
    with pytest.raises(tf.errors.InvalidArgumentError, match="mode is not"):
        tf.gfile.GFile(path, "r+")
    with pytest.raises(tf.errors.FailedPreconditionError, match="Is a directory"):
        tf.gfile.GFile(str(tmp_path)).read()
    closed = tf.gfile.GFile(path)
    closed.close()
    with pytest.raises(ValueError):
        closed.read()


@pytest.mark.parametrize("path", ["gs://bucket/model", "hdfs://namenode/x", "s3://b/k"])
def test_gfile_remote_schemes_are_unimplemented(path):
    scheme = path.split(":")[0]
    for call in (lambda: tf.gfile.Exists(path), lambda: tf.gfile.GFile(path), lambda: tf.io.gfile.listdir(path)):
        with pytest.raises(tf.errors.UnimplementedError, match=f"File system scheme '{scheme}' not implemented"):
            call()


def test_file_urls_are_local(tmp_path):
    assert tf.gfile.Exists("file://" + str(tmp_path))


def test_io_gfile_has_tf2_names(tmp_path):
    g = tf.io.gfile
    d = g.join(str(tmp_path), "x")
    g.makedirs(d)
    with g.GFile(g.join(d, "f"), "w") as f:
        f.write("1")
    assert g.exists(d) and g.isdir(d) and g.listdir(d) == ["f"] and g.stat(g.join(d, "f")).length == 1
    g.copy(g.join(d, "f"), g.join(d, "h"))
    g.rename(g.join(d, "h"), g.join(d, "i"))
    assert g.glob(g.join(d, "*")) == [g.join(d, "f"), g.join(d, "i")]
    assert [w[0] for w in g.walk(str(tmp_path))] == [str(tmp_path), d]
    g.remove(g.join(d, "i"))
    g.rmtree(d)
    assert not g.exists(d)
    assert not hasattr(g, "Exists") and tf.compat.v1.gfile is tf.gfile


# -- the example program ------------------------------------------------------------------------------------
def test_flags_mnist_style_example_trains_from_its_command_line(tmp_path):
    pytest.importorskip("sklearn")
    data_dir, log_dir = tmp_path / "data", tmp_path / "logs"
    cmd = [sys.executable, str(ROOT / "examples" / "flags_mnist_style.py"), f"--data_dir={data_dir}",
           "--log_dir", str(log_dir), "--learning_rate=0.5", "--max_steps", "250", "--batch_size=50"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    accuracy = float(run.stdout.split("test accuracy")[-1])
    assert accuracy > 0.9
    assert "INFO:tfmini:Wrote 1797 examples" in run.stderr and "step 200: cross entropy" in run.stderr
    assert (log_dir / "result.txt").read_text() == f"test_accuracy={accuracy:.4f}\nsteps=250\n"
    events = tf.gfile.Glob(str(log_dir / "events.out.tfevents.*"))
    assert len(events) == 1
    losses = [v.simple_value for e in tf.train.summary_iterator(events[0]) for v in e.summary.value
              if v.tag == "cross_entropy"]
    assert len(losses) == 250 and losses[-1] < losses[0]
    # a second run reads the cached CSV; a bad flag value fails as absl does
    again = subprocess.run(cmd[:-1] + ["--batch_size=20", "--noverbose"], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "Wrote" not in again.stderr
    bad = subprocess.run(cmd + ["--max_steps=0"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "flag --max_steps=0: 0 is not >= 1" in bad.stderr
