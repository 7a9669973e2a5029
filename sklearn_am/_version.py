"""The library's version, in one place (read by ``__init__`` and by persistence)."""

__version__ = "0.2.0.dev0"
