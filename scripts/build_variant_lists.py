#!/usr/bin/env python3
"""Derive the compact Bokmål/Nynorsk word lists in ``seeds/`` ONCE.

Run on a Debian machine with ``apt-get install hunspell-no hunspell-tools``::

    python scripts/build_variant_lists.py [--hunspell-dir /usr/share/hunspell]

It expands the hunspell nb_NO and nn_NO dictionaries with ``unmunch`` (all
inflected forms, no compounds; capitalised entries, i.e. names, dropped)
and writes, sorted:

* ``seeds/nb_forms.txt.gz``  every Bokmål form (the guard lexicon: an
  inflection rule may only produce a word found here or a compound whose
  head is found here);
* ``seeds/nn_only.txt.gz``   forms in nn_NO but not in nb_NO (evidence for
  Nynorsk);
* ``seeds/nb_only.txt.gz``   forms in nb_NO but not in nn_NO that also occur
  in wordfreq's Norwegian list (evidence for Bokmål; the frequency filter
  keeps the list compact and drops rare compounds).

The pipeline itself only reads the gz files (pure Python at run time).
Caveat: hunspell nb_NO contains a few Nynorsk-looking forms (frå, kjem, sjå,
berre, heile); the hand-written marker lists in ``pipeline/normalise``
override the lists for such words.
"""
from __future__ import annotations

import argparse
import gzip
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def expand(dic: Path, aff: Path) -> set[str]:
    """Return all lower-case alphabetic forms that ``unmunch`` generates (no names)."""
    enc = "latin-1"
    for line in aff.read_text(encoding="latin-1").splitlines():
        if line.startswith("SET "):
            enc = line.split()[1].replace("ISO8859-1", "latin-1")
            break
    raw = subprocess.run(["unmunch", str(dic), str(aff)], capture_output=True, check=True).stdout
    words = set()
    for w in raw.decode(enc, errors="replace").split():
        # proper names (Ingar, Heim ...) would pass as common words: skip capitalised entries
        if w.isalpha() and w == w.lower():
            words.add(w)
    return words


def write(path: Path, words: set[str]) -> None:
    """Write one word a line, sorted, gzip-compressed with a fixed mtime."""
    data = ("\n".join(sorted(words)) + "\n").encode("utf-8")
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    print(f"{path.relative_to(ROOT)}: {len(words)} words")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hunspell-dir", default="/usr/share/hunspell", type=Path)
    args = ap.parse_args()
    nb = expand(args.hunspell_dir / "nb_NO.dic", args.hunspell_dir / "nb_NO.aff")
    nn = expand(args.hunspell_dir / "nn_NO.dic", args.hunspell_dir / "nn_NO.aff")
    from wordfreq import get_frequency_dict

    freq = get_frequency_dict("nb", "large")
    seeds = ROOT / "seeds"
    seeds.mkdir(exist_ok=True)
    write(seeds / "nb_forms.txt.gz", nb)
    write(seeds / "nn_only.txt.gz", nn - nb)
    write(seeds / "nb_only.txt.gz", {w for w in nb - nn if w in freq})


if __name__ == "__main__":
    main()
