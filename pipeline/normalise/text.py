"""Tokens, segments and protected spans of cleaned post text.

Cleaned text has paragraphs separated by blank lines and list items by
single newlines. A *segment* is one sentence or one line (list item); the
variant is detected per segment so that mixed posts are carried over
sentence by sentence. Everything between words (punctuation, whitespace,
newlines, digits) is kept verbatim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

WORD_RE = re.compile(r"[^\W\d_]+")
# A sentence ends at . ! ? (or …) followed by whitespace; lines always end a segment.
_SEG_END = re.compile(r"(?<=[.!?…])[ \t]+(?=\S)|\n")
# Quoted spans: «...», "...", “...”; a title starts with an upper-case letter.
MAX_TITLE_WORDS = 8
_QUOTE_RE = re.compile(r"«[^»\n]{1,400}»|\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”")
# E-mail addresses, URLs and @/# tags are kept verbatim (and hidden from Apertium).
RAW_TOKEN_RE = re.compile(r"https?://\S+|www\.\S+|[^\s]*[@#<>^$\\{}|~][^\s]*")
_BOUNDARY_SEP = re.compile(r"[.!?:;…]|\n|^\s*[-–•*]|\(\s*$")


@dataclass
class Word:
    """One word token: its span in the text, its form and its context."""

    start: int
    end: int
    text: str
    sent_start: bool
    protected: bool = False


def segments(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences/lines of ``text``.

    Separators (newlines, the spaces after a full stop) fall between spans,
    so ``text`` can be rebuilt exactly from the spans and the gaps.
    """
    spans = []
    pos = 0
    for m in _SEG_END.finditer(text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def quoted_title_spans(text: str) -> list[tuple[int, int]]:
    """Spans of quoted titles/names that must stay as written.

    A quoted span counts as a title when its first letter is upper-case
    and it has two to ``MAX_TITLE_WORDS`` words and no sentence break
    (``"Frode Laks"``, ``«Alle med»``); a single quoted common word
    (``"skule"``) and a quoted passage of whole sentences are carried over
    like any text.
    """
    out = []
    for m in _QUOTE_RE.finditer(text):
        inner = m.group(0)[1:-1]
        words = WORD_RE.findall(inner)
        sentences = re.search(r"[.!?]\s+[A-ZÆØÅ]", inner)
        if 2 <= len(words) <= MAX_TITLE_WORDS and words[0][:1].isupper() and not sentences:
            out.append((m.start(), m.end()))
    return out


def words(text: str) -> list[Word]:
    """All words of ``text`` with sentence-start flags and name protection.

    A capitalised word that does not open a sentence, line or list item is
    taken as a name (``Frode Laks``, ``Sogndal``) and protected, unless it
    is a Nynorsk-only common word (``Fokus på Rammeplanar``); words in
    quoted titles, e-mail addresses, URLs and @/# tags are protected too.
    Caveat: a name that opens a sentence is not detected here (the
    carry-over leaves unknown capitalised words alone instead).
    """
    titles = quoted_title_spans(text) + [(m.start(), m.end()) for m in RAW_TOKEN_RE.finditer(text)]
    out: list[Word] = []
    prev_end = 0
    for m in WORD_RE.finditer(text):
        gap = text[prev_end : m.start()]
        first = not out
        sent_start = first or bool(_BOUNDARY_SEP.search(gap))
        w = m.group(0)
        protected = False
        if not sent_start and w[:1].isupper() and not w.isupper() and not _common_nn(w.lower()):
            protected = True
        if any(a <= m.start() < b for a, b in titles):
            protected = True
        out.append(Word(m.start(), m.end(), w, sent_start, protected))
        prev_end = m.end()
    return out


def _common_nn(lw: str) -> bool:
    """A capitalised Nynorsk common word (``Rammeplanar``) is not a name."""
    from .lexicon import is_nn_only_word, lexicon

    e = lexicon().get(lw)
    return (e is not None and e.scope == "any" and e.nb_form != lw) or is_nn_only_word(lw)


def clause_neighbours(text: str, ws: list[Word], i: int) -> tuple[str | None, str | None]:
    """Lower-case previous/next word of ``ws[i]`` if only spaces separate them."""
    prev = nxt = None
    if i > 0 and not text[ws[i - 1].end : ws[i].start].strip():
        prev = ws[i - 1].text.lower()
    if i + 1 < len(ws) and not text[ws[i].end : ws[i + 1].start].strip():
        nxt = ws[i + 1].text.lower()
    return prev, nxt
