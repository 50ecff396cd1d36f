#!/usr/bin/env python3
"""Measure the normalise stage: throughput per backend and quality figures.

Usage::

    python scripts/bench_normalise.py [--backend lexicon|apertium|all] [--repeat N] [--json]

Throughput is words per second of ``to_bokmal`` over all response posts of
the seed exports as published in data/processed (run `make all` first; see
``pipeline.normalise.devdata``), as one batch,
after a warm-up call that loads the word lists. Quality figures: variant
accuracy against posts.json, bag-of-words F1 against the hand-written
references (tests/fixtures/nn_nb_reference.jsonl), the share of Nynorsk
marker words left in Nynorsk posts and the share of words Bokmål posts
keep. Called by ``make bench``; never by the tests.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.normalise import apertium_available, backend_info, to_bokmal  # noqa: E402
from pipeline.normalise.devdata import load_posts  # noqa: E402
from pipeline.normalise.metrics import bow_f1, kept_share, remaining_nn_share  # noqa: E402

REFS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "nn_nb_reference.jsonl"


def words_per_second(backend: str, texts: list[str], repeat: int = 3) -> float:
    """Best-of-``repeat`` words/second of one ``to_bokmal`` batch call."""
    to_bokmal(texts[:2], backend=backend)  # warm-up: word lists, Apertium check
    n_words = sum(len(re.findall(r"[^\W\d_]+", t)) for t in texts)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        to_bokmal(texts, backend=backend)
        best = min(best, time.perf_counter() - t0)
    return n_words / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="all", choices=["all", "lexicon", "apertium"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    posts = [p for p in load_posts() if p.kind == "response"]
    refs = [json.loads(x) for x in REFS.read_text(encoding="utf-8").splitlines() if x.strip()]
    backends = ["lexicon", "apertium"] if args.backend == "all" else [args.backend]
    if "apertium" in backends and not apertium_available():
        print("apertium-nno-nob not installed: skipping the apertium backend", file=sys.stderr)
        backends.remove("apertium")

    ok = sum(p.predicted == p.variant or (p.variant == "mixed" and p.predicted == "nn") for p in posts)
    report: dict = {
        "posts": len(posts),
        "variant_accuracy": round(ok / len(posts), 4),
        "references": len(refs),
        "bow_f1_untouched": round(sum(bow_f1(r["nn"], r["nb"]) for r in refs) / len(refs), 4),
        "backends": {},
    }
    nn_src = [p.text for p in posts if p.variant != "nb"]
    nb_src = [p.text for p in posts if p.variant == "nb"]
    outs = {}
    for b in backends:
        ref_out = to_bokmal([r["nn"] for r in refs], backend=b)
        outs[b] = ref_out
        after, before, rem = remaining_nn_share(nn_src, to_bokmal(nn_src, backend=b))
        kept, total, keep = kept_share(nb_src, to_bokmal(nb_src, backend=b))
        report["backends"][b] = {
            **backend_info(b),
            "bow_f1_vs_references": round(sum(bow_f1(o, r["nb"]) for o, r in zip(ref_out, refs)) / len(refs), 4),
            "nn_markers_remaining": f"{after}/{before}",
            "nn_markers_remaining_share": round(rem, 4),
            "nb_words_kept_share": round(keep, 4),
            "words_per_second": round(words_per_second(b, [p.text for p in posts], args.repeat), 1),
        }
    if len(outs) == 2:
        a, b = outs["lexicon"], outs["apertium"]
        report["bow_f1_lexicon_vs_apertium"] = round(sum(bow_f1(x, y) for x, y in zip(a, b)) / len(a), 4)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    for k, v in report.items():
        if k != "backends":
            print(f"{k:32s} {v}")
    for b, d in report["backends"].items():
        print(f"[{b}]")
        for k, v in d.items():
            print(f"  {k:30s} {v}")


if __name__ == "__main__":
    main()
