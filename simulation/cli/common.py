"""Helpers shared by the command-line modules (below all of them)."""

from __future__ import annotations

from simulation.errors import UserError

EXIT_USAGE = 2  # exit status of every user error


def parse_set(items: list[str] | None) -> dict:
    """Parse ``--set name=value`` overrides (numbers, true/false)."""
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects name=value, got '{item}'")
        k, v = item.split("=", 1)
        v = v.strip()
        if v.lower() in ("true", "false"):
            out[k.strip()] = v.lower() == "true"
            continue
        try:
            out[k.strip()] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            raise UserError(f"--set {k}: '{v}' is not a number or true/false") from None
    return out
