"""Word lists and the word-level Nynorsk -> Bokmål carry-over rules.

Data (all under ``seeds/``, see ``seeds/LEXICONS.md``):

* ``nn_nb_lexicon.csv``  reviewed Nynorsk -> Bokmål lexicon (full forms and a
  few multi-word phrases; columns nn_form, nb_form, pos, scope, note).
  ``scope=any``: the Nynorsk form is not a Bokmål word, carry it over
  wherever it stands; ``scope=nn``: the form is also a Bokmål word (e.g.
  ``vert``, ``kor``, ``ei``) and is only carried over inside a segment
  detected as Nynorsk.
* ``nb_forms.txt.gz``  every form of hunspell nb_NO (the Bokmål guard);
* ``nn_only.txt.gz`` / ``nb_only.txt.gz``  forms only in one of the two
  hunspell dictionaries (evidence for detection).

Caveats: hunspell lists no compounds, so compounds are analysed as
modifier + head (the head decides); hunspell nb_NO contains some
Nynorsk-looking forms (frå, kjem, sjå, berre, heile), so the hand-written
marker sets below override the lists.
"""
from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import SEEDS_DIR

LEXICON_CSV = "nn_nb_lexicon.csv"
LEXICON_COLUMNS = ("nn_form", "nb_form", "pos", "scope", "note")

# Hand-written markers (function words and domain stems), lower-case.
NN_MARKERS = frozenset(
    """ikkje kva korleis kven kvar kvart kvifor kvarandre dei deira deim dykk dykkar eg ho
    eit eitt ein frå noko nokon nokre mykje berre fleire meir vere vera vore vorte kjem sjå
    saman samanheng sjølv heile heilt desse utan medan sidan difor òg framleis
    dessutan elles enno innanfor utanfor då gjer gjere veit ligg treng mogleg
    tilbod tilbodet midlar born borna løyve høve røynsle ynskje døme dømes dømet
    tilsett tilsette vaksne ungdomar fagleg korleis nærare betre""".split()
)
# Nynorsk-only stems, also inside compounds (``kulturskulelærarane``).
NN_STEMS = ("skule", "skular", "skulane", "tilbod", "lærar", "leiar", "moglegheit", "midlar")
# Bokmål function words. Some are also (rare, moderate) Nynorsk forms in
# hunspell nn_NO (de, dem, mye, bare, disse, uten ...), but Nynorsk writers
# on these boards do not use them, so they count as Bokmål evidence.
NB_MARKERS = frozenset(
    """ikke hva hvordan hvem hvor hvorfor hver hvert hverandre de dem deres et ett en jeg hun
    fra noe noen mye bare flere mer være vært blitt kommer sammen sammenheng selv hele helt
    disse uten mens siden derfor fremdeles dessuten ellers gjør gjøre vet tilbud tilbudet
    midler ansatt ansatte voksne ungdommer nærmere bedre""".split()
)
# ("skole" is also Nynorsk since 2012, so it is no evidence.)
NB_PREFIXES = ("tilbud", "lærer", "mulighet")

# Words after which an -a form is an infinitive (a-infinitive -> e-infinitive).
INFINITIVE_TRIGGERS = frozenset(
    "å kan skal må vil bør kunne skulle måtte ville burde kunna skulla måtta vilja lyt".split()
)
PREPOSITIONS = frozenset(
    """for til med av om på i frå fra hos hjå mot ved over under etter utan uten mellom
    gjennom blant rundt kring ikring innanfor utanfor""".split()
)
QUESTION_VERBS = frozenset(
    """er var ligg ligger finn finner kan skal går kjem kommer har blir vert bur bor står
    skjer må vil skulle kunne burde bør""".split()
)
KOR_DEGREE = frozenset(
    "mange mykje mye lenge ofte godt stor store stort viktig langt bra lite vidt høgt høyt".split()
)

# Guarded suffix rules, tried in order: (Nynorsk ending, Bokmål ending).
SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    ("arane", "erne"),
    ("arar", "ere"),
    ("aren", "eren"),
    ("heitene", "hetene"),
    ("heiter", "heter"),
    ("heita", "heten"),
    ("heit", "het"),
    ("legaste", "ligste"),
    ("legast", "ligst"),
    ("legare", "ligere"),
    ("lege", "lige"),
    ("legt", "lig"),
    ("leg", "lig"),
    ("ingane", "ingene"),
    ("ingar", "inger"),
    ("inga", "ingen"),
    ("ande", "ende"),
    ("ane", "ene"),
    ("ast", "es"),
    ("kjer", "ker"),
    ("gjer", "ger"),
    ("kje", "ke"),
    ("gje", "ge"),
    ("ar", "er"),
    ("st", "s"),  # passive: trengst -> trengs
    ("de", "te"),  # weak past/participle: særskilde -> særskilte
)
# Last-resort stem vowel changes (only for words that are not Bokmål).
STEM_RULES: tuple[tuple[str, str], ...] = (("ei", "e"), ("øy", "ø"), ("au", "ø"))


@dataclass(frozen=True)
class Entry:
    """One reviewed lexicon row."""

    nn_form: str
    nb_form: str
    pos: str
    scope: str  # "any" or "nn"
    note: str


def _read_gz_words(name: str) -> frozenset[str]:
    path = Path(SEEDS_DIR) / name
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(fh.read().split())


@lru_cache(maxsize=None)
def nb_forms() -> frozenset[str]:
    """All Bokmål word forms (hunspell nb_NO expanded, lower-case)."""
    return _read_gz_words("nb_forms.txt.gz")


@lru_cache(maxsize=None)
def nn_only() -> frozenset[str]:
    """Forms in hunspell nn_NO but not nb_NO (lower-case)."""
    return _read_gz_words("nn_only.txt.gz")


@lru_cache(maxsize=None)
def nb_only() -> frozenset[str]:
    """Common forms (in wordfreq) in hunspell nb_NO but not nn_NO."""
    return _read_gz_words("nb_only.txt.gz")


@lru_cache(maxsize=None)
def _lexicon_rows() -> tuple[Entry, ...]:
    path = Path(SEEDS_DIR) / LEXICON_CSV
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != LEXICON_COLUMNS:
            raise ValueError(f"{path}: columns must be {LEXICON_COLUMNS}, got {reader.fieldnames}")
        rows = []
        for r in reader:
            scope = (r["scope"] or "any").strip()
            if scope not in ("any", "nn"):
                raise ValueError(f"{path}: bad scope {scope!r} for {r['nn_form']!r}")
            rows.append(Entry(r["nn_form"].strip(), r["nb_form"].strip(), r["pos"].strip(), scope, r["note"] or ""))
    return tuple(rows)


@lru_cache(maxsize=None)
def lexicon() -> dict[str, Entry]:
    """Single-word lexicon entries keyed by lower-case Nynorsk form."""
    return {e.nn_form: e for e in _lexicon_rows() if " " not in e.nn_form}


@lru_cache(maxsize=None)
def phrases() -> tuple[tuple[tuple[str, ...], Entry], ...]:
    """Multi-word entries as (word tuple, entry), longest first."""
    out = [(tuple(e.nn_form.split()), e) for e in _lexicon_rows() if " " in e.nn_form]
    return tuple(sorted(out, key=lambda x: -len(x[0])))


@lru_cache(maxsize=None)
def phrases_by_first_word() -> dict[str, tuple[tuple[tuple[str, ...], Entry], ...]]:
    """``phrases()`` grouped by their first word; each group keeps the order of ``phrases()``."""
    out: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
    for seq, e in phrases():
        out.setdefault(seq[0], []).append((seq, e))
    return {first: tuple(group) for first, group in out.items()}


@lru_cache(maxsize=None)
def phrase_openings() -> frozenset[tuple[str, str]]:
    """The first two words of every multi-word entry: no entry can start where the next two words are not one of them."""
    return frozenset(seq[:2] for seq, _ in phrases())


def lexicon_version() -> str:
    """Short content hash of the seed lexicon (recorded in backend versions)."""
    import hashlib

    h = hashlib.sha256((Path(SEEDS_DIR) / LEXICON_CSV).read_bytes()).hexdigest()
    return h[:10]


# --------------------------------------------------------------------------
# Word classification


@lru_cache(maxsize=200_000)
def is_nb_word(w: str) -> bool:
    """True when ``w`` (lower-case) is a Bokmål form or a compound with one.

    A compound is accepted when its head (>= 4 letters) is a Bokmål form and
    its modifier (>= 3 letters, optionally with linking -s-/-e-) is a Bokmål
    form or itself such a compound. Nynorsk-only markers are never Bokmål.
    """
    if w in NN_MARKERS or _has_nn_stem(w):
        return False
    if w in nb_forms():
        return True
    if w in nn_only():
        return False
    return _nb_compound(w, depth=0)


def _carried_over(w: str) -> bool:
    """True when the reviewed lexicon maps ``w`` to another Bokmål form."""
    e = lexicon().get(w)
    return e is not None and e.nb_form != e.nn_form


def _has_nn_stem(w: str) -> bool:
    return any(p in w for p in NN_STEMS)


def _nb_compound(w: str, depth: int) -> bool:
    if depth > 2 or len(w) < 7:
        return False
    nbf = nb_forms()
    for i in range(3, len(w) - 3):
        head = w[i:]
        if head not in nbf or head in NN_MARKERS or _carried_over(head):
            continue
        mod = w[:i]
        for m in (mod, mod[:-1] if mod[-1:] in "se" else None):
            if m and len(m) >= 3 and m not in NN_MARKERS and not _has_nn_stem(m) and not _carried_over(m):
                if m in nbf or _nb_compound(m, depth + 1):
                    return True
    return False


@lru_cache(maxsize=200_000)
def is_nn_only_word(w: str) -> bool:
    """True when ``w`` (lower-case) is evidence for Nynorsk.

    Markers, hunspell nn-only forms that are not Bokmål forms, and compounds
    whose head or modifier is Nynorsk-only (``kulturskulen``,
    ``skulelærarane``).
    """
    if w in NN_MARKERS or _has_nn_stem(w):
        return True
    if w in NB_MARKERS or w in nb_forms():
        return False
    if w in nn_only():
        return True
    if len(w) >= 8:
        nno, nbf = nn_only(), nb_forms()
        for i in range(3, len(w) - 4):
            head, mod = w[i:], w[:i]
            if head in nno and head not in nbf:
                for m in (mod, mod[:-1] if mod[-1:] in "se" else ""):
                    if len(m) >= 3 and (m in nbf or m in nno):
                        return True
    return False


@lru_cache(maxsize=200_000)
def is_nb_only_word(w: str) -> bool:
    """True when ``w`` (lower-case) is evidence for Bokmål."""
    if w in NB_MARKERS or w.startswith(NB_PREFIXES):
        return True
    if w in NN_MARKERS or w in nn_only():
        return False
    if w in nb_only():
        return True
    if len(w) >= 7 and not is_nn_only_word(w):
        nbo = nb_only()
        for i in range(3, len(w) - 4):
            head = w[i:]
            if len(head) >= 5 and head in nbo:
                return True
    return False


# --------------------------------------------------------------------------
# Word translation


@dataclass
class Ctx:
    """Context of one word for the carry-over rules.

    ``prev``/``next`` are the neighbouring words in the same clause (lower
    case, ``None`` at punctuation or segment edges); ``sent_start`` tells
    whether the word opens a sentence, line or list item; ``nn`` whether the
    segment was detected as Nynorsk (enables ``scope=nn`` entries and the
    rules for forms that are also radical Bokmål).
    """

    prev: str | None = None
    next: str | None = None
    prev2: str | None = None
    sent_start: bool = False
    nn: bool = True
    capital: bool = False  # the word is written with a capital letter
    rules: bool = False  # apply suffix/compound/stem rules outside Nynorsk segments too (post-edit)
    inf: bool = False  # an infinitive marker (å, modal verb) stands within the 3 previous words


def _context_rule(w: str, ctx: Ctx) -> str | None:
    """Entries whose Bokmål form depends on the neighbouring words."""
    nxt, prev = ctx.next, ctx.prev
    if w == "dei":
        if prev in PREPOSITIONS and (nxt is None or nxt in PREPOSITIONS or nxt in ("og", "eller")):
            return "dem"
        if prev in PREPOSITIONS and nxt == "som":
            return "dem"
        return "de"
    if w == "kvar":
        if nxt is None or nxt in QUESTION_VERBS or nxt in ("som", "det", "dei", "de", "vi", "me"):
            return "hvor"
        return "hver"
    if w == "si" and ctx.nn:
        return "si" if ctx.prev in INFINITIVE_TRIGGERS or ctx.inf else "sin"
    if w == "kor" and ctx.nn:
        if nxt in KOR_DEGREE or (ctx.sent_start and nxt in QUESTION_VERBS) or (nxt is None and prev in QUESTION_VERBS):
            return "hvor"
        return "kor"
    if w == "anna":
        if nxt is None or nxt in ("enn", "og", "eller", "som"):
            return "annet"
        return "annen"
    if w == "set" and ctx.nn and ctx.sent_start:
        return "sett"
    if w == "løyve" and ctx.nn:
        if prev in ("eit", "et", "om", "til", "få", "fått", "har", "sitt", "med", "løyve"):
            return "tillatelse"
        return "bevilge"
    if ctx.nn and prev is not None and _plural_cue(prev, ctx.prev2) and _neuter_noun(w):
        return w + "er"  # nn neuter plural without ending: faste møtepunkt -> faste møtepunkter
    if w == "sjølve":
        if prev is not None and (prev in ("dei", "de", "vi", "me", "dykk", "dere", "dei", "seg") or prev.endswith("ne")):
            return "selv"  # elevane sjølve -> elevene selv
        return "selve"
    if w == "sett" and ctx.nn and nxt in SETT_PARTICLES and (
        prev in PERFECT_AUX or (prev in ("ikkje", "ikke", "ofte", "alltid", "aldri", "berre", "bare") and ctx.prev2 in PERFECT_AUX)
    ):
        return "satt"  # har sett av (nn setje) -> har satt av
    if w == "auke" and ctx.nn:
        return "øke" if prev in INFINITIVE_TRIGGERS else "økning"
    return None


SETT_PARTICLES = frozenset("av opp ned inn ut fram frem saman sammen".split())
PERFECT_AUX = frozenset("har hadde er var vart vert blir blitt blei ble ha vore vært".split())
PLURAL_CUES = frozenset(
    """mange fleire flere alle desse disse nokre noen ulike andre begge få to tre fire fem seks
    sju syv åtte ni ti slike våre dykkar deira nye""".split()
)
DEFINITE_CUES = frozenset("den det dei de sitt mitt ditt vårt dette hans hennar hennes".split())


def _plural_cue(prev: str, prev2: str | None) -> bool:
    """``prev`` marks a plural noun phrase (mange, fleire, faste, gode ...)."""
    if prev in PLURAL_CUES:
        return True
    nbf = nb_forms()
    if prev.endswith("e") and len(prev) > 3 and prev not in NN_MARKERS and prev[:-1] in nbf:
        if prev2 in DEFINITE_CUES:
            return False
        base = prev[:-1]  # an adjective: its neuter (godt) or comparative (fastere) exists
        return base + "t" in nbf or base + "ere" in nbf or prev + "re" in nbf
    return False


@lru_cache(maxsize=50_000)
def _neuter_noun(w: str) -> bool:
    """``w`` is the indefinite singular of a neuter noun (prosjekt, møtepunkt)."""
    if len(w) < 4 or w.endswith("e") or not is_nb_word(w):
        return False
    nbf = nb_forms()
    if w + "en" in nbf or w + "e" in nbf:  # a common-gender noun or a verb stem (besøk/besøke)
        return False
    if not (is_nb_word(w + "et") and is_nb_word(w + "ene") and is_nb_word(w + "er")):
        return False
    # Bokmål: a one-syllable neuter head keeps the bare plural (kurs, år, hus), except punkt/sted
    head = next((w[i:] for i in range(len(w) - 3, 0, -1) if w[i:] in nbf and (i < 3 or is_nb_word(w[:i]))), w)
    return head in ("punkt", "sted") or len(re.findall(r"[aeiouyæøå]+", head)) >= 2


def _suffix_rule(w: str, ctx: Ctx) -> str | None:
    nbf = nb_forms()
    if ctx.prev in INFINITIVE_TRIGGERS and w.endswith("a") and len(w) > 3:
        cand = w[:-1] + "e"
        if is_nb_word(cand):
            return cand
    for nn_end, nb_end in SUFFIX_RULES:
        if w.endswith(nn_end) and len(w) > len(nn_end) + 1:
            cand = w[: len(w) - len(nn_end)] + nb_end
            if cand != w and (cand in nbf or is_nb_word(cand)):
                return cand
    return None


def _stem_rule(w: str) -> str | None:
    for a, b in STEM_RULES:
        if a in w:
            cand = w.replace(a, b, 1)
            if cand in nb_forms():
                return cand
            sub = _suffix_rule(cand, Ctx())
            if sub and sub in nb_forms():
                return sub
    return None


def _compound(w: str, ctx: Ctx, depth: int = 0, lex_only: bool = False) -> str | None:
    """Translate a compound as modifier + head; None when no analysis.

    With ``lex_only`` (a word that is already a Bokmål form, in a Nynorsk
    segment) only a modifier found in the reviewed lexicon is carried over.
    """
    if depth > 2 or len(w) < 6:
        return None
    lex = lexicon()
    if lex_only:
        for i in range(4, len(w) - 3):
            mod, head = w[:i], w[i:]
            e = lex.get(mod)
            if e is not None and e.scope == "any" and e.nb_form != e.nn_form and " " not in e.nb_form:
                if is_nb_word(head) and len(head) >= 4:
                    return e.nb_form + head
            e = lex.get(head)
            if e is not None and e.scope == "any" and e.nb_form != e.nn_form and " " not in e.nb_form:
                if len(head) >= 5 and is_nb_word(mod):
                    return mod + e.nb_form
        return None
    for i in range(3, len(w) - 2):
        mod, head = w[:i], w[i:]
        h = None
        e = lex.get(head)
        if e is not None and e.scope == "any" and len(head) >= 4:
            h = e.nb_form
        elif len(head) >= 4 and not is_nb_word(head):
            h = _suffix_rule(head, Ctx(nn=ctx.nn))
        elif len(head) >= 4:
            h = head
        if h is None or " " in h:
            continue
        m = _modifier(mod, depth)
        if m is None:
            continue
        out = m + h
        if out != w and not _has_nn_stem(out):
            return out
    return None


def _modifier(mod: str, depth: int) -> str | None:
    lex = lexicon()
    for core, link in ((mod, ""), (mod[:-1], mod[-1:]) if mod[-1:] in ("s", "e") else (None, None)):
        if not core or len(core) < 3:
            continue
        e = lex.get(core)
        if e is not None and " " not in e.nb_form and e.scope == "any":
            return e.nb_form + link
        if is_nb_word(core):
            return core + link
        sub = _compound(core, Ctx(), depth + 1)
        if sub:
            return sub + link
    return None


@lru_cache(maxsize=100_000)
def _translate_plain(
    w: str, nn: bool, prev_inf: bool, sent_start: bool, capital: bool = False, rules: bool = True
) -> str | None:
    ctx = Ctx(prev="å" if prev_inf else None, sent_start=sent_start, nn=nn)
    e = lexicon().get(w)
    if e is not None:
        if e.scope == "any" or nn:
            return e.nb_form
        return None
    if nn and w.endswith("a") and len(w) > 4:
        stem = w[:-1]
        if prev_inf and is_nb_word(stem + "e"):
            return stem + "e"  # a-infinitive: jobba -> jobbe, utnytta -> utnytte
        if w.endswith("inga") and is_nb_word(stem + "en"):
            return stem + "en"  # erfaringa -> erfaringen
        nbf = nb_forms()
        if (
            stem + "e" in nbf
            and stem + "et" in nbf
            and stem + "en" not in nbf
            and stem + "ene" not in nbf  # not a noun's definite plural (barna, prosjekta)
            and not stem.endswith("ing")
        ):
            return stem + "et"  # a-participle/past: forankra -> forankret, tilpassa -> tilpasset
        if stem + "et" in nbf and stem + "ene" in nbf and stem + "en" not in nbf and stem + "e" not in nbf:
            return stem + "ene"  # neuter definite plural: prosjekta -> prosjektene
    if capital and not _has_nn_stem(w) and w not in nn_only() and w not in nb_forms():
        return None  # an unknown capitalised word: probably a name (Trondheim, AskØygarden)
    if is_nb_word(w):
        if nn and not capital:
            return _compound(w, ctx, lex_only=True)  # lågterskeltiltak -> lavterskeltiltak
        return None
    if not rules and not _has_nn_stem(w):
        return None  # Bokmål segment: an unknown word is more likely a Bokmål compound or a typo
    out = _suffix_rule(w, ctx) or _compound(w, ctx) or _stem_rule(w) or _nn_stem_replace(w)
    if out is not None and _has_nn_stem(out):
        out = _nn_stem_replace(out) or out
    return out


# Unambiguous Nynorsk stems replaced inside any word when nothing else
# applies (typos and unknown compounds such as "kultuskule").
NN_STEM_REPLACEMENTS = (
    ("skulane", "skolene"), ("skular", "skoler"), ("skule", "skole"), ("lærarane", "lærerne"),
    ("lærarar", "lærere"), ("lærar", "lærer"), ("tilbod", "tilbud"), ("leiarar", "ledere"),
    ("leiar", "leder"), ("midlar", "midler"),
)


def _nn_stem_replace(w: str) -> str | None:
    out = w
    for a, b in NN_STEM_REPLACEMENTS:
        out = out.replace(a, b)
    return out if out != w else None


def translate_word(w: str, ctx: Ctx) -> str | None:
    """Bokmål form of the lower-case word ``w``, or None to leave it.

    Order: context rules (dei/kvar/kor/anna/set/løyve/auke), the reviewed
    lexicon, a-infinitive and -inga rules (Nynorsk segments only), then,
    for words that are not Bokmål, guarded suffix rules, compound analysis
    and stem vowel rules. Every rule output is checked against the Bokmål
    form list, so an unknown word is left as it is rather than garbled.
    """
    r = _context_rule(w, ctx)
    if r is not None:
        return r if r != w else None
    out = _translate_plain(
        w, ctx.nn, ctx.inf or ctx.prev in INFINITIVE_TRIGGERS, ctx.sent_start, ctx.capital, ctx.nn or ctx.rules
    )
    if out == w:
        return None
    return out


# The only words that ``_context_rule`` may change outside a Nynorsk segment
# (every other branch there asks for ``ctx.nn``). Keep in step with it.
CONTEXT_WORDS_OUTSIDE_NN = frozenset({"dei", "kvar", "anna", "sjølve"})


@lru_cache(maxsize=200_000)
def left_alone_outside_nn(w: str, capital: bool, rules: bool) -> bool:
    """True when ``translate_word(w, ctx)`` is None for every context outside a Nynorsk segment.

    That is for every ``ctx`` with ``nn=False`` and the given ``capital`` and
    ``rules``, whatever the neighbouring words; the carry-over of a
    Bokmål segment skips such words without building their context.
    """
    if w in CONTEXT_WORDS_OUTSIDE_NN:
        return False
    for inf in (False, True):
        for sent_start in (False, True):
            out = _translate_plain(w, False, inf, sent_start, capital, rules)
            if out is not None and out != w:
                return False
    return True


# The words that ``_context_rule`` handles by name in a Nynorsk segment; its
# only other branch there is the neuter plural (``_neuter_noun``). Keep in
# step with it.
CONTEXT_WORDS_IN_NN = frozenset({"dei", "kvar", "si", "kor", "anna", "set", "løyve", "sjølve", "sett", "auke"})


@lru_cache(maxsize=200_000)
def translate_in_nn_anywhere(w: str, capital: bool) -> tuple[bool, str | None]:
    """``(True, out)`` when ``translate_word(w, ctx)`` is ``out`` for every context inside a Nynorsk segment.

    That is for every ``ctx`` with ``nn=True`` and the given ``capital``,
    whatever the neighbouring words, the sentence start, the infinitive
    marker and ``rules``; ``(False, None)`` when the outcome may depend on
    them. The carry-over of a Nynorsk segment then skips building the
    context of such words.
    """
    if w in CONTEXT_WORDS_IN_NN or _neuter_noun(w):
        return False, None
    outs = {_translate_plain(w, True, inf, sent_start, capital, True) for inf in (False, True) for sent_start in (False, True)}
    if len(outs) != 1:
        return False, None
    out = outs.pop()
    return True, (None if out == w else out)


@lru_cache(maxsize=200_000)
def unchanged_outside_nn(word: str, rules: bool) -> bool:
    """``left_alone_outside_nn`` for a word as written (``capital`` from its first letter).

    True when no word rule changes ``word`` outside a Nynorsk segment,
    whatever its context; a multi-word entry that starts with it may still
    apply (see ``phrase_openings``).
    """
    return left_alone_outside_nn(word.lower(), word[:1].isupper(), rules)


WORD_CHARS = re.compile(r"[^\W\d_]+")


def match_case(src: str, out: str) -> str:
    """Give ``out`` the capitalisation pattern of ``src`` (a word or a phrase)."""
    letters = "".join(WORD_CHARS.findall(src))
    if len(letters) > 1 and letters.isupper():
        return out.upper()
    if src[:1].isupper():
        return out[:1].upper() + out[1:]
    return out
