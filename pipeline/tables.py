"""Turn parsed and cleaned boards into the rows of the published tables.

Pure functions: no I/O. ``pipeline.run`` calls them per board and hands the
frames to the one writer in ``pipeline.io``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import schema
from pipeline.model import Board, Post, Repair


def board_id_for(source_file: str) -> str:
    """Stable board id: the export's file name without its extension."""
    return Path(source_file).stem


def post_id_for(board_id: str, source_line: int) -> str:
    """Stable post id from the board and the line where the post begins."""
    return f"{board_id}-L{source_line:05d}"


@dataclass
class BoardRows:
    """The rows one board contributes to each table."""

    boards: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    repairs: list[dict] = field(default_factory=list)


def repair_row(board_id: str, post_id: str | None, source_line: int, repair: Repair) -> dict:
    return {
        "board_id": board_id,
        "post_id": post_id,
        "source_line": source_line,
        "kind": repair.kind,
        "before": repair.before,
        "after": repair.after,
        "rule": repair.rule,
        "score": repair.score,
    }


def board_rows(board: Board, n_lines: int, cleaned: dict[int, tuple[str, str | None, list[dict]]]) -> BoardRows:
    """Rows for one board.

    ``cleaned`` maps each post's ordinal to (text_clean, cleaned title,
    repair rows without ``seq``).
    """
    board_id = board_id_for(board.source_file)
    rows = BoardRows()
    rows.boards.append(
        {
            "board_id": board_id,
            "source_file": board.source_file,
            "source_sha256": board.source_sha256,
            "layout": board.layout,
            "title": board.title,
            "author": board.author,
            "created_at": board.created_at,
            "description": board.description,
            "n_posts": len(board.posts),
            "n_lines": n_lines,
            "truncated": board.truncated,
        }
    )
    for post in board.posts:
        text_clean, title, repairs = cleaned[post.ordinal]
        rows.posts.append(post_row(board, board_id, post, text_clean, title))
        rows.repairs.extend(repairs)
    return rows


def post_row(board: Board, board_id: str, post: Post, text_clean: str, title: str | None) -> dict:
    return {
        "post_id": post_id_for(board_id, post.source_line),
        "board_id": board_id,
        "source_file": board.source_file,
        "source_line": post.source_line,
        "end_line": post.last_line,
        "ordinal": post.ordinal,
        "section": post.section,
        "kind": post.kind,
        "dialogue_theme": post.dialogue_theme,
        "group_label": post.group_label,
        "author": post.author,
        "posted_at": post.posted_at,
        "title": title,
        "text_clean": text_clean,
        # Filled by the normalise and who stages.
        "variant": None,
        "variant_score": None,
        "nn_share": None,
        "nb_share": None,
        "variant_defaulted": None,
        "text_nb": None,
        "group_id": None,
    }


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """A DataFrame with the declared columns of table ``name`` (empty tables keep their columns)."""
    columns = schema.get(name).column_names
    if name == "repairs":
        rows = _number_repairs(rows)
    return pd.DataFrame(rows, columns=columns)


def frame_from_tuples(rows: list[tuple], columns: list[str], int32: tuple[str, ...] = (),
                      nullable_int32: tuple[str, ...] = ()) -> pd.DataFrame:
    """The frame of ``rows`` (tuples in ``columns`` order), the ``int32`` columns as int32 and the
    ``nullable_int32`` ones as Int32.

    Built column by column (faster than from the rows; each other column's
    type is inferred as from the rows). Without rows the frame has the
    columns, typed as ``pd.DataFrame([], columns=columns)`` types them and
    then as asked.
    """
    if not rows:
        typed = {**{c: "int32" for c in int32}, **{c: "Int32" for c in nullable_int32}}
        return pd.DataFrame(rows, columns=columns).astype(typed)
    data = dict(zip(columns, map(list, zip(*rows))))
    for c in int32:
        data[c] = np.array(data[c], dtype=np.int32)
    for c in nullable_int32:
        data[c] = pd.array(data[c], dtype="Int32")
    return pd.DataFrame(data, columns=columns)


def _number_repairs(rows: list[dict]) -> list[dict]:
    """Give each repair its ``seq``: its order among the repairs on the same line."""
    counters: dict[tuple[str, int], int] = {}
    numbered = []
    for row in rows:
        key = (row["board_id"], row["source_line"])
        counters[key] = counters.get(key, 0) + 1
        numbered.append({**row, "seq": counters[key]})
    return numbered
