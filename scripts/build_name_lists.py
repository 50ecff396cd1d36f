"""Build the Norwegian given-name and surname lists used to find person names.

Source: the PER entities of NorNE (Norwegian Dependency Treebank with NorNE
entity annotations, Bokmål and Nynorsk; annotations CC0). Only the name
tokens are kept (a word list, not the texts). In a multi-token PER span the
first token is taken as a given name and the last as a surname. Tokens that
the treebank more often writes in lower case as ordinary words than as
names ("Time", "Tid") are dropped, so the lists do not make common words
look like names.

Usage: python scripts/build_name_lists.py [NORNE_DIR] (default ../shared/norne)
Writes seeds/names/given_names.txt and seeds/names/surnames.txt.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from pipeline import config

MIN_COUNT = 1


def per_spans(conll: Path):
    span: list[str] = []
    for line in conll.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        tag = cols[9].removeprefix("name=") if len(cols) >= 10 else "O"
        if tag == "B-PER" or (tag == "I-PER" and not span):
            if span:
                yield span
            span = [cols[1]]
        elif tag == "I-PER":
            span.append(cols[1])
        elif span:
            yield span
            span = []
    if span:
        yield span


def lowercase_counts(norne: Path) -> Counter[str]:
    """How often each word form occurs written in lower case in the treebank."""
    counts: Counter[str] = Counter()
    for conll in sorted(norne.glob("ndt/*/*.conll")):
        for line in conll.read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            if len(cols) >= 2 and cols[1].islower():
                counts[cols[1]] += 1
    return counts


def is_name_token(token: str, as_name: int, lowercase: Counter[str]) -> bool:
    return (
        token[:1].isupper()
        and token.replace("-", "").isalpha()
        and len(token) >= 2
        and lowercase[token.lower()] < as_name
    )


def main(norne: Path) -> None:
    given: Counter[str] = Counter()
    surnames: Counter[str] = Counter()
    for conll in sorted(norne.glob("ndt/*/*.conll")):
        for span in per_spans(conll):
            if len(span) >= 2:
                given[span[0]] += 1
                surnames[span[-1]] += 1
    lowercase = lowercase_counts(norne)
    out = config.SEEDS_DIR / "names"
    out.mkdir(parents=True, exist_ok=True)
    for name, counts in (("given_names", given), ("surnames", surnames)):
        words = sorted(w for w, c in counts.items() if c >= MIN_COUNT and is_name_token(w, c, lowercase))
        header = f"# {name} from NorNE PER entities (CC0); built by scripts/build_name_lists.py\n"
        (out / f"{name}.txt").write_text(header + "\n".join(words) + "\n", encoding="utf-8")
        print(f"{name}: {len(words)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else config.PROJECT_ROOT.parent / "shared" / "norne")
