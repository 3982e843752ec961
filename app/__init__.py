"""Sharelog's domain and services. Never imports Qt."""

__version__ = "0.1.0"
