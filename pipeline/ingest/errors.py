"""Errors raised while reading exports."""
from __future__ import annotations


class ExportError(ValueError):
    """A file cannot be used as a Padlet export; the message names the file, the problem and what to do."""
