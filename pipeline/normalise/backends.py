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

import logging
import re
import shutil
import subprocess
import threading
from functools import lru_cache
from typing import Iterable, Protocol, Sequence, runtime_checkable

from . import apertium
from .detect import detect_variant, label_segments
from .lexicon import (
    INFINITIVE_TRIGGERS,
    Ctx,
    left_alone_outside_nn,
    lexicon,
    lexicon_version,
    match_case,
    nb_forms,
    nb_only,
    nn_only,
    phrases_by_first_word,
    translate_word,
)
from .text import RAW_TOKEN_RE, WORD_RE, Tokens, Word, quoted_title_spans

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
# Placeholders are letters only (so they are single words for the tokenizer
# and unknown words for Apertium): XQ + the number in letters a-j + QX.
_PLACEHOLDER_RE = re.compile(r"XQ([a-j]+)QX", re.IGNORECASE)


def _placeholder(n: int) -> str:
    return "XQ" + "".join("abcdefghij"[int(d)] for d in str(n)) + "QX"


def _placeholder_num(code: str) -> int:
    return int("".join(str("abcdefghij".index(c)) for c in code.lower()))
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
        tokens: Sequence[list[Word] | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts`` (same order, same length).

        ``tokens``: each text's ``words(text)`` if the caller has them already.
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
    Linear in the span: phrases are looked up by their first word, and
    outside Nynorsk segments a word whose carry-over cannot depend on its
    neighbours is skipped without building its context.
    """
    text, ws, low = tok.text, tok.words, tok.lower
    span = tok.index_range(start, end)
    hi = span.stop
    by_first = phrases_by_first_word()
    skip_until = -1
    for i in span:
        w = ws[i]
        if w.start < skip_until or w.protected:
            continue
        lw = low[i]
        # multi-word entries
        done = False
        for seq, e in by_first.get(lw, ()):
            if e.scope == "nn" and not nn:
                continue
            j_end = i + len(seq)
            if j_end > hi or tuple(low[i:j_end]) != seq:
                continue
            if any(text[ws[t].end : ws[t + 1].start] != " " for t in range(i, j_end - 1)):
                continue
            last = ws[j_end - 1]
            if e.nb_form != e.nn_form:
                edits[w.start] = (last.end, match_case(text[w.start : last.end], e.nb_form))
            skip_until = last.end
            done = True
            break
        if done:
            continue
        capital = w.text[:1].isupper()
        if not nn and left_alone_outside_nn(lw, capital, rules):
            continue
        prev, nxt = tok.neighbours(i)
        prev2 = tok.neighbours(i - 1)[0] if prev is not None else None
        inf = _infinitive_before(tok, i, start)
        out = translate_word(lw, Ctx(prev=prev, next=nxt, prev2=prev2, sent_start=w.sent_start, nn=nn, inf=inf, capital=capital, rules=rules))
        if out is not None:
            edits[w.start] = (w.end, match_case(w.text, out))


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


def _post_variant(text: str, variant: str | None, ws: list[Word]) -> str:
    return variant if variant in ("nb", "nn", "mixed") else detect_variant(text, ws=ws).variant


def _inputs(texts, variants, tokens) -> list[tuple[str, str | None, list[Word] | None]]:
    texts = list(texts)
    vs = list(variants) if variants is not None else [None] * len(texts)
    ts = list(tokens) if tokens is not None else [None] * len(texts)
    if not len(texts) == len(vs) == len(ts):
        raise ValueError("texts, variants and tokens differ in length")
    return list(zip(texts, vs, ts))


class LexiconBackend:
    """Pure-Python backend: reviewed lexicon + guarded rules (no apt needed).

    Caveats: word by word, no syntax: agreement (``eit anna prosjekt``),
    neuter plurals without ending (``fleire prosjekt``) and words outside
    the lexicon whose Bokmål form differs in the stem are left as written.
    """

    name = "lexicon"

    def __init__(self) -> None:
        self.version = f"lexicon-{lexicon_version()}"

    def translate_text(self, text: str, variant: str | None = None, ws: list[Word] | None = None) -> str:
        """Bokmål version of one post (``variant``: the post's, if known; ``ws``: ``words(text)``, if known)."""
        tok = Tokens(text, ws)
        pv = _post_variant(text, variant, tok.words)
        edits: dict[int, tuple[int, str]] = {}
        for a, b, lab in label_segments(text, pv, ws=tok.words):
            _carry_over_span(tok, a, b, lab == "nn", edits)
        return _apply_edits(text, edits)

    def translate_batch(
        self,
        texts: Sequence[str],
        variants: Sequence[str | None] | None = None,
        tokens: Sequence[list[Word] | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts``."""
        return [self.translate_text(t, v, ws) for t, v, ws in _inputs(texts, variants, tokens)]


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
        tokens: Sequence[list[Word] | None] | None = None,
    ) -> list[str]:
        """Bokmål versions of ``texts`` with one Apertium request for the batch."""
        plans = []
        blocks: list[str] = []
        for text, v, ws in _inputs(texts, variants, tokens):
            tok = Tokens(text, ws)
            pv = _post_variant(text, v, tok.words)
            edits: dict[int, tuple[int, str]] = {}
            jobs = []
            titles = None
            for a, b, lab in label_segments(text, pv, ws=tok.words):
                if lab != "nn":
                    _carry_over_span(tok, a, b, False, edits)
                    continue
                if titles is None:
                    titles = quoted_title_spans(text)
                job = self._protect(tok, a, b, titles)
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
        from .lexicon import is_nb_word, is_nn_only_word

        text, ws = tok.text, tok.words
        span = tok.index_range(a, b)
        lex_edits: dict[int, tuple[int, str]] = {}
        _carry_over_span(tok, a, b, True, lex_edits)
        spans: list[tuple[int, int, str]] = []
        for qa, qb in titles:
            if a <= qa and qb <= b:
                spans.append((qa, qb, text[qa:qb]))
        for m in RAW_TOKEN_RE.finditer(text, a, b):  # e-mails, URLs, @/# tags: Apertium mangles them
            spans.append((m.start(), m.end(), m.group(0)))
        for s0, (e0, new) in lex_edits.items():  # multi-word lexicon phrases
            if a <= s0 and e0 <= b and " " in text[s0:e0].strip():
                spans.append((s0, e0, new))
        lex = lexicon()
        for i in span:
            w = ws[i]
            if any(sa <= w.start < sb for sa, sb, _ in spans):
                continue
            lw = tok.lower[i]
            if not lw.isalpha():
                continue
            acronym = len(w.text) > 1 and w.text.isupper() and lw not in lex
            if w.protected or acronym:
                spans.append((w.start, w.end, w.text))
            elif lw in APERTIUM_PROTECT:
                e_end, new = lex_edits.get(w.start, (w.end, w.text))
                spans.append((w.start, e_end, new))
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
        free = iter(i for i in span if not any(sa <= ws[i].start < sb for sa, sb, _ in kept))
        for m in WORD_RE.finditer(block):
            t = m.group()
            if _PLACEHOLDER_RE.fullmatch(t):
                src.append((t.lower(), None, False, False))
                continue
            i = next(free, None)
            if i is None or ws[i].text != t:  # should not happen; disable post-edit alignment
                return {"block": block, "fills": fills, "src": []}
            lw = tok.lower[i]
            tr = lex_edits.get(ws[i].start)
            keep_ok = is_nb_word(lw) and not is_nn_only_word(lw)
            src.append((lw, tr[1] if tr else None, keep_ok, lw in lex))
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
        import difflib

        out = _UNKNOWN_MARK_RE.sub("", out)
        src = job["src"]
        ows = [(m.start(), m.end(), m.group()) for m in WORD_RE.finditer(out)]  # (start, end, text)
        a_seq = [s[0] for s in src]
        b_seq = [t.lower() for _, _, t in ows]
        edits: dict[int, tuple[int, str]] = {}
        sm = difflib.SequenceMatcher(a=a_seq, b=b_seq, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
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
        out = _PLACEHOLDER_RE.sub(lambda m: job["fills"].get(_placeholder_num(m.group(1)), m.group(0)), out)
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
_PRELOADED = (nb_forms, nn_only, nb_only, lexicon, phrases_by_first_word)


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
    tokens: Sequence[list[Word] | None] | None = None,
) -> list[str]:
    """The posts ``texts`` in Bokmål (batch API; one Apertium request per call).

    ``variants`` optionally gives each post's detected variant (else it is
    detected here); ``tokens`` each post's ``words(text)`` if the caller
    has them already. Bokmål is left untouched except for unambiguous
    non-Bokmål words; names, quoted titles, case, punctuation and all
    whitespace/newlines are kept.
    """
    b = get_backend(backend) if isinstance(backend, str) else backend
    return b.translate_batch(list(texts), variants, tokens)
