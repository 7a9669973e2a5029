"""Benchmarks of sklearn-am (accuracy, peers, speed). See benchmarks/README.md."""
