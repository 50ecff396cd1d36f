"""Privacy: find personal names and e-mail addresses and replace them by stable pseudonyms.

Published tables must not carry personal names (Sikt practice for research
data). Detection combines:

* anchored patterns: ``Name, role`` (role from ``seeds/roles.csv``),
  ``Name - organisation``, ``v/Name``, ``Hilsen Name``, ``med besøk av
  Name``, ``Name:`` at the start of a line, and lists of names
  ("Eldbjørg, Anne Rita, Svetlana og Sigrun");
* name lists: a capitalised given name (``seeds/names/``: NorNE PER
  entities plus a reviewed supplement) starts a person, extended over
  following surnames and initials, but never over a municipality name
  ("Asbjørn Holmsen Våler" -> "Asbjørn Holmsen");
* the language layer's PER entities, when a spaCy pipeline is given, in
  sentences holding a known surname and only for full names (the model
  alone marks many capitalised sentence openings as PER);
* author fields: a signature whose first word is a given name.

``seeds/privacy_allowlist.csv`` lists programmes, organisations and group
names that look like names ("Frode Laks", "Les Miserables").

Pseudonyms are numbered in order of first appearance across the sorted
exports ("Person 1", "Person 2", ...): nothing is derived from the name
itself, so a pseudonym reveals nothing, and the same input gives the same
pseudonyms on any machine. A shorter form of a name already seen ("Inger
Margrethe" after "Inger Margrethe Stoveland") gets the same pseudonym.

Data caveat: detection favours recall; a capitalised given name used as an
ordinary word may be replaced, and a name that is in no list and in no
anchored pattern can slip through. The key (pseudonym -> name) is written
only to the private folder.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline import config
from pipeline.textscan import may_contain_case_blind

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
EMAIL_PLACEHOLDER = "[e-post]"

WORD = re.compile(r"\w+")
_WORD = r"[A-ZÆØÅÉ][a-zæøåéèüA-ZÆØÅ'’-]+"
_INITIAL = r"[A-ZÆØÅ]\."
NAME_TOKEN = re.compile(rf"{_INITIAL}|{_WORD}")
_NEXT_NAME_TOKEN = re.compile(rf" ({_INITIAL}|{_WORD})")
_INITIAL_RE = re.compile(_INITIAL)
_WORD_RE = re.compile(_WORD)
# Words that end a name: organisations and group words written with a capital.
_NOT_NAME = {
    "kulturskole", "kulturskule", "kulturskolen", "kulturskulen", "kulturskolerådet", "kommune", "kommunen",
    "gruppe", "gruppen", "rom", "tema", "dialogtema", "spørsmål", "og", "i", "fra", "frå", "med", "for",
    "udir", "ks", "nav", "ppt", "sfo", "ukm", "norge", "universitet", "skole", "skule", "referent", "ref",
}


def _replace_emails(text: str) -> str:
    """``text`` with every e-mail address replaced by :data:`EMAIL_PLACEHOLDER`."""
    return EMAIL.sub(EMAIL_PLACEHOLDER, text) if "@" in text else text  # every address holds an "@"


@dataclass(frozen=True)
class NameResources:
    given: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    roles: tuple[str, ...]
    allowlist: tuple[str, ...]


def _read_words(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip() and not w.startswith("#")}


def _read_csv_column(path: Path, column: str) -> list[str]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [row[column].strip() for row in csv.DictReader(fh) if row[column].strip()]


@lru_cache(maxsize=1)
def load_resources(seeds_dir: Path = config.SEEDS_DIR) -> NameResources:
    """Name lists, municipality names, roles and the allowlist from ``seeds/`` (loaded once)."""
    names = seeds_dir / "names"
    given = _read_words(names / "given_names.txt") | _read_words(names / "given_names_extra.txt")
    places: set[str] = set()
    for name in _read_csv_column(seeds_dir / "kommuner-2024.csv", "kommunenavn"):
        places.update(part.strip().lower() for part in name.split(" - "))
        places.add(name.lower())
    places.update(a.lower() for a in _read_csv_column(seeds_dir / "kommune_aliases.csv", "alias"))
    places.update(("østre", "vestre", "nordre", "søndre", "indre", "ytre"))
    return NameResources(
        given=frozenset(given),
        surnames=frozenset(_read_words(names / "surnames.txt")),
        places=frozenset(places),
        roles=tuple(sorted(_read_csv_column(seeds_dir / "roles.csv", "role"), key=len, reverse=True)),
        allowlist=tuple(_read_csv_column(seeds_dir / "privacy_allowlist.csv", "term")),
    )


@dataclass(frozen=True)
class PersonSpan:
    start: int
    end: int
    name: str
    rule: str


def _is_given(token: str, res: NameResources) -> bool:
    return token.title() in res.given or token in res.given


def _can_continue(token: str, res: NameResources) -> bool:
    if _INITIAL_RE.fullmatch(token):
        return True
    low = token.lower()
    return low not in res.places and low not in _NOT_NAME and bool(_WORD_RE.fullmatch(token))


def _extend(text: str, start: int, res: NameResources, first_required: bool = True) -> PersonSpan | None:
    """The name that begins at ``start``: a name token, then surnames/initials up to four tokens."""
    match = NAME_TOKEN.match(text, start)
    if not match:
        return None
    first = match.group(0)
    if first.lower() in res.places or first.lower() in _NOT_NAME or _INITIAL_RE.fullmatch(first):
        return None
    if first_required and not _is_given(first, res):
        return None
    end = match.end()
    tokens = 1
    while tokens < 4:
        nxt = _NEXT_NAME_TOKEN.match(text, end)
        if not nxt or not _can_continue(nxt.group(1), res):
            break
        end = nxt.end()
        tokens += 1
    name = text[start:end].rstrip("'’-")
    return PersonSpan(start, start + len(name), name, "name_list")


# Patterns of _anchored that do not depend on the seed lists, compiled once (not through re's
# shared cache, which the per-name patterns of Pseudonymiser.scrub would crowd out).
_ANCHOR_RE = re.compile(r"(?i)\bv/\s*|\bhilsen\s+|\bmed besøk av\s+")
_ANCHOR_WORDS = ("v/", "hilsen", "med besøk av")  # _ANCHOR_RE's literals, for may_contain_case_blind
_MORE_NAMES_RE = re.compile(r"(\s*\([^)]*\))?\s*(,| og)\s+")
_NON_SPACE_RE = re.compile(r"\S+")
_NAME_ORGANISATION_RE = re.compile(
    rf"(?m)(?:^|(?<=, ))({_WORD}(?: (?:{_INITIAL}|{_WORD})){{1,3}})(?: \([^)]*\))? - [A-ZÆØÅ]"
)
_NAME_COLON_RE = re.compile(rf"(?m)^({_WORD}):\s")


@lru_cache(maxsize=8)
def _name_role_pattern(roles: tuple[str, ...]) -> re.Pattern | None:
    """``Name, role`` for the given role words (longest first, as in :class:`NameResources`); None without roles."""
    role_words = "|".join(re.escape(r) for r in roles)
    if not role_words:
        return None
    return re.compile(rf"(?m)(?:^|(?<=[,(:]\s))({_WORD}(?: (?:{_INITIAL}|{_WORD}))*),\s+(?i:{role_words})\b")


def _anchored(text: str, res: NameResources) -> list[PersonSpan]:
    """Names in patterns that mark a person whatever the name: v/Name, Hilsen Name, Name, role ..."""
    spans: list[PersonSpan] = []
    for anchor in _ANCHOR_RE.finditer(text) if may_contain_case_blind(text, _ANCHOR_WORDS) else ():
        pos = anchor.end()
        while True:
            span = _extend(text, pos, res, first_required=False)
            if not span:
                break
            spans.append(PersonSpan(span.start, span.end, span.name, "anchor_" + anchor.group(0).strip().lower()))
            more = _MORE_NAMES_RE.match(text, span.end)
            if not more:
                break
            pos = more.end()
    name_role = _name_role_pattern(res.roles)
    # every match of the three patterns below holds its literal: ",", " - ", ":"
    if name_role is not None and "," in text:
        for m in name_role.finditer(text):
            start = m.start(1)
            # A wrapped participant list puts the municipality before the name: "Halden Mona, lærer".
            for token in _NON_SPACE_RE.finditer(m.group(1)):
                if token.group(0).lower() not in res.places or m.start(1) + token.end() == m.end(1):
                    break
                start = m.start(1) + token.end() + 1
            spans.append(PersonSpan(start, m.end(1), text[start:m.end(1)], "name_role"))
    if " - " in text:
        for m in _NAME_ORGANISATION_RE.finditer(text):
            first = m.group(1).split()[0].lower()
            if first not in res.places and first not in _NOT_NAME:
                spans.append(PersonSpan(m.start(1), m.end(1), m.group(1), "name_organisation"))
    if ":" in text:
        for m in _NAME_COLON_RE.finditer(text):
            if _is_given(m.group(1), res):
                spans.append(PersonSpan(m.start(1), m.end(1), m.group(1), "name_colon"))
    return spans


def _name_lists(text: str, res: NameResources, known: list[PersonSpan]) -> list[PersonSpan]:
    """Every member of a list of names ("Eldbjørg, Anne Rita, Svetlana og Sigrun") when two are known names."""
    spans = []
    item = rf"{_WORD}(?: {_WORD})?"
    for m in re.finditer(rf"{item}(?:, {item})+ og {item}", text):
        members = [(x.start(), x.group(0)) for x in re.finditer(item, m.group(0)) if x.group(0) != "og"]
        members = [(m.start() + s, name) for s, name in members]
        given = sum(_is_given(name.split()[0], res) for _, name in members)
        if given >= 2 and not any(name.lower() in res.places for _, name in members):
            for start, name in members:
                if name.split()[0].lower() not in _NOT_NAME:
                    spans.append(PersonSpan(start, start + len(name), name, "name_series"))
    return spans


@lru_cache(maxsize=8)
def _allowlist_patterns(allowlist: tuple[str, ...]) -> tuple[re.Pattern | None, tuple[re.Pattern, ...]]:
    """Each allowlisted term as a case-blind pattern, and one pattern that matches wherever any of them does.

    The second is only a quick test: a text in which it finds nothing holds
    no allowlisted term at all.
    """
    terms = tuple(re.compile(re.escape(term), re.IGNORECASE) for term in allowlist)
    any_term = re.compile("|".join(re.escape(term) for term in allowlist), re.IGNORECASE) if allowlist else None
    return any_term, terms


def _allowlisted_spans(text: str, res: NameResources) -> list[tuple[int, int]]:
    """Where the allowlisted terms stand in ``text``: every case-blind match of each term, term by term."""
    any_term, terms = _allowlist_patterns(res.allowlist)
    if any_term is None or any_term.search(text) is None:
        return []
    return [m.span() for pattern in terms for m in pattern.finditer(text)]


def _overlaps_allowlisted(span: PersonSpan, allowlisted: list[tuple[int, int]]) -> bool:
    """True if ``span`` starts inside an allowlisted term or a term starts inside ``span``."""
    return any(a <= span.start < b or span.start <= a < span.end for a, b in allowlisted)


def _allowed(text: str, span: PersonSpan, res: NameResources) -> bool:
    """True if ``span`` overlaps an allowlisted term of ``text`` (a programme or group, not a person)."""
    return _overlaps_allowlisted(span, _allowlisted_spans(text, res))


def _ner_candidates(text: str, res: NameResources, found: list[PersonSpan]) -> list[tuple[int, int]]:
    """Sentences holding a known surname that no other rule has placed in a name.

    Only these go to the language model, so the model's many false PER
    entities on capitalised sentence openings ("Velg", "Snakke") never
    count, and the model reads a tiny share of the text.
    """
    sentences = []
    for m in NAME_TOKEN.finditer(text):
        token = m.group(0)
        if token not in res.surnames or token.lower() in res.places or token.lower() in _NOT_NAME:
            continue
        if any(s.start <= m.start() < s.end for s in found):
            continue
        start = max(text.rfind(".", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        ends = [i for i in (text.find(".", m.end()), text.find("\n", m.end())) if i >= 0]
        sentences.append((start, min(ends) if ends else len(text)))
    return sorted(set(sentences))


def _ner_persons(text: str, res: NameResources, found: list[PersonSpan], nlp) -> list[PersonSpan]:
    """PER entities of the language model, corroborated by the surname list, in candidate sentences."""
    candidates = _ner_candidates(text, res, found)
    spans = []
    for (start, end), doc in zip(candidates, nlp.pipe(text[a:b] for a, b in candidates)):
        for ent in doc.ents:
            tokens = ent.text.split()
            if (
                ent.label_ == "PER"
                and len(tokens) >= 2
                and all(t[:1].isupper() for t in tokens)
                and tokens[-1] in res.surnames
                and not any(t.lower() in res.places | _NOT_NAME for t in tokens)
            ):
                spans.append(PersonSpan(start + ent.start_char, start + ent.end_char, ent.text, "ner_per"))
    return spans


def find_persons(text: str, res: NameResources | None = None, nlp=None) -> list[PersonSpan]:
    """Person-name spans in ``text``, longest first where they overlap, in text order.

    With ``nlp`` (the project's spaCy pipeline), the PER entities it finds
    in sentences holding a known surname are added when they look like a
    full name (see :func:`_ner_persons`).
    """
    res = res or load_resources()
    spans = _anchored(text, res)
    for m in NAME_TOKEN.finditer(text):
        # _extend finds a name here only when this token is a given name: test that first
        if (m.start() == 0 or not text[m.start() - 1].isalnum()) and _is_given(m.group(0), res):
            span = _extend(text, m.start(), res)
            if span:
                spans.append(span)
    spans += _name_lists(text, res, spans)
    if nlp is not None:
        spans += _ner_persons(text, res, spans, nlp)
    allowlisted = _allowlisted_spans(text, res) if spans else []
    spans = [s for s in spans if not _overlaps_allowlisted(s, allowlisted)]
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[PersonSpan] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                last = merged[-1]
                merged[-1] = PersonSpan(last.start, span.end, text[last.start:span.end], last.rule)
            continue
        merged.append(span)
    return merged


_SIGNATURE_TOKEN_RE = re.compile(r"[A-ZÆØÅa-zæøå.'-]+")


def _starts_with_given_name(word: str, res: NameResources) -> bool:
    """True if ``word`` in title case begins with a given name of 3+ letters followed by 3+ letters.

    For names typed without a space ("SIGRUNFOSTAD"): some given name
    ``name`` with ``word.title().startswith(name)``, at least three more
    characters in ``word`` and only letters after it. Tries each prefix
    length of the word instead of each name of the list.
    """
    titled = word.title()
    return any(
        titled[:n] in res.given and word[n:].isalpha()
        for n in range(3, min(len(word) - 3, len(titled)) + 1)
    )


def person_in_signature(signature: str, res: NameResources | None = None) -> PersonSpan | None:
    """The person at the start of an author signature ("TRINE SJØLYST", "SIGRUNFOSTAD").

    Signatures are often in capitals; the first word must be a given name
    (or begin with one, for names typed without a space), and the name runs
    until a bracket or a word that is not a name.
    """
    res = res or load_resources()
    words = _NON_SPACE_RE.findall(signature)
    if not words or _allowed(signature, PersonSpan(0, len(signature), signature, ""), res):
        return None
    first = words[0]
    if not (_is_given(first, res) or (first.isupper() and _starts_with_given_name(first, res))):
        return None
    end = len(first)
    for m in _NON_SPACE_RE.finditer(signature[end:]):
        token = m.group(0)
        if not _SIGNATURE_TOKEN_RE.fullmatch(token) or token.lower() in _NOT_NAME or token.lower() in res.places:
            break
        end = len(first) + m.end()
    return PersonSpan(0, end, signature[:end], "signature")


@lru_cache(maxsize=4096)
def _whole_name_pattern(name: str) -> re.Pattern:
    """``name`` as written, not inside a longer word (compiled once per name and process)."""
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


@dataclass
class Pseudonymiser:
    """Assigns "Person N" in order of first appearance; one per run, fed in a fixed order."""

    people: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    # first word of each scrubbable name -> indices into ``people``; rebuilt when ``people`` changes
    _by_first_word: dict[str, list[int]] | None = field(default=None, init=False, repr=False, compare=False)

    @staticmethod
    def _key(name: str) -> tuple[str, ...]:
        return tuple(re.sub(r"[^\w\s-]", " ", name).lower().split())

    def number(self, name: str) -> int:
        """The person number for ``name``; a new number the first time a person is seen."""
        key = self._key(name)
        for n, (known, _) in enumerate(self.people, 1):
            shorter, longer = sorted((key, known), key=len)
            if shorter and longer[: len(shorter)] == shorter:
                if len(key) > len(known):
                    self.people[n - 1] = (key, name)
                    self._by_first_word = None
                return n
        self.people.append((key, name))
        self._by_first_word = None
        return len(self.people)

    def pseudonym(self, name: str) -> str:
        return f"Person {self.number(name)}"

    def replace(self, text: str, spans: list[PersonSpan]) -> str:
        """``text`` with every span replaced by ``[Person N]`` and e-mail addresses by ``[e-post]``."""
        out, pos = [], 0
        for span in sorted(spans, key=lambda s: s.start):
            out.append(text[pos:span.start])
            out.append(f"[{self.pseudonym(span.name)}]")
            pos = span.end
        out.append(text[pos:])
        return _replace_emails("".join(out))

    def scrub(self, text: str | None) -> str | None:
        """Replace every name already seen, wherever it stands, and e-mail addresses (a safety net for short fields)."""
        if not text:
            return text
        # Only names whose first word occurs can match; "" (names not starting with a word) and "Person"
        # (an earlier replacement) keep the result equal to trying every name in turn.
        words = {"", "Person", *WORD.findall(text)}
        index = self._name_index()
        candidates = sorted({n for word in words for n in index.get(word, ())})
        for n in candidates:
            name = self.people[n][1]
            if name in text:  # the pattern below matches only where the name stands
                text = _whole_name_pattern(name).sub(f"[Person {n + 1}]", text)
        return _replace_emails(text)

    def _name_index(self) -> dict[str, list[int]]:
        """First word of every name of 3 or more characters -> the names' indices (names in ``scrub`` start with a word).

        A name that does not start with a word character is filed under ""
        and tried on every text.
        """
        if self._by_first_word is None:
            index: dict[str, list[int]] = {}
            for n, (_, name) in enumerate(self.people):
                if len(name) >= 3:
                    first = WORD.match(name)
                    index.setdefault(first.group(0) if first else "", []).append(n)
            self._by_first_word = index
        return self._by_first_word

    def key_rows(self) -> list[dict]:
        """The re-identification key: pseudonym and the fullest name seen (private, never published)."""
        return [{"pseudonym": f"Person {n}", "name": name} for n, (_, name) in enumerate(self.people, 1)]


def pseudonymise_text(text: str | None, pseudonymiser: Pseudonymiser, nlp=None) -> str | None:
    """Replace the persons and e-mail addresses in a free text (``nlp``: see :func:`find_persons`)."""
    if text is None:
        return None
    text = _replace_emails(text)
    return pseudonymiser.replace(text, find_persons(text, nlp=nlp))


def pseudonymise_signature(signature: str | None, pseudonymiser: Pseudonymiser) -> str | None:
    """An author signature: a whole-person signature becomes "Person N"; a person inside one is replaced."""
    if signature is None:
        return None
    person = person_in_signature(signature)
    if person is not None:
        rest = signature[person.end:].strip()
        pseudonym = pseudonymiser.pseudonym(person.name)
        return pseudonym if not rest else f"[{pseudonym}] {rest}"
    return pseudonymise_text(signature, pseudonymiser)


def write_key(pseudonymiser: Pseudonymiser, private_dir: Path) -> Path:
    """Write the pseudonym key to ``private_dir/pseudonyms.csv`` (git-ignored, never published)."""
    private_dir.mkdir(parents=True, exist_ok=True)
    path = private_dir / "pseudonyms.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["pseudonym", "name"])
        writer.writeheader()
        writer.writerows(pseudonymiser.key_rows())
    tmp.replace(path)
    return path


PSEUDONYM_IN_TEXT = re.compile(r"\[Person (\d+)\]")
PSEUDONYM_FIELD = re.compile(r"^Person (\d+)$")
PSEUDONYM_SLUG = re.compile(r"(?<![\w])person-(\d+)(?![\w])")  # in ids built from labels: "2025-05-05-person-3"


PSEUDONYM_STEM = "erson"  # in every written form of a pseudonym: "Person 7", "[Person 7]", "person-7"


def renumber_text(text: str, mapping: dict[int, int]) -> tuple[str, list[tuple[int, int]]]:
    """Replace ``[Person k]`` by ``[Person mapping[k]]``.

    Returns the new text and the shifts: (old position after which the
    shift applies, cumulative change in length), for :func:`shift_offset`.
    """
    out, shifts, pos, delta = [], [], 0, 0
    for m in PSEUDONYM_IN_TEXT.finditer(text):
        new = f"[Person {mapping.get(int(m.group(1)), int(m.group(1)))}]"
        out.append(text[pos:m.start()])
        out.append(new)
        pos = m.end()
        delta += len(new) - (m.end() - m.start())
        shifts.append((m.end(), delta))
    out.append(text[pos:])
    return "".join(out), shifts


def shift_offset(offset: int, shifts: list[tuple[int, int]]) -> int:
    """An offset into the old text as an offset into the renumbered text."""
    delta = 0
    for end, cumulative in shifts:
        if end > offset:
            break
        delta = cumulative
    return offset + delta


def renumber_field(value, mapping: dict[int, int]):
    """A string field with its pseudonyms renumbered: "Person k" as a whole field, "[Person k]" inside, "person-k" in ids."""
    if not isinstance(value, str) or PSEUDONYM_STEM not in value:
        return value
    whole = PSEUDONYM_FIELD.match(value)
    if whole:
        return f"Person {mapping.get(int(whole.group(1)), int(whole.group(1)))}"
    value = PSEUDONYM_SLUG.sub(lambda m: f"person-{mapping.get(int(m.group(1)), int(m.group(1)))}", value)
    return renumber_text(value, mapping)[0]


def redact(text: str | None) -> str | None:
    """``text`` with every person replaced by ``[navn]`` and e-mail addresses by ``[e-post]`` (no key kept).

    For display strings from outside the pipeline (e.g. the anchors of a hand
    coding file) that must not carry names into published reports.
    """
    if not isinstance(text, str):
        return text
    out, pos = [], 0
    for span in find_persons(text):
        out += [text[pos:span.start], "[navn]"]
        pos = span.end
    return _replace_emails("".join(out) + text[pos:])
