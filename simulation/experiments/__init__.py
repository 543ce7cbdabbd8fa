"""Experiments: designs over factors, sweeps with resume, and their analysis.

Modules:
    design: factors, outcomes, designs (grid, LHS, Sobol, Morris) and the experiment object.
    files: experiment files (TOML): reading and validation, built-in names.
    sweep: running an experiment on a local pool or Dask, into a resumable dataset.
    store: crash-safe result folders (atomic files, the folder lock, an atomic start), for
        sweeps and calibration runs.
    analysis: outcomes per run, response tables, Morris and Sobol indices, PRIM boxes.
    pool_preload: what the worker pools' fork server imports before forking.
"""
