"""The direction of optimization."""

import enum


class Mode(enum.Enum):
    """Whether the optimizer minimizes or maximizes.

    Wherever a mode is accepted, the strings `"descent"` and `"ascent"` work too.

    Examples:
        >>> Mode("ascent")
        <Mode.ASCENT: 'ascent'>
        >>> Mode.DESCENT.sign
        1.0
    """

    DESCENT = "descent"
    """Minimize the objective (gradient descent)."""
    ASCENT = "ascent"
    """Maximize the objective (gradient ascent)."""

    @property
    def sign(self) -> float:
        """The factor turning the objective into the function minimized: +1 or -1."""
        return 1.0 if self is Mode.DESCENT else -1.0


def to_mode(mode: "Mode | str") -> Mode:
    """Convert `"descent"`/`"ascent"` (any case) or a `Mode` into a `Mode`.

    Raises:
        ValueError: Naming the argument `mode` and the accepted values.
    """
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        try:
            return Mode(mode.lower())
        except ValueError:
            pass
    raise ValueError(f"mode must be 'descent' or 'ascent' (or a Mode), got {mode!r}")
