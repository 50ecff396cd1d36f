"""Parser for the author-timestamp layout (e.g. the 2025 board).

The export starts with the board header: the creator and the creation date
(``Hege Posaas 4/30/2025``), the title, and a description. Then sections
(Padlet columns, e.g. ``Gruppedialog 1``) and posts. Each post begins with
``AUTHOR M/D/YY H:MMAM`` where the ':' glyph is usually lost (U+FFFD). A
long author name wraps over lines, with the date and the time on lines of
their own. ``0 0`` reaction-count lines and padlet ``/wish/`` links belong to
the post they follow but are not its text.

Data caveat: the printed time is the viewer's wall-clock time; it is kept
as printed, without time-zone conversion.
"""
from __future__ import annotations

import re
from datetime import datetime

from pipeline.ingest.common import (
    classify_kind,
    has_group_marker,
    is_artifact,
    is_blank,
    is_page_start,
    last_content_line,
    norm,
    theme_number,
)
from pipeline.model import Board, Post, Repair

REPLACEMENT = "\ufffd"
DATE = r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2})"
TIME = r"(?P<hour>\d{1,2})(?P<sep>[^\w\s])(?P<minute>\d{2})\s*(?P<ampm>[AaPp][Mm])"
POST_HEADER = re.compile(rf"^\s*(?P<author>.*?)\s*(?<![\d/]){DATE}(?:\s+{TIME})?\s*$")
TIME_ONLY = re.compile(rf"^\s*{TIME}\s*$")
BOARD_HEADER = re.compile(r"^\s*(?P<creator>.+?)\s+(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})\s*$")
SECTION_ONLY = re.compile(r"^[^\W\d_]+\s*\d+$")  # "Tema 2", "Gruppedialog 1": a heading even right after text
MAX_AUTHOR_LINES = 3
MAX_SECTION_CHARS = 40


def _post_header(line: str) -> re.Match | None:
    """``POST_HEADER.match(line)``; a line without "/" is skipped, as every header's date holds one."""
    return POST_HEADER.match(line) if "/" in line else None


def detect(lines: list[str]) -> float:
    """Share of the evidence for this layout: two or more post headers score 1.0."""
    headers = 0
    for line in lines:
        if _post_header(line):
            headers += 1
            if headers == 2:  # the score cannot rise further
                break
    return min(1.0, headers / 2)


def _time_of(match: re.Match) -> tuple[int, int]:
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    pm = match.group("ampm").lower() == "pm"
    if hour == 12:
        hour = 0
    return hour + (12 if pm else 0), minute


def restore_author(raw: str) -> tuple[str, list[tuple[str, str]]]:
    """An author name with its lost punctuation glyphs restored or dropped.

    In author names U+FFFD stands for a lost bracket: the first one before a
    word opens "(", the next one closes ")", an unmatched one is dropped.
    Returns the name and the (before, after) edits made.
    """
    tokens = raw.split()
    edits: list[tuple[str, str]] = []
    out: list[str] = []
    open_bracket = False
    for token in tokens:
        if REPLACEMENT not in token:
            out.append(token)
            continue
        before = token
        if token == REPLACEMENT:
            if not open_bracket:
                open_bracket = True
                out.append("(")
                edits.append((before, "("))
            elif out:
                out[-1] += ")"
                open_bracket = False
                edits.append((before, ")"))
            continue
        if token.startswith(REPLACEMENT):
            if open_bracket and out:
                out[-1] += ")"
                open_bracket = False
                token = token[1:]
                edits.append((before, token))
            else:
                open_bracket = True
                token = "(" + token[1:]
                edits.append((before, token))
        if token.endswith(REPLACEMENT):
            if open_bracket:
                token = token[:-1] + ")"
                open_bracket = False
            else:
                token = token[:-1]
            edits.append((before, token))
        out.append(token.replace(REPLACEMENT, ""))
    name = " ".join(out).replace("( ", "(")
    if open_bracket:
        name = name.replace("(", "", 1)
    return re.sub(r"\s+", " ", name).strip(), edits


def _parse_board_header(lines: list[str], first_content: int) -> tuple[str | None, str | None, str | None, str | None]:
    """Creator, created date, title and description from the lines before the first post."""
    content = [norm(lines[k]) for k in range(first_content) if not is_blank(lines[k])]
    creator = created = title = None
    if content:
        match = BOARD_HEADER.match(content[0])
        if match:
            creator = match.group("creator").strip()
            created = f"{match.group('year')}-{int(match.group('month')):02d}-{int(match.group('day')):02d}"
            content = content[1:]
    if content:
        title, content = content[0], content[1:]
    description = " ".join(content) or None
    return creator, created, title, description


def parse(lines: list[str], source_file: str, sha256: str) -> Board:
    """Parse the lines of an author-timestamp export into a Board."""
    headers = _find_post_headers(lines)
    sections = _find_sections(lines, headers)

    first = min([h["start"] for h in headers] + list(sections) + [len(lines)])
    creator, created, title, description = _parse_board_header(lines, first)
    header_lines = [k + 1 for k in range(first) if not is_blank(lines[k])]
    header_lines += [k + 1 for k in sections]

    boundaries = sorted([h["start"] for h in headers] + list(sections) + [len(lines)])
    posts: list[Post] = []
    current_section: str | None = None
    section_at = dict(sections)
    for ordinal, header in enumerate(headers, 1):
        for k in sorted(section_at):
            if k < header["start"]:
                current_section = section_at[k]
        stop = next(b for b in boundaries if b > header["end"])
        body = lines[header["end"] + 1 : stop]
        last = last_content_line(lines, header["start"], stop)
        text = "\n".join(line for line in body if not is_artifact(line))
        posts.append(
            Post(
                source_line=header["start"] + 1,
                ordinal=ordinal,
                kind=classify_kind(None, text),
                title=None,
                body_lines=body,
                body_start_line=header["end"] + 2,
                section=current_section,
                dialogue_theme=theme_number(current_section) if current_section else None,
                author=header["author"],
                posted_at=header["posted_at"],
                last_line=last + 1,
                header_repairs=header["repairs"],
            )
        )
    return Board(
        source_file=source_file,
        source_sha256=sha256,
        layout="author-timestamp",
        title=title,
        author=creator,
        created_at=created,
        description=description,
        posts=posts,
        header_lines=sorted(header_lines),
        footer_lines=[],
    )


def _find_post_headers(lines: list[str]) -> list[dict]:
    """Every post header: its first and last line index, author, time and repairs."""
    headers: list[dict] = []
    n = 0
    while n < len(lines):
        match = _post_header(lines[n])
        if not match or BOARD_HEADER.match(lines[n]):
            n += 1
            continue
        start, end = n, n
        repairs: list[Repair] = []
        time_match, time_line = (match, n) if match.group("hour") else (None, None)
        if time_match is None:
            k = n + 1
            while k < len(lines) and is_blank(lines[k]):
                k += 1
            if k < len(lines) and TIME_ONLY.match(lines[k]):
                time_match, time_line, end = TIME_ONLY.match(lines[k]), k, k
        author_lines: list[tuple[int, str]] = []
        if match.group("author").strip():
            author_lines.append((n, match.group("author")))
        else:
            k = n - 1
            while k >= 0 and is_blank(lines[k]):
                k -= 1
            while k >= 0 and len(author_lines) < MAX_AUTHOR_LINES and not is_blank(lines[k]):
                if re.search(r"[a-zæøå]", lines[k]) or _post_header(lines[k]) or is_artifact(lines[k]):
                    break
                author_lines.insert(0, (k, lines[k]))
                if is_page_start(lines[k]):
                    break
                k -= 1
            if author_lines:
                start = author_lines[0][0]
        raw_author = " ".join(text.strip() for _, text in author_lines)
        author, edits = restore_author(raw_author) if raw_author else (None, [])
        for before, after in edits:
            line_no = next((k for k, text in author_lines if before in text), start)
            repairs.append(Repair(line_no + 1, "glyph", before, after, "author_bracket_glyph"))
        posted_at = None
        if time_match is not None:
            hour, minute = _time_of(time_match)
            year = 2000 + int(match.group("year"))
            posted_at = datetime(year, int(match.group("month")), int(match.group("day")), hour, minute)
            if time_match.group("sep") != ":":
                printed = time_match.group(0).strip()
                repairs.append(Repair(time_line + 1, "time", printed, printed.replace(time_match.group("sep"), ":", 1), "time_colon_glyph"))
        headers.append({"start": start, "end": end, "author": author or None, "posted_at": posted_at, "repairs": repairs})
        n = end + 1
    return headers


def _find_sections(lines: list[str], headers: list[dict]) -> dict[int, str]:
    """Section headings: a short line naming a column, right before a post header.

    The next non-blank line is a post header, and the line is a word and a
    number ("Gruppedialog 2", "Tema 1"), or it names a group or theme and
    stands on its own (after a blank line or on a new text block).
    """
    starts = {h["start"] for h in headers}
    sections: dict[int, str] = {}
    for start in sorted(starts):
        k = start - 1
        while k >= 0 and is_blank(lines[k]):
            k -= 1
        if k < 0:
            continue
        text = norm(lines[k])
        standalone = k == 0 or is_blank(lines[k - 1]) or is_page_start(lines[k])
        short = len(text) <= MAX_SECTION_CHARS and text[-1] not in ".?!:,"
        if short and (SECTION_ONLY.match(text) or (standalone and has_group_marker(text))):
            sections[k] = text
    return sections
