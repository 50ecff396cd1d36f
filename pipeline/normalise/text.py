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
from itertools import accumulate, compress

WORD_RE = re.compile(r"[^\W\d_]+")
# A sentence ends at . ! ? (or …) followed by whitespace; lines always end a segment.
# (The separator is group 1 after a sentence end, the whole match at a newline.)
_SEG_END = re.compile(r"[.!?…]([ \t]+)(?=\S)|\n")
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
        sep_start, sep_end = m.span(1) if m.group(1) is not None else m.span()
        if sep_start > pos:
            spans.append((pos, sep_start))
        pos = sep_end
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


def _split_words(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """(forms, gaps, starts, ends) of the ``WORD_RE`` matches in ``text``, without a match object per word.

    ``gaps[k]`` is the text between word ``k`` and word ``k + 1``.
    """
    parts = _WORD_SPLIT.split(text)  # [gap, word, gap, word, ..., gap]
    bounds = list(accumulate(map(len, parts)))  # bounds[2k]: start of word k, bounds[2k + 1]: its end
    return parts[1::2], parts[2:-1:2], bounds[0:-1:2], bounds[1::2]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, form) of each ``WORD_RE`` match in ``text`` (without a match object per word)."""
    forms, _, starts, ends = _split_words(text)
    return list(zip(starts, ends, forms))


def _quote_positions(text: str) -> list[int]:
    """Sorted offsets of the characters of ``_QUOTE_OPENERS`` in ``text``."""
    out = []
    for q in _QUOTE_OPENERS:
        i = text.find(q)
        while i >= 0:
            out.append(i)
            i = text.find(q, i + 1)
    out.sort()
    return out


def has_raw_hint(text: str) -> bool:
    """False when ``RAW_TOKEN_RE`` cannot match in ``text`` (a cheap test before the slower scan)."""
    return any(h in text for h in _RAW_HINTS)


def words(text: str) -> list[Word]:
    """All words of ``text`` with sentence-start flags and name protection.

    A capitalised word that does not open a sentence, line or list item is
    taken as a name (``Frode Laks``, ``Sogndal``) and protected, unless it
    is a Nynorsk-only common word (``Fokus på Rammeplanar``); words in
    quoted titles, e-mail addresses, URLs and @/# tags are protected too.
    Caveat: a name that opens a sentence is not detected here (the
    carry-over leaves unknown capitalised words alone instead).
    Linear in the length of ``text`` (spans are looked up by bisection,
    per-word facts are memoised per process). ``Tokens(text)`` holds the
    same words as parallel lists (no object per word).
    """
    return Tokens(text).words


@lru_cache(maxsize=4096)
def _is_boundary(gap: str) -> bool:
    """The text between two words opens a new sentence, line or list item."""
    return _BOUNDARY_SEP.search(gap) is not None


@lru_cache(maxsize=100_000)
def _name_like(w: str) -> bool:
    """A capitalised word inside a sentence is a name unless it is an acronym or a Nynorsk common word.

    (Whether it stands inside a sentence is for the caller to check.)
    """
    return w[0].isupper() and not w.isupper() and not _common_nn(w.lower())


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
    tokenised on its own (``Tokens.segment_ranges`` tells which).
    """
    out = []
    for a, b, i, j, own in Tokens(text, ws).segment_ranges():
        if own is None:
            out.append((a, b, ws[i:j]))
        else:
            out.append((a, b, [Word(w.start + a, w.end + a, w.text, w.sent_start, w.protected) for w in own.words]))
    return out


@lru_cache(maxsize=4096)
def _only_whitespace(gap: str) -> bool:
    """Only whitespace stands between two words."""
    return not gap.strip()


@lru_cache(maxsize=4096)
def _clause_break(gap: str) -> bool:
    """A clause break (``.!?:;,`` newline or bracket) stands between two words."""
    return _CLAUSE_BREAK.search(gap) is not None


class Tokens:
    """One text's words as parallel lists, with what the normalise stage asks about them, computed once.

    Word ``k`` is ``forms[k] == text[starts[k]:ends[k]]``; ``opens[k]``: it
    opens a sentence, line or list item; ``protected[k]``: a name, or inside
    a quoted title, e-mail address, URL or @/# tag (see ``words``);
    ``lower[k]``: its lower-case form; ``joined[k]``: only whitespace stands
    between word ``k - 1`` and word ``k``; ``broken[k]``: a clause break
    (``.!?:;,`` newline or bracket) stands between them (both False for the
    first word); ``words``: the same words as ``Word`` objects. The last
    three are made when first asked for (most texts never need them).
    ``Tokens(text, ws)`` takes the words ``ws = words(text)`` that the
    caller has.
    """

    __slots__ = (
        "text", "forms", "starts", "ends", "opens", "protected", "lower", "_gaps", "_joined", "_broken", "_words",
        "_titles",
    )

    def __init__(self, text: str, ws: list[Word] | None = None) -> None:
        self.text = text
        self._words = ws
        self._titles: list[tuple[int, int]] | None = None
        self._joined: list[bool] | None = None
        self._broken: list[bool] | None = None
        if ws is None:
            self.forms, self._gaps, self.starts, self.ends = _split_words(text)  # _gaps[k]: between words k, k + 1
            self.opens = self._flags_between(_is_boundary, True)  # the first word opens the text
            self.protected = names = list(map(_name_like, self.forms))
            for k in compress(range(len(names)), self.opens):
                names[k] = False  # a capitalised word that opens a sentence is no name
            self._protect_spans()
        else:
            self.forms = [w.text for w in ws]
            self.starts = [w.start for w in ws]
            self.ends = [w.end for w in ws]
            self._gaps = [text[end:start] for end, start in zip(self.ends, self.starts[1:])]
            self.opens = [w.sent_start for w in ws]
            self.protected = [w.protected for w in ws]
        self.lower = list(map(str.lower, self.forms))

    def _flags_between(self, test, first: bool) -> list[bool]:
        """``[first, test(gap before word 1), test(gap before word 2), ...]``, one flag per word."""
        flags = [first] if self.forms else []
        flags += map(test, self._gaps)
        return flags

    @property
    def joined(self) -> list[bool]:
        """``joined[k]``: only whitespace stands between word ``k - 1`` and word ``k`` (made when first asked for)."""
        if self._joined is None:
            self._joined = self._flags_between(_only_whitespace, False)
        return self._joined

    @property
    def broken(self) -> list[bool]:
        """``broken[k]``: a clause break stands between word ``k - 1`` and word ``k`` (made when first asked for)."""
        if self._broken is None:
            self._broken = self._flags_between(_clause_break, False)
        return self._broken

    def _protect_spans(self) -> None:
        """Protect the words that start inside quoted titles, e-mail addresses, URLs and @/# tags."""
        text, starts, protected = self.text, self.starts, self.protected
        spans = list(self.title_spans())
        if has_raw_hint(text):
            spans += [m.span() for m in RAW_TOKEN_RE.finditer(text)]
        for a, b in spans:
            for k in range(bisect_left(starts, a), bisect_left(starts, b)):
                protected[k] = True

    def title_spans(self) -> list[tuple[int, int]]:
        """``quoted_title_spans(text)`` (computed once)."""
        if self._titles is None:
            self._titles = quoted_title_spans(self.text)
        return self._titles

    @property
    def words(self) -> list[Word]:
        """The words as ``Word`` objects (``words(text)``)."""
        if self._words is None:
            self._words = list(map(Word, self.starts, self.ends, self.forms, self.opens, self.protected))
        return self._words

    def segment_ranges(self) -> list[tuple[int, int, int, int, Tokens | None]]:
        """Each segment ``(a, b)`` of the text (``segments``) with its words ``i:j`` (see ``segment_words``).

        The fifth item is None when the segment's words are words ``i:j`` of
        the text as they are, else the ``Tokens`` of ``text[a:b]`` (a segment
        with a quotation mark, or inside a quoted title of the whole text,
        whose words are tokenised on their own).
        """
        text, starts, ends = self.text, self.starts, self.ends
        quotes = _quote_positions(text)
        titles = self.title_spans() if quotes else []
        out = []
        i = 0
        for a, b in segments(text):
            i = max(i, bisect_left(starts, a))  # the first word from a on
            j = max(i, bisect_right(ends, b))  # after the last word that ends by b
            own = None
            if quotes:
                q = bisect_left(quotes, a)
                if (q < len(quotes) and quotes[q] < b) or any(qa < b and a < qb for qa, qb in titles):
                    own = Tokens(text[a:b])
            out.append((a, b, i, j, own))
            i = j
        return out

    def index_range(self, start: int, end: int) -> range:
        """Indices of the words that lie inside ``text[start:end]``."""
        return range(bisect_left(self.starts, start), bisect_right(self.ends, end))

    def neighbours(self, i: int) -> tuple[str | None, str | None]:
        """Lower-case previous/next word of word ``i`` if only whitespace separates them."""
        prev = self.lower[i - 1] if i > 0 and self.joined[i] else None
        nxt = self.lower[i + 1] if i + 1 < len(self.lower) and self.joined[i + 1] else None
        return prev, nxt
