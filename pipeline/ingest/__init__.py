"""Ingest: read a Padlet export and parse it into a :class:`~pipeline.model.Board`.

Each layout has its own module with ``detect(lines) -> float`` (how strongly
the text looks like that layout, 0..1) and ``parse(lines, source_file,
sha256) -> Board``. :func:`parse_board` picks the layout with the highest
score; a new layout is added by writing such a module and listing it in
``LAYOUTS``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.ingest import author_timestamp, subject_body
from pipeline.ingest.decode import decode_export
from pipeline.ingest.errors import ExportError
from pipeline.model import Board

LAYOUTS = {
    "subject-body": subject_body,
    "author-timestamp": author_timestamp,
}
MIN_LAYOUT_SCORE = 0.5


def split_lines(text: str) -> list[str]:
    """Split export text into lines (no line-ending characters kept)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def detect_layout(lines: list[str]) -> tuple[str, float]:
    """The best-matching layout name and its score."""
    scores = {name: module.detect(lines) for name, module in LAYOUTS.items()}
    best = max(scores, key=lambda name: (scores[name], name))
    return best, scores[best]


def parse_board(text: str, source_file: str = "<text>", sha256: str | None = None) -> Board:
    """Parse the text of one export into a Board with its posts.

    Raises :class:`ExportError` when no known layout fits or no post is found.
    """
    lines = split_lines(text)
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    layout, score = detect_layout(lines)
    if score < MIN_LAYOUT_SCORE:
        raise ExportError(
            f"{source_file}: not a Padlet export (no posts found: no known layout fits, "
            f"best {layout!r} scored {score:.2f}); check that it is the text of a Padlet PDF export"
        )
    board = LAYOUTS[layout].parse(lines, source_file=source_file, sha256=sha256)
    if not board.posts:
        raise ExportError(f"{source_file}: no posts found (layout {layout}); check that the export is complete")
    # An export always ends with a line break; text that stops mid-line was cut off.
    board.truncated = board.truncated or not text.endswith("\n")
    return board


def read_export(path: Path) -> Board:
    """Read and parse one export file in any supported encoding and line-ending style."""
    raw = path.read_bytes()
    return parse_board(decode_export(raw, path.name), source_file=path.name, sha256=hashlib.sha256(raw).hexdigest())
