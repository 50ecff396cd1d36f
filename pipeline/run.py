"""Run the stages over a folder of exports: the thin I/O layer around the pure stage functions.

``run_all`` reads every ``*.txt`` export in ``raw_dir`` (sorted by name, so
results do not depend on the file system's order), parses and cleans each
board, and writes the tables and ``MANIFEST.json`` into ``out_dir``. Files
that cannot be used go to the ``rejects`` table with the reason; with
``strict`` the run stops before writing anything and names every bad file.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

import pipeline
import pandas as pd

from pipeline import config, io, schema, stages, tables
from pipeline.clean import clean, clean_title
from pipeline.lexicon import load_lexicon
from pipeline.ingest import ExportError, decode_export, parse_board
from pipeline.ingest.common import is_artifact
from pipeline.model import Board
from pipeline.report import write_outputs
from pipeline.privacy import Pseudonymiser, pseudonymise_signature, pseudonymise_text, write_key

log = logging.getLogger("pipeline")


class BadInputError(RuntimeError):
    """Raised in strict mode: one or more input files cannot be used."""


@dataclass
class IngestResult:
    boards: list[tables.BoardRows] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    pseudonymiser: Pseudonymiser | None = None
    truncated: list[str] = field(default_factory=list)


def list_exports(raw_dir: Path) -> list[Path]:
    """The export files of a folder, sorted by name."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"{raw_dir} is not a folder: pass --raw-dir with the folder that holds the *.txt exports")
    return sorted(p for p in raw_dir.glob(config.EXPORT_GLOB) if p.is_file())


def clean_board(board: Board) -> dict[int, tuple[str, str | None, list[dict]]]:
    """Clean every post of a board: restored text, cleaned title and repair rows.

    Artefact lines (padlet links, reaction counts) are blanked before
    cleaning so that repair line offsets still map to export lines.
    """
    lexicon = load_lexicon()
    board_id = tables.board_id_for(board.source_file)
    cleaned: dict[int, tuple[str, str | None, list[dict]]] = {}
    for post in board.posts:
        post_id = tables.post_id_for(board_id, post.source_line)
        rows = [tables.repair_row(board_id, post_id, r.line, r) for r in post.header_repairs]
        title = None
        if post.title is not None:
            title, title_repairs = clean_title(post.title, lexicon)
            rows += [tables.repair_row(board_id, post_id, post.source_line, r) for r in title_repairs]
        body = "\n".join("" if is_artifact(line) else line for line in post.body_lines)
        text, repairs = clean(body, lexicon)
        rows += [tables.repair_row(board_id, post_id, post.body_start_line + r.line, r) for r in repairs]
        cleaned[post.ordinal] = (text, title, rows)
    return cleaned


def protect_board(board: Board, cleaned: dict, pseudonymiser: Pseudonymiser) -> None:
    """Replace personal names and e-mail addresses in every field of a board, in export order.

    Runs before any later stage, so segments, tags and places are computed
    on the pseudonymised text and their offsets stay exact.
    """
    board.author = pseudonymise_signature(board.author, pseudonymiser)
    board.description = pseudonymise_text(board.description, pseudonymiser)
    for post in board.posts:
        text, title, rows = cleaned[post.ordinal]
        post.author = pseudonymise_signature(post.author, pseudonymiser)
        title = pseudonymise_text(title, pseudonymiser)
        text = pseudonymise_text(text, pseudonymiser)
        post.group_label = pseudonymise_text(post.group_label, pseudonymiser)
        cleaned[post.ordinal] = (text, title, rows)


def ingest(raw_dir: Path, progress: bool = True, keep_names: bool = False) -> IngestResult:
    """Parse and clean every export in ``raw_dir``; unusable files become rejects.

    A file whose bytes, or whose text after decoding and normalising line
    endings and spaces, equal those of an earlier file (in name order) is a
    duplicate of it. A truncated export keeps every post up to the cut and
    is flagged in ``boards.truncated``.
    """
    result = IngestResult(pseudonymiser=None if keep_names else Pseudonymiser())
    seen: dict[str, str] = {}
    paths = list_exports(raw_dir)
    for path in tqdm(paths, desc="ingest", unit="board", disable=not progress):
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        try:
            if digest in seen:
                raise ExportError(f"{path.name}: duplicate of {seen[digest]} (identical bytes); remove one of them")
            text = decode_export(raw, path.name)
            text_digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if text_digest in seen:
                raise ExportError(f"{path.name}: duplicate of {seen[text_digest]} (same text in another encoding or line-ending style); remove one of them")
            board = parse_board(text, source_file=path.name, sha256=digest)
        except ExportError as exc:
            log.warning("rejected %s", exc)
            result.rejects.append({"source_file": path.name, "reason": str(exc).removeprefix(f"{path.name}: ")})
            continue
        seen[digest] = seen[text_digest] = path.name
        if board.truncated:
            log.warning("%s looks truncated: it ends without the export's end marker or mid-line; posts up to the cut are kept", path.name)
            result.truncated.append(path.name)
        n_lines = len(text.splitlines())
        cleaned = clean_board(board)
        if result.pseudonymiser is not None:
            protect_board(board, cleaned, result.pseudonymiser)
        result.boards.append(tables.board_rows(board, n_lines, cleaned))
        log.info("%s: %s layout, %d posts", path.name, board.layout, len(board.posts))
    if result.pseudonymiser is not None:
        for rows in result.boards:
            for repair in rows.repairs:
                repair["before"] = result.pseudonymiser.scrub(repair["before"])
                repair["after"] = result.pseudonymiser.scrub(repair["after"])
    return result


def ingest_frames(result: IngestResult) -> dict[str, pd.DataFrame]:
    """The boards, posts, repairs and rejects tables of an ingest result."""
    frames = {
        name: tables.frame(name, [row for board in result.boards for row in getattr(board, name)])
        for name in ("boards", "posts", "repairs")
    }
    frames["rejects"] = tables.frame("rejects", result.rejects)
    return frames


def write_frames(frames: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """Validate and write every frame as its table (each write atomic)."""
    for name, frame in frames.items():
        io.write_table(name, frame, out_dir)


def write_manifest(out_dir: Path, versions: dict | None = None, reset: bool = False) -> Path:
    """Write MANIFEST.json for the tables present in ``out_dir``.

    Records the pipeline version, the inputs (file name and SHA-256, from
    the boards table), and per table its row count and content hash; the
    ``versions`` of resources a stage used (codebook, model, backend) are
    merged into those already recorded (replaced with ``reset``). No timestamps or absolute paths, so
    the same inputs give the same manifest on any machine.
    """
    path = config.manifest_path(out_dir)
    previous = io.read_json(path) if path.exists() and not reset else {}
    entries = {
        name: io.table_summary(name, out_dir)
        for name in schema.TABLES
        if config.table_path(name, out_dir).exists()
    }
    inputs = {}
    if "boards" in entries:
        boards = io.read_table("boards", out_dir)
        inputs = dict(sorted(zip(boards["source_file"], boards["source_sha256"])))
    manifest = {
        "pipeline_version": pipeline.__version__,
        "inputs": inputs,
        "tables": entries,
        "versions": {**previous.get("versions", {}), **(versions or {})},
    }
    io.write_json_atomic(path, manifest)
    return path


def check_inputs(result: IngestResult, strict: bool, raw_dir: Path) -> None:
    """In strict mode, stop (before anything is written) when any file was unusable or truncated."""
    problems = [f"  {r['source_file']}: {r['reason']}" for r in result.rejects]
    problems += [f"  {name}: truncated export (posts up to the cut would be kept)" for name in result.truncated]
    if strict and problems:
        raise BadInputError(
            f"{len(problems)} input file(s) cannot be used as they are; nothing was written "
            "(run without --strict to process the rest):\n" + "\n".join(problems)
        )
    if not result.boards:
        log.warning("no usable export in %s", raw_dir)


def _ingest_checked(raw_dir: Path, out_dir: Path, strict: bool, progress: bool, keep_names: bool) -> IngestResult:
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if raw_dir.resolve() == out_dir.resolve():
        raise ValueError("--out-dir must differ from --raw-dir: raw data is read-only")
    result = ingest(raw_dir, progress=progress, keep_names=keep_names)
    check_inputs(result, strict, raw_dir)
    return result


def _write_key(result: IngestResult, private_dir: Path | None) -> None:
    if private_dir is not None and result.pseudonymiser is not None:
        key = write_key(result.pseudonymiser, Path(private_dir))
        log.info("pseudonym key (private, never publish): %s", key)


def run_ingest(
    raw_dir: Path,
    out_dir: Path,
    strict: bool = False,
    progress: bool = True,
    private_dir: Path | None = None,
) -> None:
    """Stage ingest on its own: parse, clean and pseudonymise; write boards, posts, repairs, rejects."""
    result = _ingest_checked(raw_dir, out_dir, strict, progress, keep_names=False)
    write_frames(ingest_frames(result), Path(out_dir))
    _write_key(result, private_dir)


def run_normalise(out_dir: Path, backend: str = "auto") -> dict:
    """Stage normalise on its own: fill posts' variant columns and text_nb; returns the manifest versions."""
    posts, info = stages.normalise(io.read_table("posts", out_dir), backend=backend)
    io.write_table("posts", posts, out_dir)
    return {"normalise_backend": info}


def run_who(out_dir: Path) -> None:
    """Stage who on its own: groups, participants, places and posts.group_id."""
    posts, found = stages.who(io.read_table("posts", out_dir), io.read_table("boards", out_dir))
    write_frames({"posts": posts, **found}, Path(out_dir))


def run_all(
    raw_dir: Path,
    out_dir: Path,
    strict: bool = False,
    progress: bool = True,
    private_dir: Path | None = None,
    keep_names: bool = False,
    backend: str = "auto",
) -> Path:
    """The whole pipeline: every export in ``raw_dir`` -> tables and manifest in ``out_dir``.

    Personal names are replaced by pseudonyms before any later stage; the
    key goes to ``private_dir`` (not written when None). ``keep_names``
    skips pseudonymisation: only for internal copies outside the published
    folder. With ``strict``, any unusable or truncated file stops the run
    before anything is written. Tables are written together at the end.
    """
    result = _ingest_checked(raw_dir, out_dir, strict, progress, keep_names)
    frames = ingest_frames(result)
    versions: dict = {}
    frames["posts"], versions["normalise_backend"] = stages.normalise(frames["posts"], backend=backend)
    frames["posts"], found = stages.who(frames["posts"], frames["boards"])
    frames.update(found)
    write_frames(frames, Path(out_dir))
    _write_key(result, private_dir)
    write_outputs(Path(out_dir))
    return write_manifest(out_dir, versions, reset=True)
