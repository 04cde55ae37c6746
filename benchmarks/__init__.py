"""Benchmarks: ``python -m threadactors bench`` (run from the repository root)."""
