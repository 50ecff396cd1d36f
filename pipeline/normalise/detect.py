"""Bokmål / Nynorsk detection from distinctive words.

Evidence is the share of words that occur only in Nynorsk and only in
Bokmål, judged by hand-written marker lists and by the hunspell nb_NO /
nn_NO form lists in ``seeds/`` (see ``lexicon.py``). No lemmatiser is used:
no Norwegian spaCy model is installable from PyPI here, and full-form lists
cover the inflections. Names (capitalised words inside a sentence) and
quoted titles are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, islice

from .lexicon import is_nb_only_word, is_nn_only_word
from .text import Tokens, Word

VARIANTS = ("nb", "nn", "mixed")
# A text is Bokmål when Bokmål has at least NB_SHARE of the distinctive
# words, Nynorsk when Nynorsk has at least NN_SHARE; in between it is mixed
# (if whole sentences are written in each). The threshold is lower for
# Nynorsk because Nynorsk posts quote the (Bokmål) prompt questions and use
# forms that are legal in both standards but only listed as Bokmål by
# hunspell (e.g. "tilsatt", "forpliktelse").
NB_SHARE = 0.8
NN_SHARE = 0.65
# Fewer distinctive words than this: fall back to the board majority
# unless all the evidence points one way.
MIN_EVIDENCE = 2
# VariantResult.evidence keeps the first MAX_EVIDENCE distinctive words.
MAX_EVIDENCE = 40


@dataclass(frozen=True)
class VariantResult:
    """Detected written standard of one text.

    ``variant``: "nb", "nn" or "mixed". ``score``: (nn - nb) / (nn + nb)
    over distinctive words, in [-1, 1] (0 when there are none).
    ``nn_share``/``nb_share``: share of all counted words that are
    Nynorsk-only / Bokmål-only. ``evidence``: the distinctive words found,
    as (word, "nn"|"nb") pairs in text order (at most 40).
    ``defaulted``: True when the variant came from the board majority.
    """

    variant: str
    score: float
    nn_share: float
    nb_share: float
    evidence: tuple[tuple[str, str], ...] = field(default=())
    n_words: int = 0
    defaulted: bool = False


@lru_cache(maxsize=200_000)
def _side(word: str) -> str | None:
    """``"nn"``/``"nb"`` when the word as written is evidence for that standard, else None; list letters (A. B.) are no evidence."""
    lw = word.lower()
    if len(lw) == 1 and lw not in ("å", "i", "o"):
        return None
    if is_nn_only_word(lw):
        return "nn"
    if is_nb_only_word(lw):
        return "nb"
    return None


def _sides(forms: list[str], protected: list[bool]) -> list[str | None]:
    """``_side`` of each word of ``forms``; None for the ``protected`` ones (names, titles), which are not counted."""
    sides = list(map(_side, forms))
    for k in compress(range(len(sides)), protected):
        sides[k] = None
    return sides


def _count(forms: list[str], protected: list[bool]) -> tuple[int, int, int, list[str | None]]:
    """(Nynorsk-only, Bokmål-only, counted words, ``_sides``) over the words ``forms`` that are not ``protected``."""
    sides = _sides(forms, protected)
    return sides.count("nn"), sides.count("nb"), len(forms) - sum(protected), sides


def _evidence(forms: list[str], sides: list[str | None], limit: int) -> tuple[tuple[str, str], ...]:
    """The first ``limit`` distinctive words as (lower-case form, side) pairs in text order."""
    return tuple(islice(((form.lower(), side) for form, side in zip(forms, sides) if side is not None), limit))


def _segment_counts(tok: Tokens) -> list[tuple[int, int, int, int]]:
    """(start, end, Nynorsk-only, Bokmål-only) of each segment of ``tok.text`` (``Tokens.segment_ranges``).

    A segment that shares the text's words is counted over its slice of
    the text's ``_sides``, one that is tokenised on its own with ``_count``.
    """
    sides = _sides(tok.forms, tok.protected)
    out = []
    for a, b, i, j, own in tok.segment_ranges():
        if own is None:
            seg = sides[i:j]
            out.append((a, b, seg.count("nn"), seg.count("nb")))
        else:
            nn, nb, _, _ = _count(own.forms, own.protected)
            out.append((a, b, nn, nb))
    return out


def detect_variant(
    text: str, board_majority: str | None = None, ws: list[Word] | None = None, tokens: Tokens | None = None
) -> VariantResult:
    """Detect whether ``text`` is Bokmål (nb), Nynorsk (nn) or mixed.

    Works on a whole post or on one segment. With no or too little
    distinctive evidence (fewer than ``MIN_EVIDENCE`` words, or a tie) the
    board majority is returned (``"nb"`` when not given) and
    ``defaulted`` is set. Nynorsk needs ``NN_SHARE`` of the distinctive
    words, Bokmål ``NB_SHARE``; in between the post is ``mixed`` when each
    side owns at least one whole sentence, else the larger side wins.
    Caveat: very short texts (a heading, one list item) rarely carry
    distinctive words, so their result is mostly the default.
    ``ws``: ``words(text)``, or ``tokens``: ``Tokens(text)``, if the caller
    has it already.
    """
    default = board_majority if board_majority in VARIANTS else "nb"
    tok = tokens if tokens is not None else Tokens(text, ws)
    nn, nb, n, sides = _count(tok.forms, tok.protected)
    tot = nn + nb
    score = (nn - nb) / tot if tot else 0.0
    nn_share = nn / n if n else 0.0
    nb_share = nb / n if n else 0.0
    if nn == nb and nn >= MIN_EVIDENCE and _mixed_or_majority(tok, nn, nb) == "mixed":
        variant, defaulted = "mixed", False
    elif tot == 0 or nn == nb or (tot < MIN_EVIDENCE and board_majority in VARIANTS):
        variant, defaulted = (default if default != "mixed" else ("nn" if nn >= nb else "nb")), True
    elif nn / tot >= NN_SHARE:
        variant, defaulted = "nn", False
    elif nb / tot >= NB_SHARE:
        variant, defaulted = "nb", False
    else:
        variant = _mixed_or_majority(tok, nn, nb)
        defaulted = False
    evidence = _evidence(tok.forms, sides, MAX_EVIDENCE)
    return VariantResult(variant, round(score, 4), round(nn_share, 4), round(nb_share, 4), evidence, n, defaulted)


def _mixed_or_majority(tok: Tokens, nn: int, nb: int) -> str:
    """Mixed when whole sentences are written in each standard."""
    nn_sent = nb_sent = 0
    for _, _, snn, snb in _segment_counts(tok):
        if snn >= 2 and snn > 2 * snb:
            nn_sent += 1
        elif snb >= 2 and snb > 2 * snn:
            nb_sent += 1
    if nn_sent and nb_sent:
        return "mixed"
    return "nn" if nn > nb else "nb"


def label_segments(text: str, post_variant: str, ws: list[Word] | None = None) -> list[tuple[int, int, str]]:
    """Label every segment (sentence/line) of a post ``nb`` or ``nn``.

    A segment takes the side of its distinctive words; with none (or a tie)
    it takes the previous segment's label in a mixed post and the post's
    variant otherwise. In a Bokmål (Nynorsk) post a segment only switches
    to the other standard when it has at least two distinctive words of it
    and more than of the post's own. ``ws``: ``words(text)`` if the caller
    has it already (``label_token_segments`` takes the text's ``Tokens``).
    """
    return label_token_segments(Tokens(text, ws), post_variant)


def label_token_segments(tok: Tokens, post_variant: str) -> list[tuple[int, int, str]]:
    """``label_segments`` of the text whose ``Tokens`` are ``tok``."""
    out = []
    prev = "nn" if post_variant in ("nn", "mixed") else "nb"
    for a, b, nn, nb in _segment_counts(tok):
        if post_variant == "nb":
            lab = "nn" if nn >= 2 and nn > nb else "nb"
        elif post_variant == "nn":
            lab = "nb" if nb >= 2 and nb > nn else "nn"
        elif nn > nb:
            lab = "nn"
        elif nb > nn:
            lab = "nb"
        else:
            lab = prev if post_variant == "mixed" else "nn"
        out.append((a, b, lab))
        prev = lab
    return out
