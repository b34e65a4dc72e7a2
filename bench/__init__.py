"""Benchmarks of SPEC §7, run by `make bench`; results are written to bench/results/."""
