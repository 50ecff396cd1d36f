"""Plain data records passed between stages.

These are the in-memory forms of one export: a :class:`Board` with its
:class:`Post` objects, and the :class:`Repair` records that cleaning makes.
The tables in ``pipeline.schema`` are built from them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Repair:
    """One edit made while restoring damaged text.

    ``line`` is the 0-based index of the line in the text handed to the
    cleaner where the damaged token stands (the ingest stage maps it to the
    export's 1-based ``source_line``). ``before``/``after`` are the exact
    strings replaced, so the edit can be audited and reverted. ``score`` is
    the evidence behind the choice (e.g. a word frequency), ``None`` when the
    rule is deterministic.
    """

    line: int
    kind: str  # ligature, time, glyph, gj_split, wrap, page_break, column_join
    before: str
    after: str
    rule: str
    score: float | None = None


@dataclass
class Post:
    """One post of a board as parsed from the export, before cleaning.

    ``body_lines`` are the raw lines of the post body exactly as in the
    export (blank lines and leading spaces kept); ``body_start_line`` is the
    1-based export line of the first of them.
    """

    source_line: int
    ordinal: int
    kind: str
    title: str | None
    body_lines: list[str]
    body_start_line: int
    section: str | None = None
    dialogue_theme: int | None = None
    group_label: str | None = None
    author: str | None = None
    posted_at: datetime | None = None
    last_line: int = 0
    header_repairs: list[Repair] = field(default_factory=list)


@dataclass
class Board:
    """One export: its header and its posts in export order."""

    source_file: str
    source_sha256: str
    layout: str
    title: str | None
    author: str | None
    created_at: str | None
    description: str | None
    posts: list[Post]
    header_lines: list[int] = field(default_factory=list)
    footer_lines: list[int] = field(default_factory=list)
    truncated: bool = False
