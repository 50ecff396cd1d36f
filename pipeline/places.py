"""Municipality mentions: find them in Norwegian text and resolve them.

The gazetteer is ``seeds/kommuner-2024.csv`` (the 357 municipalities after the
2024 reform, Kartverket, CC BY 4.0) plus ``seeds/kommune_aliases.csv``
(reviewed: merged-away or renamed municipalities and Norwegian forms of
parallel Sámi/Kven names, each mapped to a current kommunenummer). Official
names with parallel forms ("Trondheim - Tråante", "Evenes - Evenášši") are
indexed under every part as well as the whole.

Data caveats, by design:

* only capitalised mentions count ("en time", "fylle hol i", "vik" are
  words, not places); "østre Toten" (lower-case compass prefix followed by a
  capitalised name) is accepted;
* names that are also ordinary words ("Time", "Hol", "Vik", "Moss", "Nes",
  "Lund"...; :data:`COMMON_WORD_NAMES`) are *weak* when they stand at a
  sentence start or right after another capitalised word (a surname, "Kari
  Lund"): the caller must confirm them from context (a participant list,
  "Time kommune", "Time:", or the same name used unambiguously elsewhere);
* names shared by two municipalities (Våler, Herøy) stay unresolved (no
  kommunenummer) unless a county is named nearby ("Våler i Østfold");
* a genitive "Osterøys" resolves to Osterøy; a group name that blends two
  names ("AskØygarden", misspelt "AskØyarden") yields both (Askøy, Øygarden);
* misspellings other than in such blends are not corrected ("Kvænangne").
"""
from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline import config

KOMMUNER_PATH = config.SEEDS_DIR / "kommuner-2024.csv"
ALIASES_PATH = config.SEEDS_DIR / "kommune_aliases.csv"

# Municipality names that are also ordinary Norwegian words (bokmål or nynorsk).
COMMON_WORD_NAMES = frozenset(
    """
    time hol vik moss nes fjord lund hole sel gran sola lier lom vang ås hå bø stad kinn
    strand sande sula marker os valle alta heim osen leka vega grane rana voss stord tinn
    ål flå gol grue råde loppa alver stranda stange frosta bykle tolga dovre nome aure
    sauda etne hitra rauma verdal
    """.split()
)

# Lower-case first words allowed in a multi-word name ("østre Toten").
DIRECTION_WORDS = frozenset({"østre", "vestre", "nordre", "søndre", "øvre", "nedre", "indre", "midtre", "øystre", "nord", "sør"})

# Older and informal county names -> current county names (2024). Used only to
# decide between municipalities that share a name.
OLD_COUNTIES = {
    "hedmark": ("Innlandet",), "oppland": ("Innlandet",),
    "sogn og fjordane": ("Vestland",), "hordaland": ("Vestland",),
    "aust-agder": ("Agder",), "vest-agder": ("Agder",),
    "sør-trøndelag": ("Trøndelag - Trööndelage",), "nord-trøndelag": ("Trøndelag - Trööndelage",),
    "trøndelag": ("Trøndelag - Trööndelage",),
    "troms": ("Troms - Romsa - Tromssa",), "finnmark": ("Finnmark - Finnmárku - Finmarkku",),
    "nordland": ("Nordland - Nordlánnda",),
    "sunnmøre": ("Møre og Romsdal",), "helgeland": ("Nordland - Nordlánnda",),
    "solør": ("Innlandet",),
}

# Words per memo of Gazetteer._memo before it is emptied.
_MEMO_MAX = 1 << 17

# A word: letters, optionally joined by hyphens ("Nord-Odal", "Jo-Terje").
WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_GAP_RE = re.compile(r"^[ \t\xa0]*(?:[-–][ \t\xa0]*)?$|^[ \t\xa0]+$")
_SLUG_GAP_RE = re.compile(r"[^a-z0-9]+")
# a numbered item just before (searched in the last three characters: a match ends at the end or before a final newline)
NUMBER_ITEM_RE = re.compile(r"\d[.)]$")
_CONFIRM_RE = re.compile(r"\s*(?:kommunes?\b|kulturskole|kulturskule|:)", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower-case, NFC, single spaces, hyphens between parts as spaces ("Trondheim - Tråante" -> "trondheim tråante")."""
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(WORD_RE.findall(text))


def slug(text: str) -> str:
    """ASCII slug for ids: 'Gruppe 2, Oslo' -> 'gruppe-2-oslo', 'AskØygarden' -> 'askoygarden'."""
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_GAP_RE.sub("-", text).strip("-")


@dataclass(frozen=True)
class Kommune:
    kommunenummer: str
    kommunenavn: str
    fylkesnavn: str


@dataclass(frozen=True)
class PlaceMention:
    """One municipality mention found in a text.

    ``candidates`` holds every municipality the name can denote (two for
    Våler); ``kommune`` is the one chosen, or None when ambiguous. ``weak``
    marks common-word names at a sentence start (see module doc).
    """

    start: int
    end: int
    mention: str
    candidates: tuple[Kommune, ...]
    kommune: Kommune | None
    match: str  # name | sami | alias | genitive | blend | county-context | ambiguous
    weak: bool = False

    @property
    def key(self) -> str:
        """kommunenummer when resolved, else the folded name (for comparing sets)."""
        return self.kommune.kommunenummer if self.kommune else fold(self.mention)


@dataclass
class Gazetteer:
    """Name -> municipalities index built from the seeds.

    Change the index only through :meth:`_add`: it also drops what is derived
    from it (:meth:`_heads`, :meth:`_singles` and the per-word memos of
    :meth:`_memo`), which is rebuilt on first use.
    """

    by_key: dict[str, tuple[Kommune, ...]] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)
    counties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_words: int = 1
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _add(self, name: str, kommune: Kommune, kind: str) -> None:
        key = fold(name)
        if not key:
            return
        self._derived.clear()
        have = self.by_key.get(key, ())
        if kommune not in have:
            self.by_key[key] = have + (kommune,)
        # the strongest kind wins: name > sami > alias
        rank = {"name": 0, "sami": 1, "alias": 2}
        if key not in self.kind or rank[kind] < rank[self.kind[key]]:
            self.kind[key] = kind
        self.max_words = max(self.max_words, len(key.split()))

    def _heads(self) -> frozenset[str]:
        """First words of all keys, plus every one-word key with a genitive "s": no match can start with another word."""
        heads = self._derived.get("heads")
        if heads is None:
            heads = frozenset(k.split(" ", 1)[0] for k in self.by_key) | frozenset(k + "s" for k in self.by_key if " " not in k)
            self._derived["heads"] = heads
        return heads

    def _singles(self) -> dict[str, tuple[Kommune, ...]]:
        """One-word keys that denote exactly one municipality (the parts a blend is made of), in index order."""
        singles = self._derived.get("singles")
        if singles is None:
            singles = {k: v for k, v in self.by_key.items() if " " not in k and len(v) == 1}
            self._derived["singles"] = singles
        return singles

    def _memo(self, name: str) -> dict:
        """A per-word memo kept with the index (results depend on the word and the index only).

        Vocabularies repeat, so a memo pays; one that reaches
        :data:`_MEMO_MAX` words is emptied, which changes no result.
        """
        memo = self._derived.setdefault(name, {})
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        return memo

    def lookup(self, name: str) -> tuple[Kommune, ...]:
        """All municipalities a name can denote (empty when it is no municipality name)."""
        return self.by_key.get(fold(name), ())

    def resolve(self, name: str, context: str = "") -> Kommune | None:
        """The one municipality ``name`` denotes, using a county named in ``context`` to decide between namesakes."""
        cands = self.lookup(name)
        if len(cands) == 1:
            return cands[0]
        if len(cands) > 1 and context:
            return self._by_county(cands, context)
        return None

    def key(self, name: str, context: str = "") -> str:
        """kommunenummer for a resolvable name, else its folded form (how truth and output are compared)."""
        k = self.resolve(name, context)
        return k.kommunenummer if k else fold(name)

    def _by_county(self, cands: tuple[Kommune, ...], context: str) -> Kommune | None:
        ctx = fold(context)
        named: set[str] = set()
        state = tuple(self.counties.items())  # the county index is filled in directly, so check it is unchanged
        cached = self._derived.get("counties")
        if cached is None or cached[0] != state:
            cached = self._derived["counties"] = (state, [(re.compile(rf"(?<!\S){re.escape(ckey)}(?!\S)"), fylker) for ckey, fylker in state])
        for pattern, fylker in cached[1]:
            if pattern.search(ctx):
                named.update(fylker)
        hits = [k for k in cands if k.fylkesnavn in named]
        return hits[0] if len(hits) == 1 else None


@lru_cache(maxsize=4)
def load_gazetteer(kommuner_path: Path = KOMMUNER_PATH, aliases_path: Path = ALIASES_PATH) -> Gazetteer:
    """Build the gazetteer from the seed CSVs (cached)."""
    gaz = Gazetteer()
    by_nr: dict[str, Kommune] = {}
    with open(kommuner_path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            k = Kommune(row["kommunenummer"], row["kommunenavn"], row["fylkesnavn"])
            by_nr[k.kommunenummer] = k
            gaz._add(k.kommunenavn, k, "name")
            parts = [p.strip() for p in k.kommunenavn.split(" - ")]
            for p in parts[1:] if len(parts) > 1 else []:
                gaz._add(p, k, "sami")
            if len(parts) > 1:
                gaz._add(parts[0], k, "sami")
            for cp in [k.fylkesnavn] + [p.strip() for p in k.fylkesnavn.split(" - ")]:
                gaz.counties.setdefault(fold(cp), (k.fylkesnavn,))
    with open(aliases_path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            k = by_nr.get(row["kommunenummer"])
            if k is None:
                raise ValueError(f"{aliases_path}: alias {row['alias']!r} points to unknown kommunenummer {row['kommunenummer']}")
            if fold(row["alias"]) not in gaz.by_key:  # a current name always wins over an alias
                gaz._add(row["alias"], k, "alias")
    for name, fylker in OLD_COUNTIES.items():
        gaz.counties.setdefault(fold(name), fylker)
    # county names that are also municipality names (Oslo) are not county evidence for others
    return gaz


def _is_cap(word: str) -> bool:
    return word[:1].isupper()


def _sentence_start(text: str, start: int) -> bool:
    """True when ``start`` begins a sentence, line, list item or the text."""
    prefix = text[:start].rstrip(" \t")
    if not prefix:
        return True
    if prefix[-1] in ".!?:;\n•*–-(«\"":
        return True
    return bool(NUMBER_ITEM_RE.search(prefix[-3:]))


def _blend(word: str, gaz: Gazetteer) -> list[tuple[str, Kommune]] | None:
    """Split a blend of two names with an internal capital ("AskØygarden" -> Askøy, Øygarden).

    The left name must be a prefix of the word ending at or after the internal
    capital; the right part, from the internal capital on, must match a name
    closely (difflib ratio >= 0.85, so one typo is tolerated). The search
    is memoised per word.
    """
    if word.isupper() or word.islower():
        return None
    caps = [i for i, ch in enumerate(word) if i > 0 and ch.isupper()]
    if len(caps) != 1:
        return None
    memo = gaz._memo("blend")
    if word not in memo:
        memo[word] = _blend_search(word, caps[0], gaz)
    found = memo[word]
    return list(found) if found is not None else None


def _blend_search(word: str, i: int, gaz: Gazetteer) -> tuple[tuple[str, Kommune], ...] | None:
    """:func:`_blend` for a word whose one internal capital is at ``i``."""
    low = word.lower()
    singles = gaz._singles()
    left = [k for k in singles if low.startswith(k) and len(k) >= i + 1 and len(k) >= 3]
    if not left:
        return None
    right_part = low[i:]
    best, score = None, 0.0
    matcher = difflib.SequenceMatcher(None, right_part, "")
    for k in singles:
        if len(k) < 4:
            continue
        # A name whose upper bounds stay below the 0.85 cut can be skipped: it
        # can neither pass the cut nor be the first best of a name that does.
        if 2.0 * min(len(right_part), len(k)) / (len(right_part) + len(k)) < 0.85:
            continue
        matcher.set_seq2(k)
        if matcher.quick_ratio() < 0.85:
            continue
        r = matcher.ratio()
        if r > score:
            best, score = k, r
    if best is None or score < 0.85:
        return None
    lk = max(left, key=len)
    if lk == best:
        return None
    return ((word[: len(lk)], singles[lk][0]), (word[i:], singles[best][0]))


def _match_at(text: str, words: list[re.Match], i: int, gaz: Gazetteer):
    """The longest gazetteer name starting at word ``i``: (n_words, start, end, surface, key, match) or None."""
    for n in range(min(gaz.max_words, len(words) - i), 0, -1):
        span = words[i : i + n]
        if any(not _GAP_RE.match(text[a.end() : b.start()]) for a, b in zip(span, span[1:])):
            continue
        first = span[0].group()
        if not _is_cap(first):
            if not (n > 1 and first.lower() in DIRECTION_WORDS and _is_cap(span[1].group())):
                continue
        s, e = span[0].start(), span[-1].end()
        surface = text[s:e]
        key = fold(surface)
        match = None
        if key in gaz.by_key:
            match = gaz.kind[key]
        elif key.endswith("s") and key[:-1] in gaz.by_key and len(key) > 4:
            match, key = "genitive", key[:-1]
        if match:
            return (n, s, e, surface, key, match)
    return None


@lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> str:
    """:func:`fold` of one word, memoised (vocabularies repeat)."""
    return fold(word)


# What can happen at a word (bits): a name can start there; it is capitalised and a blend.
_STARTS, _CAP = 2, 1


def _word_class(word: str, gaz: Gazetteer) -> int:
    """_STARTS | _CAP bits of ``word``; 0 when neither a name nor a blend can be found at it.

    A name needs a capitalised (or compass) first word, and the folded span
    begins with the folded first word (words are joined by spaces, tabs or
    dashes, which fold into word breaks), so that word must begin some key
    or a key's genitive (:meth:`Gazetteer._heads`). _CAP is set only for a
    capitalised word; without _STARTS, only when it is a blend.
    """
    cap = _is_cap(word)
    starts = (cap or word.lower() in DIRECTION_WORDS) and _fold_word(word).split(" ", 1)[0] in gaz._heads()
    if starts:
        return _STARTS | (_CAP if cap else 0)
    return _CAP if cap and _blend(word, gaz) else 0


def find_place_mentions(text: str, gaz: Gazetteer | None = None, context: str | None = None) -> list[PlaceMention]:
    """Municipality mentions in ``text`` with character spans, longest match first.

    ``context`` (default: the paragraph around the mention) is searched for a
    county name to resolve namesakes. See the module doc for what is and is
    not accepted.
    """
    gaz = gaz or load_gazetteer()
    if not text:
        return []
    words = list(WORD_RE.finditer(text))
    # Only words of a nonzero class (or not yet classed) need a look; most are lower-case.
    classes = gaz._memo("word_class")
    get = classes.get
    out: list[PlaceMention] = []
    nxt = 0  # words before this index belong to a name already found
    for i in [i for i, m in enumerate(words) if get(m.group(), 1)]:
        if i < nxt:
            continue
        word = words[i].group()
        cls = get(word)
        if cls is None:
            cls = classes[word] = _word_class(word, gaz)
        found = _match_at(text, words, i, gaz) if cls & _STARTS else None
        if found is None:
            if cls & _CAP:
                start, end = words[i].span()
                parts = _blend(word, gaz)
                if parts:
                    off = start
                    for surface, k in parts:
                        pos = text.index(surface, off) if surface in text[off:end] else off
                        out.append(PlaceMention(pos, pos + len(surface), surface, (k,), k, "blend"))
                        off = pos + 1
            continue
        n, s, e, surface, key, match = found
        cands = gaz.by_key[key]
        kommune = cands[0] if len(cands) == 1 else None
        if len(cands) > 1:
            ctx = context if context is not None else _paragraph(text, s, e)
            kommune = gaz._by_county(cands, ctx.replace(surface, " ", 1))
            match = "county-context" if kommune else "ambiguous"
        weak = False
        if n == 1 and key in COMMON_WORD_NAMES:
            prev_cap = i > 0 and _is_cap(words[i - 1].group()) and text[words[i - 1].end() : s] == " "
            weak = _sentence_start(text, s) or prev_cap or surface.isupper()
        out.append(PlaceMention(s, e, surface, cands, kommune, match, weak))
        nxt = i + n
    return out


def _paragraph(text: str, start: int, end: int) -> str:
    a = text.rfind("\n\n", 0, start)
    b = text.find("\n\n", end)
    return text[a + 2 if a >= 0 else 0 : b if b >= 0 else len(text)]


def confirmed_by_context(text: str, m: PlaceMention) -> bool:
    """Whether a weak mention is confirmed by what follows it: 'Time kommune', 'Time kulturskule', 'Time:'."""
    tail = text[m.end : m.end + 20]
    return bool(_CONFIRM_RE.match(tail))
