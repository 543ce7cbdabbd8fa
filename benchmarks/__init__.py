"""Benchmarks (scripts that print figures; not tests): ``python -m benchmarks.NAME``.

Speed (bench, bench_sweep, bench_dashboard) and plausibility of the baseline against data.
"""
