"""Run the stages over a folder of exports: the thin I/O layer around the pure stage functions.

``run_all`` reads every ``*.txt`` export in ``raw_dir`` (sorted by name, so
results do not depend on the file system's order) and streams them board by
board: each board is parsed, cleaned, pseudonymised, normalised and coded on
its own (in ``--jobs`` worker processes when asked), and only its finished
rows are kept. People are numbered per board in the worker and renumbered
here in board order, so the pseudonyms are the same whatever the number of
jobs. Files that cannot be used go to the ``rejects`` table with the reason;
with ``strict`` the run stops before writing anything and names every bad
file. Tables are written at the end, each atomically.
"""
from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import pickle
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

import pipeline
from pipeline import config, io, schema, stages, tables
from pipeline.clean import clean, clean_title
from pipeline.ingest import ExportError, decode_export, parse_board
from pipeline.ingest.common import is_artifact
from pipeline.lexicon import load_lexicon
from pipeline.model import Board
from pipeline.privacy import (
    PSEUDONYM_STEM,
    Pseudonymiser,
    pseudonymise_signature,
    pseudonymise_text,
    renumber_field,
    renumber_text,
    shift_offset,
    write_key,
)
from pipeline.parallel import gc_paused
from pipeline.report import write_outputs
from pipeline.codebook import codebook_frame, load_codebook
from pipeline.tag import get_tagger, tag_tables, tagger_versions

log = logging.getLogger("pipeline")

# The stages after ingest, in order, and the tables each adds to a board's rows.
LATER_STAGES = {
    "normalise": (),
    "who": ("groups", "participants", "places"),
    "tag": ("segments", "tags", "theme_matrix"),
}
INGEST_TABLES = ("boards", "posts", "repairs")
_PACK_CODEC = pa.Codec("zstd", compression_level=3)  # how workers pack board results for the parent


class BadInputError(RuntimeError):
    """Raised in strict mode: one or more input files cannot be used."""


@dataclass
class BoardResult:
    """What one board contributes: its rows per table, or why it was rejected."""

    source_file: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    persons: list[str] = field(default_factory=list)
    reject: str | None = None
    truncated: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    versions: dict = field(default_factory=dict)


@contextmanager
def _timed(seconds: dict[str, float], stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start


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


def language_model(name: str | None = None):
    """The spaCy pipeline for this process (``--model``, else the project's own), or None when none loads."""
    from pipeline import nlp as nlp_module

    try:
        return nlp_module.load(name)
    except nlp_module.ModelNotAvailableError:
        if name:
            raise
        return None


def protect_board(board: Board, cleaned: dict, pseudonymiser: Pseudonymiser, nlp=None) -> None:
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
        text = pseudonymise_text(text, pseudonymiser, nlp=nlp)
        post.group_label = pseudonymise_text(post.group_label, pseudonymiser)
        # scrub adds no person, so within one post it answers a string the same every time; most repairs
        # are the same few strings (a space, a line break)
        scrubbed: dict[str | None, str | None] = {}
        for row in rows:
            for side in ("before", "after"):
                value = row[side]
                if value not in scrubbed:
                    scrubbed[value] = pseudonymiser.scrub(value)
                row[side] = scrubbed[value]
        cleaned[post.ordinal] = (text, title, rows)


def process_board(
    path: Path,
    sha256: str,
    keep_names: bool = False,
    backend: str = "auto",
    later: tuple[str, ...] = tuple(LATER_STAGES),
    model: str | None = None,
) -> BoardResult:
    """Every stage for one export, from its bytes to its rows in each table.

    Runs in a worker process when ``--jobs`` > 1; word lists, Apertium and
    the language model are loaded once per process by the modules that own
    them. People are numbered from 1 on this board; ``run_all`` renumbers.
    ``later`` names the stages to run after ingest (parse, clean, privacy);
    ``model`` the spaCy pipeline (default: the project's own).
    """
    result = BoardResult(source_file=path.name)
    seconds = result.seconds
    with _timed(seconds, "parse"):
        try:
            text = decode_export(path.read_bytes(), path.name)
            board = parse_board(text, source_file=path.name, sha256=sha256)
        except ExportError as exc:
            result.reject = str(exc).removeprefix(f"{path.name}: ")
            return result
    result.truncated = board.truncated
    with _timed(seconds, "clean"):
        cleaned = clean_board(board)
    with _timed(seconds, "privacy"):
        pseudonymiser = None if keep_names else Pseudonymiser()
        if pseudonymiser is not None:
            protect_board(board, cleaned, pseudonymiser, nlp=language_model(model))
            result.persons = [row["name"] for row in pseudonymiser.key_rows()]
    rows = tables.board_rows(board, len(text.splitlines()), cleaned)
    frames = {name: tables.frame(name, getattr(rows, name)) for name in ("boards", "posts", "repairs")}
    if "normalise" in later:
        with _timed(seconds, "normalise"):
            frames["posts"], result.versions["normalise_backend"] = stages.normalise(frames["posts"], backend=backend)
    if "who" in later:
        with _timed(seconds, "who"):
            frames["posts"], found = stages.who(frames["posts"], frames["boards"])
            frames.update(found)
    if "tag" in later:
        with _timed(seconds, "tag"):
            tagger = get_tagger(model=model)
            coded = tag_tables(frames["posts"], tagger)
            frames.update({name: coded[name] for name in LATER_STAGES["tag"]})
            result.versions.update(tagger_versions(tagger))
    result.frames = frames
    log.info("%s: %s layout, %d posts", path.name, board.layout, len(board.posts))
    return result


def renumber_boards(
    parts: dict[str, list[tuple[int, pd.DataFrame]]], mappings: list[dict[int, int]]
) -> dict[str, pd.DataFrame]:
    """Every table's rows, all boards concatenated, with the people renumbered from board order to run order.

    ``parts`` map each table to its parts in board order: (board number,
    that board's rows); ``mappings[board]`` takes the board's person
    numbers to the run's. In the rows of a board whose numbers change,
    every string column is renumbered (:func:`renumber_field`, and
    :func:`renumber_text` for ``posts.text_clean``) and offsets into
    ``posts.text_clean`` (declared in the schema) move with the text, so
    evidence stays exact; a board numbered as in the run keeps its rows
    exactly (even a non-canonical "Person 007"). Offsets are looked up by
    the rows' ``post_id`` after it was renumbered.

    The string columns are those of renumbering each board's rows on its
    own (assigning every column that holds a pseudonym as a list) and
    concatenating them, down to the column types and Arrow chunks on which
    the bytes of a Parquet file depend; offset columns keep their integer
    type. Pseudonyms are searched once per column over all boards, and only
    the parts of a column whose values change are rebuilt. The frames given
    are not changed.
    """
    renumbered = [any(k != v for k, v in mapping.items()) for mapping in mappings]
    frames = {name: _concat(name, [frame for _, frame in table_parts]) for name, table_parts in parts.items()}
    if not any(renumbered):
        return frames
    shifts: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(dict)  # board -> post_id -> shifts of its text
    for name in sorted(parts, key=lambda n: n != "posts"):  # posts first: their texts give the shifts
        table = schema.get(name)
        table_parts = [(board, frame) for board, frame in parts[name] if len(frame)]  # as _concat joins them
        starts = np.cumsum([0] + [len(frame) for _, frame in table_parts])  # each part's first row in frames[name]
        renumbered_columns = {}
        for column in (c.name for c in table.columns if pa.types.is_string(c.type)):
            is_text = (name, column) == ("posts", "text_clean")
            holding = np.flatnonzero(_holds_pseudonym_stem(frames[name][column]))
            bounds = np.searchsorted(holding, starts)
            rebuilt = {}  # part -> its renumbered values
            for part, (board, frame) in enumerate(table_parts):
                rows = (holding[bounds[part]:bounds[part + 1]] - starts[part]).tolist()
                if not renumbered[board] or not (rows or is_text):
                    continue  # renumbering the board on its own would keep this part of the column
                values, changed = frame[column].tolist(), False
                post_ids = frame["post_id"].tolist() if is_text else None
                for row in rows:
                    if is_text:
                        new, shift = renumber_text(values[row], mappings[board])
                        if shift:
                            shifts[board][post_ids[row]] = shift
                    else:
                        new = renumber_field(values[row], mappings[board])
                    changed = changed or new != values[row]
                    values[row] = new
                if changed or not _comes_back_the_same(frame[column]):
                    rebuilt[part] = _column_from_list(values, like=frame[column])
            if rebuilt:
                renumbered_columns[column] = _concat_column([
                    rebuilt[part] if part in rebuilt else frame[column] for part, (_, frame) in enumerate(table_parts)
                ])
        frame = frames[name].assign(**renumbered_columns) if renumbered_columns else frames[name]
        if any(shifts.values()) and table.offset_columns:
            board_of_row = np.repeat([board for board, _ in table_parts], np.diff(starts))
            frame = _shift_offsets(frame, table.offset_columns, board_of_row, shifts)
        frames[name] = frame
    return frames


# The type pandas gives a column assigned a list of strings (and missing values).
_STRINGS_FROM_A_LIST = pd.Series(["a", None]).dtype


def _comes_back_the_same(values: pd.Series) -> bool:
    """Whether assigning ``values.tolist()`` to the column again gives the same column: type and Arrow chunks."""
    if values.dtype != _STRINGS_FROM_A_LIST:
        return False
    arrow = values.array.__arrow_array__()
    return not isinstance(arrow, pa.ChunkedArray) or arrow.num_chunks <= 1


def _column_from_list(values: list, like: pd.Series) -> pd.Series:
    """The column that assigning ``values`` (a changed ``like.tolist()``) to a frame gives.

    A list of strings and missing values (at least one string) becomes an
    Arrow-backed string column in one chunk: when ``like`` is such a column
    (so the values are strings or missing), it is built from the list
    directly (faster).
    """
    if like.dtype == _STRINGS_FROM_A_LIST and any(isinstance(value, str) for value in values):
        arrow = pa.array(values, type=like.array.__arrow_array__().type, from_pandas=True)
        return pd.Series(pd.array(pa.chunked_array([arrow]), dtype=_STRINGS_FROM_A_LIST))
    return pd.Series(values)


def _concat_column(pieces: list[pd.Series]) -> pd.Series:
    """``pd.concat(pieces, ignore_index=True)``; Arrow-backed string pieces have their chunks joined directly (faster)."""
    if pieces and all(piece.dtype == _STRINGS_FROM_A_LIST for piece in pieces):
        chunks = [chunk for piece in pieces for chunk in piece.array.__arrow_array__().chunks]
        return pd.Series(pd.array(pa.chunked_array(chunks, type=chunks[0].type), dtype=_STRINGS_FROM_A_LIST))
    return pd.concat(pieces, ignore_index=True)


def _shift_offsets(frame: pd.DataFrame, columns: list[str], board_of_row: np.ndarray,
                   shifts: dict[int, dict[str, list[tuple[int, int]]]]) -> pd.DataFrame:
    """``frame`` with the offsets in ``columns`` moved as the texts of their posts moved; the columns keep their type.

    ``shifts[board][post_id]`` are the shifts of a post's text (see
    :func:`shift_offset`); a row's post is its ``post_id`` on its board
    (``board_of_row``). Missing offsets stay missing.
    """
    boards_with_shifts = {board for board, of_board in shifts.items() if of_board}
    candidates = np.flatnonzero(np.isin(board_of_row, list(boards_with_shifts))).tolist()
    post_ids, boards = frame["post_id"].tolist(), board_of_row.tolist()
    moved, moved_shifts = [], []
    for row in candidates:
        shift = shifts[boards[row]].get(post_ids[row])
        if shift:
            moved.append(row)
            moved_shifts.append(shift)
    if not moved:
        return frame
    shifted = {}
    for column in columns:
        values = frame[column].copy()
        values.iloc[moved] = pd.array([offset if pd.isna(offset) else shift_offset(int(offset), shift)
                                       for offset, shift in zip(values.iloc[moved].tolist(), moved_shifts)],
                                      dtype=values.dtype)
        shifted[column] = values
    return frame.assign(**shifted)


def _holds_pseudonym_stem(values: pd.Series) -> np.ndarray:
    """For each value of a string column: whether it is a string holding :data:`PSEUDONYM_STEM` (vectorised).

    Only such values can be changed by :func:`renumber_field` or
    :func:`renumber_text`. Missing values hold nothing; a column with
    objects other than strings is checked value by value.
    """
    try:
        strings = pa.array(values.array, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        strings = None
    if strings is None or not (pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type)):
        return np.array([isinstance(v, str) and PSEUDONYM_STEM in v for v in values.tolist()], dtype=bool)
    return pc.match_substring(strings, PSEUDONYM_STEM).fill_null(False).to_numpy(zero_copy_only=False)


def code_version(backend: str = "auto") -> str:
    """A hash of everything a board's rows depend on besides its bytes: code, seeds, model, backend."""
    from pipeline.normalise import backend_info

    digest = hashlib.sha256()
    roots = [config.PROJECT_ROOT / "pipeline", config.SEEDS_DIR, config.MODELS_DIR]
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(config.PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    digest.update(json.dumps(backend_info(backend), sort_keys=True).encode())
    return digest.hexdigest()[:16]


class BoardCache:
    """Finished board results keyed by the export's SHA-256 and the code version.

    Lives in the private folder: a cached result still holds the names of the
    people on its board (for numbering pseudonyms across boards).
    """

    def __init__(self, folder: Path | None, version: str, settings: str):
        self.folder, self.key_suffix = (Path(folder) if folder else None), f"{version}-{settings}"

    def _path(self, sha256: str) -> Path:
        return self.folder / f"{sha256[:32]}-{self.key_suffix}.pkl"

    def get(self, sha256: str) -> BoardResult | None:
        if self.folder is None or not self._path(sha256).exists():
            return None
        with open(self._path(sha256), "rb") as fh:
            return pickle.load(fh)

    def put(self, sha256: str, result: BoardResult) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._path(sha256).with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self._path(sha256))


def load_shared_resources(
    later: tuple[str, ...], keep_names: bool, backend: str, model: str | None, workers: int = 0
) -> None:
    """Load, in this process, the word lists and models that the stages in ``later`` use.

    Called before worker processes are forked: the workers then share these
    pages with the parent (copy-on-write) instead of each loading its own
    copy, which keeps the memory of a ``--jobs N`` run close to that of one
    process. ``gc.freeze()`` keeps the garbage collector from writing to the
    shared objects (which would copy their pages); it is called after each
    resource, so that the collections while the next one loads do not
    traverse the millions of objects loaded before (they find nothing to
    free there). Apertium pipelines are not shared: with ``workers``, one
    for each of that many workers is started first, to load on a spare core
    while this process loads the rest (see ``normalise.preload``).
    """
    from pipeline.places import load_gazetteer
    from pipeline.privacy import load_resources

    loaders = []
    if "normalise" in later:
        from pipeline.normalise import preload

        loaders.append(lambda: preload(backend, workers=workers))
    loaders.append(load_lexicon)
    if not keep_names:
        loaders += [load_resources, lambda: language_model(model)]
    if "who" in later:
        import pipeline.who  # noqa: F401  (compiles its patterns on import)

        loaders.append(load_gazetteer)
    if "tag" in later:
        loaders.append(lambda: get_tagger(model=model))
    gc.freeze()  # the modules imported so far
    try:
        for load in loaders:
            load()
            gc.freeze()
    except BaseException:
        release_shared_resources()  # e.g. the Apertium pipelines already started for the workers
        raise


def release_shared_resources() -> None:
    """Drop what :func:`load_shared_resources` loaded, once the workers are done with it.

    The parent does not use the word lists and models itself; keeping them
    would make it hold them alone (no longer shared) while the report is built.
    """
    from pipeline import nlp as nlp_module
    from pipeline.normalise import release as release_normalise
    from pipeline.places import load_gazetteer
    from pipeline.privacy import load_resources

    for cached in (load_lexicon, load_resources, load_gazetteer, get_tagger, nlp_module.load):
        cached.cache_clear()
    release_normalise()
    gc.unfreeze()
    gc.collect()


def _worker_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes, forked where the platform allows (so they share what the parent loaded)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork") if "fork" in methods else None
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def pack_result(result: BoardResult) -> bytes:
    """A board's result pickled and compressed with zstd (see :func:`unpack_result`).

    The first eight bytes hold the size of the pickle, which the decompressor
    needs. zstd at its default level packs a board several times faster than
    zlib at its fastest, and smaller, and unpacks several times faster.
    """
    data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(8, "little") + _PACK_CODEC.compress(data, asbytes=True)


def unpack_result(packed: bytes) -> BoardResult:
    """The result that :func:`pack_result` packed."""
    size = int.from_bytes(packed[:8], "little")
    return pickle.loads(_PACK_CODEC.decompress(memoryview(packed)[8:], decompressed_size=size))


def process_board_packed(*args) -> bytes:
    """:func:`process_board` for a worker process: its result packed (:func:`pack_result`).

    The parent keeps results in this form until every board is done, so
    that its memory stays small while the workers (and their Apertium
    pipelines) are alive; the rows are unpacked after the workers have ended.
    """
    return pack_result(process_board(*args))


def _board_results(
    tasks: list[tuple[Path, str]], jobs: int, keep_names: bool, backend: str, later: tuple, progress: bool,
    cache: BoardCache, model: str | None = None,
):
    """Results of every board in input order: from the cache, inline, or from ``jobs`` worker processes.

    With workers, all boards are processed (results kept packed) before the
    first result is yielded.
    """
    bar = tqdm(total=len(tasks), desc="boards", unit="board", disable=not progress)
    cached = {sha: cache.get(sha) for _, sha in tasks}
    todo = [(path, sha) for path, sha in tasks if cached[sha] is None]
    if todo:
        log.info("%d board(s) to process, %d from the cache", len(todo), len(tasks) - len(todo))
    packed: dict[str, bytes] = {}
    if jobs > 1 and len(todo) > 1:
        workers = min(jobs, len(todo))  # the pool forks all its workers at once: no more than there are boards
        load_shared_resources(later, keep_names, backend, model, workers=workers)
        try:
            pool = _worker_pool(workers)
        except BaseException:
            release_shared_resources()
            raise
        try:
            futures = {
                pool.submit(process_board_packed, path, sha, keep_names, backend, later, model): sha for path, sha in todo
            }
            for future in as_completed(futures):
                packed[futures[future]] = future.result()
                bar.update()
        finally:
            pool.shutdown(cancel_futures=True)
            release_shared_resources()
    try:
        # Unpacking the workers' results makes many objects that stay: automatic collections would traverse them
        # again and again, with a core idle. (The caller closes this generator, which ends the pause, when it stops
        # early: see process_all.)
        with gc_paused() if packed else nullcontext():
            for path, sha in tasks:
                result = cached[sha]
                if result is None:
                    if sha in packed:
                        result = unpack_result(packed.pop(sha))
                    else:
                        result = process_board(path, sha, keep_names, backend, later, model)
                        bar.update()
                    if result.reject is None:
                        cache.put(sha, result)
                else:
                    bar.update()
                yield result
    finally:
        bar.close()


@dataclass
class RunResult:
    frames: dict[str, pd.DataFrame]
    pseudonymiser: Pseudonymiser | None
    rejects: list[dict]
    truncated: list[str]
    seconds: dict[str, float]
    versions: dict


def process_all(
    raw_dir: Path,
    jobs: int = 1,
    keep_names: bool = False,
    backend: str = "auto",
    progress: bool = True,
    later: tuple[str, ...] = tuple(LATER_STAGES),
    cache_dir: Path | None = None,
    model: str | None = None,
) -> RunResult:
    """Every stage over every export in ``raw_dir``, streamed board by board; nothing is written.

    A file whose bytes, or whose text after decoding and normalising line
    endings and spaces, equal those of an earlier file (in name order) is a
    duplicate of it and is rejected. A truncated export keeps every post up
    to the cut and is flagged in ``boards.truncated``. With ``cache_dir``,
    boards whose bytes and code version are unchanged are not processed again.
    """
    rejects: list[dict] = []
    seen: dict[str, str] = {}
    tasks: list[tuple[Path, str]] = []
    for path in list_exports(raw_dir):
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        try:
            if digest in seen:
                raise ExportError(f"{path.name}: duplicate of {seen[digest]} (identical bytes); remove one of them")
            text_digest = hashlib.sha256(decode_export(raw, path.name).encode("utf-8")).hexdigest()
            if text_digest in seen:
                raise ExportError(
                    f"{path.name}: duplicate of {seen[text_digest]} (same text in another encoding or "
                    "line-ending style); remove one of them"
                )
        except ExportError as exc:
            log.warning("rejected %s", exc)
            rejects.append({"source_file": path.name, "reason": str(exc).removeprefix(f"{path.name}: ")})
            continue
        seen[digest] = seen[text_digest] = path.name
        tasks.append((path, digest))

    pseudonymiser = None if keep_names else Pseudonymiser()
    collected: dict[str, list[tuple[int, pd.DataFrame]]] = defaultdict(list)  # table -> (board number, its rows)
    mappings: list[dict[int, int]] = []  # per board: its person numbers -> the run's
    seconds: dict[str, float] = defaultdict(float)
    versions: dict = {}
    truncated: list[str] = []
    settings = hashlib.sha256(repr((keep_names, backend, later, model)).encode()).hexdigest()[:8]
    cache = BoardCache(cache_dir, code_version(backend) if cache_dir else "", settings)
    results = _board_results(tasks, jobs, keep_names, backend, later, progress, cache, model)
    try:
        for result in results:
            for stage, spent in result.seconds.items():
                seconds[stage] += spent
            if result.reject is not None:
                log.warning("rejected %s: %s", result.source_file, result.reject)
                rejects.append({"source_file": result.source_file, "reason": result.reject})
                continue
            if result.truncated:
                log.warning("%s looks truncated (no end marker, or it stops mid-line); posts up to the cut are kept", result.source_file)
                truncated.append(result.source_file)
            # people are numbered per board in the workers: renumbered in board order below
            mappings.append({} if pseudonymiser is None else
                            {k: pseudonymiser.number(name) for k, name in enumerate(result.persons, 1)})
            for name, frame in result.frames.items():
                collected[name].append((len(mappings) - 1, frame))
            versions.update(result.versions)
    finally:
        results.close()  # ends its garbage-collection pause, even when a board fails here

    with gc_paused():
        names = INGEST_TABLES + tuple(t for stage in later for t in LATER_STAGES[stage])
        frames = renumber_boards({name: collected.pop(name, []) for name in names}, mappings)
        frames["rejects"] = tables.frame("rejects", rejects)
        if "groups" in frames:
            frames["groups"] = stages.merge_groups(frames["groups"])
        if "tag" in later:
            frames["codebook"] = codebook_frame(load_codebook())
        if pseudonymiser is not None:
            # A name first seen on a later board can stand in an earlier board's repair tokens.
            for column in ("before", "after"):
                values = frames["repairs"][column].tolist()
                scrubbed = {v: pseudonymiser.scrub(v) for v in set(values)}  # repair tokens repeat a lot
                frames["repairs"][column] = [scrubbed[v] for v in values]
    return RunResult(frames, pseudonymiser, rejects, truncated, dict(seconds), versions)


def _concat(name: str, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return tables.frame(name, [])
    return pd.concat(parts, ignore_index=True)[schema.get(name).column_names]


def write_frames(frames: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """Validate and write every frame as its table (each write atomic)."""
    for name, frame in frames.items():
        io.write_table(name, frame, out_dir)


def write_manifest(
    out_dir: Path, versions: dict | None = None, reset: bool = False, summaries: dict | None = None
) -> Path:
    """Write MANIFEST.json for the tables present in ``out_dir``.

    Records the pipeline version, the inputs (file name and SHA-256, from
    the boards table), and per table its row count and content hash; the
    ``versions`` of resources a stage used (codebook, model, backend) are
    merged into those already recorded (replaced with ``reset``). No
    timestamps or absolute paths, so the same inputs give the same manifest
    on any machine. ``summaries`` are the tables' entries when already
    computed (:func:`pipeline.io.table_summaries` of the same folder).
    """
    path = config.manifest_path(out_dir)
    previous = io.read_json(path) if path.exists() and not reset else {}
    entries = io.table_summaries(out_dir) if summaries is None else summaries
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


def _check(result: RunResult, strict: bool, raw_dir: Path) -> None:
    """In strict mode, stop (before anything is written) when any file was unusable or truncated."""
    problems = [f"  {r['source_file']}: {r['reason']}" for r in result.rejects]
    problems += [f"  {name}: truncated export (posts up to the cut would be kept)" for name in result.truncated]
    if strict and problems:
        raise BadInputError(
            f"{len(problems)} input file(s) cannot be used as they are; nothing was written "
            "(run without --strict to process the rest):\n" + "\n".join(problems)
        )
    if not len(result.frames["boards"]):
        log.warning("no usable export in %s", raw_dir)


def run_ingest(
    raw_dir: Path, out_dir: Path, strict: bool = False, progress: bool = True, private_dir: Path | None = None, jobs: int = 1
) -> Path:
    """Stage ingest on its own: parse, clean and pseudonymise; write boards, posts, repairs, rejects."""
    result = process_all(raw_dir, jobs=jobs, progress=progress, later=())
    _check(result, strict, Path(raw_dir))
    write_frames(result.frames, Path(out_dir))
    if private_dir is not None and result.pseudonymiser is not None:
        write_key(result.pseudonymiser, Path(private_dir))
    return write_manifest(out_dir, reset=True)


def run_normalise(out_dir: Path, backend: str = "auto") -> Path:
    """Stage normalise on its own, over the posts table: variant columns and text_nb."""
    posts = io.read_table("posts", out_dir)
    parts, versions = [], {}
    for _, board_posts in posts.groupby("board_id", sort=True):
        part, versions["normalise_backend"] = stages.normalise(board_posts, backend=backend)
        parts.append(part)
    io.write_table("posts", pd.concat(parts).sort_values(["board_id", "ordinal"]), out_dir)
    return write_manifest(out_dir, versions)


def run_who(out_dir: Path) -> Path:
    """Stage who on its own, over the posts and boards tables: groups, participants, places, posts.group_id."""
    posts, boards = io.read_table("posts", out_dir), io.read_table("boards", out_dir)
    collected: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for board_id, board_posts in posts.groupby("board_id", sort=True):
        part, found = stages.who(board_posts, boards[boards["board_id"] == board_id])
        for name, frame in {"posts": part, **found}.items():
            collected[name].append(frame)
    frames = {name: _concat(name, parts) for name, parts in collected.items()}
    frames["groups"] = stages.merge_groups(frames["groups"])
    write_frames(frames, Path(out_dir))
    return write_manifest(out_dir)


def run_tag(out_dir: Path) -> Path:
    """Stage tag on its own, over the posts table: codebook, segments, tags, theme_matrix.

    After an edit of seeds/codebook.yaml this re-codes without re-parsing.
    """
    from pipeline.tag import run_tag as tag_stage

    versions = tag_stage(Path(out_dir))
    write_outputs(Path(out_dir))
    return write_manifest(out_dir, versions)


def run_all(
    raw_dir: Path,
    out_dir: Path,
    strict: bool = False,
    progress: bool = True,
    private_dir: Path | None = None,
    keep_names: bool = False,
    backend: str = "auto",
    jobs: int = 1,
    timings: Path | None = None,
    cache_dir: Path | None = None,
    model: str | None = None,
) -> Path:
    """The whole pipeline: every export in ``raw_dir`` -> tables, report, exports and manifest in ``out_dir``.

    Personal names are replaced by pseudonyms before any later stage; the
    key goes to ``private_dir`` (not written when None). ``keep_names``
    skips pseudonymisation: only for internal copies outside the published
    folder. With ``strict``, any unusable or truncated file stops the run
    before anything is written. ``jobs`` > 1 processes boards in parallel
    with identical output. ``timings`` receives seconds per stage (JSON):
    for each board stage the wall-clock seconds spent in it, summed over the
    boards, in the process that ran each board (so waiting for Apertium or
    for a busy core counts; not CPU time); then the steps of this process
    after the boards, and the whole run's wall time.
    ``cache_dir`` (private: cached results hold names) skips boards already
    processed by the same code.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if raw_dir.resolve() == out_dir.resolve():
        raise ValueError("--out-dir must differ from --raw-dir: raw data is read-only")
    start = time.perf_counter()
    result = process_all(
        raw_dir, jobs=jobs, keep_names=keep_names, backend=backend, progress=progress, cache_dir=cache_dir, model=model
    )
    _check(result, strict, raw_dir)
    seconds = {f"{stage} (summed over boards)": spent for stage, spent in result.seconds.items()}
    with _timed(seconds, "validate tables"):
        # every table is checked against its schema before any of them is written
        tables = {name: io.to_arrow(name, frame) for name, frame in result.frames.items()}
        if private_dir is not None and result.pseudonymiser is not None:
            key = write_key(result.pseudonymiser, Path(private_dir))
            log.info("pseudonym key (private, never publish): %s", key)
    versions = result.versions
    del result  # the validated tables (Arrow) serve the report, the exports and the manifest
    with _timed(seconds, "tables, report, exports and manifest"):
        # a forked process writes the tables and the report while this one writes the exports; then both hash
        # tables for the manifest
        written = write_outputs(out_dir, table_summaries=True, tables=tables, write_tables=True)
        del tables
        manifest = write_manifest(out_dir, versions, reset=True, summaries=written["table_summaries"])
    seconds["wall"] = time.perf_counter() - start
    if timings is not None:
        Path(timings).write_text(
            json.dumps({k: {"seconds": round(v, 3)} for k, v in seconds.items()}, indent=2) + "\n", encoding="utf-8"
        )
    return manifest
