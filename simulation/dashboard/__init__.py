"""The live workshop dashboard (``terrinum dashboard``).

Modules (none but app imports Solara; all are unit-tested without a browser):
    i18n: every audience-facing string in French and English, and number formatting.
    levers: the fields of every policy type and the parameter levers (bounds, steps, units).
    mapdraw: territory outlines as SVG paths, colour scales.
    state: the session: runs, branches, choices, log, scenario export.
    charts: measures over time as SVG, legend, PNG export.
    view: everything the page draws for one session (map, hover rows, charts, log).
    app: the Solara page (imported only by the Solara server: it needs Solara).
    cli: the ``terrinum dashboard`` command.

Branches are copies of the running model (``copy.deepcopy``, sharing the read-only
parameters and map) that continue exactly as the original would; "back to a branch's
starting point" replays the scenario, the seed and the timed choices instead (the model is
deterministic for a seed). Both are checked by the unit tests.
"""
