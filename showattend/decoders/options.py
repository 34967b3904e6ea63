"""A decoder's options, declared once: name, type, choices or range, default, the paper's value, and
the range a search tunes. The constructor's checks, ``get_config``, the paper configuration, the
tuner's space and the command line's flags are all read from these declarations."""
import dataclasses

__all__ = ["Option", "check_options", "paper_values"]


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of a decoder.

    The type is the default's (bool, int, float or str). A search over the option is ``tune``: a
    keras-tuner method and its arguments, e.g. ``("Choice", {"values": [128, 256, 512]})``, around
    the paper's value; ``when`` makes the option conditional on another's value (hard attention's
    weights exist only with ``attention="hard"``).

    Attributes:
        name: the argument's name, e.g. "units".
        default: the value when none is given.
        help: one line for the command line and the docs.
        paper: the value of the paper's configuration (REFERENCE.md); the default's when None.
        choices: the accepted values of a str option, in order.
        minimum: the least accepted number (int and float options).
        maximum: the largest accepted number (int and float options).
        tune: ``(method, arguments)`` of the range a search explores, or None: not tuned.
        when: ``(option, values)``: the option matters only when that option has one of the values.

    Examples:
        >>> units = Option("units", 256, "the size of the recurrent state", paper=512, minimum=1)
        >>> units.kind.__name__, units.paper, units.check(128)
        ('int', 512, 128)
        >>> units.check(0)
        Traceback (most recent call last):
        ValueError: units must be an integer of at least 1, got 0.
        >>> Option("cell", "lstm", "the recurrent cell", choices=("lstm", "gru")).check("rnn")
        Traceback (most recent call last):
        ValueError: Unknown cell 'rnn'. Accepted: lstm, gru.
    """

    name: str
    default: object
    help: str
    paper: object = None
    choices: tuple = None
    minimum: float = None
    maximum: float = None
    tune: tuple = None
    when: tuple = None

    def __post_init__(self):
        if self.paper is None:
            object.__setattr__(self, "paper", self.default)

    @property
    def kind(self):
        """The option's type: bool, int, float or str."""
        return type(self.default)

    def check(self, value):
        """``value`` as this option's type, or a ValueError that names the option and what it accepts.

        Args:
            value: the value given.

        Returns:
            The value, an int given for a float option as a float.

        Raises:
            ValueError: a value of another type, out of range, or not one of the choices.
        """
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"Unknown {self.name} {value!r}. Accepted: {', '.join(map(str, self.choices))}.")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be True or False, got {value!r}.")
            return value
        numbers = (int,) if self.kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, numbers) and not _is_numpy_number(value, self.kind):
            raise ValueError(f"{self.name} must be {'an integer' if self.kind is int else 'a number'}"
                             f"{self._range()}, got {value!r}.")
        value = self.kind(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{self.name} must be {'an integer' if self.kind is int else 'a number'}"
                             f"{self._range()}, got {value!r}.")
        return value

    def _range(self):
        if self.minimum is not None and self.maximum is not None:
            return f" in [{self.minimum}, {self.maximum}]"
        if self.minimum is not None:
            return f" of at least {self.minimum}"
        return f" of at most {self.maximum}" if self.maximum is not None else ""


def _is_numpy_number(value, kind):
    import numpy as np

    return isinstance(value, np.integer) or (kind is float and isinstance(value, np.floating))


def check_options(options, given, owner):
    """Every option's value: the given ones checked, the others their defaults.

    Args:
        options: the ``Option`` declarations.
        given: ``{name: value}`` as passed.
        owner: what takes them, for the error, e.g. "The lstm decoder".

    Returns:
        ``{name: value}`` for every declared option, in declaration order.

    Raises:
        ValueError: a name that is not declared (naming those that are), or a bad value.

    Examples:
        >>> declared = [Option("units", 256, "state size", minimum=1), Option("gate", True, "use β")]
        >>> check_options(declared, {"units": 64}, "The lstm decoder")
        {'units': 64, 'gate': True}
        >>> check_options(declared, {"unit": 64}, "The lstm decoder")
        Traceback (most recent call last):
        ValueError: The lstm decoder has no option 'unit'. Its options: units, gate.
    """
    names = [option.name for option in options]
    for name in given:
        if name not in names:
            raise ValueError(f"{owner} has no option {name!r}. Its options: {', '.join(names)}.")
    return {option.name: option.check(given[option.name]) if option.name in given else option.default
            for option in options}


def paper_values(options):
    """``{name: the paper's value}`` of the declarations: the paper's configuration.

    Args:
        options: ``Option`` declarations.

    Returns:
        A dict, in declaration order.

    Examples:
        >>> paper_values([Option("units", 256, "state size", paper=512), Option("gate", True, "use β")])
        {'units': 512, 'gate': True}
    """
    return {option.name: option.paper for option in options}
