"""Regenerate the parameter and measure tables of docs/ODD.md from the code.

The tables live between marker comments::

    <!-- params:start -->   ... output of `python -m simulation.engine.params`   <!-- params:end -->
    <!-- measures:start --> ... output of `python -m simulation.engine.measures` <!-- measures:end
    -->

Everything outside the markers is left untouched.

Usage (from the repository root)::

    python scripts/update_odd_tables.py            # rewrite docs/ODD.md in place
    python scripts/update_odd_tables.py --check    # exit 1 if the tables are out of date
    python scripts/update_odd_tables.py --odd path/to/ODD.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simulation.engine import measures, params  # noqa: E402

DEFAULT_ODD = ROOT / "docs" / "ODD.md"


def tables() -> dict[str, str]:
    """Marker name -> generated Markdown table (the same text as ``python -m <module>``)."""
    return {"params": params.markdown_table(), "measures": measures.markdown_table()}


def render(text: str, where: str = "docs/ODD.md") -> str:
    """Return ``text`` with every marked table replaced by its regenerated version.

    Raises:
        SystemExit: a start or end marker is missing or duplicated.
    """
    for name, table in tables().items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if text.count(start) != 1 or text.count(end) != 1:
            raise SystemExit(f"{where} must contain exactly one '{start}' and one '{end}'")
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        text = pattern.sub(lambda _m, s=start, e=end, t=table: f"{s}\n{t}\n{e}", text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--odd", type=Path, default=DEFAULT_ODD, help="path of ODD.md")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the tables differ from the code")
    args = ap.parse_args(argv)
    old = args.odd.read_text(encoding="utf-8")
    new = render(old, str(args.odd))
    if args.check:
        if new != old:
            print(f"{args.odd}: parameter or measure table out of date; run "
                  "'python scripts/update_odd_tables.py'", file=sys.stderr)
            return 1
        print(f"{args.odd}: tables up to date")
        return 0
    if new != old:
        args.odd.write_text(new, encoding="utf-8")
        print(f"{args.odd}: tables regenerated")
    else:
        print(f"{args.odd}: tables already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
