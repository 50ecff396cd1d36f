"""Tests for pipeline.clean (cleaning stage).

Evidence comes from files inside the repository only: the exports in
``data/raw/``, the hand-made repair list ``tests/fixtures/repairs.csv`` (every
damaged token of both exports and what was written), the post segmentation
``tests/fixtures/posts.json`` and our own synthetic boards
``tests/fixtures/clean_boards.txt`` which the tests damage the way the PDF
export does. Nothing here reads /work/shared.
"""
from __future__ import annotations

import csv
import difflib
import json
import random
import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clean import GLYPH, clean, clean_title, is_list_item, restore_time, restore_word
from pipeline.lexicon import Lexicon, load_lexicon, read_word_list

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
FIXTURES = ROOT / "tests" / "fixtures"
WORD_RE = re.compile(rf"[\w{GLYPH}]+")


@pytest.fixture(scope="session")
def lex() -> Lexicon:
    return load_lexicon()


# ---------------------------------------------------------------------------
# real damaged tokens of both exports
# ---------------------------------------------------------------------------

def _raw_lines(name: str) -> list[str]:
    return (RAW / name).read_text(encoding="utf-8").split("\n")


REPAIR_ROWS = list(csv.DictReader((FIXTURES / "repairs.csv").open(encoding="utf-8")))
LIGATURE_ROWS = [r for r in REPAIR_ROWS if r["kind"] == "ligature"]
TIME_ROWS = [r for r in REPAIR_ROWS if r["kind"] == "time"]
GLYPH_ROWS = [r for r in REPAIR_ROWS if r["kind"].startswith("punctuation")]


def _row_id(row: dict) -> str:
    return f"{row['file'][:4]}:{row['line']}:{row['damaged']}"


def _token(row: dict) -> tuple[str, str]:
    """The export line (1-based ``line``) and the whitespace token holding the damaged string."""
    line = _raw_lines(row["file"])[int(row["line"]) - 1]
    tokens = [t for t in line.split() if row["damaged"] in t]
    assert tokens, f"{row['damaged']!r} not found on line {row['line']}"
    return line, tokens[0]


def test_fixture_counts():
    assert (len(LIGATURE_ROWS), len(TIME_ROWS), len(GLYPH_ROWS)) == (99, 66, 3)


@pytest.mark.parametrize("row", LIGATURE_ROWS, ids=_row_id)
def test_ligature_rows(row, lex):
    line, tok = _token(row)
    got, score, rule = restore_word(tok, lex)
    assert got == tok.replace(row["damaged"], row["expected"])
    assert rule not in ("drop", "time")
    # the same choice is made when the whole line goes through clean()
    out, repairs = clean(line, lex)
    assert got in out and GLYPH not in out
    assert any(r.kind == "ligature" and r.before == tok and r.line == 0 for r in repairs)


@pytest.mark.parametrize("row", TIME_ROWS, ids=_row_id)
def test_time_rows(row, lex):
    _, tok = _token(row)
    want = tok.replace(row["damaged"], row["expected"])
    assert restore_time(tok) == want
    assert restore_word(tok, lex)[0] == want


@pytest.mark.parametrize("row", GLYPH_ROWS, ids=_row_id)
def test_author_glyph_rows(row, lex):
    """U+FFFD standing for punctuation in author names is dropped (expected is empty)."""
    _, tok = _token(row)
    got, _, rule = restore_word(tok, lex)
    assert got == tok.replace(row["damaged"], row["damaged"].replace(GLYPH, ""))
    assert rule == "drop"


@pytest.mark.parametrize(
    "token, want",
    [
        ("\ufffdNANS", "FINANS"),
        ("\ufffdere", "flere"),
        ("Personal\ufffdyt", "Personalflyt"),
        ("\ufffd", ""),
        ("(\ufffdere)", "(flere)"),
        ("12\ufffd30PM", "12:30PM"),
        ("ord", "ord"),
    ],
)
def test_restore_word_case_and_edges(token, want, lex):
    assert restore_word(token, lex)[0] == want


@pytest.mark.parametrize("damaged, want", [("\ufffderfagsrabatt", "flerfagsrabatt"),
                                            ("lojalitetskon\ufffdikt", "lojalitetskonflikt")])
def test_unlisted_compounds_restored_from_parts(damaged, want, lex):
    """The two compounds a plain frequency choice gets wrong: restored from head + tail."""
    assert not lex.has(want) or want == "lojalitetskonflikt"
    reduced = Lexicon(w for w in read_word_list() if w != want)
    got, _, rule = restore_word(damaged, reduced)
    assert (got, rule) == (want, "compound")


def test_lexicon_evidence(lex):
    assert lex.compound_parts("flerfagsrabatt") is not None
    assert lex.compound_parts("ogjeg") is None
    assert lex.prefix_evidence("flyktni") == 7 > lex.prefix_evidence("fiyktni")
    assert lex.is_solid("dag") and not lex.is_solid("g") and not lex.is_solid("svømm")


def test_clean_title(lex):
    title, repairs = clean_title("Hvordan \ufffdnansiere og g jennomføre tiltak ", lex)
    assert title == "Hvordan finansiere og gjennomføre tiltak"
    assert {r.kind for r in repairs} == {"ligature", "gj_split"}


# ---------------------------------------------------------------------------
# gj splits and word pairs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "damaged, want",
    [
        ("vi må g jøre det", "vi må gjøre det"),
        ("noe ig jen for det", "noe igjen for det"),
        ("Avg jørende at de møtes", "Avgjørende at de møtes"),
        ("vi kan utg jøre en forskjell", "vi kan utgjøre en forskjell"),
        ("det g jelder alle", "det gjelder alle"),
        ("og jeg tror det", "og jeg tror det"),
        ("en dag jobber vi", "en dag jobber vi"),
        ("og jobber med det", "og jobber med det"),
        ("en sag jeg har", "en sag jeg har"),
        ("Vi må g\njøre mer", "Vi må gjøre mer"),
    ],
)
def test_gj(damaged, want, lex):
    assert clean(damaged, lex)[0] == want


# ---------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------

def test_structure_rules(lex):
    raw = (
        " Første linje i en lang setning som\n"
        "fortsetter her.\n"
        "\u00a0\n"
        "Viktig og godt signal at KS blei med i Framtidens kulturskule-\n"
        "prosjektet og prosjektleder-\n"
        "støtte.\n"
        "\n"
        "- punkt en som går over\n"
        "to linjer\n"
        "-punkt to\n"
        "1. Første spørsmål\n"
        "2.Hva med dette?\n"
        "Spørsmål 2: noe\n"
        "A. svar\n"
        "\n"
        "En setning som brytes av et\n"
        "\n"
        "\n"
        "\n"
        " sideskift midt i.   \n"
    )
    out, repairs = clean(raw, lex)
    assert out == (
        "Første linje i en lang setning som fortsetter her.\n\n"
        "Viktig og godt signal at KS blei med i Framtidens kulturskule-prosjektet og prosjektleder-støtte.\n\n"
        "- punkt en som går over to linjer\n-punkt to\n1. Første spørsmål\n2.Hva med dette?\n"
        "Spørsmål 2: noe\nA. svar\n\n"
        "En setning som brytes av et sideskift midt i."
    )
    kinds = Counter(r.kind for r in repairs)
    assert kinds["page_break"] >= 2 and kinds["wrap"] >= 3


def test_column_join(lex):
    raw = "park og\nidrett\nsvømm\nehall\nkulturs\nkole\nbibliot\nek\nintegre\nring og\n\ufffdyktni\nngepoli\ntikk"
    out, repairs = clean(raw, lex)
    assert out == "park og idrett svømmehall kulturskole bibliotek integrering og flyktningepolitikk"
    joins = [r for r in repairs if r.kind == "column_join"]
    assert [r.after for r in joins] == ["svømmehall", "kulturskole", "bibliotek", "integrering", "flyktningepolitikk"]


def test_question_item_keeps_answer_line_and_comma_line_glued(lex):
    raw = "Spørsmål 2: Hva kan vi gjøre?\nVi kan samarbeide\nmer.\n\nbadet, svømmehallen\n\n\n, biblioteket"
    assert clean(raw, lex)[0] == (
        "Spørsmål 2: Hva kan vi gjøre?\nVi kan samarbeide mer.\n\nbadet, svømmehallen, biblioteket"
    )


def test_ordinary_wrap_not_glued(lex):
    raw = "Kommunalsjef\nkultur og\nvelferd som\nhar ansvar for\nkulturskolen\nder"
    assert clean(raw, lex)[0] == "Kommunalsjef kultur og velferd som har ansvar for kulturskolen der"


@pytest.mark.parametrize("line", ["- x", "-x", "1. a", "1: a", "1 Sia", "A. a", "B. b", "Spørsmål 2: a", "2.Hva"])
def test_list_items(line):
    assert is_list_item(line)


@pytest.mark.parametrize("line", ["kulturskolen", "12-15 år", "f.eks. en", "I meldingen"])
def test_not_list_items(line):
    assert not is_list_item(line)


# ---------------------------------------------------------------------------
# whole exports: idempotence and no word lost
# ---------------------------------------------------------------------------

def _export_bodies() -> list[tuple[str, str]]:
    """Post bodies of both exports (lines after each post's first line, up to the next post)."""
    bodies = []
    for board in json.loads((FIXTURES / "posts.json").read_text(encoding="utf-8")):
        lines = _raw_lines(board["file"])
        starts = [p["line"] for p in board["posts"]] + [len(lines) + 1]
        for s, e in zip(starts, starts[1:]):
            bodies.append((f"{board['file'][:4]}:{s}", "\n".join(lines[s : e - 1])))
    return bodies


EXPORT_BODIES = _export_bodies()


def _undo_word_counts(out: str, repairs) -> Counter:
    """Word multiset of ``out`` with every recorded repair undone (latest first)."""
    counts = Counter(WORD_RE.findall(out))
    for r in reversed(repairs):
        for w in WORD_RE.findall(r.after):
            counts[w] -= 1
            assert counts[w] >= 0, f"repair {r} not reflected in output"
        for w in WORD_RE.findall(r.before):
            counts[w] += 1
    return +counts


@pytest.mark.parametrize("body", [b for _, b in EXPORT_BODIES], ids=[i for i, _ in EXPORT_BODIES])
def test_export_posts_idempotent_and_lossless(body, lex):
    out, repairs = clean(body, lex)
    assert GLYPH not in out
    assert clean(out, lex)[0] == out
    assert _undo_word_counts(out, repairs) == Counter(WORD_RE.findall(body))
    assert all(not line.endswith((" ", "\t")) for line in out.split("\n"))
    assert "\n\n\n" not in out


def test_all_export_ligatures_restored_in_context(lex):
    """Over each whole export, clean() makes one ligature repair per repairs.csv row, on its line."""
    for name in sorted({r["file"] for r in LIGATURE_ROWS}):
        rows = [r for r in LIGATURE_ROWS if r["file"] == name]
        out, repairs = clean((RAW / name).read_text(encoding="utf-8"), lex)
        found = [r for r in repairs if r.kind == "ligature"]
        assert len(found) == len(rows)
        for row in rows:
            assert any(r.line == int(row["line"]) - 1 and row["expected"] in r.after for r in found), row


# ---------------------------------------------------------------------------
# synthetic boards damaged like the export
# ---------------------------------------------------------------------------

def _synthetic_posts() -> list[tuple[str, bool]]:
    """(post text, is_column) for every post of tests/fixtures/clean_boards.txt."""
    posts, cur, column = [], [], False
    for line in (FIXTURES / "clean_boards.txt").read_text(encoding="utf-8").split("\n"):
        if line.startswith("#"):
            continue
        if line.startswith("==="):
            continue
        if line.startswith("---"):
            if cur:
                posts.append(("\n".join(cur).strip(), column))
            cur, column = [], line.strip() == "--- column"
            continue
        cur.append(line)
    if cur:
        posts.append(("\n".join(cur).strip(), column))
    return posts


SYNTHETIC = _synthetic_posts()


def damage(text: str, column: bool, rng: random.Random) -> str:
    """Damage clean text the way the Padlet PDF export does.

    Hard wraps at ~60 characters (12 in a narrow column, breaking long words
    without a hyphen), page breaks (runs of 2-4 blank lines and a leading
    space on the page's first line) between wrapped lines, fi/fl ligatures
    -> U+FFFD (lower case only: capitals are not ligated), ``gj`` -> ``g j``.
    """
    lines: list[str] = []
    for p, para in enumerate(text.split("\n\n")):
        if p:
            lines.append("")
        for item in para.split("\n"):
            width = 12 if column else rng.randint(55, 65)
            lines += textwrap.wrap(item, width=width, break_long_words=column, break_on_hyphens=False)
    out: list[str] = []
    since_break = 0
    for i, line in enumerate(lines):
        if since_break > rng.randint(6, 12) and line and out and out[-1]:
            out += [""] * rng.randint(2, 4)
            line = " " + line
            since_break = 0
        out.append(line)
        since_break += 1
    damaged = "\n".join(out)
    damaged = re.sub("f[il]", GLYPH, damaged)
    return damaged.replace("gj", "g j")


def _damaged_indices(tokens: list[str], column: bool) -> set[int]:
    """Indices of original tokens that the damage touches."""
    return {
        i for i, t in enumerate(tokens)
        if re.search("f[il]|gj", t) or (column and len(t) > 12)
    }


def _synthetic_scores(lex, seeds=range(5)):
    """(restored, damaged, glued pairs, outputs) over all synthetic posts and seeds."""
    restored = total = 0
    glued: list[str] = []
    outputs = []
    for seed in seeds:
        rng = random.Random(seed)
        for text, column in SYNTHETIC:
            raw = damage(text, column, rng)
            out, repairs = clean(raw, lex)
            outputs.append((text, raw, out, repairs))
            orig = text.split()
            got = out.split()
            hit = _damaged_indices(orig, column)
            sm = difflib.SequenceMatcher(a=orig, b=got, autojunk=False)
            ok = set()
            for block in sm.get_matching_blocks():
                ok.update(range(block.a, block.a + block.size))
            restored += len(hit & ok)
            total += len(hit)
            pairs = {a + b for a, b in zip(orig, orig[1:])}
            glued += [t for t in set(got) - set(orig) if t in pairs]
    return restored, total, glued, outputs


def test_synthetic_restoration_rate(lex):
    restored, total, glued, _ = _synthetic_scores(lex)
    assert total > 300
    assert restored / total >= 0.97, f"{restored}/{total}"
    assert glued == []


def test_synthetic_pairs_never_glued(lex):
    *_, outputs = _synthetic_scores(lex, seeds=range(2))
    for _, _, out, _ in outputs:
        low = out.lower()
        for glued in ("ogjeg", "dagjobber", "ogjobber", "sagjeg"):
            assert glued not in low


def test_synthetic_idempotent_and_lossless(lex):
    *_, outputs = _synthetic_scores(lex, seeds=range(3))
    for _, raw, out, repairs in outputs:
        assert GLYPH not in out
        assert clean(out, lex)[0] == out
        assert _undo_word_counts(out, repairs) == Counter(WORD_RE.findall(raw))


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

_ALPHABET = st.sampled_from(list("abefgijlnorsøå ABØ-.:,1920\n\n\u00a0\ufffd\t(") + ["g j", "\ufffdere", "- "])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(_ALPHABET, max_size=80).map("".join)))
def test_clean_never_crashes_never_outputs_glyph(text):
    lex = load_lexicon()
    out, repairs = clean(text, lex)
    assert GLYPH not in out
    assert clean(out, lex)[0] == out


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_restore_word_total(token):
    lex = load_lexicon()
    word, _, _ = restore_word(token.replace(" ", ""), lex)
    assert GLYPH not in word


def test_lexicon_holds_each_listed_word_once_in_lower_case(lex):
    import gzip

    from pipeline.lexicon import LEXICON_PATH

    with gzip.open(LEXICON_PATH, "rt", encoding="utf-8") as fh:  # the slow, obvious reading of the file
        listed = [line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#")]
    assert read_word_list() == listed
    assert lex._words == sorted({w.lower() for w in listed})
    assert Lexicon(["Øy", "b", "A", "a", "", "ÆRE"], use_wordfreq=False)._words == ["a", "b", "ære", "øy"]
    assert Lexicon(["to\nlinjer", "B"], use_wordfreq=False)._words == ["b", "to\nlinjer"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab#Æø \t\r\n\u2003", max_size=5), max_size=8))
def test_read_word_list_keeps_the_lines_a_line_by_line_reading_keeps(tmp_path_factory, lines):
    import gzip

    path = tmp_path_factory.mktemp("words") / "words.txt.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode("utf-8")))
    with gzip.open(path, "rt", encoding="utf-8") as fh:  # universal newlines, as text files are read
        expected = [line for line in fh.read().split("\n") if line and line[0] != "#" and not line.isspace()]
    assert read_word_list(path) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x3FF)))
def test_is_lower_case_is_lower_casing_leaving_the_text_alone(text):
    from pipeline.lexicon import _is_lower_case

    assert _is_lower_case(text) == (text.lower() == text)


def test_is_lower_case_on_every_latin1_letter():
    from pipeline.lexicon import _is_lower_case

    for c in map(chr, range(256)):
        assert _is_lower_case(f"abc{c}øy") == (c.lower() == c), c


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aAbBøØ\nß", max_size=4), max_size=8))
def test_lexicon_words_are_the_distinct_listed_words_in_lower_case_sorted(words):
    lexicon = Lexicon(words, use_wordfreq=False)
    assert lexicon._words == sorted({w.lower() for w in words if w})


def test_restore_word_answers_for_the_lexicon_it_is_given():
    """restore_word remembers answers per lexicon: a second lexicon gets its own, a repeat the same."""
    with_fl = Lexicon(["flyt"], use_wordfreq=False)
    with_fi = Lexicon(["fiyt"], use_wordfreq=False)
    assert restore_word("\ufffdyt", with_fl)[0] == "flyt"
    assert restore_word("\ufffdyt", with_fi)[0] == "fiyt"
    assert restore_word("\ufffdyt", with_fl) == restore_word("\ufffdyt", with_fl)
