"""The declared schema of every published table, in one place.

Each :class:`Table` lists its columns with type, nullability, allowed values
and meaning. The same declaration is used to write Parquet (``pipeline.io``),
to validate every table before it is written, by the tests, and to generate
the data dictionary in ``docs/data-dictionary.md`` (``python -m pipeline
docs``). Add columns here first; the writer refuses anything undeclared.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns]
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


KINDS = ("prompt", "response", "empty")
LAYOUTS = ("subject-body", "author-timestamp")
REPAIR_KINDS = ("ligature", "time", "glyph", "gj_split", "wrap", "page_break", "column_join")

BOARDS = Table(
    name="boards",
    grain="one row per export file",
    primary_key=("board_id",),
    columns=(
        Column("board_id", pa.string(), "Stable id of the board: the export's file name without extension.", False),
        Column("source_file", pa.string(), "The export's file name, without its folder.", False),
        Column("source_sha256", pa.string(), "SHA-256 of the export's bytes as read from data/raw.", False),
        Column("layout", pa.string(), "Export layout the parser detected.", False, LAYOUTS),
        Column("title", pa.string(), "Board title from the export header."),
        Column("author", pa.string(), "Board creator as printed in the header."),
        Column("created_at", pa.string(), "Creation date (and time, with 'UTC' where the export prints it) from the header, ISO 8601: '2023-02-09 08:38 UTC', '2025-04-30'."),
        Column("description", pa.string(), "Board description under the title, when the export has one."),
        Column("n_posts", pa.int32(), "Number of posts parsed from the export.", False),
        Column("n_lines", pa.int32(), "Number of lines in the export.", False),
        Column("truncated", pa.bool_(), "True when the export was cut short (no end marker, or it stops mid-line); posts up to the cut are kept.", False),
    ),
)

POSTS = Table(
    name="posts",
    grain="one row per post",
    primary_key=("post_id",),
    columns=(
        Column("post_id", pa.string(), "Stable id: board_id and the post's source line ('<board_id>-L00101').", False),
        Column("board_id", pa.string(), "Board the post belongs to (boards.board_id).", False),
        Column("source_file", pa.string(), "The export's file name, without its folder.", False),
        Column("source_line", pa.int32(), "1-based line in the raw export where the post begins (title line or author line).", False),
        Column("end_line", pa.int32(), "1-based last non-blank line of the post in the raw export.", False),
        Column("ordinal", pa.int32(), "1-based position of the post on its board, in export order.", False),
        Column("section", pa.string(), "Board section (column) heading the post stands under, e.g. 'Gruppedialog 1'; null when the layout has none."),
        Column("kind", pa.string(), "prompt (organisers' instructions/questions), response (a group's answer) or empty.", False, KINDS),
        Column("dialogue_theme", pa.int32(), "Dialogue theme number from 'Dialogtema 2', 'Tema 1', 'Del 2', 'dialogtema1'...; null when unknown."),
        Column("group_label", pa.string(), "The group as the post names it ('Gruppe 2, Oslo', 'Rom 8'); null when it names none."),
        Column("author", pa.string(), "Author as printed (author-timestamp layout); null in the subject-body layout."),
        Column("posted_at", pa.timestamp("s"), "Wall-clock time printed in the export (Norwegian local time), no time-zone conversion."),
        Column("title", pa.string(), "Title line of the post (subject-body layout), cleaned."),
        Column("text_clean", pa.string(), "The post body restored: paragraphs separated by a blank line, list items on their own lines.", False),
    ),
)

REPAIRS = Table(
    name="repairs",
    grain="one row per edit made while cleaning",
    primary_key=("board_id", "source_line", "seq"),
    columns=(
        Column("board_id", pa.string(), "Board of the edited text.", False),
        Column("post_id", pa.string(), "Post of the edited text; null for edits in the board header.", True),
        Column("source_line", pa.int32(), "1-based line of the raw export where the damaged text stands.", False),
        Column("seq", pa.int32(), "Order of the edit among the edits on the same line.", False),
        Column("kind", pa.string(), "What was repaired.", False, REPAIR_KINDS),
        Column("before", pa.string(), "Exact text before the edit.", False),
        Column("after", pa.string(), "Exact text after the edit (empty when dropped).", False),
        Column("rule", pa.string(), "The rule that made the edit.", False),
        Column("score", pa.float64(), "Evidence for the choice (e.g. Zipf word frequency); null for deterministic rules."),
    ),
)

REJECTS = Table(
    name="rejects",
    grain="one row per input file that was not used",
    primary_key=("source_file",),
    columns=(
        Column("source_file", pa.string(), "The file's name, without its folder.", False),
        Column("reason", pa.string(), "Why the file was not used, and what to do about it.", False),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (BOARDS, POSTS, REPAIRS, REJECTS)}


def get(name: str) -> Table:
    """The declared table ``name``; a clear error for unknown names."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; declared tables: {', '.join(sorted(TABLES))}") from None


def data_dictionary_markdown() -> str:
    """The data dictionary of all tables as Markdown (for docs/)."""
    lines = ["# Data dictionary", "", "Generated from `pipeline/schema.py` by `python -m pipeline docs`; do not edit by hand.", ""]
    for t in TABLES.values():
        lines += [f"## `{t.name}`", "", f"One row per {t.grain.removeprefix('one row per ')}. Primary key: `{', '.join(t.primary_key)}`.", ""]
        lines += ["| column | type | null | meaning |", "|---|---|---|---|"]
        for c in t.columns:
            meaning = c.description
            if c.allowed:
                meaning += " Values: " + ", ".join(f"`{v}`" for v in c.allowed) + "."
            lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {meaning} |")
        lines.append("")
    return "\n".join(lines)
