"""Turn the best trained pipeline into the shipped model folder.

Usage::

    python training/finalize.py [training/output/model-best [models/nb_kulturskole]] \\
        [--tables training/corpus/variety.json]

Adds the ``nb_variety`` component (``pipeline/nlp.py``) with the tables that
``convert.py`` learnt from the training split, sets the package metadata and
writes the pipeline with ``nlp.to_disk``. The model card README.md in the
output folder is kept. No vectors, no training data are written.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.nlp import model_info  # noqa: E402  (registers nb_variety)

import spacy  # noqa: E402

META = {
    "name": "kulturskole",
    "version": "0.1.0",
    "description": "Norwegian (Bokmål + Nynorsk) pipeline of the Fremtidens kulturskole project: "
                   "UPOS, edit-tree lemmas, sentences, NorNE entities. CNN, no vectors.",
    "author": "Fremtidens kulturskole text-analysis pipeline",
    "license": "CC0-1.0 annotations (NDT, NorNE); weights only, no texts",
    "sources": [
        {"name": "Norwegian Dependency Treebank (NDT)", "url": "https://www.nb.no/sprakbanken/",
         "license": "CC0-1.0 annotations; texts not redistributable as stand-alone texts"},
        {"name": "NorNE", "url": "https://github.com/ltgoslo/norne", "license": "CC0-1.0"},
    ],
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trained", type=Path, nargs="?", default=ROOT / "training/output/model-best")
    ap.add_argument("out", type=Path, nargs="?", default=ROOT / "models/nb_kulturskole")
    ap.add_argument("--tables", type=Path, default=ROOT / "training/corpus/variety.json")
    args = ap.parse_args(argv)

    nlp = spacy.load(args.trained)
    fixer = nlp.add_pipe("nb_variety", after="trainable_lemmatizer")
    fixer.set_tables(json.loads(args.tables.read_text(encoding="utf-8")))
    nlp.meta.update(META)
    nlp.meta.pop("performance", None)  # dev scores of training; measured test scores are in README.md

    card = args.out / "README.md"
    card_text = card.read_text(encoding="utf-8") if card.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(tmp)
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(tmp, args.out)
    if card_text is not None:
        card.write_text(card_text, encoding="utf-8")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    info = model_info(spacy.load(args.out))
    print(json.dumps({**info, "size_bytes": size}, indent=2))


if __name__ == "__main__":
    main()
