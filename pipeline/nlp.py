"""Loading the spaCy pipeline and describing it for the manifest.

The project ships its own Norwegian pipeline (Bokmål + Nynorsk) at
``models/nb_kulturskole`` (see ``models/nb_kulturskole/README.md``): tokenizer
of spaCy's "nb" language, UPOS tagging, edit-tree lemmatizer, sentence
boundaries and NorNE entities (PER, ORG, LOC, GPE, PROD, EVT, DRV). Its
lemmas follow the Norwegian Dependency Treebank (e.g. punctuation lemmas
like ``$.``; proper nouns keep their case). One component,
``nb_variety``, is defined here, so load the model through this module
(importing it registers the component for ``spacy.load`` too).

``load()`` returns that pipeline; ``load(name)`` returns another one, given as
an installed package name (e.g. ``nb_core_news_sm``) or a model folder.
Nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.config import MODELS_DIR

DEFAULT_MODEL_DIR = MODELS_DIR / "nb_kulturskole"


class ModelNotAvailableError(RuntimeError):
    """The requested spaCy pipeline is neither an installed package nor a folder."""


if not Doc.has_extension("variety"):
    Doc.set_extension("variety", default=None)


class VarietyLemmaFixer:
    """Guess whether a Doc is Bokmål or Nynorsk and fix lemmas of the other standard.

    The joint model sometimes gives a Nynorsk word its Bokmål lemma or vice
    versa (``er`` -> ``være`` in a Nynorsk text, where NDT writes ``vere``).
    The Doc's written standard is guessed from the sum of per-word
    log-likelihood ratios (``llr``, learnt from the training split);
    ``doc._.variety`` is set to ``"nob"``, ``"nno"`` or ``None`` (score within
    ``threshold``: too little evidence, nothing changed). Then a token whose
    predicted lemma is the other standard's usual lemma of its form is given
    this standard's lemma (``lemma_fix``, also from the training split).
    Tables are filled by ``training/finalize.py`` and saved with the model.
    """

    def __init__(self, threshold: float = 2.0):
        self.threshold = threshold
        self.llr: dict[str, float] = {}
        self.lemma_fix: dict[str, dict[str, list[str]]] = {"nob": {}, "nno": {}}

    def __call__(self, doc: Doc) -> Doc:
        score = sum(self.llr.get(t.lower_, 0.0) for t in doc)
        variety = "nno" if score > self.threshold else "nob" if score < -self.threshold else None
        doc._.variety = variety
        if variety:
            table = self.lemma_fix[variety]
            for token in doc:
                pair = table.get(token.text)
                if pair and token.lemma_ == pair[0]:
                    token.lemma_ = pair[1]
        return doc

    def set_tables(self, tables: dict) -> None:
        """Take ``{"llr": ..., "lemma_fix": ...}`` as written by training/convert.py."""
        self.llr, self.lemma_fix = tables["llr"], tables["lemma_fix"]

    def to_disk(self, path, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "tables.json", {"llr": self.llr, "lemma_fix": self.lemma_fix})

    def from_disk(self, path, exclude=()) -> "VarietyLemmaFixer":
        self.set_tables(srsly.read_json(Path(path) / "tables.json"))
        return self


@Language.factory("nb_variety", default_config={"threshold": 2.0})
def make_variety_lemma_fixer(nlp: Language, name: str, threshold: float) -> VarietyLemmaFixer:
    """Factory of the ``nb_variety`` component (see ``VarietyLemmaFixer``)."""
    return VarietyLemmaFixer(threshold)


def _resolve(name: str | Path | None) -> str:
    """Turn ``name`` into the cache key: an absolute folder path or a package name."""
    if name is None:
        name = DEFAULT_MODEL_DIR
    path = Path(name).expanduser()
    if path.exists() or isinstance(name, Path) or "/" in str(name) or "\\" in str(name):
        return str(path.resolve())
    return str(name)


def load(name: str | Path | None = None) -> Language:
    """Return the spaCy pipeline ``name`` (package name or folder), default the project's own.

    The pipeline is loaded once per process and per resolved name (cached).
    Raises ``ModelNotAvailableError`` with instructions when ``name`` is
    neither a folder nor an installed package (e.g. ``nb_core_news_sm``
    without ``python -m spacy download nb_core_news_sm``).
    """
    return _load(_resolve(name))


@lru_cache(maxsize=None)
def _load(key: str) -> Language:
    """Load the pipeline for a key from ``_resolve`` (cached)."""
    path = Path(key)
    if path.is_absolute():
        if not (path / "config.cfg").is_file():
            hint = ("rebuild it with `make model`" if path == DEFAULT_MODEL_DIR.resolve()
                    else "pass a folder written by spaCy's nlp.to_disk")
            raise ModelNotAvailableError(f"No spaCy pipeline at {path}: {hint}.")
        return spacy.load(path)
    if spacy.util.is_package(key):
        return spacy.load(key)
    raise ModelNotAvailableError(
        f"spaCy pipeline {key!r} is not installed. Install it into this environment "
        f"(`python -m spacy download {key}`, which needs network access), pass the path "
        f"of a model folder instead, or leave out --model to use the project's own "
        f"pipeline at {DEFAULT_MODEL_DIR}."
    )


load.cache_clear = _load.cache_clear  # type: ignore[attr-defined]


def _folder_checksum(folder: Path) -> str:
    """SHA-256 over every file below ``folder``: relative POSIX path and content, sorted by path.

    The model card ``README.md`` at the top of the folder is left out, so
    editing documentation does not change the model's identity.
    """
    digest = hashlib.sha256()
    files = sorted((p for p in folder.rglob("*") if p.is_file() and p != folder / "README.md"),
                   key=lambda p: p.relative_to(folder).as_posix())
    for p in files:
        digest.update(p.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(p.read_bytes()).hexdigest().encode("ascii") + b"\n")
    return digest.hexdigest()


def model_info(nlp: Language) -> dict:
    """Describe a loaded pipeline for the manifest: name, version, path, components, sha256.

    ``sha256`` is a checksum of the files of the folder the pipeline was
    loaded from, model card excluded (same files, same checksum on every
    machine); it is ``None`` for a pipeline built in memory.
    """
    meta = nlp.meta
    path = Path(nlp.path) if nlp.path is not None else None
    return {
        "name": f"{meta.get('lang', nlp.lang)}_{meta.get('name', 'pipeline')}",
        "version": meta.get("version"),
        "spacy_version": spacy.__version__,
        "path": str(path) if path else None,
        "pipeline": list(nlp.pipe_names),
        "sha256": _folder_checksum(path) if path and path.is_dir() else None,
    }
