"""Benchmarks of sklearn-am; run ``python -m benchmarks.run`` from the repository root.

Imports go one way: :mod:`.run` → :mod:`.protocols` → :mod:`.methods` →
:mod:`.data` / :mod:`.common`. See ``benchmarks/README.md``.
"""
