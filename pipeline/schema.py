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
    # True for character offsets into posts.text_clean (kept exact when pseudonyms are renumbered).
    offset: bool = False


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
    def offset_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.offset]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


KINDS = ("prompt", "response", "empty")
VARIANTS = ("nb", "nn", "mixed")
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
        Column("variant", pa.string(), "Written standard: nb (Bokmål), nn (Nynorsk) or mixed; posts without distinctive words take their board's majority.", True, VARIANTS),
        Column("variant_score", pa.float64(), "Evidence for the variant: (nn - nb) / (nn + nb) over words found only in Nynorsk or only in Bokmål, in [-1, 1]."),
        Column("nn_share", pa.float64(), "Share of the post's words that are Nynorsk-only."),
        Column("nb_share", pa.float64(), "Share of the post's words that are Bokmål-only."),
        Column("variant_defaulted", pa.bool_(), "True when the post had too few distinctive words and took the board's majority."),
        Column("text_nb", pa.string(), "The post in Bokmål: Nynorsk carried over, Bokmål untouched, names and quoted titles intact."),
        Column("group_id", pa.string(), "Group that wrote the post (groups.group_id); null for prompts and posts that name no group."),
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


# ---- Who answered: groups, participants, places (issue 7, pipeline/who.py) ----
PLACE_ROLES = ("participant", "venue", "mentioned")
PLACE_SOURCES = ("text", "title", "label", "author")
PLACE_MATCHES = ("name", "sami", "alias", "genitive", "blend", "county-context", "ambiguous")
GROUP_LABEL_SOURCES = ("label", "author", "members")

GROUPS = Table(
    name="groups",
    grain="one row per answering group of a seminar",
    primary_key=("group_id",),
    columns=(
        Column("group_id", pa.string(), "Stable id: seminar date and a slug of the group's label ('2023-02-09-gruppe-2-oslo'); groups named after a person author are numbered ('2025-05-05-skriver-1'), groups known only by their members get 'medlemmer-' and their sorted kommunenummer/organisation slugs.", False),
        Column("seminar", pa.string(), "Seminar the group belongs to: the date prefix of the board id (boards of one seminar day share it).", False),
        Column("board_ids", pa.string(), "Boards the group posted on, ';'-joined.", False),
        Column("label", pa.string(), "The group's label as first written ('Gruppe 2, Oslo', 'AskØyarden', 'Gruppe nr vet-ikke'); 'Skriver N' when the author is a person; the listed municipalities/organisations when the posts name no group.", False),
        Column("label_source", pa.string(), "Where the group identity comes from.", False, GROUP_LABEL_SOURCES),
        Column("n_posts", pa.int32(), "Number of posts by the group.", False),
        Column("first_post_id", pa.string(), "The group's first post (posts.post_id).", False),
        Column("kommunenummer", pa.string(), "Municipalities the members come from (places.role = participant), kommunenummer ';'-joined and sorted; null when none is known."),
        Column("kommuner", pa.string(), "The same municipalities by official name, '; '-joined, in kommunenummer order."),
        Column("unresolved_places", pa.string(), "Participant places whose name denotes more than one municipality (Våler, Herøy) and no county decided, '; '-joined."),
        Column("venue", pa.string(), "Municipality named in the group label that is the meeting place, not the members' home ('Gruppe 2, Oslo' with members from Halden, Lyngen, Nesodden)."),
        Column("organisations", pa.string(), "Organisations named in the group's participant lists, '; '-joined in order of appearance."),
        Column("n_persons", pa.int32(), "Number of distinct person names found in the group's participant lists and author lines.", False),
    ),
)

PARTICIPANTS = Table(
    name="participants",
    grain="one row per participant entry of a post (a person, or a municipality or organisation listed as taking part)",
    primary_key=("post_id", "seq"),
    columns=(
        Column("post_id", pa.string(), "Post the entry stands in (posts.post_id).", False),
        Column("seq", pa.int32(), "Order of the entry within the post.", False),
        Column("group_id", pa.string(), "Group of the post (groups.group_id); null when the post has none."),
        Column("source", pa.string(), "Where the entry was read: the post text, its title, its group label, or the author line.", False, PLACE_SOURCES),
        Column("pattern", pa.string(), "The rule that found it: name-role, name-org, v/, and, name-in-org, name-ref, greeting, group-list, speaker, member-run, list, title, author.", False),
        Column("person", pa.string(), "The person: a pseudonym ('Person N') in every published table; the extractor yields the raw name and the privacy layer replaces it before writing. Null for place/organisation entries."),
        Column("person_start", pa.int32(), "Start offset of the (pseudonymised) name in posts.text_clean; null unless source is text.", offset=True),
        Column("person_end", pa.int32(), "End offset (exclusive) of the name in posts.text_clean; null unless source is text.", offset=True),
        Column("role", pa.string(), "Role, normalised: rektor, kultursjef, kommunalsjef, rådgiver, inspektør, lærer, kulturskoleleder, referent, skriver (author of the post), or the role word as written."),
        Column("role_raw", pa.string(), "Role as written ('konst. rektor', 'kommunalsjef kultur', 'ref')."),
        Column("organisation", pa.string(), "Organisation written with the entry ('Kulturskolerådet', 'Time kulturskule', 'NTNU')."),
        Column("municipality", pa.string(), "Municipality as written with the entry ('Førde', 'Tjeldsund')."),
        Column("kommunenummer", pa.string(), "Its kommunenummer (2024); null when unresolved or none."),
        Column("kommunenavn", pa.string(), "Official name of that municipality (2024), or the written name when it is ambiguous."),
    ),
)

PLACES = Table(
    name="places",
    grain="one row per municipality mention in a post's text, title, group label or author line",
    primary_key=("post_id", "source", "seq"),
    columns=(
        Column("post_id", pa.string(), "Post of the mention (posts.post_id).", False),
        Column("group_id", pa.string(), "Group of the post (groups.group_id); null when the post has none."),
        Column("source", pa.string(), "Where the mention stands.", False, PLACE_SOURCES),
        Column("seq", pa.int32(), "Order of the mention within its source.", False),
        Column("mention", pa.string(), "The mention as written ('Førde', 'østre Toten', 'Osterøys', 'AskØy').", False),
        Column("start", pa.int32(), "Start offset in posts.text_clean; null when the mention is in the title, label or author line.", offset=True),
        Column("end", pa.int32(), "End offset (exclusive) in posts.text_clean; null outside the text.", offset=True),
        Column("kommunenummer", pa.string(), "Municipality number (2024, via seeds/kommuner-2024.csv and seeds/kommune_aliases.csv); null when the name is ambiguous (Våler) and no county nearby decides."),
        Column("kommunenavn", pa.string(), "Official name (2024), with parallel Sámi/Kven forms as listed ('Trondheim - Tråante'); the written name when ambiguous.", False),
        Column("fylkesnavn", pa.string(), "County (2024); null when unresolved."),
        Column("role", pa.string(), "participant: where the group's members come from (participant lists, 'Place:' reports, titles, labels, author names); venue: a label place that is the meeting place, not the members' home; mentioned: examples and everything else (and every place in organisers' prompts).", False, PLACE_ROLES),
        Column("match", pa.string(), "How the name was matched: official name, a part of a parallel name, an alias (merged/renamed), a genitive, a blend of two names, a county in context, or ambiguous.", False, PLACE_MATCHES),
    ),
)

TABLES.update({t.name: t for t in (GROUPS, PARTICIPANTS, PLACES)})


# ---- Theme coding: codebook, segments, tags, theme_matrix (issue 6, pipeline/tag.py) ----
SEGMENT_ROLES = ("question", "answer", "text")
TAG_STRENGTHS = ("strong", "weak", "answers_to")


def _codebook_theme_ids() -> tuple[str, ...]:
    """Theme ids of seeds/codebook.yaml, in order (the theme_matrix columns); () when it is missing."""
    import yaml

    from pipeline.config import SEEDS_DIR

    path = SEEDS_DIR / "codebook.yaml"
    if not path.exists():
        return ()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: read at every import
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    return tuple(str(t["id"]) for t in data.get("themes") or () if isinstance(t, dict) and "id" in t)


THEME_IDS = _codebook_theme_ids()

CODEBOOK = Table(
    name="codebook",
    grain="one row per theme of the codebook used by the run",
    primary_key=("theme_id",),
    columns=(
        Column("theme_id", pa.string(), "Theme id from seeds/codebook.yaml (the researchers' codebook v1 ids).", False),
        Column("label", pa.string(), "Theme label (Norwegian).", False),
        Column("category", pa.string(), "Category id (rammer, styring, samhandling, malgruppe, arena).", False),
        Column("definition", pa.string(), "The researchers' definition, line breaks folded to spaces.", False),
        Column("exclude", pa.string(), "The researchers' exclude note (what to code elsewhere); null when none."),
        Column("version", pa.string(), "Codebook version.", False),
    ),
)

SEGMENTS = Table(
    name="segments",
    grain="one row per segment (a paragraph, or the part of one under a question number) of a response post",
    primary_key=("segment_id",),
    columns=(
        Column("segment_id", pa.string(), "Stable id: post_id and the segment's order ('<post_id>-S03').", False),
        Column("post_id", pa.string(), "Post the segment belongs to (posts.post_id).", False),
        Column("seq", pa.int32(), "1-based order of the segment in the post.", False),
        Column("role", pa.string(), "question: the organisers' question copied into the answer (not tagged, except answers_to rules); answer: text under a question number; text: text before any question number.", False, SEGMENT_ROLES),
        Column("question_no", pa.int32(), "Number of the question the segment answers ('2.', 'Spørsmål 2', first number of '1./2./3.'); null when none."),
        Column("question_note", pa.string(), "Range when a group answered several questions at once ('1-3'); null otherwise."),
        Column("question_text", pa.string(), "The prompt's question with that number (prompt posts of the same board and dialogue theme); null when the board has no prompt."),
        Column("start", pa.int32(), "Start offset in posts.text_clean.", False, offset=True),
        Column("end", pa.int32(), "End offset (exclusive) in posts.text_clean.", False, offset=True),
        Column("text", pa.string(), "posts.text_clean[start:end].", False),
    ),
)

TAGS = Table(
    name="tags",
    grain="one row per counted rule hit of a theme the post is coded with (the evidence)",
    primary_key=("post_id", "theme_id", "rule", "start", "end"),
    columns=(
        Column("post_id", pa.string(), "Coded post (posts.post_id).", False),
        Column("segment_id", pa.string(), "Segment of the hit (segments.segment_id).", False),
        Column("theme_id", pa.string(), "Theme (codebook.theme_id).", False),
        Column("rule", pa.string(), "The codebook rule that fired: '<theme>.<list>[<index>]', e.g. 'okonomi.strong[12]'.", False),
        Column("pattern", pa.string(), "The rule's term as written in the codebook ('*midler', 'sette av tid').", False),
        Column("strength", pa.string(), "strong (one hit suffices), weak (needs min_weak different words) or answers_to (the post answers a question on the theme).", False, TAG_STRENGTHS),
        Column("matched_text", pa.string(), "The words matched, exactly posts.text_clean[start:end].", False),
        Column("start", pa.int32(), "Start offset in posts.text_clean.", False, offset=True),
        Column("end", pa.int32(), "End offset (exclusive) in posts.text_clean.", False, offset=True),
    ),
)

THEME_MATRIX = Table(
    name="theme_matrix",
    grain="one row per response post",
    primary_key=("post_id",),
    columns=(
        Column("post_id", pa.string(), "Response post (posts.post_id).", False),
        Column("board_id", pa.string(), "Board of the post.", False),
        Column("n_themes", pa.int16(), "Number of themes the post is coded with.", False),
        *(Column(tid, pa.int8(), f"1 when the post is coded with theme {tid} (codebook.theme_id), else 0.", False)
          for tid in THEME_IDS),
    ),
)

TABLES.update({t.name: t for t in (CODEBOOK, SEGMENTS, TAGS, THEME_MATRIX)})
