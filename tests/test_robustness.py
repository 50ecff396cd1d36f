"""Bad input gets a clear answer and loses nothing: re-encoded, truncated, duplicated and foreign files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import config, io
from pipeline.clean import clean
from pipeline.ingest import ExportError, parse_board, read_export, split_lines
from pipeline.ingest.common import is_blank
from pipeline.run import BadInputError, run_all

from conftest import SEED_EXPORTS

SEED_TEXT = {p.name: p.read_text(encoding="utf-8") for p in SEED_EXPORTS}
SEED_LINES = sorted({line for text in SEED_TEXT.values() for line in text.split("\n")})


def signature(board, with_author: bool = True) -> list[tuple]:
    return [
        (p.source_line, p.kind, p.author if with_author else None, p.posted_at, p.section, p.group_label)
        for p in board.posts
    ]


def _reencode(text: str, how: str) -> bytes:
    if how == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "cp1252":
        return text.replace("\ufffd", "?").replace("※", "*").encode("cp1252", errors="replace")
    if how == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if how == "cr":
        return text.replace("\n", "\r").encode("utf-8")
    if how == "tabs-nbsp":
        return text.replace("\n ", "\n\t").replace(" ", "\u00a0", 50).encode("utf-8")
    raise ValueError(how)


@pytest.mark.parametrize("how", ["utf-8-bom", "utf-16", "cp1252", "crlf", "cr", "tabs-nbsp"])
@pytest.mark.parametrize("name", sorted(SEED_TEXT))
def test_same_board_in_any_encoding_gives_the_same_posts(tmp_path, name, how):
    original = read_export(config.RAW_DIR / name)
    copy = tmp_path / name
    copy.write_bytes(_reencode(SEED_TEXT[name], how))
    resaved = read_export(copy)
    if how == "cp1252":
        # cp1252 cannot hold U+FFFD (the author brackets become '?') nor the end marker
        # (so the last post keeps the footer's link): the posts themselves must match.
        assert signature(resaved, False)[: len(original.posts)] == signature(original, False)
    else:
        assert signature(resaved) == signature(original)


@pytest.mark.parametrize("name", sorted(SEED_TEXT))
def test_truncated_export_keeps_posts_up_to_the_cut(name):
    lines = SEED_TEXT[name].split("\n")
    cut = "\n".join(lines[: len(lines) // 2])[:-7]  # stops mid-line
    board = parse_board(cut, source_file=name)
    original = read_export(config.RAW_DIR / name)
    assert board.truncated and not original.truncated
    kept = [p.source_line for p in board.posts]
    assert kept == [p.source_line for p in original.posts][: len(kept)]
    assert len(kept) >= len(original.posts) // 3


def _raw_dir_with(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in SEED_EXPORTS:
        shutil.copy(path, raw / path.name)
    for name, data in extra.items():
        (raw / name).write_bytes(data)
    return raw


def test_rejects_name_every_bad_file_and_the_run_goes_on(tmp_path):
    first = SEED_EXPORTS[0]
    raw = _raw_dir_with(
        tmp_path,
        {
            "empty.txt": b"",
            "binary.txt": bytes(range(256)) * 10,
            "prose.txt": "Referat fra møtet\n\nVi snakket om økonomi og samarbeid.\n".encode("utf-8"),
            "zz-copy.txt": first.read_bytes(),
            "zz-crlf-copy.txt": first.read_bytes().replace(b"\n", b"\r\n"),
        },
    )
    out = tmp_path / "out"
    run_all(raw, out, progress=False)
    reasons = io.read_table("rejects", out).set_index("source_file")["reason"].to_dict()
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "no posts found" in reasons["prose.txt"]
    assert reasons["zz-copy.txt"].startswith(f"duplicate of {first.name}")
    assert reasons["zz-crlf-copy.txt"].startswith(f"duplicate of {first.name}")
    assert sorted(io.read_table("boards", out)["source_file"]) == sorted(p.name for p in SEED_EXPORTS)


def test_rejects_table_is_written_and_empty_when_all_files_are_used(processed):
    assert len(io.read_table("rejects", processed)) == 0


def test_strict_stops_before_writing_and_names_every_bad_file(tmp_path):
    raw = _raw_dir_with(tmp_path, {"empty.txt": b"", "prose.txt": b"Bare tekst.\n"})
    out = tmp_path / "out"
    with pytest.raises(BadInputError) as info:
        run_all(raw, out, strict=True, progress=False)
    assert "empty.txt" in str(info.value) and "prose.txt" in str(info.value)
    assert not out.exists()


def test_a_failed_write_leaves_the_previous_table_whole(processed, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(processed, out)
    before = (out / "posts.parquet").read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        io.write_table("posts", io.read_table("posts", out), out)
    assert (out / "posts.parquet").read_bytes() == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_error_for_a_missing_folder_tells_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="--raw-dir"):
        run_all(tmp_path / "nope", tmp_path / "out", progress=False)


export_like_text = st.lists(
    st.one_of(st.sampled_from(SEED_LINES), st.text(max_size=60), st.just(""), st.just(" ")),
    max_size=80,
).map("\n".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export_like_text)
def test_parser_never_crashes_and_never_loses_a_line(text):
    try:
        board = parse_board(text, source_file="fuzz.txt")
    except ExportError as exc:
        assert "fuzz.txt" in str(exc)
        return
    lines = split_lines(text)
    owned = list(board.header_lines) + list(board.footer_lines)
    for post in board.posts:
        owned += range(post.source_line, post.last_line + 1)
    assert len(owned) == len(set(owned))
    assert {n for n, line in enumerate(lines, 1) if not is_blank(line)} <= set(owned)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export_like_text)
def test_cleaner_never_crashes_and_leaves_no_replacement_glyph(text):
    restored, _ = clean(text)
    assert "\ufffd" not in restored
