"""Benchmarks, side by side with their anchors: ``make bench`` (``python -m bench``)."""
