"""How to cite Terrinum: one sentence used by the README's metadata and every HTML report."""

from __future__ import annotations

import html

from simulation.engine.results import package_version


def how_to_cite(lang: str = "en") -> str:
    """The citation sentence in ``lang`` ("en" or "fr"), with the running package version."""
    v = package_version()
    if lang == "fr":
        return (f"Pour citer : Terrinum developers, « Terrinum: an agent-based simulation of what "
                f"digital technology does to territories », version {v} (logiciel, licence MIT) ; "
                "voir CITATION.cff.")
    return (f"How to cite: Terrinum developers, \"Terrinum: an agent-based simulation of what "
            f"digital technology does to territories\", version {v} (software, MIT licence); "
            "see CITATION.cff.")


def cite_html() -> str:
    """The citation as an HTML paragraph (both languages)."""
    return (f'<p class="cite">{html.escape(how_to_cite("en"))}<br>'
            f'{html.escape(how_to_cite("fr"))}</p>')
