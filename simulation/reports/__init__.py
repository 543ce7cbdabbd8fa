"""Reports and plots: figures over time, maps, and the self-contained HTML reports.

Modules:
    plots: measures over time with replication bands, run plots.
    maps: choropleth maps of per-territory values.
"""
