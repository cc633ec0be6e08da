"""Shared pieces of the benchmark drivers (bench/run, bench/footprint)."""
