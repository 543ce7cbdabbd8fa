"""The live workshop dashboard (``terrinum dashboard``).

Modules:
    state: session state without a browser: runs, levers, branches, log, export, map layout
        and charts (pure Python, unit-tested).
    i18n: every audience-facing string in French and English, and number formatting.
    app: the Solara page (imported only by the Solara server: it needs Solara).
    cli: the ``terrinum dashboard`` command.

Branches are copies of the running model (``copy.deepcopy``, sharing the read-only
parameters and map) that continue exactly as the original would; "back to a branch's
starting point" replays the scenario, the seed and the timed choices instead (the model is
deterministic for a seed). Both are checked by the unit tests.
"""
