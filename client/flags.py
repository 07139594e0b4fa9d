"""tf.app.flags / tf.flags: absl's flags, hand-rolled (absl is not a dependency).

What TF 1.x programs use is kept: DEFINE_string/integer/float/boolean/bool/list/enum, `FLAGS.name`,
`--name=value`, `--name value`, `--bool`/`--nobool`, `--help`, `FLAGS(argv)` returning the arguments it did not
consume, `mark_flag_as_required`, and absl's error classes and messages. Reading a flag before parsing raises
UnparsedFlagAccessError, as absl does; an unknown flag is an UnrecognizedFlagError. A lone `--` ends the flags.
"""
import sys


class Error(Exception):
    """absl.flags.Error: the base of the flag errors."""


class FlagsError(Error):
    pass


class IllegalFlagValueError(Error):
    pass


class UnrecognizedFlagError(Error):
    def __init__(self, flagname, flagvalue="", suggestions=None):
        self.flagname, self.flagvalue = flagname, flagvalue
        super().__init__(f"Unknown command line flag '{flagname}'")


class DuplicateFlagError(Error):
    pass


class UnparsedFlagAccessError(Error):
    pass


class ValidationError(Error):
    pass


class Flag:
    """One flag: its name, default, help and how a command-line string becomes its value."""

    def __init__(self, name, default, help, parse, flag_type, short_name=None, boolean=False):  # noqa: A002
        self.name, self.help, self.short_name = name, help, short_name
        self.parse_fn, self.flag_type, self.boolean = parse, flag_type, boolean
        self.default = None if default is None else self.parse(default)
        self.value = self.default
        self.present = 0
        self.using_default_value = True

    def parse(self, argument):
        if not isinstance(argument, str):
            return self.parse_fn(argument)
        try:
            return self.parse_fn(argument)
        except (TypeError, ValueError) as e:
            raise IllegalFlagValueError(f"flag --{self.name}={argument}: {e}") from None

    def set(self, argument):
        self.value = self.parse(argument)
        self.present += 1
        self.using_default_value = False


def _parse_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "t", "1"):
            return True
        if lowered in ("false", "f", "0"):
            return False
        raise ValueError("Non-boolean argument to boolean flag")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError("Non-boolean argument to boolean flag")


def _parse_int(value):
    if isinstance(value, str):
        text = value.strip().lower()
        return int(text, 16 if text.lstrip("+-").startswith("0x") else 10)  # absl's IntegerParser
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Expect argument to be a string or int, found {type(value)}")
    return value


def _parse_float(value):
    if isinstance(value, bool):
        raise TypeError(f"Expect argument to be a string or int or float, found {type(value)}")
    return float(value)


def _parse_list(value):
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _checked(parse, lower=None, upper=None):
    def fn(value):
        v = parse(value)
        if lower is not None and v < lower:
            raise ValueError(f"{v} is not >= {lower}" if upper is None else f"{v} is not in [{lower}, {upper}]")
        if upper is not None and v > upper:
            raise ValueError(f"{v} is not <= {upper}" if lower is None else f"{v} is not in [{lower}, {upper}]")
        return v
    return fn


class FlagValues:
    """absl's FlagValues: flags by name, read as attributes once parsed."""

    def __init__(self):
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)
        object.__setattr__(self, "_required", [])
        object.__setattr__(self, "_validators", [])

    # -- definition ---------------------------------------------------------------------------------
    def _define(self, flag):
        flags = self._flags
        if flag.name in flags:
            raise DuplicateFlagError(f"The flag '{flag.name}' is defined twice. First from {sys.argv[0]}, "
                                     f"Second from {sys.argv[0]}.  Description from first occurrence: "
                                     f"{flags[flag.name].help}")
        flags[flag.name] = flag
        if flag.short_name:
            flags[flag.short_name] = flag
        return flag

    def __contains__(self, name):
        return name in self._flags

    def __iter__(self):
        return iter(list(self._flags))

    def __getitem__(self, name):
        return self._flags[name]

    # -- values -------------------------------------------------------------------------------------
    def __getattr__(self, name):
        flags = self.__dict__.get("_flags", {})
        if name not in flags:
            raise AttributeError(name)
        if not self._parsed:
            raise UnparsedFlagAccessError(
                f"Trying to access flag --{name} before flags were parsed.")
        return flags[name].value

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError(name)  # as absl: only defined flags may be set
        flag = self._flags[name]
        flag.value = value
        flag.using_default_value = False
        flag.present += 1

    def __delattr__(self, name):
        flag = self._flags.pop(name)
        if flag.short_name:
            self._flags.pop(flag.short_name, None)

    def is_parsed(self):
        return self._parsed

    def _parse_flags(self, args=None):  # TF <= 1.4's own flags module
        return self(list(args) if args is not None else sys.argv, known_only=True)

    def mark_as_parsed(self):
        object.__setattr__(self, "_parsed", True)

    def unparse_flags(self):
        for flag in set(self._flags.values()):
            flag.value, flag.present, flag.using_default_value = flag.default, 0, True
        object.__setattr__(self, "_parsed", False)

    def flag_values_dict(self):
        return {name: flag.value for name, flag in self._flags.items() if name == flag.name}

    def get_flag_value(self, name, default):
        return self._flags[name].value if name in self._flags else default

    def set_default(self, name, value):
        flag = self._flags[name]
        flag.default = flag.parse(value)
        if flag.using_default_value:
            flag.value = flag.default

    # -- parsing ------------------------------------------------------------------------------------
    def __call__(self, argv, known_only=False):
        """Parses `argv` (argv[0] is the program); returns [argv[0]] + the arguments that are not flags."""
        if isinstance(argv, str):
            raise TypeError("argv should be a tuple/list of strings, not bytes or string.")
        argv = list(argv)
        if not argv:
            raise ValueError("argv cannot be an empty list, and must contain the program name as the first "
                             "element.")
        rest, unknown = self._parse(argv[1:], known_only)
        if unknown:
            name, value = unknown[0]
            raise UnrecognizedFlagError(name, value)
        self.mark_as_parsed()
        self._check_required()
        self._run_validators()
        return [argv[0]] + rest

    def _parse(self, args, known_only):
        rest, unknown = [], []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                rest.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-":
                rest.append(arg)
                continue
            body = arg.lstrip("-")
            name, has_value, value = body.partition("=")
            if name in ("help", "helpfull", "h", "?") and not has_value:
                self._print_help()
                sys.exit(1)
            flag = self._flags.get(name)
            if flag is None and name.startswith("no") and not has_value:
                negated = self._flags.get(name[2:])
                if negated is not None and negated.boolean:
                    negated.set(False)
                    continue
            if flag is None:
                if known_only:
                    rest.append(arg)
                else:
                    unknown.append((name, arg))
                continue
            if flag.boolean:
                flag.set(value if has_value else True)
                continue
            if not has_value:
                if i >= len(args):
                    raise Error(f"Missing value for flag {arg}")
                value = args[i]
                i += 1
            flag.set(value)
        return rest, unknown

    def _check_required(self):
        missing = [n for n in self._required if self._flags[n].value is None]
        if missing:
            raise IllegalFlagValueError(f"flag --{missing[0]}=None: Flag --{missing[0]} must have a value other "
                                        f"than None.")

    def _run_validators(self):
        for name, checker, message in self._validators:
            if not checker(self._flags[name].value):
                raise IllegalFlagValueError(f"flag --{name}={self._flags[name].value}: {message}")

    def _print_help(self):
        print(self.get_help())

    def get_help(self):
        lines = [f"\nUSAGE: {sys.argv[0] if sys.argv else 'program'} [flags]", "flags:", ""]
        for name, flag in sorted(self._flags.items()):
            if name != flag.name:
                continue
            short = f"-{flag.short_name}," if flag.short_name else ""
            lines.append(f"  {short}--{'[no]' if flag.boolean else ''}{name}: {flag.help}")
            default = ",".join(flag.default) if isinstance(flag.default, list) else flag.default
            lines.append(f"    (default: '{'true' if default is True else 'false' if default is False else default}')")
        return "\n".join(lines)

    def __str__(self):
        return self.get_help()


FLAGS = FlagValues()


def _define(flag, flag_values):
    return (flag_values if flag_values is not None else FLAGS)._define(flag)


def DEFINE_string(name, default, help, flag_values=None, short_name=None, **kwargs):  # noqa: A002,N802
    return _define(Flag(name, default, help, str, "string", short_name), flag_values)


def DEFINE_integer(name, default, help, lower_bound=None, upper_bound=None, flag_values=None,  # noqa: A002,N802
                   short_name=None, **kwargs):
    return _define(Flag(name, default, help, _checked(_parse_int, lower_bound, upper_bound), "int", short_name),
                   flag_values)


def DEFINE_float(name, default, help, lower_bound=None, upper_bound=None, flag_values=None,  # noqa: A002,N802
                 short_name=None, **kwargs):
    return _define(Flag(name, default, help, _checked(_parse_float, lower_bound, upper_bound), "float",
                        short_name), flag_values)


def DEFINE_boolean(name, default, help, flag_values=None, short_name=None, **kwargs):  # noqa: A002,N802
    return _define(Flag(name, default, help, _parse_bool, "bool", short_name, boolean=True), flag_values)


DEFINE_bool = DEFINE_boolean


def DEFINE_list(name, default, help, flag_values=None, short_name=None, **kwargs):  # noqa: A002,N802
    return _define(Flag(name, default, help, _parse_list, "list", short_name), flag_values)


def DEFINE_enum(name, default, enum_values, help, flag_values=None, short_name=None,  # noqa: A002,N802
                case_sensitive=True, **kwargs):
    enum_values = list(enum_values)
    if not enum_values:
        raise ValueError(f"enum_values cannot be empty, found \"{enum_values}\"")

    def parse(value):
        if case_sensitive:
            if value in enum_values:
                return value
        else:
            match = [v for v in enum_values if v.upper() == str(value).upper()]
            if match:
                return match[0]
        raise ValueError(f"value should be one of <{'|'.join(enum_values)}>")
    return _define(Flag(name, default, help, parse, "string enum", short_name), flag_values)


def mark_flag_as_required(flag_name, flag_values=None):
    flag_values = flag_values if flag_values is not None else FLAGS
    if flag_name not in flag_values:
        raise KeyError(f"Flag --{flag_name} is not defined")
    flag_values._required.append(flag_name)


def mark_flags_as_required(flag_names, flag_values=None):
    for name in flag_names:
        mark_flag_as_required(name, flag_values)


def register_validator(flag_name, checker, message="Flag validation failed", flag_values=None):
    (flag_values if flag_values is not None else FLAGS)._validators.append((flag_name, checker, message))


def validator(flag_name, message="Flag validation failed", flag_values=None):
    def wrap(checker):
        register_validator(flag_name, checker, message, flag_values)
        return checker
    return wrap
