"""Nynorsk -> Bokmål carry-over backends behind one interface.

* :class:`LexiconBackend`  pure Python: the reviewed lexicon in
  ``seeds/nn_nb_lexicon.csv`` plus guarded inflection/compound rules.
* :class:`ApertiumBackend`  the Debian ``apertium-nno-nob`` pair, asked
  ONCE per batch (every distinct Nynorsk segment translated on its own in
  one request to a long-running Apertium pipeline per process, see
  ``apertium.py``), with pre-protection of names and of words Apertium is
  known to get wrong, and a post-edit pass with the lexicon backend.

Both translate only what is Nynorsk: each post is split into sentences /
lines, each labelled nb or nn (``detect.label_segments``); Bokmål segments
only get unambiguous non-Bokmål words carried over (``ikkje``, ``frå``).
"""
from __future__ import annotations

import difflib
import logging
import re
import shutil
import subprocess
import threading
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate, compress, repeat
from operator import not_, or_
from typing import Callable, Iterable, Protocol, Sequence, runtime_checkable

from . import apertium
from .detect import detect_variant, label_token_segments
from .lexicon import (
    INFINITIVE_TRIGGERS,
    Ctx,
    is_nb_word,
    is_nn_only_word,
    left_alone_outside_nn,
    lexicon,
    lexicon_version,
    match_case,
    nb_forms,
    nb_only,
    nn_only,
    phrase_openings,
    phrases_by_first_word,
    translate_in_nn_anywhere,
    translate_word,
    unchanged_outside_nn,
)
from .text import RAW_TOKEN_RE, WORD_RE, Tokens, has_raw_hint, word_spans

log = logging.getLogger(__name__)

APERTIUM_PAIR = apertium.PAIR
# Words Apertium nno-nob mistranslates (1.5.0): fleire -> "gjentatte",
# "råd" in "har råd til" -> "anbefal", små -> "lille", born/løyve left as
# they are, "dei som" -> "dem som", "kome" -> "kommet". They are hidden
# behind placeholders and filled in by the lexicon backend.
APERTIUM_PROTECT = frozenset(
    """fleire små born borna borni løyve løyver løyvd løyvde råd kome dei kvar kor anna
    ein set høve døme dømet""".split()
)


@lru_cache(maxsize=100_000)
def _hidden_from_apertium(form: str) -> bool:
    """The word (as written) goes to Apertium behind a placeholder wherever it stands outside a name.

    An acronym that is not in the reviewed lexicon, or a word of
    ``APERTIUM_PROTECT``; only words of letters (``str.isalpha``).
    """
    lw = form.lower()
    if not lw.isalpha():
        return False
    return (len(form) > 1 and form.isupper() and lw not in lexicon()) or lw in APERTIUM_PROTECT


@lru_cache(maxsize=100_000)
def _kept_and_reviewed(lw: str) -> tuple[bool, bool]:
    """(``lw`` is a Bokmål form and no Nynorsk evidence, ``lw`` is in the reviewed lexicon) for the post-edit."""
    return is_nb_word(lw) and not is_nn_only_word(lw), lw in lexicon()


# Placeholders are letters only (so they are single words for the tokenizer
# and unknown words for Apertium): XQ + the number in letters a-j + QX.
_PLACEHOLDER_RE = re.compile(r"XQ([a-j]+)QX", re.IGNORECASE)


_DIGIT_LETTERS = str.maketrans("0123456789", "abcdefghij")
_LETTER_DIGITS = str.maketrans("abcdefghij", "0123456789")


def _placeholder(n: int) -> str:
    return "XQ" + str(n).translate(_DIGIT_LETTERS) + "QX"


def _placeholder_num(code: str) -> int:
    return int(code.lower().translate(_LETTER_DIGITS))
_UNKNOWN_MARK_RE = re.compile(r"(?<![\w@.])[*#@](?=[^\W\d_])")


@runtime_checkable
class Backend(Protocol):
    """A Nynorsk -> Bokmål backend: ``name``, ``version``, ``translate_batch``."""

    name: str
    version: str

    def translate_batch(
        self,
        texts: Sequence[str],
        variants: Sequence[str | None] | None = None,
        tokens: Sequence[Tokens | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts`` (same order, same length).

        ``tokens``: each text's ``Tokens(text)`` if the caller has them already.
        """
        ...


# --------------------------------------------------------------------------
# Lexicon backend


def _carry_over_span(
    tok: Tokens, start: int, end: int, nn: bool, edits: dict[int, tuple[int, str]], rules: bool = False
) -> None:
    """Collect word edits for ``tok.text[start:end]`` into ``edits`` (start -> (end, new)).

    ``nn`` says whether the span is a Nynorsk segment; ``rules`` applies the
    guarded inflection rules outside Nynorsk segments too (post-edit).
    Multi-word lexicon entries are tried first (longest first), then each
    word with its clause neighbours (which may lie outside the span).
    Linear in the span: phrases are looked up by their first word;
    outside Nynorsk segments the words that the carry-over leaves alone in
    every context (``_passed_over_outside_nn``, most of them) are passed
    over before the loop, and inside them a word whose carry-over does not
    depend on its context (``translate_in_nn_anywhere``) is translated
    without building it.
    """
    text, forms, low, starts, ends = tok.text, tok.forms, tok.lower, tok.starts, tok.ends
    span = tok.index_range(start, end)
    hi = span.stop
    if not nn:
        span = list(compress(span, map(not_, map(_passed_over_outside_nn, forms[span.start : hi], repeat(rules)))))
    by_first = phrases_by_first_word()
    skip_until = -1
    for i in span:
        w_start = starts[i]
        if w_start < skip_until or tok.protected[i]:
            continue
        lw = low[i]
        # multi-word entries
        done = False
        for seq, e in by_first.get(lw, ()):
            if e.scope == "nn" and not nn:
                continue
            j_end = i + len(seq)
            if j_end > hi or low[i + 1] != seq[1] or tuple(low[i:j_end]) != seq:
                continue
            if any(text[ends[t] : starts[t + 1]] != " " for t in range(i, j_end - 1)):
                continue
            last_end = ends[j_end - 1]
            if e.nb_form != e.nn_form:
                edits[w_start] = (last_end, match_case(text[w_start:last_end], e.nb_form))
            skip_until = last_end
            done = True
            break
        if done:
            continue
        form = forms[i]
        capital = form[:1].isupper()
        if nn:
            fixed, out = translate_in_nn_anywhere(lw, capital)
        else:
            if left_alone_outside_nn(lw, capital, rules):
                continue
            fixed = False
        if not fixed:
            prev, nxt = tok.neighbours(i)
            prev2 = tok.neighbours(i - 1)[0] if prev is not None else None
            inf = _infinitive_before(tok, i, start)
            ctx = Ctx(prev=prev, next=nxt, prev2=prev2, sent_start=tok.opens[i], nn=nn, inf=inf, capital=capital, rules=rules)
            out = translate_word(lw, ctx)
        if out is not None:
            edits[w_start] = (ends[i], match_case(form, out))


@lru_cache(maxsize=200_000)
def _passed_over_outside_nn(form: str, rules: bool) -> bool:
    """The carry-over outside a Nynorsk segment leaves the word alone wherever it stands.

    No word rule changes it (``unchanged_outside_nn``) and no multi-word
    lexicon entry starts with it.
    """
    return unchanged_outside_nn(form, rules) and form.lower() not in phrases_by_first_word()


def _infinitive_before(tok: Tokens, i: int, start: int) -> bool:
    """True when å or a modal verb stands within the 3 words before word ``i`` in its clause (from ``start`` on)."""
    j = i
    for _ in range(3):
        if j == 0 or tok.starts[j - 1] < start or tok.broken[j]:
            return False
        j -= 1
        if tok.lower[j] in INFINITIVE_TRIGGERS:
            return True
    return False


def _word_opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """``difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()``, without the matcher when ``a == b``.

    (Apertium leaves many segments word for word; equal sequences are one
    "equal" block, or none when empty, as the matcher says.)
    """
    if a == b:
        return [("equal", 0, len(a), 0, len(b))] if a else []
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()


def _covering_test(spans: list[tuple[int, int, str]]) -> Callable[[int], bool]:
    """A test ``covered(x)``: does ``sa <= x < sb`` hold for any (sa, sb, _) of ``spans`` (as they are now)?

    Bisection over the spans sorted by start, with the furthest end reached
    so far, so overlapping spans are fine.
    """
    if not spans:
        return lambda x: False
    ordered = sorted((sa, sb) for sa, sb, _ in spans)
    starts = [sa for sa, _ in ordered]
    reach = list(accumulate((sb for _, sb in ordered), max))  # reach[k]: furthest end of ordered[:k + 1]

    def covered(x: int) -> bool:
        k = bisect_right(starts, x)
        return k > 0 and reach[k - 1] > x

    return covered


def _apply_edits(text: str, edits: dict[int, tuple[int, str]]) -> str:
    out = []
    pos = 0
    for s in sorted(edits):
        e, new = edits[s]
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(new)
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _post_variant(tok: Tokens, variant: str | None) -> str:
    return variant if variant in ("nb", "nn", "mixed") else detect_variant(tok.text, tokens=tok).variant


def _inputs(texts, variants, tokens) -> list[tuple[str | None, Tokens]]:
    """(variant, ``Tokens``) of each text; the tokens are made here where the caller has none."""
    texts = list(texts)
    vs = list(variants) if variants is not None else [None] * len(texts)
    ts = list(tokens) if tokens is not None else [None] * len(texts)
    if not len(texts) == len(vs) == len(ts):
        raise ValueError("texts, variants and tokens differ in length")
    out = []
    for text, v, tok in zip(texts, vs, ts):
        if tok is None:
            tok = Tokens(text)
        elif tok.text != text:
            raise ValueError("tokens of another text")
        out.append((v, tok))
    return out


class LexiconBackend:
    """Pure-Python backend: reviewed lexicon + guarded rules (no apt needed).

    Caveats: word by word, no syntax: agreement (``eit anna prosjekt``),
    neuter plurals without ending (``fleire prosjekt``) and words outside
    the lexicon whose Bokmål form differs in the stem are left as written.
    """

    name = "lexicon"

    def __init__(self) -> None:
        self.version = f"lexicon-{lexicon_version()}"

    def translate_text(self, text: str, variant: str | None = None, tok: Tokens | None = None) -> str:
        """Bokmål version of one post (``variant``: the post's, if known; ``tok``: ``Tokens(text)``, if known)."""
        tok = Tokens(text) if tok is None else tok
        pv = _post_variant(tok, variant)
        edits: dict[int, tuple[int, str]] = {}
        for a, b, lab in label_token_segments(tok, pv):
            _carry_over_span(tok, a, b, lab == "nn", edits)
        return _apply_edits(text, edits)

    def translate_batch(
        self,
        texts: Sequence[str],
        variants: Sequence[str | None] | None = None,
        tokens: Sequence[Tokens | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts``."""
        return [self.translate_text(tok.text, v, tok) for v, tok in _inputs(texts, variants, tokens)]


# --------------------------------------------------------------------------
# Apertium backend


@lru_cache(maxsize=1)
def apertium_available() -> bool:
    """True when the ``apertium`` binary and the nno-nob mode are installed."""
    if shutil.which("apertium") is None:
        return False
    try:
        res = subprocess.run(["apertium", "-l"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return APERTIUM_PAIR in res.stdout.split()


@lru_cache(maxsize=1)
def apertium_version() -> str:
    """Debian package version of apertium-nno-nob (``unknown`` if not found)."""
    try:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "apertium-nno-nob"], capture_output=True, text=True, timeout=30
        )
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


class ApertiumBackend:
    """Apertium nno-nob, asked once per batch, with protection and post-edit.

    Per batch: every Nynorsk segment of every post gets names, quoted
    titles and the words of ``APERTIUM_PROTECT`` replaced by placeholders
    (``XQ7QX``, which Apertium passes through as unknown words); the
    distinct segments go to Apertium in ONE request
    (``apertium.translate_blocks``: for each segment, what ``apertium -u
    nno-nob`` prints for it alone, from one long-running pipeline per
    process), so a segment's translation never depends on the segments
    around it; placeholders are filled in (names as written, the protected
    words by the lexicon), leftover unknown-word marks are stripped and the
    lexicon backend carries over any Nynorsk word that Apertium left (and
    the whole segment where Apertium failed). Bokmål segments never reach
    Apertium, and a batch without Nynorsk segments does not touch it.
    """

    name = "apertium"

    def __init__(self) -> None:
        if not apertium_available():
            raise RuntimeError("apertium with the nno-nob pair is not installed (apt-get install apertium-nno-nob)")
        self.version = f"apertium-nno-nob-{apertium_version()}+lexicon-{lexicon_version()}"
        self._lex = LexiconBackend()

    def _run(self, blocks: list[str]) -> list[str | None]:
        """Apertium's output for each block, each translated on its own (None where Apertium failed on it).

        Each distinct block is sent once; an empty block (no words) is its own output.
        """
        distinct = list(dict.fromkeys(b for b in blocks if b))
        out = dict(zip(distinct, apertium.translate_blocks(distinct)))
        out[""] = ""
        return [out[b] for b in blocks]

    def translate_batch(
        self,
        texts: Sequence[str],
        variants: Sequence[str | None] | None = None,
        tokens: Sequence[Tokens | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts`` with one Apertium request for the batch."""
        plans = []
        blocks: list[str] = []
        for v, tok in _inputs(texts, variants, tokens):
            text = tok.text
            pv = _post_variant(tok, v)
            edits: dict[int, tuple[int, str]] = {}
            jobs = []
            for a, b, lab in label_token_segments(tok, pv):
                if lab != "nn":
                    _carry_over_span(tok, a, b, False, edits)
                    continue
                job = self._protect(tok, a, b, tok.title_spans())
                jobs.append((a, b, len(blocks), job))
                blocks.append(job["block"])
            plans.append((tok, edits, jobs))
        outs = self._run(blocks) if blocks else []
        results = []
        for tok, edits, jobs in plans:
            text = tok.text
            for a, b, bi, job in jobs:
                if outs[bi] is None:  # Apertium failed on this segment: the lexicon carries it over
                    _carry_over_span(tok, a, b, True, edits)
                    continue
                seg = text[a:b]
                lead = seg[: len(seg) - len(seg.lstrip())]
                trail = seg[len(seg.rstrip()) :]
                edits[a] = (b, lead + self._restore(outs[bi].strip("\n"), job) + trail)
            results.append(_apply_edits(text, edits))
        return results

    def _protect(self, tok: Tokens, a: int, b: int, titles: list[tuple[int, int]]) -> dict:
        """Prepare one Nynorsk segment ``tok.text[a:b]`` for Apertium.

        ``titles`` are the quoted title spans of the whole text. Returns
        ``block`` (the segment with placeholders), ``fills`` (placeholder
        number -> final text), ``src`` (the block's words as (lower-case
        form, lexicon translation or None, is-Bokmål-form, in the reviewed
        lexicon)) used to post-edit Apertium's output word by word.
        """
        text, forms, starts, ends = tok.text, tok.forms, tok.starts, tok.ends
        span = tok.index_range(a, b)
        lex_edits: dict[int, tuple[int, str]] = {}
        _carry_over_span(tok, a, b, True, lex_edits)
        spans: list[tuple[int, int, str]] = []
        for qa, qb in titles:
            if a <= qa and qb <= b:
                spans.append((qa, qb, text[qa:qb]))
        if has_raw_hint(text[a:b]):
            for m in RAW_TOKEN_RE.finditer(text, a, b):  # e-mails, URLs, @/# tags: Apertium mangles them
                spans.append((m.start(), m.end(), m.group(0)))
        for s0, (e0, new) in lex_edits.items():  # multi-word lexicon phrases
            if a <= s0 and e0 <= b and " " in text[s0:e0].strip():
                spans.append((s0, e0, new))
        # The words inside these spans stay as they are; the spans added in the
        # loop below cover one word each, so no later word can fall into them.
        covered = _covering_test(spans)
        lex = lexicon()
        lo, hi = span.start, span.stop
        # only names and the words of _hidden_from_apertium can need a placeholder
        candidates = compress(span, map(or_, tok.protected[lo:hi], map(_hidden_from_apertium, forms[lo:hi])))
        for i in candidates:
            w_start = starts[i]
            if covered(w_start):
                continue
            lw = tok.lower[i]
            if not lw.isalpha():
                continue
            form = forms[i]
            acronym = len(form) > 1 and form.isupper() and lw not in lex
            if tok.protected[i] or acronym:
                spans.append((w_start, ends[i], form))
            elif lw in APERTIUM_PROTECT:
                e_end, new = lex_edits.get(w_start, (ends[i], form))
                spans.append((w_start, e_end, new))
        spans.sort()
        fills: dict[int, str] = {}
        src: list[tuple[str, str | None, bool, bool]] = []
        out, pos = [], a
        kept = []
        for sa, sb, fill in spans:
            if sa < pos:
                continue
            kept.append((sa, sb, fill))
            pos = sb
        pos = a
        for n, (sa, sb, fill) in enumerate(kept):
            out.append(text[pos:sa])
            out.append(_placeholder(n))
            fills[n] = fill
            pos = sb
        out.append(text[pos:b])
        block = "".join(out).strip()
        # word list of the block, aligned to the original words (same order)
        replaced = _covering_test(kept)
        free = iter([i for i in span if not replaced(starts[i])] if kept else span)
        for t in WORD_RE.findall(block):
            if t[0] in "Xx" and _PLACEHOLDER_RE.fullmatch(t):
                src.append((t.lower(), None, False, False))
                continue
            i = next(free, None)
            if i is None or forms[i] != t:  # should not happen; disable post-edit alignment
                return {"block": block, "fills": fills, "src": []}
            lw = tok.lower[i]
            tr = lex_edits.get(starts[i])
            src.append((lw, tr[1] if tr else None, *_kept_and_reviewed(lw)))
        return {"block": block, "fills": fills, "src": src}

    def _restore(self, out: str, job: dict) -> str:
        """Post-edit Apertium's output for one segment.

        Strips unknown-word marks; aligns source and output words (difflib)
        and, for one-to-one substitutions, prefers the reviewed lexicon's
        form where it has one and reverts Apertium's change where the
        source word already was a Bokmål form (Apertium damages Bokmål);
        fills the placeholders; finally the lexicon carries over any word
        that is still not Bokmål.
        """
        out = _UNKNOWN_MARK_RE.sub("", out)
        src = job["src"]
        ows = word_spans(out)  # (start, end, text)
        a_seq = [s[0] for s in src]
        b_seq = [t.lower() for _, _, t in ows]
        edits: dict[int, tuple[int, str]] = {}
        for tag, i1, i2, j1, j2 in _word_opcodes(a_seq, b_seq):
            if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
                for i, j in zip(range(i1, i2), range(j1, j2)):
                    form, tr, keep_ok, reviewed = src[i]
                    o_start, o_end, o_text = ows[j]
                    if tr is not None:
                        new = tr  # the lexicon's (guarded) carry-over wins
                    elif tag == "equal":
                        continue
                    elif keep_ok:
                        new = form  # Apertium changed a word that already was Bokmål
                    else:
                        continue  # Apertium's form for a word the lexicon does not know
                    if new.lower() != o_text.lower() or new != o_text:
                        edits[o_start] = (o_end, match_case(o_text, new) if " " not in new else new)
            elif tag == "replace" and all(src[i][1] is not None or src[i][2] for i in range(i1, i2)):
                # unequal block: use the lexicon's rendering when it covers every word
                repl = " ".join(src[i][1] or src[i][0] for i in range(i1, i2))
                first = ows[j1] if j1 < len(ows) else None
                if first is not None and j2 > j1:
                    edits[first[0]] = (ows[j2 - 1][1], match_case(first[2], repl))
        out = _apply_edits(out, edits)
        if job["fills"]:
            out = _PLACEHOLDER_RE.sub(lambda m: job["fills"].get(_placeholder_num(m.group(1)), m.group(0)), out)
        found = WORD_RE.findall(out)
        if all(map(unchanged_outside_nn, found, repeat(True))):
            low = list(map(str.lower, found))
            if phrase_openings().isdisjoint(zip(low, low[1:])):
                return out  # the carry-over below would change no word and start no multi-word entry
        edits = {}
        _carry_over_span(Tokens(out), 0, len(out), False, edits, rules=True)
        return _apply_edits(out, edits)


# --------------------------------------------------------------------------
# Factory


def get_backend(name: str = "auto") -> Backend:
    """``"apertium"``, ``"lexicon"`` or ``"auto"`` (Apertium if installed, else lexicon)."""
    if name == "auto":
        name = "apertium" if apertium_available() else "lexicon"
    if name == "apertium":
        return ApertiumBackend()
    if name == "lexicon":
        return LexiconBackend()
    raise ValueError(f"unknown normalise backend {name!r} (auto, apertium, lexicon)")


# The word lists the stage loads once per process (see preload and release).
_PRELOADED = (nb_forms, nn_only, nb_only, lexicon, phrases_by_first_word, phrase_openings)


def preload(backend: str = "auto", workers: int = 0) -> None:
    """Load what the normalise stage reads once per process: word lists, lexicon, backend facts.

    Call it in a parent process before forking workers so that they share
    the loaded lists. It resolves ``backend`` (whether Apertium is
    installed, its version) but does not start this process's Apertium
    pipeline: each process starts its own on first use (``apertium.py``).
    With ``workers`` and Apertium as the backend, a pipeline for each of
    that many workers about to be forked is started
    (``apertium.start_spares``): the pipelines load while this process
    goes on loading, and each worker takes one over. They are started from
    a thread while this one reads the word lists, since starting them is
    mostly waiting for small programs (``apertium -l``, the mode script);
    the thread has ended when this function returns.
    """
    starter = None
    if workers:
        starter = threading.Thread(target=_start_pipelines_for_workers, args=(backend, workers), name="apertium-spares")
        starter.start()
    try:
        for word_list in _PRELOADED:
            word_list()
    finally:
        if starter is not None:
            starter.join()
    get_backend(backend)


def _start_pipelines_for_workers(backend: str, workers: int) -> None:
    """Start an Apertium pipeline for each of ``workers`` workers when ``backend`` resolves to Apertium."""
    try:
        if get_backend(backend).name == "apertium":
            apertium.start_spares(workers)
    except Exception as exc:  # the workers then start their own pipelines (and the caller's get_backend reports errors)
        log.warning("could not start apertium pipelines for the workers (%s)", exc)


def release() -> None:
    """Forget what :func:`preload` loaded (the next use loads it again); for a parent whose workers have ended.

    Pipelines started for the workers end here (their workers have closed them).
    """
    for word_list in _PRELOADED:
        word_list.cache_clear()
    apertium.release_spares()


def backend_info(backend: str | Backend = "auto") -> dict[str, str]:
    """``{"name", "version"}`` of the backend that ``backend`` resolves to (for the manifest)."""
    b = get_backend(backend) if isinstance(backend, str) else backend
    return {"name": b.name, "version": b.version}


def to_bokmal(
    texts: Iterable[str],
    backend: str | Backend = "auto",
    variants: Sequence[str | None] | None = None,
    tokens: Sequence[Tokens | None] | None = None,
) -> list[str]:
    """The posts ``texts`` in Bokmål (batch API; one Apertium request per call).

    ``variants`` optionally gives each post's detected variant (else it is
    detected here); ``tokens`` each post's ``Tokens(text)`` if the caller
    has them already. Bokmål is left untouched except for unambiguous
    non-Bokmål words; names, quoted titles, case, punctuation and all
    whitespace/newlines are kept.
    """
    b = get_backend(backend) if isinstance(backend, str) else backend
    return b.translate_batch(list(texts), variants, tokens)
