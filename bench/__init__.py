"""Benchmarks for issue 2: ``python -m bench`` (``make bench``); see docs/performance.md."""
