"""Benchmarks and checks run outside the test suite (speed, plausibility against data)."""
