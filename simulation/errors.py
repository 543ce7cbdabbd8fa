"""Error classes shared by every layer (the bottom of the package: imports nothing of it).

Every error a user can cause with a file, a command-line option or a dashboard field is an
:class:`InputError` (a :class:`ValueError`): the scenario, experiment, map, parameter and sweep
errors all derive from it, so the Python API raises one typed family and the command line
prints any of them as one message with exit status 2, never a traceback.

Messages are bounded: a value quoted in a message is cut to :data:`MAX_QUOTED` characters
(:func:`clip`) and a whole message to :data:`MAX_MESSAGE` characters, so a 5 MB string in a
file never comes back as a 5 MB error.
"""

from __future__ import annotations

from typing import Any

MAX_QUOTED = 80
"""Longest value (characters) quoted in a message before it is cut."""

MAX_MESSAGE = 2_000
"""Longest message (characters); longer ones are cut in the middle."""


def clip(text: Any, limit: int = MAX_QUOTED) -> str:
    """``str(text)`` cut to ``limit`` characters with a note of the length cut.

    Args:
        text: any value (converted with ``str``).
        limit: the most characters kept (at least 20).

    Returns:
        The text itself if short enough, else its start, ``"..."`` and the original length.
    """
    s = str(text)
    limit = max(int(limit), 20)
    if len(s) <= limit:
        return s
    return f"{s[:limit - 3]}... ({len(s):,} characters)"


def clip_repr(value: Any, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` cut like :func:`clip` (the repr of a huge string is never built whole)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit - 3])[:-1] + f"...' ({len(value):,} characters)"
    try:
        return clip(repr(value), limit)
    except ValueError:  # an integer too long for str() (Python's digit limit)
        return f"<a {type(value).__name__} too long to print>"


def bound_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """A message cut in the middle to at most about ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head - 40
    return f"{text[:head]} [... {len(text) - head - tail:,} characters cut ...] {text[-tail:]}"


class InputError(ValueError):
    """An error caused by the user's input: a file, an option or a field that cannot be used.

    The message (``str(exc)``) names the file, the key path and what is allowed; it is cut to
    :data:`MAX_MESSAGE` characters.
    """

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (bound_message(args[0]),)
        super().__init__(*args)

    def __str__(self) -> str:
        return bound_message(super().__str__())


class UserError(InputError):
    """An error caused by the user's input; printed without a traceback (exit 2).

    The command line's own errors (options such as ``--reps 0`` or ``--set x``) and the base
    of the experiment and sweep errors.
    """


class InputFileError(InputError):
    """A path that is not a readable regular file of sane size (or not text).

    Attributes:
        file: the path as given (cut to a readable length).
        problem: what is wrong.
        allowed: what would be accepted.
    """

    def __init__(self, file: Any, problem: str, allowed: str = "") -> None:
        self.file = clip(file, 200)
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{self.file}: {problem}" + (f"; allowed: {allowed}" if allowed
                                                      else ""))

    def __reduce__(self):  # keep the fields through pickling (worker processes)
        return (InputFileError, (self.file, self.problem, self.allowed))


__all__ = ["InputError", "UserError", "InputFileError", "clip", "clip_repr", "bound_message",
           "MAX_QUOTED", "MAX_MESSAGE"]
