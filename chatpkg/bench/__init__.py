"""Benchmarks: each prints its figures; compare within one run."""
