"""Benchmarks: pytest-benchmark suites and the peer comparison (see README, Performance)."""
