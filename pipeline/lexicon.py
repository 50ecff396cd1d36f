"""Norwegian lexical evidence for the cleaning stage.

A :class:`Lexicon` combines two sources:

* a committed word list (``seeds/lexicon/words-nb-nn.txt.gz``, built once by
  ``scripts/build_lexicon.py`` from NorNE/NDT word forms and the expanded
  hunspell nb/nn dictionaries): *is this a Norwegian word form?*
* wordfreq's Norwegian Bokmål frequencies (``zipf_frequency(w, "nb")``):
  *how common is it?* wordfreq also contains noise (OCR debris, names, bits
  of other languages such as ``fiere`` or ``ig``), so its presence alone is
  weaker evidence than the word list.

Compounds, which Norwegian writes as one word and which no list covers
fully, are recognised by :meth:`Lexicon.compound_parts`: a known head, an
optional linking ``s`` or ``e``, and a known tail (recursively, up to three
parts). Data caveat: the word list contains abbreviations and single
letters (``g``, ``dm``, ``utg``); callers that must know whether a piece is a
real stand-alone word use :meth:`Lexicon.is_solid`, which also asks for a
minimum frequency.

The list is loaded once per process (:func:`load_lexicon` is cached); it
holds about 1.4 M words in a sorted list (binary search for membership
and for the longest known prefix of a fragment).
"""
from __future__ import annotations

import gzip
import operator
import re
from bisect import bisect_left
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice
from pathlib import Path

from pipeline import config

LEXICON_PATH = config.SEEDS_DIR / "lexicon" / "words-nb-nn.txt.gz"

MIN_PART = 3  # shortest head or tail accepted in a compound
LINKS = ("", "s", "e")  # Norwegian linking elements (fuge-s, fuge-e)
SOLID_ZIPF = 2.0  # a listed word at least this frequent counts as a real stand-alone word


# The Latin-1 characters that lower-casing leaves alone (all but A-Z and À-Þ without ×), as byte values.
_LATIN1_UNCHANGED_BY_LOWER = bytes(c for c in range(256) if chr(c).lower() == chr(c))


def _is_lower_case(text: str) -> bool:
    """Whether ``text.lower() == text``: no character that lower-casing would change.

    Norwegian word lists are Latin-1 text, checked byte-wise (much faster
    than ``str.islower`` or lower-casing on the large committed list);
    other text is lower-cased and compared.
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text.lower() == text
    return not raw.translate(None, _LATIN1_UNCHANGED_BY_LOWER)


def _distinct_lower_sorted(words: list[str]) -> list[str]:
    """The distinct non-empty words, lower-cased, in sorted order: ``words`` itself when it already is that.

    Checking costs a fraction of rebuilding (the committed 1.4 M-word list
    is stored that way). Lower-casing a word does not depend on its
    neighbours, so the words are checked as one joined text.
    """
    strictly_sorted = all(map(operator.lt, words, islice(words, 1, None)))
    if strictly_sorted and (not words or words[0]) and _is_lower_case("\n".join(words)):
        return words
    return sorted({w.lower() for w in words if w})


class Lexicon:
    """Word list plus frequencies; all look-ups are case-insensitive.

    ``words`` are lower-case word forms; ``use_wordfreq`` switches the
    frequency source off (tests with a toy list), in which case every listed
    word gets ``default_zipf``.
    """

    def __init__(self, words: Iterable[str], use_wordfreq: bool = True, default_zipf: float = 3.0):
        self._words: list[str] = _distinct_lower_sorted(list(words))
        self._use_wordfreq = use_wordfreq
        self._default_zipf = default_zipf
        self._zipf_cache: dict[str, float] = {}
        self._compound_cache: dict[str, tuple[str, ...] | None] = {}
        if use_wordfreq:
            from wordfreq import zipf_frequency

            self._zipf_fn = zipf_frequency
        else:
            self._zipf_fn = None

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: str) -> bool:
        return self.has(word)

    def has(self, word: str) -> bool:
        """True if ``word`` (any case) is in the word list."""
        w = word.lower()
        i = bisect_left(self._words, w)
        return i < len(self._words) and self._words[i] == w

    def zipf(self, word: str) -> float:
        """wordfreq Zipf frequency of ``word`` in Norwegian Bokmål (0 = unseen).

        Without wordfreq, listed words get ``default_zipf`` and others 0.
        """
        w = word.lower()
        z = self._zipf_cache.get(w)
        if z is None:
            if self._zipf_fn is not None:
                z = self._zipf_fn(w, "nb")
            else:
                z = self._default_zipf if self.has(w) else 0.0
            self._zipf_cache[w] = z
        return z

    def is_solid(self, word: str) -> bool:
        """True if ``word`` is a real stand-alone word: listed, 2+ letters and not rare.

        Used to refuse joins of two genuine words (``og jeg``, ``dag jobber``).
        Single letters and rare listed forms (``kole``) do not count.
        """
        return len(word) >= 2 and self.has(word) and self.zipf(word) >= SOLID_ZIPF

    def compound_parts(self, word: str, max_parts: int = 3) -> tuple[str, ...] | None:
        """Split ``word`` into known parts (head [+ s/e link] + tail), or None.

        Returns the parts with the linking letter attached to the preceding
        part (``flerfags`` + ``rabatt``). Prefers fewer parts, then the split
        whose rarest part is most frequent. Parts shorter than ``MIN_PART``
        are not accepted, so this never explains a word by gluing tiny
        fragments. Cached per lexicon.
        """
        w = word.lower()
        key = f"{max_parts}:{w}"
        if key in self._compound_cache:
            return self._compound_cache[key]
        best: tuple[str, ...] | None = None
        best_key: tuple[int, float] | None = None
        for i in range(MIN_PART, len(w) - MIN_PART + 1):
            head = w[:i]
            if not self.has(head):
                continue
            for link in LINKS:
                if not w.startswith(link, i):
                    continue
                tail = w[i + len(link):]
                if len(tail) < MIN_PART:
                    continue
                if self.has(tail):
                    parts: tuple[str, ...] | None = (head + link, tail)
                elif max_parts > 2:
                    sub = self.compound_parts(tail, max_parts - 1)
                    parts = (head + link, *sub) if sub else None
                else:
                    parts = None
                if parts:
                    rank = (-len(parts), min(self.zipf(p) for p in (head, *parts[1:])))
                    if best_key is None or rank > best_key:
                        best, best_key = parts, rank
        self._compound_cache[key] = best
        return best

    def is_known(self, word: str) -> bool:
        """True if ``word`` is listed or splits into known compound parts."""
        return self.has(word) or self.compound_parts(word) is not None

    def prefix_evidence(self, fragment: str) -> int:
        """Length of the longest prefix ``fragment`` shares with any listed word.

        Evidence for word fragments (a word cut by a narrow column, or a
        writer's typo): ``flyktni`` shares 7 letters with ``flyktning``,
        ``fiyktni`` only 2 with anything.
        """
        w = fragment.lower()
        i = bisect_left(self._words, w)
        best = 0
        for j in (i - 1, i):
            if 0 <= j < len(self._words):
                other = self._words[j]
                n = 0
                for a, b in zip(w, other):
                    if a != b:
                        break
                    n += 1
                best = max(best, n)
        return best


# Where a line starts that read_word_list may have to skip: a "#" or white space after a line break.
_SKIPPABLE_LINE = re.compile(r"\n[#\s]")


def read_word_list(path: Path = LEXICON_PATH) -> list[str]:
    """Words of a gzip word list (one per line; ``#`` lines are the header, blank lines are skipped).

    Line endings are read as text files read them (``\\r\\n`` and ``\\r`` end a
    line too). The file is read in one piece and split once; its lines are
    looked at one by one only when a search of the whole text finds one
    after the header that may have to be skipped (the committed list has
    none).
    """
    text = gzip.decompress(Path(path).read_bytes()).decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        header += 1
    body_start = sum(len(line) + 1 for line in lines[:header])  # where the first line after the header starts
    del lines[:header]
    if lines and not lines[-1]:
        lines.pop()  # after the final line break
    if lines and (not lines[0] or lines[0][0].isspace() or _SKIPPABLE_LINE.search(text, body_start)):
        lines = [line for line in lines if line and line[0] != "#" and not line.isspace()]
    return lines


@lru_cache(maxsize=1)
def load_lexicon(path: str | None = None) -> Lexicon:
    """The run's single :class:`Lexicon` (committed word list + wordfreq), loaded once."""
    # wordfreq is imported before the list is read: its import allocates so many objects that the garbage
    # collections meanwhile, each traversing the 1.4 M words once more, would take longer than the reading
    import wordfreq  # noqa: F401

    return Lexicon(read_word_list(Path(path) if path else LEXICON_PATH))
