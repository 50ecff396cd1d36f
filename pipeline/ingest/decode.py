"""Bytes of an export file -> normalised text, before any parsing.

Exports arrive re-saved by other programs: UTF-8 with or without BOM,
UTF-16, Windows-1252/Latin-1, CRLF or CR line endings, tabs, no-break
spaces. :func:`decode_export` turns all of these into the same text, so the
same board in any of them gives the same posts.

Data caveat: a legacy 8-bit encoding cannot hold U+FFFD, so a board re-saved
as Windows-1252 has '?' where the original had the lost-ligature glyph; the
cleaner cannot restore those words.
"""
from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from pipeline.ingest.errors import ExportError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
BINARY_SHARE = 0.05


# Every byte but the control characters of binary data (below 32, except tab, LF, FF and CR).
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 32 and b not in (9, 10, 12, 13)))


def _looks_binary(raw: bytes) -> bool:
    sample = raw[:8192]
    if b"\x00" in sample:
        return True
    control = len(sample.translate(None, _NOT_CONTROL))  # the control bytes are what deleting the rest leaves
    return control / max(len(sample), 1) > BINARY_SHARE


def decode_bytes(raw: bytes, name: str) -> tuple[str, str]:
    """Decode the bytes of an export; returns (text, encoding used).

    Raises :class:`ExportError` for empty and binary files.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding), encoding
    if not raw.strip():
        raise ExportError(f"{name}: the file is empty; export the board again from Padlet")
    if _looks_binary(raw):
        raise ExportError(f"{name}: binary file, not a text export; extract the text from the PDF export first")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None:
        raise ExportError(f"{name}: unknown text encoding; re-save the file as UTF-8")
    return str(best), best.encoding


def normalise_text(text: str) -> str:
    """Line endings to LF, tabs and no-break spaces to spaces, no trailing whitespace."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ").replace("\u00a0", " ").replace("\u202f", " ").replace("\ufeff", "")
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def decode_export(raw: bytes, name: str) -> str:
    """The normalised text of an export file's bytes."""
    text, _ = decode_bytes(raw, name)
    return normalise_text(text)
