"""Command line: one subcommand per stage, plus ``all``.

Run ``python -m pipeline --help`` or ``python -m pipeline COMMAND --help``.
"""
from __future__ import annotations

import gc
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from pipeline import config

app = typer.Typer(
    help=(
        "Turn Padlet exports of the 'Fremtidens kulturskole' seminars into tables.\n\n"
        "Example: python -m pipeline all --raw-dir data/raw --out-dir data/processed"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RawDir = typer.Option(config.RAW_DIR, "--raw-dir", help="Folder with the *.txt exports (read-only).")
OutDir = typer.Option(config.PROCESSED_DIR, "--out-dir", help="Folder the tables and MANIFEST.json are written to.")


@contextmanager
def _imports_kept_from_the_collector():
    """Import modules without garbage collections, then move what was imported out of the collector's way.

    The stages import pandas, pyarrow and spaCy: about a million objects
    (functions, classes, tables) that live as long as the process. Each
    collection while they are created traverses them again and finds next
    to nothing to free; afterwards ``gc.freeze()`` moves them to the
    permanent generation, which later collections (and forked workers,
    whose pages they share) leave alone. The collector's state is restored
    (``gc_paused``).
    """
    from pipeline.parallel import gc_paused

    with gc_paused():
        yield
    gc.freeze()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


@app.command("all")
def all_command(
    raw_dir: Path = RawDir,
    out_dir: Path = OutDir,
    strict: bool = typer.Option(False, "--strict", help="Stop before writing anything if any input file cannot be used."),
    private_dir: Path = typer.Option(config.PRIVATE_DIR, "--private-dir", help="Where the pseudonym key is written (git-ignored; never publish it)."),
    backend: str = typer.Option("auto", "--backend", help="Nynorsk->Bokmål backend: apertium, lexicon, or auto (Apertium when installed)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Boards processed in parallel worker processes; the output is identical for any number."),
    timings: Path = typer.Option(None, "--timings", help="Write seconds per stage to this JSON file (wall-clock, board stages summed over boards; used by `make bench`)."),
    model: str = typer.Option(None, "--model", help="spaCy pipeline to use: an installed package (nb_core_news_sm) or a folder; default the project's models/nb_kulturskole."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Reuse finished boards whose export and code are unchanged (keep it private: it holds names), e.g. data/private/cache."),
    keep_names: Path = typer.Option(None, "--keep-names", help="Also write an internal copy WITH personal names to this folder (only for those allowed to see names; never inside data/processed)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),
) -> None:
    """Run every stage on every export in RAW_DIR and write the tables to OUT_DIR.

    Personal names are replaced by pseudonyms ("Person 7") in every table; the
    key is written to --private-dir only.

    Example: python -m pipeline all --raw-dir data/raw --out-dir /tmp/out
    """
    with _imports_kept_from_the_collector():
        from pipeline.nlp import ModelNotAvailableError
        from pipeline.run import BadInputError, run_all

    _setup_logging(verbose)
    try:
        if keep_names is not None:
            if keep_names.resolve() == out_dir.resolve() or out_dir.resolve() in keep_names.resolve().parents:
                raise ValueError("--keep-names must point outside the published output folder")
            run_all(raw_dir, keep_names, strict=strict, progress=False, keep_names=True, backend=backend, jobs=jobs)
            typer.echo(f"wrote internal copy with names to {keep_names}")
        manifest = run_all(
            raw_dir, out_dir, strict=strict, progress=sys.stderr.isatty(), private_dir=private_dir, backend=backend,
            jobs=jobs, timings=timings, cache_dir=cache_dir, model=model,
        )
    except (BadInputError, FileNotFoundError, ValueError, ModelNotAvailableError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"wrote {manifest}")


@app.command("ingest")
def ingest_command(
    raw_dir: Path = RawDir,
    out_dir: Path = OutDir,
    strict: bool = typer.Option(False, "--strict", help="Stop before writing anything if any input file cannot be used."),
    private_dir: Path = typer.Option(config.PRIVATE_DIR, "--private-dir", help="Where the pseudonym key is written (git-ignored)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Boards processed in parallel (same output for any number)."),
) -> None:
    """Parse, clean and pseudonymise the exports: writes boards, posts, repairs and rejects.

    Example: python -m pipeline ingest --raw-dir data/raw --out-dir data/processed
    """
    from pipeline.run import BadInputError, run_ingest

    _setup_logging(False)
    try:
        manifest = run_ingest(raw_dir, out_dir, strict=strict, progress=sys.stderr.isatty(), private_dir=private_dir, jobs=jobs)
    except (BadInputError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"wrote {manifest}")


@app.command("normalise")
def normalise_command(
    out_dir: Path = OutDir,
    backend: str = typer.Option("auto", "--backend", help="apertium, lexicon, or auto (Apertium when installed)."),
) -> None:
    """Detect Bokmål/Nynorsk per post and write text_nb (the post in Bokmål) into posts.

    Example: python -m pipeline normalise --out-dir data/processed --backend lexicon
    """
    from pipeline.run import run_normalise

    _setup_logging(False)
    typer.echo(f"wrote {run_normalise(out_dir, backend)}")


@app.command("who")
def who_command(out_dir: Path = OutDir) -> None:
    """Find groups, participants and places (municipalities) and link posts to groups.

    Example: python -m pipeline who --out-dir data/processed
    """
    from pipeline.run import run_who

    _setup_logging(False)
    typer.echo(f"wrote {run_who(out_dir)}")


@app.command("tag")
def tag_command(out_dir: Path = OutDir) -> None:
    """Code the response posts against seeds/codebook.yaml: writes codebook, segments, tags, theme_matrix.

    Run it after editing the codebook: it re-codes without re-parsing.

    Example: python -m pipeline tag --out-dir data/processed
    """
    from pipeline.run import run_tag

    _setup_logging(False)
    typer.echo(f"wrote {run_tag(out_dir)}")


@app.command("clean")
def clean_command(
    export: Path = typer.Argument(..., help="One export file (.txt) to restore.", exists=True, dir_okay=False),
    repairs: bool = typer.Option(False, "--repairs", help="List every repair (line, kind, before -> after, rule) instead of the text."),
) -> None:
    """Print the restored text of one export, post by post (writes nothing).

    Example: python -m pipeline clean data/raw/2025-05-05_nasjonalt-dialogseminar.txt --repairs
    """
    from pipeline.ingest import read_export
    from pipeline.run import clean_board

    board = read_export(export)
    for ordinal, (text, title, rows) in clean_board(board).items():
        if repairs:
            for row in rows:
                typer.echo(f"{row['source_line']}\t{row['kind']}\t{row['before']!r} -> {row['after']!r}\t{row['rule']}")
        else:
            typer.echo(f"### post {ordinal}: {title or ''}\n{text}\n")


@app.command("docs")
def docs_command(
    out: Path = typer.Option(config.DOCS_DIR / "data-dictionary.md", "--out", help="Markdown file to write."),
) -> None:
    """Write the data dictionary (every table and column) from pipeline/schema.py.

    Example: python -m pipeline docs --out docs/data-dictionary.md
    """
    from pipeline.schema import data_dictionary_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data_dictionary_markdown(), encoding="utf-8")
    typer.echo(f"wrote {out}")


def _register_evaluate() -> None:
    with _imports_kept_from_the_collector():
        from pipeline.evaluate import evaluate_command

    app.command("evaluate")(evaluate_command)


_register_evaluate()
