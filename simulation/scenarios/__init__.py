"""Scenarios: scenario files, the policies they set, running replications, comparisons.

Modules:
    policies: policy types (timed interventions) and territory selectors.
    files: scenario files (TOML): reading, ``extends``, validation, built-in names.
    runner: replications of scenarios in this process or a pool of workers.
    compare: paired comparison of scenarios with a baseline (common random numbers).
"""
