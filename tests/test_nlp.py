"""Tests of pipeline.nlp: loading the spaCy pipeline, its manifest record, its scores.

The score tests use ~100 sentences of each UD test file
(tests/fixtures/ud-test-slice-{nob,nno}.conllu, evaluation only; no UD test
sentence is used in training). Floors sit a little below the scores measured
on these slices (see models/nb_kulturskole/README.md); with ~30 PER entities
per slice, one entity is worth about 3 points of F1.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import spacy

from pipeline import nlp as nlp_mod
from pipeline.nlp import DEFAULT_MODEL_DIR, ModelNotAvailableError, load, model_info

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "config.cfg").is_file(),
                                reason="project model not built (make model)")


def _evaluate_module():
    """Import training/evaluate.py (not a package) for its scoring function."""
    sys.path.insert(0, str(ROOT / "training"))
    spec = importlib.util.spec_from_file_location("kulturskole_evaluate", ROOT / "training" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_default_is_project_model():
    nlp = load()
    assert nlp.lang == "nb"
    assert {"morphologizer", "trainable_lemmatizer", "senter", "ner"} <= set(nlp.pipe_names)
    assert {"PER", "ORG", "LOC", "GPE"} <= set(nlp.get_pipe("ner").labels)
    assert load() is nlp  # cached: loaded once per process


def test_load_by_path_is_the_same_cached_pipeline():
    assert load(str(DEFAULT_MODEL_DIR)) is load()
    assert load(DEFAULT_MODEL_DIR) is load()


def test_load_missing_folder_raises_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="No spaCy pipeline"):
        load(tmp_path / "nowhere")


@pytest.mark.skipif(spacy.util.is_package("nb_core_news_sm"), reason="nb_core_news_sm is installed")
def test_load_uninstalled_package_names_the_fix():
    with pytest.raises(ModelNotAvailableError) as err:
        load("nb_core_news_sm")
    message = str(err.value)
    assert "nb_core_news_sm" in message and "spacy download nb_core_news_sm" in message
    assert isinstance(load(), spacy.language.Language)  # the project model still loads


def test_load_installed_package_is_used(monkeypatch):
    """A package that IS installed is loaded by name through spacy.load."""
    fake = spacy.blank("nb")
    monkeypatch.setattr(nlp_mod.spacy.util, "is_package", lambda name: name == "nb_core_news_sm")
    monkeypatch.setattr(nlp_mod.spacy, "load", lambda name: fake if name == "nb_core_news_sm" else None)
    nlp_mod._load.cache_clear()
    try:
        assert load("nb_core_news_sm") is fake
    finally:
        nlp_mod._load.cache_clear()


def test_model_info_is_deterministic():
    info = model_info(load())
    assert info["name"] == "nb_kulturskole"
    assert info["version"]
    assert re.fullmatch(r"[0-9a-f]{64}", info["sha256"])
    assert model_info(load()) == info
    assert model_info(spacy.blank("nb"))["sha256"] is None


def test_pipeline_annotates_raw_text():
    doc = load()("Kari Nordmann bur i Bergen. Ho arbeider på Universitetet i Bergen.")
    assert len(list(doc.sents)) == 2
    assert any(e.label_ == "PER" and e.text == "Kari Nordmann" for e in doc.ents)
    assert all(t.lemma_ for t in doc)


def test_variety_guess_and_lemma_of_the_right_standard():
    nno = load()("Eg trur ikkje at det er nokon som veit kva dei skal gjere no.")
    nob = load()("Jeg tror ikke at det er noen som vet hva de skal gjøre nå.")
    assert (nno._.variety, nob._.variety) == ("nno", "nob")
    assert [t.lemma_ for t in nno if t.text == "er"] == ["vere"]
    assert [t.lemma_ for t in nob if t.text == "er"] == ["være"]


# Measured on the slices (model 0.1.0): lemma accuracy 0.960 nob / 0.972 nno,
# PER F1 0.808 nob / 0.800 nno. On the full UD test sets: lemma 0.964 / 0.964,
# PER F1 0.818 / 0.854 (models/nb_kulturskole/README.md).
@pytest.mark.parametrize("lang, lemma_floor, per_floor", [
    ("nob", 0.95, 0.75),
    ("nno", 0.96, 0.75),
])
def test_scores_on_ud_test_slice(lang, lemma_floor, per_floor):
    scores = _evaluate_module().score_file(load(), FIXTURES / f"ud-test-slice-{lang}.conllu")
    assert scores["lemma_acc"] >= lemma_floor
    assert scores["ents"]["PER"]["f"] >= per_floor
