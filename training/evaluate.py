"""Score a spaCy pipeline on UD CoNLL-U files given the gold tokens.

Usage::

    python training/evaluate.py [--model models/nb_kulturskole] [--norne ../shared/norne] [FILES.conllu ...]

Without FILES, the two full UD test sets below ``--norne`` are scored.

For every sentence a Doc is built from the gold token forms (spaces from
``SpaceAfter=No``) and all pipeline components run on it. Scores:

* ``lemma_acc``: predicted lemma == gold lemma (column 3), compared
  case-sensitively exactly as the treebank writes it, over tokens whose gold
  UPOS is not PUNCT (``lemma_acc_all`` includes punctuation);
* ``pos_acc``: predicted UPOS vs gold UPOS (the model learns UPOS mapped from
  NDT tags, so AUX/NUM/DET differences are partly annotation, not error);
* ``ents``: exact-span precision/recall/F1 per label against the ``name=``
  tags in MISC, with GPE_LOC and GPE_ORG merged into GPE and MISC dropped,
  as in training (see ``convert.py``).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from spacy.tokens import Doc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert import fix_bio, name_tag, read_conll  # noqa: E402


def gold_spans(bio: list[str]) -> set[tuple[int, int, str]]:
    """Entity spans (start, end, label) of a BIO tag list."""
    spans, start, label = set(), None, None
    for i, tag in enumerate(bio + ["O"]):
        if start is not None and not tag.startswith("I-"):
            spans.add((start, i, label))
            start = None
        if tag.startswith("B-"):
            start, label = i, tag[2:]
    return spans


def prf(tp: int, fp: int, fn: int) -> dict:
    """Precision, recall and F1 from counts."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "n_gold": tp + fn}


def score_file(nlp, path: Path) -> dict:
    """Score ``nlp`` on one CoNLL-U file given its gold tokens (see module docstring)."""
    sents = list(read_conll(path))
    docs = [Doc(nlp.vocab, words=[c[1] for c in s],
                spaces=["SpaceAfter=No" not in c[9].split("|") for c in s]) for s in sents]
    lem_ok = lem_n = lem_all_ok = pos_ok = n = 0
    counts: dict[str, Counter] = {}
    for sent, doc in zip(sents, nlp.pipe(docs, batch_size=256)):
        for c, tok in zip(sent, doc):
            n += 1
            lem_all_ok += tok.lemma_ == c[2]
            pos_ok += tok.pos_ == c[3]
            if c[3] != "PUNCT":
                lem_n += 1
                lem_ok += tok.lemma_ == c[2]
        gold = gold_spans(fix_bio([name_tag(c[9]) for c in sent]))
        pred = {(e.start, e.end, e.label_) for e in doc.ents}
        for span in gold | pred:
            cnt = counts.setdefault(span[2], Counter())
            cnt["tp" if span in gold and span in pred else "fn" if span in gold else "fp"] += 1
    total = sum(counts.values(), Counter())
    return {
        "file": path.name, "sentences": len(sents), "tokens": n, "lemma_tokens": lem_n,
        "lemma_acc": round(lem_ok / lem_n, 4), "lemma_acc_all": round(lem_all_ok / n, 4),
        "pos_acc": round(pos_ok / n, 4),
        "ents": {"ALL": prf(total["tp"], total["fp"], total["fn"]),
                 **{k: prf(v["tp"], v["fp"], v["fn"]) for k, v in sorted(counts.items())}},
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="CoNLL-U files (default: the UD test sets)")
    ap.add_argument("--model", default=None, help="package name or folder (default: project model)")
    ap.add_argument("--norne", type=Path, default=Path("../shared/norne"), help="treebank folder")
    args = ap.parse_args(argv)
    files = args.files or [args.norne / "ud/nob/no_bokmaal-ud-test.conllu",
                           args.norne / "ud/nno/no_nynorsk-ud-test.conllu"]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pipeline.nlp import load

    nlp = load(args.model)
    print(json.dumps([score_file(nlp, f) for f in files], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
