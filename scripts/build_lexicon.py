#!/usr/bin/env python
"""Build the compact Norwegian word list used by ``pipeline.clean``.

Run once by a maintainer (``python scripts/build_lexicon.py``); the result is
committed under ``seeds/lexicon/`` so that the pipeline never needs apt,
hunspell or ``/work/shared`` at run or test time.

Sources (all optional except at least one):

* NorNE / Norwegian Dependency Treebank CoNLL files (Bokmål ``nob`` and
  Nynorsk ``nno``): word forms (column 2) and lemmas (column 3). The
  annotations are CC0 (National Library of Norway); only isolated word types
  are kept, never running text, so no sentence can be rebuilt from the list.
* hunspell-no (Debian package, GPL-2 / LGPL): ``nb_NO`` and ``nn_NO``
  dictionaries expanded to all affixed forms with ``unmunch`` (package
  ``hunspell-tools``) when it is installed, else with spylls (slower).
  Compounds (hunspell COMPOUNDFLAG) are *not* expanded: the cleaner splits
  compounds itself at run time.
* wordfreq is *not* copied into the list; the cleaner queries it at run time.

Output: ``seeds/lexicon/words-nb-nn.txt.gz``: a header of ``#`` lines
(provenance, counts) then one lower-cased word per line, sorted. The build
is reproducible: the same sources give byte-identical output (no dates, gzip
mtime 0).
Words are kept if they are made of letters, with optional inner hyphens,
apostrophes or dots (abbreviations such as ``m.fl.`` are stored without the
final dot), 1..40 characters long.
"""
from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "seeds" / "lexicon" / "words-nb-nn.txt.gz"
WORD_RE = re.compile(r"^[^\W\d_]+(?:[-'.][^\W\d_]+)*$")


def normalise(form: str) -> str | None:
    """Lower-case a form, strip a final dot, and return it if it looks like a word."""
    w = form.strip().lower().rstrip(".")
    if not w or len(w) > 40 or "\ufffd" in w:
        return None
    return w if WORD_RE.match(w) else None


def conll_words(root: Path) -> set[str]:
    """Word forms and lemmas (columns 2 and 3) of every ``*.conll`` file under ``root``."""
    words: set[str] = set()
    for path in sorted(root.rglob("*.conll")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip() or line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) < 3:
                    continue
                for form in (cols[1], cols[2]):
                    w = normalise(form)
                    if w:
                        words.add(w)
    return words


def hunspell_words(dic: Path, aff: Path) -> set[str]:
    """All affixed forms of a hunspell dictionary (``unmunch`` if present, else spylls)."""
    words: set[str] = set()
    encoding = "utf-8"
    for line in aff.read_bytes().decode("latin-1").splitlines():
        if line.startswith("SET "):
            encoding = line.split()[1].strip()
            break
    if shutil.which("unmunch"):
        out = subprocess.run(["unmunch", str(dic), str(aff)], capture_output=True, check=True).stdout
        forms = out.decode(encoding, errors="replace").splitlines()
    else:  # pragma: no cover - slow pure-Python fallback
        from spylls.hunspell import Dictionary

        d = Dictionary.from_files(str(dic.with_suffix("")))
        forms = [f for word in d.dic.words for f in _spylls_forms(d, word)]
    for form in forms:
        w = normalise(form.split("/")[0])
        if w:
            words.add(w)
    return words


def _spylls_forms(d, word):  # pragma: no cover - fallback only
    """Stem plus suffixed forms of one spylls dictionary entry (prefixes ignored)."""
    yield word.stem
    for flag in word.flags:
        for suffix in d.aff.SFX.get(flag, []):
            if suffix.cond_regexp.search(word.stem):
                base = word.stem[: len(word.stem) - len(suffix.strip)] if suffix.strip else word.stem
                yield base + suffix.add


def main(argv: list[str] | None = None) -> int:
    """Parse options, gather all sources, write the gzip word list and report counts."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--norne", type=Path, default=Path("/work/shared/norne/ndt"))
    ap.add_argument("--hunspell", type=Path, default=Path("/usr/share/hunspell"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-hunspell", action="store_true",
                    help="CC0-only list (NorNE/NDT forms); weaker, but free of the GPL-2 hunspell data")
    args = ap.parse_args(argv)
    t0 = time.time()
    sources: dict[str, set[str]] = {}
    if args.norne.is_dir():
        sources["norne-ndt"] = conll_words(args.norne)
    for lang in () if args.no_hunspell else ("nb_NO", "nn_NO"):
        dic, aff = args.hunspell / f"{lang}.dic", args.hunspell / f"{lang}.aff"
        if dic.exists() and aff.exists():
            sources[f"hunspell-{lang}"] = hunspell_words(dic, aff)
    if not sources:
        print("no source found", file=sys.stderr)
        return 1
    words = sorted(set().union(*sources.values()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = [
        "# Norwegian (Bokmål + Nynorsk) word list for pipeline.clean; built by scripts/build_lexicon.py",
    ] + [f"# source {name}: {len(ws)} words" for name, ws in sources.items()] + [
        "# licences: NorNE/NDT annotations CC0 (word types only, no text);"
        " hunspell-no forms GPL-2 (see seeds/lexicon/README.md)",
        f"# words: {len(words)}",
    ]
    payload = ("\n".join(header) + "\n" + "\n".join(words) + "\n").encode("utf-8")
    # mtime=0 and no file name in the gzip header: the same sources give the same bytes
    with args.out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh:
        fh.write(payload)
    print("\n".join(header))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
