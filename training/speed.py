"""Print the words per second of a spaCy pipeline with ``nlp.pipe`` on one CPU core.

Usage::

    python training/speed.py [--model models/nb_kulturskole] [FILES.conllu ...]

The texts are the ``# text =`` lines of the given CoNLL-U files (default: the
UD test slices in ``tests/fixtures``), repeated until at least ``--words``
words, run through the whole pipeline (tokenizer included) after a warm-up.
BLAS/OpenMP are limited to one thread before numpy is imported. The figure is
words per CPU second of this process (one core), so other load on a shared
machine does not distort it; the wall-clock rate is printed too.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = sorted((ROOT / "tests" / "fixtures").glob("ud-test-slice-*.conllu"))


def texts_from(files: list[Path]) -> list[str]:
    """The ``# text =`` lines of CoNLL-U files."""
    return [line.split("=", 1)[1].strip()
            for f in files for line in f.read_text(encoding="utf-8").splitlines()
            if line.startswith("# text =")]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    ap.add_argument("--model", default=None, help="package name or folder (default: project model)")
    ap.add_argument("--words", type=int, default=100_000, help="minimum number of words to time")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from pipeline.nlp import load

    nlp = load(args.model)
    texts = texts_from(args.files)
    list(nlp.pipe(texts[:200], batch_size=args.batch_size))  # warm-up
    n_per_round = sum(len(d) for d in nlp.tokenizer.pipe(texts))
    texts = texts * max(1, -(-args.words // n_per_round))
    start, cpu_start = time.perf_counter(), time.process_time()
    words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=args.batch_size))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{words / cpu:.0f} words/sec ({words} words in {cpu:.1f} s CPU time; "
          f"{words / seconds:.0f} words/sec wall clock on a possibly busy machine)")


if __name__ == "__main__":
    main()
