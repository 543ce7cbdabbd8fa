"""Helpers shared by the command-line modules (below all of them)."""

from __future__ import annotations

import sys

from simulation.errors import UserError, bound_message

EXIT_USAGE = 2  # exit status of every user error
MAX_ERROR_CHARS = 2_000
"""Longest error message printed (characters)."""


def print_error(exc: BaseException | str) -> None:
    """Print a user error as one bounded message on standard error (``terrinum: error: ...``)."""
    print(f"terrinum: error: {bound_message(str(exc), MAX_ERROR_CHARS)}", file=sys.stderr)


def parse_set(items: list[str] | None) -> dict:
    """Parse ``--set name=value`` overrides (numbers, true/false)."""
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects name=value, got '{item:.80}'")
        k, v = item.split("=", 1)
        v = v.strip()
        if v.lower() in ("true", "false"):
            out[k.strip()] = v.lower() == "true"
            continue
        try:
            out[k.strip()] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            raise UserError(f"--set {k:.80}: '{v:.80}' is not a number or true/false") from None
    return out
