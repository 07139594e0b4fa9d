"""tf.app: `run(main=None, argv=None)` and `tf.app.flags`, as TF 1.x's tensorflow/python/platform/app.py.

TF parses the flags it knows (`known_only=True`: a flag nobody defined stays in the argv `main` gets, where absl
alone would fail on it), calls `main(argv)` and exits with what `main` returns. A bad flag value or a missing
required flag prints absl's "FATAL Flags parsing error" and exits with status 1.
"""
import sys as _sys

from tfmini import flags


def _parse_flags_tolerate_undef(argv):
    return flags.FLAGS(_sys.argv if argv is None else argv, known_only=True)


def run(main=None, argv=None):
    """Parses the flags from `argv` (default sys.argv), calls `main(remaining argv)`, sys.exit(its result)."""
    main = main or _sys.modules["__main__"].main
    try:
        args = _parse_flags_tolerate_undef(argv)
    except flags.Error as error:
        _sys.stderr.write(f"FATAL Flags parsing error: {error}\n")
        _sys.stderr.write("Pass --helpshort or --helpfull to see help on flags.\n")
        _sys.exit(1)
    _sys.exit(main(args))
