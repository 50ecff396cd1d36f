"""The codebook: the shipped file validates, keeps the researchers' codebook v1, and bad files are named."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipeline.codebook import (
    DEFAULT_CODEBOOK,
    CodebookError,
    codebook_frame,
    glob_to_regex,
    load_codebook,
    parse_word,
)

FIXTURES = Path(__file__).parent / "fixtures"
ORIGINAL = FIXTURES / "codebook-v1.yaml"  # copy of the researchers' codebook v1


@pytest.fixture(scope="module")
def shipped():
    return load_codebook()


@pytest.fixture(scope="module")
def original():
    return yaml.safe_load(ORIGINAL.read_text(encoding="utf-8"))


def test_shipped_codebook_validates(shipped):
    assert len(shipped.themes) == 24
    assert shipped.version == 1
    assert len(set(shipped.ids)) == 24
    for theme in shipped.themes:
        assert theme.strong or theme.weak, theme.id


def test_ids_labels_categories_definitions_are_the_researchers(original):
    ours = yaml.safe_load(DEFAULT_CODEBOOK.read_text(encoding="utf-8"))
    assert ours["version"] == original["version"]
    assert ours["categories"] == original["categories"]
    assert [t["id"] for t in ours["themes"]] == [t["id"] for t in original["themes"]]
    for mine, theirs in zip(ours["themes"], original["themes"]):
        for key in theirs:  # id, category, label, definition, exclude, cues
            assert mine[key] == theirs[key], (theirs["id"], key)


def test_every_original_cue_is_covered_by_a_rule(shipped):
    """Each cue of codebook v1 hits its own theme (checked on the cue written as text)."""
    import spacy

    from pipeline.tag import Tagger

    tagger = Tagger(shipped, spacy.blank("nb"))
    themes = [t for t in shipped.themes for _ in t.cues]
    cues = [c for t in shipped.themes for c in t.cues]
    sets, _ = tagger.code_texts(cues)
    missing = [(t.id, c) for t, c, s in zip(themes, cues, sets) if t.id not in s]
    # deliberately not enough alone: words with other everyday meanings need a second cue
    # ("kjent", "stemme", "prosjekt", "oppvekst" = upbringing), Nynorsk "kor" = how and "løyve" =
    # permission, and "ansette" counts as a hiring verb only with the model's POS tags; a lone
    # "relevans" or "bredde" in a keyword list is a passing mention
    deliberately_weak = {("rekruttering_og_relevans", "relevans"), ("rekruttering_og_relevans", "bredde"),("okonomi", "løyve"), ("personal_og_stillinger", "ansette"),
                         ("organisering", "organisert"), ("organisering", "oppvekst"),
                         ("organisering", "struktur"), ("synlighet", "kjent"), ("prosjekt_vs_drift", "prosjekt"),
                         ("medvirkning", "stemme"), ("arena_frivillighet", "kor")}
    assert set(missing) <= deliberately_weak, set(missing) - deliberately_weak


def test_codebook_table(shipped):
    frame = codebook_frame(shipped)
    assert list(frame.columns) == ["theme_id", "label", "category", "definition", "exclude", "version"]
    assert len(frame) == 24
    row = frame.set_index("theme_id").loc["okonomi"]
    assert row["label"] == "Økonomi og ressurser"
    assert row["definition"].startswith("Funding and resources for the kulturskole")
    assert "\n" not in row["definition"]
    assert row["exclude"].startswith("Fees paid by families")


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_THEME = """
  - id: tid
    category: rammer
    label: Tid
    definition: Time.
    rules:
      strong: [tid, "sette av tid"]
"""


def _codebook(themes: str, extra: str = "") -> str:
    return f"version: 1\ncategories:\n  rammer: R\n{extra}themes:{themes}"


def test_a_minimal_codebook_loads(tmp_path):
    cb = load_codebook(_write(tmp_path, _codebook(GOOD_THEME)))
    assert cb.ids == ("tid",)
    assert [t.text for t in cb.theme("tid").strong] == ["tid", "sette av tid"]


@pytest.mark.parametrize("themes, extra, expected", [
    (GOOD_THEME.replace("rules:", "colour: red\n    rules:"), "", r"theme 'tid': unknown key 'colour'"),
    (GOOD_THEME + GOOD_THEME, "", r"theme 'tid': duplicate id \(also themes\[0\]\)"),
    (GOOD_THEME.replace('"sette av tid"', '"*"'), "", r"theme 'tid': rules\.strong\[1\] '\*': a glob needs at least 3 letters"),
    (GOOD_THEME.replace('"sette av tid"', '"tid{a,en"'), "", r"theme 'tid': rules\.strong\[1\] 'tid\{a,en': unbalanced"),
    (GOOD_THEME.replace('"sette av tid"', '"kor/NOUNS"'), "", r"theme 'tid': rules\.strong\[1\] 'kor/NOUNS': unknown part of speech"),
    (GOOD_THEME.replace('"sette av tid"', '"ti[dr]"'), "", r"rules\.strong\[1\] 'ti\[dr\]': regular-expression characters"),
    (GOOD_THEME.replace('"sette av tid"', '"tid"'), "", r"rules\.strong\[1\] 'tid': duplicate of rules\.strong\[0\]"),
    (GOOD_THEME.replace("strong:", "strang:"), "", r"theme 'tid': unknown key 'rules\.strang'"),
    (GOOD_THEME.replace("rules:", "rules:\n      min_weak: zero"), "", r"theme 'tid': rules\.min_weak must be a whole number"),
    (GOOD_THEME.replace("category: rammer", "category: fritid"), "", r"theme 'tid': unknown category 'fritid'"),
    (GOOD_THEME.replace("    label: Tid\n", ""), "", r"theme 'tid': missing 'label'"),
    (GOOD_THEME, "colour: red\n", r"unknown top-level key 'colour'"),
])
def test_validation_errors_name_file_theme_and_rule(tmp_path, themes, extra, expected):
    path = _write(tmp_path, _codebook(themes, extra))
    with pytest.raises(CodebookError) as err:
        load_codebook(path)
    message = str(err.value)
    assert str(path) in message
    assert re.search(expected, message), message


def test_all_problems_are_reported_at_once(tmp_path):
    bad = GOOD_THEME.replace('"sette av tid"', '"*"').replace("rules:", "colour: red\n    rules:")
    with pytest.raises(CodebookError) as err:
        load_codebook(_write(tmp_path, _codebook(bad)))
    assert len(err.value.problems) == 2


def test_yaml_syntax_errors_name_the_file(tmp_path):
    path = _write(tmp_path, "version: 1\nthemes: [\n")
    with pytest.raises(CodebookError, match=re.escape(str(path))):
        load_codebook(path)


def test_a_file_is_parsed_again_when_its_content_changes(tmp_path):
    path = _write(tmp_path, _codebook(GOOD_THEME))
    first = load_codebook(path)
    assert load_codebook(path) == first
    first.categories["ny"] = "changed by a caller"  # reaches no other caller
    assert load_codebook(path).categories == {"rammer": "R"}
    path.write_text(_codebook(GOOD_THEME.replace("label: Tid", "label: Tida")), encoding="utf-8")
    changed = load_codebook(path)
    assert changed.theme("tid").label == "Tida" and changed.sha256 != first.sha256
    path.write_text("version: 1\nthemes: [\n", encoding="utf-8")
    for _ in range(2):  # a failure is never remembered as a result
        with pytest.raises(CodebookError):
            load_codebook(path)


@pytest.mark.parametrize("word, matches, rejects", [
    ("tid", ["tid"], ["tidligere", "fritid", "tida"]),
    ("tid{,a,en}", ["tid", "tida", "tiden"], ["tidene", "tidligere"]),
    ("kulturskule*", ["kulturskule", "kulturskulen", "kulturskulerektor"], ["kulturskole"]),
    ("*midler", ["midler", "prosjektmidler", "stimuleringsmidler"], ["midlertidig"]),
    ("?*plan", ["kommuneplan", "rammeplan"], ["plan", "planlegge"]),
    # an alternative in braces is a glob too
    ("{barriere*,hinder}", ["barriere", "barrierer", "hinder"], ["hindring", "barrier", "hindre"]),
    ("opplæring{,?}", ["opplæring", "opplæringa"], ["opplæringen"]),
])
def test_globs_match_whole_words(word, matches, rejects):
    regex = re.compile(glob_to_regex(word))
    assert all(regex.match(w) for w in matches)
    assert not any(regex.match(w) for w in rejects)


def test_word_kinds():
    assert parse_word("#").kind == "num"
    exact = parse_word("=KS")
    assert exact.kind == "exact" and exact.literals == ("KS",)
    pos = parse_word("kor/NOUN")
    assert pos.pos == "NOUN" and pos.literals == ("kor",)
    assert parse_word("skole/*").pos is None  # a literal slash, not a POS tag
