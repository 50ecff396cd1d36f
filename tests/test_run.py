"""End to end: the whole pipeline in a temporary folder, the tables' schemas, and the committed manifest."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import config, io, schema
from pipeline.run import BadInputError, run_all

COMMITTED_MANIFEST = config.manifest_path(config.PROCESSED_DIR)


def test_tables_match_their_declared_schema(processed):
    for name, table in schema.TABLES.items():
        path = config.table_path(name, processed)
        if not path.exists():
            continue
        written = pq.read_schema(path)
        assert written.names == table.column_names, name
        frame = io.read_table(name, processed)
        assert not frame.duplicated(list(table.primary_key)).any(), name


def test_posts_have_clean_text_and_stable_ids(processed):
    posts = io.read_table("posts", processed)
    assert len(posts) == 104  # 40 + 66 posts in the truth; two "probable" boundaries are not found
    assert posts["post_id"].is_unique
    assert posts["text_clean"].notna().all()
    assert not posts["text_clean"].str.contains("\ufffd").any()
    assert set(posts["kind"]) <= set(schema.KINDS)


def test_regenerating_reproduces_the_committed_manifest(processed):
    """`make all` on a clean clone must reproduce data/processed/MANIFEST.json exactly."""
    assert COMMITTED_MANIFEST.exists(), "run `make all` and commit data/processed/MANIFEST.json"
    regenerated = json.loads(config.manifest_path(processed).read_text(encoding="utf-8"))
    committed = json.loads(COMMITTED_MANIFEST.read_text(encoding="utf-8"))
    # Which Nynorsk backend ran depends on the machine (Apertium is an apt package); both
    # backends give the same tables on the seed exports (tests/test_normalise.py), so every
    # table hash must still match.
    for manifest in (regenerated, committed):
        manifest["versions"].pop("normalise_backend", None)
    assert regenerated == committed


def test_two_runs_give_identical_manifests(processed, tmp_path):
    run_all(config.RAW_DIR, tmp_path, progress=False)
    assert config.manifest_path(tmp_path).read_bytes() == config.manifest_path(processed).read_bytes()


def test_a_bad_file_is_rejected_and_the_run_goes_on(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in sorted(config.RAW_DIR.glob("*.txt")):
        shutil.copy(path, raw / path.name)
    (raw / "notes.txt").write_text("Møtereferat\n\nVi snakket om budsjettet.\n", encoding="utf-8")
    (raw / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    run_all(raw, out, progress=False)
    rejects = io.read_table("rejects", out).set_index("source_file")["reason"]
    assert "not a Padlet export" in rejects["notes.txt"]
    assert "empty" in rejects["empty.txt"]
    assert len(io.read_table("boards", out)) == 2


def test_strict_mode_writes_nothing(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "notes.txt").write_text("Bare tekst.\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(BadInputError, match="notes.txt"):
        run_all(raw, out, strict=True, progress=False)
    assert not out.exists() or not any(out.iterdir())


def test_writer_refuses_a_duplicate_primary_key(tmp_path):
    rows = pd.DataFrame({"source_file": ["a.txt", "a.txt"], "reason": ["x", "y"]})
    with pytest.raises(io.SchemaError, match="primary key"):
        io.write_table("rejects", rows, tmp_path)
    assert not list(tmp_path.iterdir()), "nothing may be left behind"


def test_parallel_jobs_give_byte_identical_tables(processed, tmp_path):
    run_all(config.RAW_DIR, tmp_path, progress=False, jobs=2)
    for name in schema.TABLES:
        path = config.table_path(name, processed)
        if path.exists():
            assert config.table_path(name, tmp_path).read_bytes() == path.read_bytes(), name


def test_two_boards_of_one_seminar_share_their_groups(tmp_path):
    """Boards of the same seminar day (here: the 2023 board and an edited copy) give one row per group."""
    raw = tmp_path / "raw"
    raw.mkdir()
    source = next(config.RAW_DIR.glob("2023-*.txt"))
    shutil.copy(source, raw / source.name)
    text = source.read_text(encoding="utf-8").replace("Viktig og godt signal", "Eit viktig og godt signal")
    (raw / (source.stem + "-del2.txt")).write_text(text, encoding="utf-8")
    run_all(raw, tmp_path / "out", progress=False)
    groups = io.read_table("groups", tmp_path / "out")
    forde = groups.set_index("group_id").loc["2023-02-09-forde"]
    assert forde["board_ids"].count(";") == 1 and forde["n_posts"] == 4


def test_no_replacement_glyph_in_any_published_string(processed):
    for name in schema.TABLES:
        path = config.table_path(name, processed)
        if not path.exists():
            continue
        frame = io.read_table(name, processed)
        for column in frame.select_dtypes(include="string").columns:
            if (name, column) == ("repairs", "before"):
                continue  # the damaged text as it was, for auditing
            assert not frame[column].str.contains("\ufffd", regex=False).fillna(False).any(), f"{name}.{column}"


def _row_by_row_content_hash(arrow, primary_key) -> str:
    """The manifest's content hash as its definition reads: canonical JSON of each row, sorted by primary key."""
    import hashlib

    rows = arrow.to_pylist()
    rows.sort(key=lambda r: tuple((r[k] is None, r[k]) for k in primary_key))
    digest = hashlib.sha256()
    for row in rows:
        canonical = {k: io._canonical(v) for k, v in row.items()}
        digest.update(json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()


@pytest.mark.parametrize("name", sorted(schema.TABLES))
def test_content_hash_follows_its_definition(processed, name):
    path = config.table_path(name, processed)
    if not path.exists():
        pytest.skip(f"{name} not written")
    table = schema.get(name)
    arrow = pq.read_table(path, schema=table.arrow_schema)
    assert io.content_hash(arrow, table.primary_key) == _row_by_row_content_hash(arrow, table.primary_key)


def test_content_hash_follows_its_definition_on_awkward_values():
    import datetime as dt

    import pyarrow as pa

    arrow = pa.table({
        "key": pa.array(["b", None, "a", "ø", "A", "æ"], pa.string()),
        "n": pa.array([3, None, -1, 2**40, 0, 7], pa.int64()),
        "x": pa.array([0.1 + 0.2, float("nan"), None, float("inf"), -0.0, 1e-12], pa.float64()),
        "flag": pa.array([True, False, None, True, False, None], pa.bool_()),
        "when": pa.array([dt.datetime(2023, 2, 9, 10, 5), None, dt.datetime(2025, 5, 5), None, None, None],
                         pa.timestamp("s")),
        "text": pa.array(['si "hei"\n\tog\\', "\x01\u2028", "", None, "🎻 %s %%", "[Person 7]"], pa.string()),
        'odd "%s" name': pa.array(["a", "b", "c", "d", "e", "f"], pa.string()),
    })
    for key in (("key",), ("flag", "key"), ("n",)):
        assert io.content_hash(arrow, key) == _row_by_row_content_hash(arrow, key), key
    assert io.content_hash(arrow.slice(0, 0), ("key",)) == _row_by_row_content_hash(arrow.slice(0, 0), ("key",))


def test_written_bytes_do_not_depend_on_how_the_frame_was_built(processed, tmp_path):
    """A column built from a Python list (object dtype) and the same column read back (Int32, string) write the same file."""
    for name in ("participants", "tags"):
        frame = io.read_table(name, processed)
        rebuilt = frame.copy()
        for column in rebuilt.columns:
            rebuilt[column] = rebuilt[column].astype(object)
        io.write_table(name, frame, tmp_path / "a")
        io.write_table(name, rebuilt, tmp_path / "b")
        assert config.table_path(name, tmp_path / "a").read_bytes() == config.table_path(name, tmp_path / "b").read_bytes()
        assert config.table_path(name, tmp_path / "a").read_bytes() == config.table_path(name, processed).read_bytes()


def test_a_packed_board_result_unpacks_to_the_same_result(processed):
    """Workers send results packed (pickle + zstd): unpacking gives back every frame, value and type."""
    import pickle

    from pipeline.run import BoardResult, pack_result, unpack_result

    frames = {name: io.read_table(name, processed) for name in ("posts", "segments", "tags", "theme_matrix")}
    result = BoardResult(source_file="x.txt", frames=frames, persons=["Kari Nordmann"], truncated=True,
                         seconds={"tag": 1.5}, versions={"codebook": {"version": "3"}})
    packed = pack_result(result)
    assert isinstance(packed, bytes) and len(packed) < len(pickle.dumps(result))
    back = unpack_result(packed)
    assert (back.source_file, back.persons, back.truncated, back.seconds, back.versions) == (
        "x.txt", ["Kari Nordmann"], True, {"tag": 1.5}, {"codebook": {"version": "3"}})
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(back.frames[name], frame, check_exact=True)
    empty = unpack_result(pack_result(BoardResult(source_file="y.txt", reject="empty export")))
    assert (empty.source_file, empty.reject, empty.frames) == ("y.txt", "empty export", {})


def _renumber_one_board(frames, mapping):
    """Reference: the per-board renumbering that :func:`pipeline.run.renumber_boards` must equal."""
    import pyarrow as pa

    from pipeline.privacy import PSEUDONYM_STEM, renumber_field, renumber_text, shift_offset

    if all(k == v for k, v in mapping.items()):
        return frames
    shifts, new_texts = {}, []
    for post_id, text in zip(frames["posts"]["post_id"], frames["posts"]["text_clean"]):
        new_text, shifts[post_id] = renumber_text(text, mapping)
        new_texts.append(new_text)
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        table = schema.get(name)
        for column in table.columns:
            if column.name == "text_clean" and name == "posts":
                frame[column.name] = new_texts
            elif pa.types.is_string(column.type) and any(
                    isinstance(v, str) and PSEUDONYM_STEM in v for v in frame[column.name].tolist()):
                frame[column.name] = [renumber_field(v, mapping) for v in frame[column.name].tolist()]
        for column in table.offset_columns:
            frame[column] = [None if pd.isna(offset) else shift_offset(int(offset), shifts.get(post_id, []))
                             for offset, post_id in zip(frame[column], frame["post_id"])]
        out[name] = frame
    return out


def _arrow_chunks(frame):
    """Column -> the number of Arrow chunks of an Arrow-backed column (None for other columns)."""
    return {column: getattr(getattr(frame[column].array, "_pa_array", None), "num_chunks", None) for column in frame.columns}


def test_renumbering_all_boards_at_once_equals_renumbering_each_board():
    from pipeline import run

    def board(b, texts, persons, tags):
        posts = [{"post_id": f"b{b}-L{i:05d}", "board_id": f"b{b}", "text_clean": t, "author": a, "title": None,
                  "group_label": label} for i, (t, a, label) in enumerate(texts)]
        participants = [{"post_id": f"b{b}-L{i:05d}", "seq": n, "person": p, "person_start": s, "person_end": e,
                         "group_id": f"g-person-{n}"} for n, (i, p, s, e) in enumerate(persons, 1)]
        tag_rows = [{"post_id": f"b{b}-L{i:05d}", "theme_id": "personal_og_stillinger", "start": s, "end": e, "matched_text": m,
                     "segment_id": f"b{b}-L{i:05d}-s1"} for i, s, e, m in tags]
        return {"posts": pd.DataFrame(posts, columns=schema.get("posts").column_names),
                "participants": pd.DataFrame(participants, columns=schema.get("participants").column_names).astype(
                    {"person_start": "Int32", "person_end": "Int32"}),
                "tags": pd.DataFrame(tag_rows, columns=schema.get("tags").column_names).astype({"start": "int32",
                                                                                                "end": "int32"})}

    boards = [
        # numbered as in the run: kept exactly, even the non-canonical "Person 007"
        (board(0, [("[Person 1] og [Person 007] sa ja", "Person 007", "[Person 1]")], [(0, "Person 1", 0, 10)],
               [(0, 27, 30, "ja")]), {1: 1}),
        (board(1, [("Hei [Person 1], [Person 2] og [Person 12] svarte ja", "Person 2", None),
                   ("Ingen navn her", None, "gruppe person-2"), ("[Person 2]: ja", "[Person 1] (Kulturskolen)", "x")],
               [(0, "Person 2", 16, 26), (2, "Person 1", None, None)],
               [(0, 49, 51, "ja"), (1, 0, 5, "Ingen"), (2, 12, 14, "ja")]), {1: 13, 2: 1}),
        (board(2, [], [], []), {1: 5}),
        (board(3, [("[Person 1] x [Person 1]", "Person 1", None)], [], [(0, 13, 23, "[Person 1]")]), {1: 10}),
    ]
    expected = {name: run._concat(name, [_renumber_one_board(frames, mapping)[name] for frames, mapping in boards])
                for name in ("posts", "participants", "tags")}
    parts = {name: [(board, frames[name]) for board, (frames, _) in enumerate(boards)] for name in expected}
    before = {name: [frame.copy() for _, frame in table_parts] for name, table_parts in parts.items()}
    got = run.renumber_boards(parts, [mapping for _, mapping in boards])
    for name in expected:
        # the same frames, down to the column types and Arrow chunks (the Parquet bytes depend on them), but
        # offsets keep their integer type
        offsets = schema.get(name).offset_columns
        pd.testing.assert_frame_equal(got[name].drop(columns=offsets), expected[name].drop(columns=offsets))
        assert _arrow_chunks(got[name]) == _arrow_chunks(expected[name]), name
        for column in offsets:
            assert got[name][column].dtype == parts[name][0][1][column].dtype
            assert got[name][column].astype("Int64").tolist() == expected[name][column].astype("Int64").tolist()
        for (_, frame), copy in zip(parts[name], before[name]):
            pd.testing.assert_frame_equal(frame, copy)  # the input is left as it was
    text = got["posts"]["text_clean"].tolist()[1]
    assert text == "Hei [Person 13], [Person 1] og [Person 12] svarte ja"
    start, end = got["tags"]["start"].tolist()[1], got["tags"]["end"].tolist()[1]
    assert text[start:end] == "ja" and start == 50
    assert got["tags"]["matched_text"].tolist()[-1] == "[Person 10]" and got["tags"]["end"].tolist()[-1] == 25

def test_a_failed_load_of_shared_resources_ends_the_pipelines_started_for_the_workers(monkeypatch):
    from pipeline import run
    from pipeline.normalise import apertium, apertium_available

    if not apertium_available():
        pytest.skip("needs apertium-nno-nob")
    started = []
    real_start = apertium.start_spares

    def start_spares(count):
        n = real_start(count)
        started.extend(pipe for _, pipe in apertium._SPARES)
        return n

    def broken_lexicon():
        raise OSError("word list unreadable")

    broken_lexicon.cache_clear = lambda: None  # released like the real one
    monkeypatch.setattr(apertium, "start_spares", start_spares)
    monkeypatch.setattr(run, "load_lexicon", broken_lexicon)
    with pytest.raises(OSError, match="word list unreadable"):
        run.load_shared_resources(("normalise",), True, "apertium", None, workers=2)
    assert len(started) == 2 and apertium._SPARES == []
    assert all(pipe.proc.poll() is not None for pipe in started)  # ended and waited for


def test_content_hash_follows_its_definition_across_batches_and_types(monkeypatch):
    import datetime as dt

    import pyarrow as pa

    monkeypatch.setattr(io, "_HASH_BATCH_ROWS", 3)  # several batches, the last one short
    arrow = pa.table({
        "id": pa.array([f"r{i}" for i in range(8)], pa.string()),
        "s": pa.array(["", "\x7f\u2028\u00e6", 'a"b', None, "tab\there", "\\", "plain", "\x1f"], pa.string()),
        "big": pa.array(["x" * 5, None, "y", "z", "æøå", "🎻", "q", "w"], pa.large_string()),
        "i8": pa.array([-128, 127, None, 0, 1, -1, 5, 6], pa.int8()),
        "i32": pa.array([2**31 - 1, -(2**31), 0, None, 3, 4, 5, 6], pa.int32()),
        "f": pa.array([-0.0, 1e16, 1e-7, 0.1 + 0.2, None, float("-inf"), 2.5, 1.0000000004], pa.float64()),
        "b": pa.array([True, None, False, True, False, True, None, False], pa.bool_()),
        "d": pa.array([dt.date(2023, 2, 9), None, dt.date(1999, 12, 31), None, None, None, None, None], pa.date32()),
    })
    for key in (("id",), ("s",), ("b", "id")):
        assert io.content_hash(arrow, key) == _row_by_row_content_hash(arrow, key), key
