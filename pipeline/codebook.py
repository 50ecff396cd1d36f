"""The codebook: themes with their definitions and matching rules, read from YAML.

The codebook is data that researchers edit (``seeds/codebook.yaml``); this
module only reads and checks it. ``load_codebook()`` returns a
:class:`Codebook` or raises :class:`CodebookError` listing every problem with
its place: file, theme id and rule (``rules.strong[3]``), so that a researcher
can fix the YAML without reading code.

Term syntax (documented for researchers at the top of the YAML file):
words separated by spaces match consecutive tokens; each word is a glob
matched against a token's lower-cased form or its lemma (``*`` any letters,
``?`` one letter, ``{a,b,}`` alternatives); ``=Word`` is an exact,
case-sensitive form; ``#`` is any number; ``word/NOUN`` also requires the
part of speech. Globs always match the whole token, never part of a word.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from pipeline.config import SEEDS_DIR

DEFAULT_CODEBOOK = SEEDS_DIR / "codebook.yaml"
# libyaml's safe loader when PyYAML was built with it (the same data, about ten times faster)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_KEYS = {"version", "categories", "themes"}
THEME_KEYS = {"id", "category", "label", "definition", "exclude", "cues", "rules"}
THEME_REQUIRED = ("id", "category", "label", "definition", "rules")
RULE_KEYS = {"strong", "weak", "min_weak", "ignore", "answers_to"}
RULE_LISTS = ("strong", "weak", "ignore", "answers_to")
UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
        "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_GLOB_LETTERS = 3


class CodebookError(ValueError):
    """The codebook file is not valid; ``problems`` lists every problem with its place."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid codebook:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class TokenSpec:
    """One word of a term: how it is matched against one spaCy token.

    ``kind`` is ``glob`` (``regex`` matched against the lower-cased form or
    the lemma), ``exact`` (``regex`` against the written form, case counts)
    or ``num`` (any number-like token). ``pos`` optionally requires a UPOS tag.
    """

    kind: str
    regex: str | None = None
    pos: str | None = None
    literals: tuple[str, ...] | None = None  # the spellings, when the word has no * or ?


@dataclass(frozen=True)
class Term:
    """A rule term of a theme: its text as written, its list and index there, its words."""

    theme_id: str
    kind: str  # strong / weak / ignore / answers_to
    index: int
    text: str
    tokens: tuple[TokenSpec, ...]

    @property
    def rule(self) -> str:
        """The term's place in the codebook, e.g. ``okonomi.strong[3]``."""
        return f"{self.theme_id}.{self.kind}[{self.index}]"


@dataclass(frozen=True)
class Theme:
    id: str
    category: str
    label: str
    definition: str
    exclude: str | None
    cues: tuple[str, ...]
    strong: tuple[Term, ...]
    weak: tuple[Term, ...]
    ignore: tuple[Term, ...]
    answers_to: tuple[Term, ...] = ()
    min_weak: int = 2


@dataclass(frozen=True)
class Codebook:
    version: int | str
    categories: dict[str, str]
    themes: tuple[Theme, ...]
    path: str
    sha256: str
    ids: tuple[str, ...] = field(default=())

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(f"no theme {theme_id!r} in {self.path}")

    def terms(self):
        """Every term of every theme (strong, weak, ignore and answers_to)."""
        for t in self.themes:
            yield from t.strong
            yield from t.weak
            yield from t.ignore
            yield from t.answers_to


def _expand_braces(glob: str) -> list[str]:
    """All spellings of a glob with ``{a,b}`` alternatives (one level, several groups)."""
    m = re.search(r"\{([^{}]*)\}", glob)
    if not m:
        return [glob]
    head, tail = glob[: m.start()], glob[m.end():]
    return [e for alt in m.group(1).split(",") for e in _expand_braces(head + alt + tail)]


def glob_to_regex(glob: str) -> str:
    """The anchored regular expression of a word glob (``*``, ``?``, ``{a,b,}``).

    Each alternative in braces is a glob itself (``{barriere*,hinder}``
    matches ``barrierer`` and ``hinder``); braces do not nest.
    """
    out = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "{":
            j = glob.index("}", i)
            alts = glob[i + 1: j].split(",")
            out.append("(?:" + "|".join(_glob_piece(a) for a in alts) + ")")
            i = j
        else:
            out.append(_glob_piece(ch))
        i += 1
    return "^" + "".join(out) + "$"


def _glob_piece(text: str) -> str:
    """The regular expression of glob text without braces: ``*`` any run, ``?`` any one character."""
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)


@lru_cache(maxsize=None)
def compiled_pattern(regex: str) -> re.Pattern:
    """``re.compile(regex)``, compiled once per process.

    A codebook has thousands of word patterns, more than ``re`` keeps
    compiled (512), so without this memo every parse of the codebook and
    every tagger built from it would compile them all again.
    """
    return re.compile(regex)


def parse_word(word: str) -> TokenSpec:
    """Parse one word of a term; raises ``ValueError`` with the reason if it is bad."""
    if word == "#":
        return TokenSpec("num")
    pos = None
    m = re.match(r"^(.+)/([A-Z]+)$", word)
    if m and m.group(2) in UPOS:
        word, pos = m.group(1), m.group(2)
    elif m and len(m.group(2)) > 1 and not word.startswith("="):
        raise ValueError(f"unknown part of speech {m.group(2)!r} (use one of {', '.join(sorted(UPOS))})")
    exact = word.startswith("=")
    if exact:
        word = word[1:]
    if not word:
        raise ValueError("empty word")
    depth = 0
    for ch in word:
        depth += (ch == "{") - (ch == "}")
        if depth not in (0, 1):
            raise ValueError("unbalanced or nested { } alternatives")
    if depth:
        raise ValueError("unbalanced or nested { } alternatives")
    if re.search(r"[\[\]()|\\^$+]", word):
        raise ValueError("regular-expression characters are not allowed; use *, ? and {a,b}")
    if "*" in word:
        letters = min(len(re.sub(r"[^\w-]", "", e)) for e in _expand_braces(word.replace("*", "")))
        if letters < MIN_GLOB_LETTERS:
            raise ValueError(f"a glob needs at least {MIN_GLOB_LETTERS} letters besides wildcards")
    regex = glob_to_regex(word if exact else word.lower())
    try:
        compiled_pattern(regex)
    except re.error as exc:  # pragma: no cover - guarded by the checks above
        raise ValueError(f"bad pattern ({exc})") from None
    literals = None
    if "*" not in word and "?" not in word:
        literals = tuple(dict.fromkeys(_expand_braces(word if exact else word.lower())))
    return TokenSpec("exact" if exact else "glob", regex, pos, literals)


def parse_term(theme_id: str, kind: str, index: int, text) -> Term:
    """Parse a rule term; raises ``ValueError`` with the reason if it is bad."""
    if not isinstance(text, str):
        raise ValueError(f"must be a text, not {type(text).__name__}")
    words = text.split()
    if not words:
        raise ValueError("empty term")
    return Term(theme_id, kind, index, text, tuple(parse_word(w) for w in words))


def parse_codebook(data, path: str = "<codebook>", sha256: str = "") -> Codebook:
    """Validate parsed YAML ``data`` and build the :class:`Codebook`.

    Collects every problem before raising :class:`CodebookError`; each
    message starts with ``path`` and names the theme id and rule index.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise CodebookError([f"{path}: the file must be a mapping with version, categories and themes"])
    for key in sorted(set(data) - TOP_KEYS):
        problems.append(f"{path}: unknown top-level key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
    if "version" not in data:
        problems.append(f"{path}: missing 'version'")
    categories = data.get("categories") or {}
    if not isinstance(categories, dict):
        problems.append(f"{path}: 'categories' must map category ids to descriptions")
        categories = {}
    raw_themes = data.get("themes")
    if not isinstance(raw_themes, list) or not raw_themes:
        problems.append(f"{path}: 'themes' must be a non-empty list")
        raw_themes = []
    themes: list[Theme] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(raw_themes):
        where = f"{path}: themes[{n}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        tid = raw.get("id")
        if tid is not None:
            where = f"{path}: theme {tid!r}"
        for key in sorted(set(raw) - THEME_KEYS):
            problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(THEME_KEYS))})")
        for key in THEME_REQUIRED:
            if not raw.get(key):
                problems.append(f"{where}: missing {key!r}")
        if tid is None:
            continue
        if not isinstance(tid, str) or not ID_RE.match(tid):
            problems.append(f"{where}: id must be lower-case letters, digits and _")
        if tid in seen:
            problems.append(f"{where}: duplicate id (also themes[{seen[tid]}])")
        seen.setdefault(tid, n)
        if categories and raw.get("category") and raw["category"] not in categories:
            problems.append(f"{where}: unknown category {raw['category']!r} (declared: {', '.join(categories)})")
        rules = raw.get("rules") or {}
        if not isinstance(rules, dict):
            problems.append(f"{where}: 'rules' must be a mapping")
            rules = {}
        for key in sorted(set(rules) - RULE_KEYS):
            problems.append(f"{where}: unknown key 'rules.{key}' (allowed: {', '.join(sorted(RULE_KEYS))})")
        min_weak = rules.get("min_weak", 2)
        if not isinstance(min_weak, int) or isinstance(min_weak, bool) or min_weak < 1:
            problems.append(f"{where}: rules.min_weak must be a whole number >= 1, not {min_weak!r}")
            min_weak = 2
        parsed: dict[str, list[Term]] = {}
        for kind in RULE_LISTS:
            items = rules.get(kind) or []
            if not isinstance(items, list):
                problems.append(f"{where}: rules.{kind} must be a list")
                items = []
            terms = []
            texts: dict[str, int] = {}
            for i, text in enumerate(items):
                place = f"{where}: rules.{kind}[{i}] {text!r}"
                try:
                    terms.append(parse_term(tid, kind, i, text))
                except ValueError as exc:
                    problems.append(f"{place}: {exc}")
                    continue
                if text in texts:
                    problems.append(f"{place}: duplicate of rules.{kind}[{texts[text]}]")
                texts.setdefault(text, i)
            parsed[kind] = terms
        if not parsed["strong"] and not parsed["weak"]:
            problems.append(f"{where}: rules need at least one strong or weak term")
        themes.append(Theme(
            id=tid, category=raw.get("category"), label=raw.get("label"),
            definition=" ".join(str(raw.get("definition", "")).split()),
            exclude=raw.get("exclude"), cues=tuple(raw.get("cues") or ()),
            strong=tuple(parsed["strong"]), weak=tuple(parsed["weak"]),
            ignore=tuple(parsed["ignore"]), answers_to=tuple(parsed["answers_to"]), min_weak=min_weak,
        ))
    if problems:
        raise CodebookError(problems)
    return Codebook(version=data["version"], categories=dict(categories), themes=tuple(themes),
                    path=path, sha256=sha256, ids=tuple(t.id for t in themes))


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and validate the codebook YAML (default ``seeds/codebook.yaml``).

    Raises :class:`CodebookError` naming file, theme id and rule index of
    every problem (unknown keys, duplicate ids, bad patterns), or for YAML
    that does not parse (with its line). The file is read at every call, but
    parsed once per process for the same path and content (a run uses the
    codebook for its tagger and again for its ``codebook`` table).
    """
    path = Path(path) if path is not None else DEFAULT_CODEBOOK
    codebook = _parsed_codebook(str(path), path.read_bytes())
    # the cached codebook is immutable except for its categories: each caller gets its own copy of them
    return dataclasses.replace(codebook, categories=dict(codebook.categories))


@lru_cache(maxsize=4)
def _parsed_codebook(path: str, raw: bytes) -> Codebook:
    """The codebook in file ``path`` with content ``raw`` (cached; a file that fails raises every time)."""
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise CodebookError([f"{path}: not valid YAML: {exc}"]) from None
    return parse_codebook(data, path, hashlib.sha256(raw).hexdigest())


def codebook_frame(codebook: Codebook) -> pd.DataFrame:
    """The ``codebook`` table: one row per theme (theme_id, label, category, definition, version).

    ``definition`` is the researchers' text with its line breaks folded to
    single spaces (as YAML's ``>`` does).
    """
    return pd.DataFrame({
        "theme_id": [t.id for t in codebook.themes],
        "label": [t.label for t in codebook.themes],
        "category": [t.category for t in codebook.themes],
        "definition": [t.definition for t in codebook.themes],
        "exclude": [t.exclude for t in codebook.themes],
        "version": [str(codebook.version)] * len(codebook.themes),
    })
