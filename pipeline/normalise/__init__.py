"""Normalise stage: detect Bokmål/Nynorsk and carry Nynorsk over into Bokmål.

Public API::

    detect_variant(text, board_majority=None, ws=None, tokens=None) -> VariantResult
    to_bokmal(texts, backend="auto", variants=None, tokens=None) -> list[str]
    get_backend("auto" | "apertium" | "lexicon") -> Backend
    backend_info(backend="auto") -> {"name", "version"}
    preload(backend="auto", workers=0)  (word lists etc., before forking workers); release() forgets them

``ws`` takes ``text.words(text)`` and ``tokens`` the text's (each
text's) ``text.Tokens(text)`` when the caller has them already (the
stage tokenises each post once). Apertium runs as one long-running
pipeline per process (``apertium.py``).

Input is cleaned text (``pipeline.clean``: ligatures repaired, wraps
joined; paragraphs separated by blank lines, list items by newlines).
Word lists and the lexicon live in ``seeds/`` (``seeds/LEXICONS.md``).
"""
from __future__ import annotations

from .backends import (
    APERTIUM_PAIR,
    ApertiumBackend,
    Backend,
    LexiconBackend,
    apertium_available,
    backend_info,
    get_backend,
    preload,
    release,
    to_bokmal,
)
from .detect import VariantResult, detect_variant, label_segments

__all__ = [
    "APERTIUM_PAIR",
    "ApertiumBackend",
    "Backend",
    "LexiconBackend",
    "VariantResult",
    "apertium_available",
    "backend_info",
    "detect_variant",
    "get_backend",
    "label_segments",
    "preload",
    "release",
    "to_bokmal",
]
