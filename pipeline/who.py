"""Who answered: groups, participants and the municipalities they come from.

Entry points:

* :func:`extract_who` (posts, boards) -> ``{"groups", "participants",
  "places", "post_groups"}`` frames; ``post_groups`` is (post_id, group_id)
  for every post, to add ``group_id`` to ``posts``.
* :func:`find_person_mentions` (text) -> ``[(start, end, name)]``: the
  person-name patterns this module parses, for the privacy layer.
* :func:`member_spans` (text) -> spans of participant lists in a text.

Rules come from the structure of group answers, not from particular boards:

* participant lists: a header ("Gruppen besto av:", "Kommunar:",
  "Deltakere:", "Vår gruppe:"...) and the paragraphs under it; a leading
  paragraph that is a list of names, places and organisations (capitalised
  words, "Name - organisation", "Place v/Name"); a leading parenthesis;
* persons: "Name, role", "Name - organisation", "Place v/Name", "Name i
  Organisation", "Name (referent)", "Hilsen Name og Name", "Gruppe Name,
  Name og Name", "Name: lower-case speech", and runs of capitalised words in
  participant lists;
* place roles: ``participant`` (participant lists, "Place:" opening a
  report, places in titles, group labels and author names), ``venue`` (a
  place in a group label when the group's members are listed and come from
  elsewhere: "Gruppe 2, Oslo" with members from Halden, Lyngen, Nesodden),
  ``mentioned`` (everything else: examples cited, "Kulturkarusellen i
  Bergen"). Organisers' prompts only ever mention places.

Caveats: a speaker's own municipality named in running prose ("Kvænangen
har 1 skole") counts as mentioned; names in running text without one of
the patterns ("sier som Henriette") are not found; two posts with the same
generic label on one board ("Gruppe 3") are taken to be one group.
"""
from __future__ import annotations

import re
import string
from collections import namedtuple
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from pipeline.places import (
    NUMBER_ITEM_RE,
    WORD_RE,
    Gazetteer,
    PlaceMention,
    confirmed_by_context,
    find_place_mentions,
    fold,
    load_gazetteer,
    slug,
)
from pipeline.textscan import may_contain_case_blind

_LOW = "a-zæøåäöüéèáàíóúčđŋšŧžï'’"
_UP_EXTRA = "ÆØÅÄÖÜÉÈÁČĐŊŠŦŽ"
_UP = "A-Z" + _UP_EXTRA
# A name as written, or the pseudonym the privacy layer put in its place ("[Person 7]").
PSEUDONYM = r"\[Person \d+\]"
NAME_TOKEN = rf"(?:{PSEUDONYM}|[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?|[{_UP}]\.)"
NAME = rf"{NAME_TOKEN}(?:[ \xa0]{NAME_TOKEN}){{0,3}}"

ROLE_STEM = (
    r"(?:[a-zæøå]*(?:rektor|sjef|rådgiver|rådgjevar|inspektør|lærer|lærar|referent|leder|leiar|student|"
    r"direktør|konsulent|koordinator|terapeut|skriver|ordfører|pedagog|veileder|rettleiar|sekretær)|ref)"
)
ROLE = rf"(?:(?:konst\.|konstituert|fung\.|fungerende|ass\.|assisterende)[ \xa0]+)?{ROLE_STEM}\b"
ROLE_PHRASE = rf"{ROLE}(?:[ \xa0]+(?:og[ \xa0]+)?[a-zæøå]+){{0,3}}"

ORG_RE = re.compile(
    rf"""(?x)
    (?:[{_UP}][\w-]*[ \xa0]+)?(?:kulturskole|kulturskule)n?\b
    | \b[{_UP}][\w-]*(?:rådet|departementet|direktoratet|forbundet|senteret|akademiet|musikkråd)\b(?:[ \xa0][{_UP}][\w-]+(?=[ \xa0]*(?:[,.;)\n]|$)))?
    | \b(?:Norsk|Norges|Nasjonalt|NORSK)[ \xa0]+[\w-]+(?:[ \xa0]+(?:for|og|i|på)[ \xa0]+[\w-]+)*
    | \b[{_UP}][\w-]*[ \xa0]+[Uu]niversitet\b | \b[Uu]niversitetet[ \xa0]i[ \xa0][{_UP}][\w-]*
    | \b(?:NTNU|UiT|UiB|UiO|OsloMet|HVL|UKM(?:[ \xa0]Norge)?|KS|Udir|Kulturtanken)\b
    """
)
# Literals of which every ORG_RE match holds one (keep in step with ORG_RE).
ORG_ANCHORS = (
    "kulturskole", "kulturskule", "rådet", "departementet", "direktoratet", "forbundet", "senteret", "akademiet",
    "musikkråd", "Norsk", "Norges", "Nasjonalt", "NORSK", "niversitet", "NTNU", "UiT", "UiB", "UiO", "OsloMet",
    "HVL", "UKM", "KS", "Udir", "Kulturtanken",
)
ORG_ANCHOR_RE = re.compile("|".join(re.escape(anchor) for anchor in ORG_ANCHORS))
# The characters an ORG_RE match can start with (keep in step with ORG_RE): a capital of _UP, the
# "u" of "universitetet", the "k" of "kulturskole"/"kulturskule".
ORG_FIRST_CHARS = frozenset(string.ascii_uppercase + _UP_EXTRA + "uk")

# Capitalised words that open headings or sentences, never names.
NOT_NAMES = frozenset(
    """gruppe gruppen gruppa grupperom rom tema dialogtema del spørsmål svar kommunar kommuner deltakere
    deltakarar deltagere vår hilsen helsing mvh vi de det dette den en et ein eit og i på for med fra frå
    til om som kulturskole kulturskule kulturskolen kulturskulen skole skule sfo barnehage kommune kommunen
    nyttige hva kva hvordan korleis hvem kven gode god felles møteplasser tid initiativ relevans samarbeid
    samhandling økonomi utfordringer utfordringar ja nei men alle eks feks f.eks viktig døme eksempel merknad
    tips obs mål forslag konklusjon oppsummering innspill kommentar tiltak""".split()
)

HEADER_RE = re.compile(
    r"(?P<h>\b(?i:gruppen|gruppa)\s+(?i:besto|bestod|består)\s+(?i:av)|\b(?i:vår)\s+(?i:gruppe)|\b(?i:deltakere|deltakarar|deltagere)"
    r"|\b(?i:til)\s*(?i:stede)|\b(?i:gruppemedlemmer)"
    # bare nouns only as a capitalised heading: "Kommunar:", not "små kommuner:"
    r"|(?<![^\W\d_] )\b(?:Kommunar|Kommuner|Medlemmer|KOMMUNAR|KOMMUNER))\s*:"
)
LIST_HEADERS = ("kommunar", "kommuner")  # a one-paragraph list of places
BLOCK_STOP_RE = re.compile(r"(?i)^\s*(?:\d|spørsmål|svar|tema|del\s|dialogtema|[-•*])")

ROLES = ("participant", "venue", "mentioned")

# Person-name patterns of _person_hits, compiled once (not through re's shared
# cache, which other stages can crowd out). Those run with _finditer_lines
# hold no line break in a match and treat a line end like the end of the text;
# their anchor is a part every match holds, in the same line.
NAME_TOKEN_RE = re.compile(NAME_TOKEN)
NAME_RE = re.compile(NAME)
PSEUDONYM_RE = re.compile(PSEUDONYM)
SPACES_RE = re.compile(r"[ \xa0]+")
# "Name, role" and "Name, role i/på/ved Place-or-organisation"
NAME_ROLE_RE = re.compile(rf"(?P<name>{NAME})[ \xa0]*,[ \xa0]*(?P<role>{ROLE_PHRASE})")
NAME_ROLE_ANCHOR = re.compile(rf",[ \xa0]*{ROLE}")
ROLE_WHERE_RE = re.compile(r"(.*?)[ \xa0]+(?:i|på|fra|frå|ved)$")
ROLE_TAIL_RE = re.compile(r"[ \xa0]+(?:i|på|fra|frå|ved)[ \xa0]+")
# "Name (role, Organisation)" / "Name (Organisation)"
NAME_PAREN_RE = re.compile(rf"(?P<name>{NAME})[ \xa0]*\((?P<inner>[^()]{{2,80}})\)")
_NAME_START_RE = re.compile(rf"[\[{_UP}]")  # the first character of every NAME
PAREN_ROLE_RE = re.compile(rf"(?P<role>{ROLE_PHRASE})(?:[ \xa0]*,[ \xa0]*|[ \xa0]+(?:i|på|ved)[ \xa0]+|$)")
# "Name (ref) - Organisation"
NAME_ORG_RE = re.compile(
    rf"(?:^|(?<=[,;\n(]))[ \xa0]*(?P<name>{PSEUDONYM}|{NAME_TOKEN}(?:[ \xa0]{NAME_TOKEN}){{1,3}})[ \xa0]*(?:\((?P<role>[^)]{{1,20}})\)[ \xa0]*)?[-–][ \xa0]+(?P<org>[{_UP}][^,;\n()]*)",
    re.M,
)
NAME_ORG_ANCHOR = re.compile(rf"[-–][ \xa0]+[{_UP}]")
# "Place v/Name (og Name Place)"
VIA_NAME_RE = re.compile(rf"v/[ \xa0]*(?P<name>{NAME})")
AND_NAME_RE = re.compile(rf"[ \xa0]+og[ \xa0]+(?P<name>{NAME})")
# "Name i Organisation"
NAME_IN_RE = re.compile(rf"(?P<name>{NAME_TOKEN}(?:[ \xa0]{NAME_TOKEN}){{1,3}})[ \xa0]+i[ \xa0]+(?=[{_UP}])")
NAME_IN_ANCHOR = re.compile(rf"i(?<=[ \xa0]i)[ \xa0]+[{_UP}]")  # " i Capital", written to start with its literal "i" (fast to find)
# "Name (referent)", case-blind as written
REF_ROLE = r"\((?P<role>ref\.?|referent|skriver|sekretær)\)"
NAME_REF_RE = re.compile(rf"(?P<name>{NAME})[ \xa0]*{REF_ROLE}", re.I)
REF_ROLE_RE = re.compile(REF_ROLE, re.I)
# "Hilsen Name (...) og Name (...)"; a parenthesis may hold a line break, so only the greeting word is checked first
GREETING_RE = re.compile(rf"(?i:hilsen|helsing|mvh\.?)[ \xa0]+(?P<rest>{NAME}(?:[ \xa0]*\([^)]*\))?(?:[ \xa0]+og[ \xa0]+{NAME}(?:[ \xa0]*\([^)]*\))?)*)")
GREETING_ANCHOR = re.compile(r"(?i:hilsen|helsing|mvh)")
GREETING_WORDS = ("hilsen", "helsing", "mvh")  # GREETING_ANCHOR's words, for may_contain_case_blind
GREETING_NAME_RE = re.compile(rf"(?P<n>{NAME})(?:[ \xa0]*\((?P<u>[^)]*)\))?")
# "Gruppe Name, Name og Name" opening a paragraph
GROUP_LIST_RE = re.compile(rf"(?m)^[ \xa0]*Gruppe[ \xa0]+(?P<rest>{NAME}(?:[ \xa0]*,[ \xa0]*{NAME})*(?:[ \xa0]+og[ \xa0]+{NAME}))[ \xa0]*$")
# "Name: lower-case speech" opening a paragraph or line
SPEAKER_RE = re.compile(rf"(?:^|(?<=[.!?\n])|(?<=[{_LOW}] ))[ \xa0]*(?P<name>[{_UP}][{_LOW}]+(?:[ \xa0][{_UP}][{_LOW}]+)?):[ \xa0]+(?=[a-zæøå])")
SPEAKER_ANCHOR = re.compile(r":[ \xa0]+[a-zæøå]")
UNIT_TAIL_RE = re.compile(r"[ \xa0]+(?:kulturskole|kulturskule|kommune)\b")
# Per-text and per-mention patterns, compiled once for the same reason.
PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
BLOCK_END_RE = re.compile(r"\n\s*(?:\d|spørsmål|svar)", re.IGNORECASE)
# a numbered item just before (searched in the last three characters: a match ends at the end or before a final newline)
NUMBER_OPENS_RE = re.compile(r"\d[.)]?$")
SPEAKER_PLACE_TAIL_RE = re.compile(r"[ \xa0]*(?:kommunes?|kulturskole|kulturskule)?[ \xa0]*(?::|\.(?=\s+[A-ZÆØÅ]|\s*$))", re.I)
PARENTHESIS_RE = re.compile(r"\([^)]*\)")
LIST_ITEM_RE = re.compile(r"[^,;/\n()]+")


def _finditer_lines(pattern: re.Pattern, anchor: re.Pattern, text: str) -> list[re.Match]:
    """``pattern.finditer(text)``, scanning only the lines in which ``anchor`` matches.

    Only for patterns without a line break in any match, that see a line end
    as they see the end of the text (no ``$`` without MULTILINE, no
    look-ahead past the line), and whose every match holds an ``anchor``
    match. Then the matches within those lines are all the matches, in the
    same order. Worth it where the pattern has no literal prefix (it is tried
    at every character) and the anchor has one.
    """
    out: list[re.Match] = []
    end = -1
    for a in anchor.finditer(text):
        if a.start() < end:
            continue  # this line is done
        start = text.rfind("\n", 0, a.start()) + 1
        end = text.find("\n", a.end())
        end = len(text) if end < 0 else end
        out.extend(pattern.finditer(text, start, end))
    return out


PlaceFinder = Callable[[str], list[PlaceMention]]


class _PlaceMemo:
    """:func:`find_place_mentions` for one :func:`extract_who` call, each distinct text read once.

    Several steps read the same text (board support, the post itself, its
    first paragraph, the author line); the memo lives only as long as the
    call, so results never depend on other boards. Returns a fresh list.
    """

    def __init__(self, gaz: Gazetteer):
        self.gaz = gaz
        self.memo: dict[str, list[PlaceMention]] = {}

    def __call__(self, text: str) -> list[PlaceMention]:
        found = self.memo.get(text)
        if found is None:
            found = self.memo[text] = find_place_mentions(text, self.gaz)
        return list(found)


def _finder(gaz: Gazetteer, find_places: PlaceFinder | None) -> PlaceFinder:
    return find_places if find_places is not None else (lambda text: find_place_mentions(text, gaz))


@dataclass(frozen=True)
class PersonHit:
    """A person name found in a text, with what the pattern says about them."""

    start: int
    end: int
    name: str
    pattern: str
    role_raw: str | None = None
    unit: str | None = None  # organisation or place written with the person
    unit_start: int | None = None


# ---------------------------------------------------------------- spans


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for m in PARAGRAPH_BREAK_RE.finditer(text):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, len(text)))
    return [(a, b) for a, b in out if text[a:b].strip()]


def _looks_like_member_line(par: str, places: list[PlaceMention]) -> bool:
    if "?" in par or len(par) > 300:
        return False
    words = WORD_RE.findall(par)
    content = [w for w in words if w.lower() not in {"og", "i", "v", "ref", "referent", "kulturskole", "kulturskule", "kommune", "for", "fra", "frå", "på"}]
    if sum(1 for w in content if w.isupper() and len(w) > 1) > len(content) / 2 and len(par) > 60:
        return False  # a paragraph written in capitals is prose, not a list
    if len(content) >= 2 and len(par) <= 250:
        caps = sum(1 for w in content if w[0].isupper())
        if caps / len(content) >= 0.7:
            return True
    lower = [w for w in content if w[0].islower()]
    return len(par) <= 40 and not lower and (bool(places) or bool(ORG_RE.search(par)))


def member_spans(text: str, gaz: Gazetteer | None = None, find_places: PlaceFinder | None = None) -> list[tuple[int, int, str]]:
    """Spans (start, end, kind) of participant lists in ``text``.

    kind is ``header`` (under "Gruppen besto av:" etc.), ``lead`` (a leading
    paragraph that lists people, places, organisations) or ``parenthesis``
    (a leading "(...)" list). ``find_places`` replaces
    :func:`find_place_mentions` (e.g. a memo); it must give the same result.
    """
    gaz = gaz or load_gazetteer()
    find_places = _finder(gaz, find_places)
    if not text:
        return []
    spans: list[tuple[int, int, str]] = []
    for m in _header_matches(text):
        start = m.end()
        if m.group("h").lower().replace(" ", "") in LIST_HEADERS:
            end = text.find("\n", start)
            spans.append((start, end if end >= 0 else len(text), "header"))
            continue
        end = start
        pars = [(a, b) for a, b in _paragraphs(text) if b > start]
        for k, (a, b) in enumerate(pars[:6]):
            a = max(a, start)
            chunk = text[a:b]
            if k > 0 and (BLOCK_STOP_RE.match(chunk) or "?" in chunk or len(chunk) > 300):
                break
            stop = BLOCK_END_RE.search(chunk)
            end = a + stop.start() if stop else b
            if stop:
                break
        spans.append((start, end, "header"))
    pars = _paragraphs(text)
    if pars:
        a, b = pars[0]
        par = text[a:b]
        lead = par.lstrip()
        a2 = a + len(par) - len(lead)
        if lead.startswith("("):
            close = lead.find(")")
            if close > 0:
                spans.append((a2, a2 + close + 1, "parenthesis"))
        elif not any(s <= a2 < e or a <= s < b for s, e, _ in spans):
            places = find_places(par)
            if _looks_like_member_line(par, places):
                spans.append((a2, b, "lead"))
    return sorted(spans)


def _in_spans(pos: int, spans) -> bool:
    return any(s <= pos < e for s, e, *_ in spans)


# ---------------------------------------------------------------- persons

_NOUN_SUFFIXES = ("ing", "het", "else", "sjon", "skap", "dom", "ment", "tet", "isme", "ning")


def _lexicon():
    """The cleaner's word list (loaded once per process and shared, not loaded twice)."""
    from pipeline.lexicon import load_lexicon

    return load_lexicon()


def _looks_common(word: str) -> bool:
    """A capitalised word that is an ordinary noun ('Utfordring', 'Fare'), judged by its inflected forms in the lexicon.

    Given names in the lexicon ('elisabeth', 'stine') have no inflected forms;
    names that are also nouns ('Kim') are judged common.
    """
    w = word.lower()
    if w.endswith(_NOUN_SUFFIXES) or w in NOT_NAMES:
        return True
    lex = _lexicon()

    def inflects(stem: str) -> bool:
        return sum(1 for suf in ("en", "et", "er", "ene", "a", "ar", "ane") if stem + suf in lex) >= 2

    if inflects(w):
        return True
    # a definite or plural form of a noun ("Skolen", "Lærerne")
    for ending in ("ene", "ane", "en", "et", "n"):
        if w.endswith(ending) and len(w) - len(ending) >= 3 and inflects(w[: -len(ending)]):
            return True
    return False


def _is_place_token(token: str, gaz: Gazetteer) -> bool:
    return bool(gaz.lookup(token))


def _clean_name(text: str, s: int, e: int, gaz: Gazetteer, places: list[PlaceMention], orgs: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Trim a candidate name span: drop leading places/organisations/heading words, cut at a following place."""
    toks = [(m.start() + s, m.end() + s, m.group()) for m in NAME_TOKEN_RE.finditer(text[s:e])]
    # cut at the first place or organisation that starts inside (after the first token)
    while toks:
        t0 = toks[0]
        if (
            any(p.start <= t0[0] < p.end for p in places)
            or any(a <= t0[0] < b for a, b in orgs)
            or t0[2].lower() in NOT_NAMES
            or _is_place_token(t0[2], gaz)
        ):
            toks = toks[1:]
            continue
        break
    kept = []
    for t in toks:
        if kept and (any(p.start == t[0] for p in places) or any(a == t[0] for a, b in orgs) or t[2].lower() in NOT_NAMES):
            break
        kept.append(t)
    if not kept or kept[0][2].endswith("."):
        return None
    return kept[0][0], kept[-1][1]


def _skip_back(text: str, k: int, space: bool) -> int:
    """Move ``k`` left over the whitespace (``space``) or non-whitespace characters just before it."""
    while k > 0 and text[k - 1].isspace() == space:
        k -= 1
    return k


def _orgs(text: str) -> list[tuple[int, int]]:
    """Spans of ``ORG_RE.finditer(text)``, trying the pattern only near the literals it needs.

    Every match holds one of :data:`ORG_ANCHORS` and starts at most one
    word and its spaces before it ("Bodø kulturskole", "Kunnskapsdepartementet",
    "Nord universitet"), so the candidate starts of an anchor at ``a`` lie in
    [start of the word before, a]. Trying ``ORG_RE.match`` at the candidate
    starts in order, from the end of the last match, gives the same
    leftmost, non-overlapping matches as ``finditer`` at a fraction of the
    cost (the pattern has no literal prefix, so ``finditer`` tries it at
    every character). A text without any anchor has no match, and a
    match can only start at one of :data:`ORG_FIRST_CHARS`.
    """
    first = ORG_ANCHOR_RE.search(text)  # where the first anchor of any kind stands, if any
    if first is None:
        return []
    starts: set[int] = set()
    for anchor in ORG_ANCHORS:
        a = text.find(anchor, first.start())
        while a >= 0:
            k = _skip_back(text, _skip_back(text, _skip_back(text, a, False), True), False)
            starts.update(range(k, a + 1))
            a = text.find(anchor, a + 1)
    out: list[tuple[int, int]] = []
    pos = 0
    for p in sorted(starts):
        if p < pos or text[p] not in ORG_FIRST_CHARS:
            continue
        m = ORG_RE.match(text, p)
        if m:
            out.append((m.start(), m.end()))
            pos = m.end()
    return out


def _name_paren_matches(text: str) -> list[re.Match]:
    """``NAME_PAREN_RE.finditer(text)``, trying the pattern only where a name can start.

    A match is a name, spaces and "(" on one line (no line break before the
    bracket), and a name starts with "[" (a pseudonym) or a capital. Trying
    ``NAME_PAREN_RE.match`` at those characters of the lines that hold a
    "(", in order and from the end of the last match, gives the same
    matches as ``finditer`` without trying the pattern at every character.
    """
    out: list[re.Match] = []
    pos = 0
    c = text.find("(")
    while c >= 0:
        line_end = text.find("\n", c)
        line_end = len(text) if line_end < 0 else line_end
        for start in _NAME_START_RE.finditer(text, max(pos, text.rfind("\n", 0, c) + 1), line_end):
            if start.start() >= pos:
                m = NAME_PAREN_RE.match(text, start.start())
                if m is not None:
                    out.append(m)
                    pos = m.end()
        c = text.find("(", max(line_end, pos))
    return out


def _header_matches(text: str) -> list[re.Match]:
    """``HEADER_RE.finditer(text)``, searching only just before each colon.

    A match is at most three words with whitespace between, then optional
    whitespace and the colon, and holds no other colon; so it starts within
    the three whitespace-separated runs before its colon. Searching each such
    window in order, from the end of the last match, gives the same matches
    as ``finditer`` without trying the pattern at every character.
    """
    out: list[re.Match] = []
    pos = 0
    c = text.find(":")
    while c >= 0:
        k = _skip_back(text, c, True)
        for _ in range(3):
            k = _skip_back(text, _skip_back(text, k, False), True)
        if c + 1 > pos:
            m = HEADER_RE.search(text, max(pos, k), c + 1)
            if m:
                out.append(m)
                pos = m.end()
        c = text.find(":", c + 1)
    return out


def _unit_before(text: str, pos: int, places: list[PlaceMention], orgs: list[tuple[int, int]]) -> tuple[str, int] | None:
    """The place or organisation that ends right before ``pos`` (only spaces between)."""
    best = None
    for p in places:
        if p.end <= pos and not text[p.end : pos].strip():
            best = (p.mention, p.start)
    for a, b in orgs:
        if b <= pos and not text[b:pos].strip():
            if best is None or a < best[1]:
                best = (text[a:b], a)
    return best


def _unit_after(text: str, pos: int, places: list[PlaceMention], orgs: list[tuple[int, int]]) -> tuple[str, int] | None:
    for a, b in sorted(orgs):
        if a >= pos and SPACES_RE.fullmatch(text[pos:a] or "x") and b > a:
            return text[a:b], a
    for p in places:
        if p.start >= pos and SPACES_RE.fullmatch(text[pos : p.start] or "x"):
            end = p.end
            tail = UNIT_TAIL_RE.match(text[end:])
            return text[p.start : end + (tail.end() if tail else 0)], p.start
    return None


def _person_hits(text: str, gaz: Gazetteer, places: list[PlaceMention] | None = None, spans=None, find_places: PlaceFinder | None = None) -> list[PersonHit]:
    """All person hits in ``text`` (see module doc), overlapping hits reduced to the first/longest."""
    if not text:
        return []
    find_places = _finder(gaz, find_places)
    places = find_places(text) if places is None else places
    spans = member_spans(text, gaz, find_places) if spans is None else spans
    orgs = _orgs(text)
    hits: list[PersonHit] = []

    def _names_first(pos):
        """Whether the list holding ``pos`` opens with a person rather than a place or organisation ("Name Place, Name Place")."""
        span = next(((a, b) for a, b, _ in spans if a <= pos < b), None)
        if span is None:
            return False
        first = NAME_TOKEN_RE.search(text[span[0] : span[1]])
        if first is None:
            return False
        f0 = span[0] + first.start()
        return not (any(p.start == f0 for p in places) or any(a == f0 for a, b in orgs) or first.group().lower() in NOT_NAMES)

    def add(s, e, pattern, role=None, unit=None, unit_start=None, trim=True):
        span = _clean_name(text, s, e, gaz, places, orgs) if trim else (s, e)
        if span is None:
            return None
        s2, e2 = span
        order = ("before", "after")
        if pattern in ("member-run", "and", "name-ref") and _names_first(s2):
            order = ("after", "before")
        for side in order:
            if unit is not None:
                break
            if side == "before" and pattern in ("name-role", "member-run", "and"):
                u = _unit_before(text, s2, places, orgs)
            elif side == "after" and pattern in ("member-run", "and", "name-ref"):
                u = _unit_after(text, e2, places, orgs)
            else:
                u = None
            if u:
                unit, unit_start = u
        if unit is None and pattern == "name-role":
            prev = next((h for h in reversed(hits) if h.pattern == "name-role" and h.end <= s2), None)
            if prev is not None and prev.unit and "\n\n" not in text[prev.end : s2]:
                unit, unit_start = prev.unit, prev.unit_start
        hits.append(PersonHit(s2, e2, text[s2:e2], pattern, role, unit, unit_start))
        return hits[-1]

    # "Name, role" and "Name, role i/på/ved Place-or-organisation"
    for m in _finditer_lines(NAME_ROLE_RE, NAME_ROLE_ANCHOR, text):
        role = m.group("role")
        where = ROLE_WHERE_RE.match(role)
        tail = ROLE_TAIL_RE.match(text[m.end("role") :])
        u = None
        if where or tail:
            pos = m.end("role") + (tail.end() if tail else 1)
            u = _unit_after(text, pos - 1, places, orgs)
            role = where.group(1) if where else role
        add(m.start("name"), m.end("name"), "name-role", role, *(u or (None, None)))
    # "Name (role, Organisation)" / "Name (Organisation)"
    for m in _name_paren_matches(text):
        inner = m.group("inner")
        rm = PAREN_ROLE_RE.match(inner)
        rest = inner[rm.end() :] if rm else inner
        if not rm and not (ORG_RE.search(rest) or any(m.start("inner") <= p.start < m.end("inner") for p in places)):
            continue
        if not rm and (len(m.group("name").split()) < 2 or any(_looks_common(t) for t in m.group("name").split())):
            continue  # "Kulturdag (Trondheim)": a thing and its place, not a person
        if rm and rm.group("role").strip() in ("ref", "referent"):
            continue  # "Name (referent)" below
        add(m.start("name"), m.end("name"), "name-paren", rm.group("role") if rm else None,
            rest.strip() or None, m.start("inner") + (rm.end() if rm else 0) if rest.strip() else None)
    # "Name (ref) - Organisation"
    for m in _finditer_lines(NAME_ORG_RE, NAME_ORG_ANCHOR, text):
        org = m.group("org").strip().rstrip(".")
        pseudonym = PSEUDONYM_RE.fullmatch(m.group("name")) is not None
        if not pseudonym and (re.search(r"\d", m.group("name")) or gaz.lookup(m.group("name"))):
            continue
        toks = NAME_TOKEN_RE.findall(m.group("name"))
        while toks and (toks[0].lower() in NOT_NAMES or gaz.lookup(toks[0])):
            toks = toks[1:]
        if len(toks) < (1 if pseudonym else 2):
            continue
        s0 = m.end("name") - len(" ".join(toks))
        add(s0, m.end("name"), "name-org", m.group("role"), org, m.start("org"), trim=False)
    # "Place v/Name (og Name Place)"
    for m in VIA_NAME_RE.finditer(text):
        u = _unit_before(text, m.start(), places, orgs)
        h = add(m.start("name"), m.end("name"), "v/", None, *(u or (None, None)))
        if h is None:
            continue
        m2 = AND_NAME_RE.match(text[h.end :])
        if m2:
            add(h.end + m2.start("name"), h.end + m2.end("name"), "and")
    # "Name i Organisation"
    for m in _finditer_lines(NAME_IN_RE, NAME_IN_ANCHOR, text):
        org = next(((a, b) for a, b in orgs if a == m.end()), None)
        if org:
            add(m.start("name"), m.end("name"), "name-in-org", None, text[org[0] : org[1]], org[0])
    # "Name (referent)"
    for m in _finditer_lines(NAME_REF_RE, REF_ROLE_RE, text):
        add(m.start("name"), m.end("name"), "name-ref", m.group("role"))
    # "Hilsen Name (...) og Name (...)"
    for m in GREETING_RE.finditer(text) if may_contain_case_blind(text, GREETING_WORDS) else ():
        rest = m.group("rest")
        for n in GREETING_NAME_RE.finditer(rest):
            if rest[: n.start()].count("(") > rest[: n.start()].count(")"):
                continue
            u = n.group("u")
            add(m.start("rest") + n.start("n"), m.start("rest") + n.end("n"), "greeting", None, u, m.start("rest") + n.start("u") if u else None)
    # "Gruppe Name, Name og Name" opening a paragraph
    for m in GROUP_LIST_RE.finditer(text) if "Gruppe" in text else ():
        for n in NAME_RE.finditer(m.group("rest")):
            add(m.start("rest") + n.start(), m.start("rest") + n.end(), "group-list")
    # "Name: lower-case speech" opening a paragraph or line
    for m in _finditer_lines(SPEAKER_RE, SPEAKER_ANCHOR, text):
        name = m.group("name")
        if name.lower() in NOT_NAMES or gaz.lookup(name) or len(name) < 3 or any(_looks_common(t) for t in name.split()):
            continue
        add(m.start("name"), m.end("name"), "speaker", trim=False)
    # runs of capitalised name tokens inside participant lists
    for s, e, kind in spans:
        run: list[tuple[int, int]] = []
        tokens = [(s + m.start(), s + m.end(), m.group()) for m in NAME_TOKEN_RE.finditer(text[s:e])]
        for k, (a, b, tok) in enumerate(tokens + [(e, e, "")]):
            breaks = (
                not tok
                or any(p.start <= a < p.end for p in places)
                or any(x <= a < y for x, y in orgs)
                or tok.lower() in NOT_NAMES
                or (run and not SPACES_RE.fullmatch(text[run[-1][1] : a]))
            )
            if breaks:
                if len(run) >= 2:
                    add(run[0][0], run[-1][1], "member-run")
                run = []
                if not tok or any(p.start <= a < p.end for p in places) or any(x <= a < y for x, y in orgs) or tok.lower() in NOT_NAMES:
                    continue
            run.append((a, b))
    # keep one hit per span: earlier patterns win on overlap
    hits_sorted: list[PersonHit] = []
    for h in hits:
        if len(h.name.split()) == 1 and h.pattern == "member-run":
            continue
        if any(not (h.end <= k.start or h.start >= k.end) for k in hits_sorted):
            continue
        hits_sorted.append(h)
    return sorted(hits_sorted, key=lambda h: h.start)


def find_person_mentions(text: str, gaz: Gazetteer | None = None) -> list[tuple[int, int, str]]:
    """Person names in ``text`` as (start, end, name), from the patterns of this module.

    For the privacy layer: the spans index ``text`` directly. Recall is
    limited to the patterns (see module doc); a first name alone in running
    prose is not found.
    """
    gaz = gaz or load_gazetteer()
    return [(h.start, h.end, h.name) for h in _person_hits(text, gaz)]


# ---------------------------------------------------------------- roles

ROLE_CANON = (
    (r"rektor$", "rektor"),
    (r"^kultursjef$", "kultursjef"),
    (r"^kommunalsjef", "kommunalsjef"),
    (r"rådgiver$|rådgjevar$", "rådgiver"),
    (r"inspektør$", "inspektør"),
    (r"^kultursk[uo]le(?:leder|leiar)$", "kulturskoleleder"),
    (r"lærer$|lærar$", "lærer"),
    (r"^ref\.?$|^referent$", "referent"),
)


def canonical_role(role_raw: str | None) -> str | None:
    """'konst. rektor' -> 'rektor', 'ref' -> 'referent', 'lærer og student' -> 'lærer'; other role words as written."""
    if not role_raw:
        return None
    m = re.search(ROLE_STEM, role_raw.lower())
    word = m.group() if m else role_raw.lower().split()[0]
    for pat, canon in ROLE_CANON:
        if re.search(pat, word):
            return canon
    return word


# ---------------------------------------------------------------- posts


def _seminar(board_id: str) -> str:
    m = re.match(r"\d{4}-\d{2}-\d{2}", board_id or "")
    return m.group() if m else slug(board_id or "board")


def _opens_sentence(text: str, start: int) -> bool:
    prefix = text[:start].rstrip(" \t\xa0")
    return not prefix or prefix[-1] in "\n.!?-•*:" or bool(NUMBER_OPENS_RE.search(prefix[-3:]))


def _speaker_place(text: str, p: PlaceMention) -> bool:
    """'Lillestrøm: ...', 'Time Kommune: ...', 'Tromsø. Bodø: ...' opening a sentence or list item."""
    prefix = text[: p.start].rstrip(" \t")
    opens = not prefix or prefix[-1] in "\n.!?-•*:" or NUMBER_ITEM_RE.search(prefix[-3:])
    if not opens:
        return False
    return bool(SPEAKER_PLACE_TAIL_RE.match(text[p.end :]))


def _author_info(author: str, gaz: Gazetteer, find_places: PlaceFinder | None = None):
    """Classify an author line: ('group', 'Gruppe 3') | ('place', ...) | ('org', ...) | ('person', name) | ('other', label)."""
    find_places = _finder(gaz, find_places)
    a = author.strip()
    m = re.search(r"(?i)\bgruppe\s*(?:nr\.?\s*)?(\d+)\b", a)
    if m:
        return "group", f"Gruppe {m.group(1)}"
    if re.match(r"(?i)gruppe\b", a):
        return "other", a
    places = find_places(a) or find_places(a.title())
    if ORG_RE.search(a) or ORG_RE.search(a.title()) or re.search(r"(?i)kultursk[uo]le", a):
        return "org", a
    if places:
        return "place", a
    toks = a.split()
    if 1 <= len(toks) <= 5 and all(re.fullmatch(r"[^\W\d_]+(?:-[^\W\d_]+)*\.?", t) for t in toks):
        return "person", a
    return "other", a


def _post_places(post, gaz: Gazetteer, board_support: set[str], find_places: PlaceFinder | None = None) -> tuple[list[dict], list[dict]]:
    """Place rows and participant rows of one post (group ids are filled in later)."""
    find_places = _finder(gaz, find_places)
    rows: list[dict] = []
    parts: list[dict] = []
    body = post.text_clean or ""
    is_prompt = post.kind == "prompt"
    sources = [("text", body)]
    if isinstance(post.title, str) and post.title:
        sources.append(("title", post.title))
    elif isinstance(post.group_label, str) and post.group_label:
        sources.append(("label", post.group_label))
    if isinstance(post.author, str) and post.author:
        sources.append(("author", post.author))
    for source, text in sources:
        places = find_places(text)
        if source == "text":
            spans = member_spans(text, gaz, find_places)
        elif source == "author":
            spans = [(0, len(text), "author")]
        else:  # titles and labels: only parenthesised lists ("Dialogtema 1 (Stavanger v/Name, ...)")
            spans = [(m.start(), m.end(), "parenthesis") for m in PARENTHESIS_RE.finditer(text)]
        hits = _person_hits(text, gaz, places, spans) if source != "author" else []
        # a place inside a person's name is a surname ("Sindre Sortland - Vaksdal")
        places = [p for p in places if not any(h.start <= p.start < h.end for h in hits)]
        # a report organised by municipality ("Bodø: ...", "Tromsø: ...") makes its other
        # sentence-opening places ("Kvænangen har 1 skole") members' places too
        by_place = source == "text" and any(_speaker_place(text, p) for p in places if not p.weak)
        for p in places:
            in_list = _in_spans(p.start, spans)
            if source == "text":
                if is_prompt:
                    role = "mentioned"
                elif in_list or _speaker_place(text, p) or (by_place and not p.weak and _opens_sentence(text, p.start)):
                    role = "participant"
                else:
                    role = "mentioned"
            else:
                role = "mentioned" if is_prompt else "participant"
            if p.weak and not (in_list or confirmed_by_context(text, p) or p.key in board_support or text.strip().lower() == p.mention.lower()):
                continue
            rows.append(
                dict(
                    source=source,
                    mention=p.mention,
                    start=p.start if source == "text" else None,
                    end=p.end if source == "text" else None,
                    kommunenummer=p.kommune.kommunenummer if p.kommune else None,
                    kommunenavn=p.kommune.kommunenavn if p.kommune else (p.candidates[0].kommunenavn if p.candidates else p.mention),
                    fylkesnavn=p.kommune.fylkesnavn if p.kommune else None,
                    role=role,
                    match=p.match,
                    key=p.key,
                    in_list=in_list or source != "text",
                )
            )
        if is_prompt:
            continue
        # participants from lists (text, title) and the author line
        if source == "author":
            kind, label = _author_info(text, gaz, find_places)
            if kind == "person":
                parts.append(dict(source="author", person=text.strip(), person_start=None, person_end=None, role_raw="skriver", organisation=None, places=[], pattern="author"))
            elif "(" in text or kind == "group":
                hits = _person_hits(text.title(), gaz, spans=[(0, len(text), "author")], find_places=find_places)
                org = re.search(r"\(([^)]*)\)", text)
                role = re.search(ROLE, text.lower())
                for h in hits[:1]:
                    parts.append(dict(source="author", person=text[h.start : h.end], person_start=None, person_end=None, role_raw=role.group() if role else None, organisation=org.group(1).title() if org else None, places=[], pattern="author"))
            elif kind in ("org", "place"):
                ps = [r for r in rows if r["source"] == "author"]
                parts.append(dict(source="author", person=None, person_start=None, person_end=None, role_raw=None, organisation=text.strip() if kind == "org" else None, places=ps, pattern="author"))
            continue
        src_rows = [r for r in rows if r["source"] == source]
        used_places: set[int] = set()
        for h in hits:
            ps = []
            if h.unit is not None:
                for r in src_rows:
                    pos = r["start"] if source == "text" else None
                    if r["mention"] in h.unit and (pos is None or h.unit_start <= pos < h.unit_start + len(h.unit)):
                        ps.append(r)
                        used_places.add(id(r))
            org = h.unit if h.unit and not (ps and fold(ps[0]["mention"]) == fold(h.unit)) else None
            parts.append(
                dict(
                    source=source,
                    person=h.name,
                    person_start=h.start if source == "text" else None,
                    person_end=h.end if source == "text" else None,
                    role_raw=h.role_raw,
                    organisation=org,
                    places=ps,
                    pattern=h.pattern,
                )
            )
        # listed places and organisations without a person
        for s, e, kind in spans:
            seg = text[s:e]
            for item in LIST_ITEM_RE.finditer(seg):
                a, b = s + item.start(), s + item.end()
                if any(not (b <= h.start or a >= h.end) for h in hits):
                    continue
                if any(h.unit_start is not None and not (b <= h.unit_start or a >= h.unit_start + len(h.unit)) for h in hits):
                    continue  # the organisation or place written with a person
                its = [r for r in src_rows if id(r) not in used_places and r["start"] is not None and a <= r["start"] < b] if source == "text" else [
                    r for r in src_rows if id(r) not in used_places and r["mention"] in text[a:b]
                ]
                org = ORG_RE.search(text[a:b])
                if not its and not org:
                    continue
                for r in its:
                    used_places.add(id(r))
                for r in its or [None]:
                    parts.append(
                        dict(source=source, person=None, person_start=None, person_end=None, role_raw=None,
                             organisation=org.group().strip() if org and len(its) <= 1 else None, places=[r] if r else [], pattern="list")
                    )
        if source != "text":
            # places of a title outside any list (e.g. "Ringebu, Stryn, ... Dialogtema 2") are participants too
            for r in src_rows:
                if id(r) not in used_places and r["role"] == "participant" and not r.get("_label"):
                    used_places.add(id(r))
                    parts.append(dict(source=source, person=None, person_start=None, person_end=None, role_raw=None, organisation=None, places=[r], pattern="title"))
    return rows, parts


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _first_post_id(posts: pd.DataFrame, sub: list[tuple[int, object]]) -> str:
    """The post id of a group's first post by source line: the one post on the lowest line.

    ``sub`` is the group's (position in ``posts``, row) pairs in table order.
    Ties (a group on two boards) and missing lines are left to pandas'
    sort, as before, so the choice among tied posts does not change.
    """
    lines = [p.source_line for _, p in sub]
    if all(isinstance(x, (int, np.integer)) for x in lines):
        low = min(lines)
        if lines.count(low) == 1:
            return sub[lines.index(low)][1].post_id
    return posts.iloc[[pos for pos, _ in sub]].sort_values("source_line").post_id.iloc[0]


def _int32_column(rows: list[dict], name: str) -> pd.arrays.IntegerArray:
    """The ``name`` values of ``rows`` (ints; None where missing) as a nullable Int32 array.

    What ``astype("Int32")`` makes of the column a frame built from the
    rows holds, built directly instead of from the inferred column.
    """
    values = [row[name] for row in rows]
    if not all(v is None or type(v) is int for v in values):
        return pd.array(values, dtype="Int32")  # anything else: as astype would take it (or refuse it)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    data = np.fromiter((0 if v is None else v for v in values), dtype=np.int32, count=len(values))
    return pd.arrays.IntegerArray(data, missing)


@lru_cache(maxsize=16)
def _row_type(columns: tuple) -> type:
    """The named tuple ``itertuples`` makes for these columns (made once per process)."""
    return namedtuple("Pandas", ["Index", *columns], rename=True)


def _post_rows(posts: pd.DataFrame) -> list[tuple]:
    """``list(posts.itertuples())``: each row as a named tuple of its index and columns, read column by column.

    A column held in a numpy array or as strings is read with one
    ``tolist``, which gives the values that iterating it gives (what
    ``itertuples`` does, item by item); any other column (e.g. nullable
    integers, whose items iterate as numpy scalars) is iterated as there.
    """
    row = _row_type(tuple(posts.columns))
    columns = [
        column.tolist() if isinstance(column.dtype, (np.dtype, pd.StringDtype)) else list(column)
        for _, column in posts.items()
    ]
    return [row._make(values) for values in zip(posts.index, *columns, strict=True)]


def extract_who(posts: pd.DataFrame, boards: pd.DataFrame | None = None, gaz: Gazetteer | None = None) -> dict[str, pd.DataFrame]:
    """Groups, participants and places of every post.

    Returns frames ``groups``, ``participants``, ``places`` (columns as
    declared in ``pipeline.schema``) and ``post_groups`` (post_id,
    group_id). ``participants.person`` holds the raw name as written: the
    privacy layer must replace it (and names in any text) before writing.
    ``boards`` is accepted for the layout and future use; it may be None.
    """
    gaz = gaz or load_gazetteer()
    find_places = _PlaceMemo(gaz)
    posts = posts.sort_values(["board_id", "ordinal"] if "ordinal" in posts.columns else ["board_id", "source_line"])
    post_list = _post_rows(posts)
    # names accepted without doubt anywhere on a board support weak mentions of the same name
    support: dict[str, set[str]] = {}
    for p in post_list:
        for t in (p.text_clean, p.title, p.author):
            if isinstance(t, str):
                for m in find_places(t):
                    if not m.weak:
                        support.setdefault(p.board_id, set()).add(m.key)

    per_post: dict[str, tuple[list[dict], list[dict]]] = {}
    for p in post_list:
        per_post[p.post_id] = _post_places(p, gaz, support.get(p.board_id, set()), find_places)

    # ---- group keys
    post_key: dict[str, tuple[str, str, str]] = {}  # post_id -> (seminar, key, label, source)
    author_person_n: dict[tuple[str, str], int] = {}
    for p in post_list:
        sem = _seminar(p.board_id)
        rows, parts = per_post[p.post_id]
        if p.kind == "prompt":
            continue
        if isinstance(p.group_label, str) and p.group_label.strip():
            post_key[p.post_id] = (sem, slug(p.group_label), p.group_label.strip(), "label")
            continue
        if isinstance(p.author, str) and p.author.strip():
            kind, label = _author_info(p.author, gaz, find_places)
            if kind == "person":
                k = (sem, fold(p.author))
                n = author_person_n.setdefault(k, len([x for x in author_person_n if x[0] == sem]) + 1)
                post_key[p.post_id] = (sem, f"skriver-{n}", f"Skriver {n}", "author")
            else:
                post_key[p.post_id] = (sem, slug(label), label, "author")
            continue
        listed = [r for r in rows if r["role"] == "participant" and r["in_list"]]
        orgs = [x["organisation"] for x in parts if x["organisation"] and not x["places"]]
        if listed or orgs:
            keys = sorted({r["key"] for r in listed} | {slug(o) for o in orgs})
            names: list[str] = []
            for r in listed:
                nm = r["kommunenavn"].split(" - ")[0] if r["kommunenummer"] and r["match"] != "sami" else r["mention"]
                nm = r["mention"] if r["match"] in ("alias", "sami", "genitive") else nm
                if nm not in names:
                    names.append(nm)
            names += [o for o in orgs if o not in names]
            post_key[p.post_id] = (sem, "medlemmer-" + slug("-".join(keys)), ", ".join(names), "members")
    # merge label typo variants within a seminar ("askoyarden" ~ "askoygarden"); never labels with digits
    canon: dict[tuple[str, str], str] = {}
    seen: dict[str, list[str]] = {}
    for sem, key, label, src in post_key.values():
        if (sem, key) in canon:
            continue
        target = key
        if src == "label" and not re.search(r"\d", key) and len(key) >= 6:
            for other in seen.get(sem, []):
                if not re.search(r"\d", other) and _lev(key, other) <= 1:
                    target = canon[(sem, other)]
                    break
        canon[(sem, key)] = target
        seen.setdefault(sem, []).append(key)
    post_gid = {pid: f"{sem}-{canon[(sem, key)]}" for pid, (sem, key, label, src) in post_key.items()}

    # ---- venue rule per group
    by_group: dict[str, list[str]] = {}
    for pid, gid in post_gid.items():
        by_group.setdefault(gid, []).append(pid)
    label_keys: dict[str, set[str]] = {}
    for gid, pids in by_group.items():
        lk: set[str] = set()
        for pid in pids:
            sem, key, label, src = post_key[pid]
            if src == "label":
                lk |= {m.key for m in find_places(label)}
        label_keys[gid] = lk
        explicit = {
            r["key"]
            for pid in pids
            for r in per_post[pid][0]
            if r["role"] == "participant" and not (r["source"] in ("title", "label") and r["key"] in lk)
        }
        if lk and explicit:
            for pid in pids:
                for r in per_post[pid][0]:
                    if r["source"] in ("title", "label") and r["key"] in lk and r["key"] not in explicit:
                        r["role"] = "venue"
                for x in per_post[pid][1]:
                    x["places"] = [r for r in x["places"] if r["role"] != "venue"]
                per_post[pid] = (per_post[pid][0], [x for x in per_post[pid][1] if x["places"] or x["person"] or x["organisation"]])

    # ---- frames
    place_rows, part_rows = [], []
    for p in post_list:
        rows, parts = per_post[p.post_id]
        gid = post_gid.get(p.post_id)
        seq = {}
        for r in rows:
            seq[r["source"]] = seq.get(r["source"], 0) + 1
            place_rows.append(dict(post_id=p.post_id, group_id=gid, source=r["source"], seq=seq[r["source"]], mention=r["mention"],
                                   start=r["start"], end=r["end"], kommunenummer=r["kommunenummer"], kommunenavn=r["kommunenavn"],
                                   fylkesnavn=r["fylkesnavn"], role=r["role"], match=r["match"]))
        for i, x in enumerate(parts, 1):
            ps = x["places"] or [None]
            r0 = ps[0]
            part_rows.append(dict(post_id=p.post_id, seq=i, group_id=gid, source=x["source"], pattern=x["pattern"], person=x["person"],
                                  person_start=x["person_start"], person_end=x["person_end"], role=canonical_role(x["role_raw"]),
                                  role_raw=x["role_raw"], organisation=x["organisation"],
                                  municipality=r0["mention"] if r0 else None,
                                  kommunenummer=r0["kommunenummer"] if r0 else None, kommunenavn=r0["kommunenavn"] if r0 else None))
    places_df = pd.DataFrame(place_rows, columns=["post_id", "group_id", "source", "seq", "mention", "start", "end", "kommunenummer", "kommunenavn", "fylkesnavn", "role", "match"])
    parts_df = pd.DataFrame(part_rows, columns=["post_id", "seq", "group_id", "source", "pattern", "person", "person_start", "person_end", "role", "role_raw", "organisation", "municipality", "kommunenummer", "kommunenavn"])
    for c in ("seq", "start", "end"):
        places_df[c] = _int32_column(place_rows, c)
    for c in ("seq", "person_start", "person_end"):
        parts_df[c] = _int32_column(part_rows, c)

    group_rows = []
    # each group's posts, place rows and participant rows, in table order (what
    # filtering the frames by the group's post ids gives)
    g_posts: dict[str, list[tuple[int, object]]] = {gid: [] for gid in by_group}
    for pos, p in enumerate(post_list):
        gid = post_gid.get(p.post_id)
        if gid is not None:
            g_posts[gid].append((pos, p))
    g_places: dict[str, list[dict]] = {gid: [] for gid in by_group}
    for r in place_rows:
        if r["group_id"] is not None:
            g_places[r["group_id"]].append(r)
    g_parts: dict[str, list[dict]] = {gid: [] for gid in by_group}
    for x in part_rows:
        if x["group_id"] is not None:
            g_parts[x["group_id"]].append(x)
    for gid, pids in sorted(by_group.items()):
        sub = g_posts[gid]
        sem, key, label, src = post_key[pids[0]]
        if src == "label":
            label = next(p.group_label for _, p in sub if pd.notna(p.group_label))
        pl = g_places[gid]
        part = [r for r in pl if r["role"] == "participant"]
        resolved: dict[str, str] = {}  # kommunenummer -> kommunenavn, first row wins
        for r in part:
            if r["kommunenummer"] is not None and r["kommunenummer"] not in resolved:
                resolved[r["kommunenummer"]] = r["kommunenavn"]
        unresolved = sorted({r["kommunenavn"] for r in part if r["kommunenummer"] is None and r["kommunenavn"] is not None})
        venue = list(dict.fromkeys(r["kommunenavn"] for r in pl if r["role"] == "venue" and r["kommunenavn"] is not None))
        pp = g_parts[gid]
        orgs = list(dict.fromkeys(x["organisation"] for x in pp if x["organisation"] is not None))
        group_rows.append(dict(
            group_id=gid, seminar=sem, board_ids=";".join(sorted({p.board_id for _, p in sub})), label=label, label_source=src,
            n_posts=len(pids), first_post_id=_first_post_id(posts, sub),
            kommunenummer=";".join(sorted(resolved)) or None,
            kommuner="; ".join(resolved[k] for k in sorted(resolved)) or None,
            unresolved_places="; ".join(unresolved) or None,
            venue="; ".join(venue) or None,
            organisations="; ".join(orgs) or None,
            n_persons=len({fold(x["person"]) for x in pp if x["person"] is not None}),
        ))
    groups_df = pd.DataFrame(group_rows, columns=["group_id", "seminar", "board_ids", "label", "label_source", "n_posts", "first_post_id", "kommunenummer", "kommuner", "unresolved_places", "venue", "organisations", "n_persons"])
    groups_df["n_posts"] = _int32_column(group_rows, "n_posts")
    groups_df["n_persons"] = _int32_column(group_rows, "n_persons")
    post_groups = pd.DataFrame({"post_id": posts.post_id.values, "group_id": [post_gid.get(x) for x in posts.post_id]})
    return {"groups": groups_df, "participants": parts_df, "places": places_df, "post_groups": post_groups}
