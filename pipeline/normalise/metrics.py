"""Quality measures for the normalise stage (used by tests and the bench).

* :func:`bow_f1`  lower-cased word-multiset F1 between a system text and a
  reference (the measure the held-out hand-written references are judged by);
* :func:`remaining_nn_share`  share of Nynorsk-only marker words that are
  still in a carried-over text, relative to the source;
* :func:`kept_share`  share of source words left unchanged (position-aligned
  with difflib), for Bokmål posts.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter

from .lexicon import NN_STEMS

_TOKEN = re.compile(r"[^\W_]+")

# Nynorsk-only marker words checked in carried-over text: function words
# plus the domain stems (skule*, kulturskule*, tilbod*, lærar*, midlar).
NN_CHECK_WORDS = frozenset(
    """ikkje kva korleis dei eit frå noko mykje berre fleire meir vere saman kven kvifor
    kvarandre desse sjølv heile ein nokon nokre vore kjem sjå""".split()
)


def bag(text: str) -> Counter:
    """Lower-cased word multiset (letters and digits)."""
    return Counter(t.lower() for t in _TOKEN.findall(text))


def bow_f1(system: str, reference: str) -> float:
    """Bag-of-words F1 (lower-cased word multisets) of ``system`` vs ``reference``."""
    s, r = bag(system), bag(reference)
    common = sum((s & r).values())
    if not s or not r:
        return 1.0 if s == r else 0.0
    p, rec = common / sum(s.values()), common / sum(r.values())
    return 0.0 if common == 0 else 2 * p * rec / (p + rec)


def is_nn_check_word(w: str) -> bool:
    """Marker test used for the remaining-Nynorsk figure."""
    w = w.lower()
    return w in NN_CHECK_WORDS or any(s in w for s in NN_STEMS)


def remaining_nn_share(sources: list[str], outputs: list[str]) -> tuple[int, int, float]:
    """(markers in outputs, markers in sources, ratio) over the given texts."""
    before = sum(1 for t in sources for w in _TOKEN.findall(t) if is_nn_check_word(w))
    after = sum(1 for t in outputs for w in _TOKEN.findall(t) if is_nn_check_word(w))
    return after, before, (after / before if before else 0.0)


def kept_share(sources: list[str], outputs: list[str]) -> tuple[int, int, float]:
    """(source words kept unchanged, source words, ratio), aligned with difflib."""
    kept = total = 0
    for s, o in zip(sources, outputs):
        a, b = _TOKEN.findall(s), _TOKEN.findall(o)
        total += len(a)
        sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        kept += sum(blk.size for blk in sm.get_matching_blocks())
    return kept, total, (kept / total if total else 1.0)
