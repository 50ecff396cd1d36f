"""Tokens, segments and protected spans of cleaned post text.

Cleaned text has paragraphs separated by blank lines and list items by
single newlines. A *segment* is one sentence or one line (list item); the
variant is detected per segment so that mixed posts are carried over
sentence by sentence. Everything between words (punctuation, whitespace,
newlines, digits) is kept verbatim.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

WORD_RE = re.compile(r"[^\W\d_]+")
# A sentence ends at . ! ? (or …) followed by whitespace; lines always end a segment.
_SEG_END = re.compile(r"(?<=[.!?…])[ \t]+(?=\S)|\n")
# Quoted spans: «...», "...", “...”; a title starts with an upper-case letter.
MAX_TITLE_WORDS = 8
_QUOTE_RE = re.compile(r"«[^»\n]{1,400}»|\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”")
_QUOTE_OPENERS = ("«", '"', "“")
# E-mail addresses, URLs and @/# tags are kept verbatim (and hidden from Apertium).
RAW_TOKEN_RE = re.compile(r"https?://\S+|www\.\S+|[^\s]*[@#<>^$\\{}|~][^\s]*")
_BOUNDARY_SEP = re.compile(r"[.!?:;…]|\n|^\s*[-–•*]|\(\s*$")
_CLAUSE_BREAK = re.compile(r"[.!?:;,\n()]")
_WORD_SPLIT = re.compile(f"({WORD_RE.pattern})")
# Every RAW_TOKEN_RE match contains one of these (a cheap test before the slower scan).
_RAW_HINTS = ("@", "#", "<", ">", "^", "$", "\\", "{", "}", "|", "~", "://", "www.")


@dataclass(slots=True)
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
    if not any(q in text for q in _QUOTE_OPENERS):
        return []
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
    Linear in the length of ``text`` (spans are looked up by bisection,
    per-word facts are memoised per process).
    """
    spans = quoted_title_spans(text)
    if any(h in text for h in _RAW_HINTS):
        spans += [m.span() for m in RAW_TOKEN_RE.finditer(text)]
    if spans:
        spans.sort()
        span_starts = [a for a, _ in spans]
        reach = list(accumulate((b for _, b in spans), max))  # reach[k]: furthest end of spans[:k + 1]
    parts = _WORD_SPLIT.split(text)  # [gap, word, gap, word, ..., gap]
    out: list[Word] = []
    start = len(parts[0])
    for k in range(1, len(parts), 2):
        w = parts[k]
        end = start + len(w)
        if k == 1:
            sent_start = True
        else:
            gap = parts[k - 1]
            sent_start = gap != " " and _is_boundary(gap)
        protected = not sent_start and w[0].isupper() and _name_like(w)
        if not protected and spans:
            i = bisect_right(span_starts, start)
            protected = i > 0 and reach[i - 1] > start
        out.append(Word(start, end, w, sent_start, protected))
        start = end + len(parts[k + 1])
    return out


@lru_cache(maxsize=4096)
def _is_boundary(gap: str) -> bool:
    """The text between two words opens a new sentence, line or list item."""
    return _BOUNDARY_SEP.search(gap) is not None


@lru_cache(maxsize=100_000)
def _name_like(w: str) -> bool:
    """A capitalised word inside a sentence is a name unless it is an acronym or a Nynorsk common word."""
    return not w.isupper() and not _common_nn(w.lower())


def _common_nn(lw: str) -> bool:
    """A capitalised Nynorsk common word (``Rammeplanar``) is not a name."""
    from .lexicon import is_nn_only_word, lexicon

    e = lexicon().get(lw)
    return (e is not None and e.scope == "any" and e.nb_form != lw) or is_nn_only_word(lw)


def segment_words(text: str, ws: list[Word]) -> list[tuple[int, int, list[Word]]]:
    """Each segment of ``text`` (``segments``) with its words as ``words(text[a:b])`` finds them.

    ``ws`` are the words of the whole ``text``; word offsets stay those of
    ``text``. A segment starts after a sentence end or a line break, so its
    words have the same sentence-start flags and name protection in the
    segment as in the whole text and are shared; only quoted titles can
    differ (a quote may pair differently across sentences), so a segment
    with a quotation mark, or inside a quoted title of the whole text, is
    tokenised on its own.
    """
    spans = segments(text)
    quoted = any(q in text for q in _QUOTE_OPENERS)
    titles = quoted_title_spans(text) if quoted else []
    out = []
    i, n = 0, len(ws)
    for a, b in spans:
        while i < n and ws[i].start < a:
            i += 1
        j = i
        while j < n and ws[j].end <= b:
            j += 1
        if quoted and (
            any(q in text[a:b] for q in _QUOTE_OPENERS) or any(qa < b and a < qb for qa, qb in titles)
        ):
            seg_ws = [Word(w.start + a, w.end + a, w.text, w.sent_start, w.protected) for w in words(text[a:b])]
        else:
            seg_ws = ws[i:j]
        out.append((a, b, seg_ws))
        i = j
    return out


@lru_cache(maxsize=4096)
def _gap_facts(gap: str) -> tuple[bool, bool]:
    """(only whitespace, has a clause break) for the text between two words."""
    return not gap.strip(), _CLAUSE_BREAK.search(gap) is not None


class Tokens:
    """One text's words with what the carry-over asks about them, computed once.

    ``lower``: each word lower-case; ``joined[i]``: only whitespace stands
    between word ``i - 1`` and word ``i``; ``broken[i]``: a clause break
    (``.!?:;,`` newline or bracket) stands between them (both False for the
    first word).
    """

    __slots__ = ("text", "words", "lower", "starts", "ends", "joined", "broken")

    def __init__(self, text: str, ws: list[Word] | None = None) -> None:
        self.text = text
        self.words = words(text) if ws is None else ws
        self.lower = [w.text.lower() for w in self.words]
        self.starts = [w.start for w in self.words]
        self.ends = [w.end for w in self.words]
        n = len(self.words)
        self.joined = [False] * n
        self.broken = [False] * n
        for k in range(1, n):
            gap = text[self.ends[k - 1] : self.starts[k]]
            if gap == " ":
                self.joined[k] = True
            else:
                self.joined[k], self.broken[k] = _gap_facts(gap)

    def index_range(self, start: int, end: int) -> range:
        """Indices of the words that lie inside ``text[start:end]``."""
        return range(bisect_left(self.starts, start), bisect_right(self.ends, end))

    def neighbours(self, i: int) -> tuple[str | None, str | None]:
        """Lower-case previous/next word of word ``i`` if only whitespace separates them."""
        prev = self.lower[i - 1] if i > 0 and self.joined[i] else None
        nxt = self.lower[i + 1] if i + 1 < len(self.lower) and self.joined[i + 1] else None
        return prev, nxt
