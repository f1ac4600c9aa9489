"""Benchmarks of issue 6 (scale and speed): data generation, collector rounds, queries and writes."""
