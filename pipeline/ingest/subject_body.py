"""Parser for the subject-body layout (e.g. the 2023 board).

The export starts with a header: the board title, then
``AUTHOR D. MONTH YYYY, HH:MM UTC``. Posts follow with an unmarked title
line; posts are separated by blank lines exactly as paragraphs are, so a
post is recognised by its title, which names a group, room or dialogue
theme ("Dialogtema 2 - Gruppe: Førde", "Rom 3", "Gruppe 4 - Tema 2"),
possibly after a short heading of place names. Page breaks (runs of 2-4
blank lines, or a leading space on the first line of a page) fall
mid-sentence and mid-post and never start a post by themselves. A line of
``※`` characters starts the footer; an export without it was cut short
and is flagged as truncated.

Data caveat: posts whose title is free text with no group or theme
("Kulturskolen og Barnehagen") cannot be told from a paragraph and are
read as part of the post before them.
"""
from __future__ import annotations

import re
from itertools import islice

from pipeline.ingest.common import (
    END_MARKER,
    THEME_NUMBER,
    classify_kind,
    has_group_marker,
    is_artifact,
    is_blank,
    is_page_start,
    last_content_line,
    norm,
    theme_number,
)
from pipeline.model import Board, Post

MONTHS = {
    "januar": 1, "februar": 2, "mars": 3, "april": 4, "mai": 5, "juni": 6,
    "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "desember": 12,
}
HEADER_LINE = re.compile(
    r"^\s*(?P<author>.+?)\s+(?P<day>\d{1,2})\.\s*(?P<month>[A-Za-zÆØÅæøå]+)\s+(?P<year>\d{4}),?"
    r"\s+(?P<hour>\d{1,2})[:.](?P<minute>\d{2})\s*(?P<tz>UTC)?\s*$"
)
MAX_TITLE_CHARS = 70
QUESTION_START = re.compile(r"(?i)^\s*(hva|kva|hvordan|korleis|hvem|kven|hvilke|kvifor|hvorfor|på hvilke|på kva)\b")
MAX_HEADING_LINES = 3


def detect(lines: list[str]) -> float:
    """1.0 when one of the first lines is a ``AUTHOR D. MONTH YYYY, HH:MM`` header."""
    head = [line for line in lines[:10] if not is_blank(line)][:3]
    for line in head:
        match = HEADER_LINE.match(line)
        if match and match.group("month").lower() in MONTHS:
            return 1.0
    return 0.0


def _is_list_item(text: str) -> bool:
    return bool(re.match(r"^([-•*]|\d+[.:)]|[A-Za-z][.)]\s)", text))


def _opens_post(lines: list[str], i: int) -> bool:
    """Whether the block starting at index ``i`` begins with a post title.

    The title names a group/room/theme in its first line, or in one of the
    next lines when the lines before it are a short heading (place names).
    """
    for k in range(i, min(i + MAX_HEADING_LINES, len(lines))):
        text = norm(lines[k])
        if not text or len(text) > MAX_TITLE_CHARS or _is_list_item(text):
            return False
        if has_group_marker(text) and not re.match(r"(?i)(skriv|trykk|velg)\b", text):
            return True
        if text[-1] in ".?!:":
            return False
    return False


def _theme_only(title: str) -> bool:
    """A title that names a dialogue theme but no group ("Dialogtema 1, gruppebesvarelse")."""
    return theme_number(title) is not None and not group_from_title(title)


def group_from_title(title: str) -> str | None:
    """The group a post title names, or None.

    Theme markers, "gruppebesvarelse", "Svar fra" and bracketed lists are
    removed; "Gruppe: X" gives X; numbered groups/rooms are written in a
    normal case ("ROM 12" -> "Rom 12"). A title that is only a list of
    places, or a question, names no group.
    """
    if title.rstrip().endswith("?") or QUESTION_START.match(title):
        return None  # a question heading, not a name
    text = re.sub(r"\(.*?(\)|$)", " ", title)
    text = THEME_NUMBER.sub(" ", text)
    text = re.sub(r"(?i)gruppe\s*besvarelse|gruppesvar|svar fra|spørsmål\s*\d*:?.*$", " ", text)
    text = re.sub(r"(?i)gruppe\s*:\s*", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" -–—,.:;")
    if not text:
        return None
    numbered = re.search(r"(?i)(?<![\w])(gruppe|grupperom|rom|bord|team)\s*(nr\.?\s*)?(\d+)(?!\w)", text)
    if numbered:
        canonical = f"{numbered.group(1).capitalize()} {numbered.group(3)}"
        text = text[: numbered.start()] + canonical + text[numbered.end():]
        return re.sub(r"\s+", " ", text).strip(" -–—,.:;")
    if "," in text or re.search(r"/", text):
        return None  # a list of places, not a group name
    return text


def _parse_header(lines: list[str]) -> tuple[str | None, str | None, str | None, int]:
    """Title, author, created_at and the index of the first line after the header."""
    title = author = created = None
    i = 0
    while i < len(lines) and is_blank(lines[i]):
        i += 1
    if i < len(lines) and not HEADER_LINE.match(lines[i]):
        title = norm(lines[i])
        i += 1
    while i < len(lines) and is_blank(lines[i]):
        i += 1
    if i < len(lines):
        match = HEADER_LINE.match(lines[i])
        if match and match.group("month").lower() in MONTHS:
            author = match.group("author").strip()
            month = MONTHS[match.group("month").lower()]
            created = (
                f"{match.group('year')}-{month:02d}-{int(match.group('day')):02d} "
                f"{int(match.group('hour')):02d}:{match.group('minute')}"
                + (" UTC" if match.group("tz") else "")
            )
            i += 1
    return title, author, created, i


def _title_extent(lines: list[str], start: int, stop: int) -> int:
    """Index after the title lines of a post starting at ``start``.

    A title continues onto the next line while it has an open bracket, ends
    with a comma or dash, or the next line is a short run of capitalised
    words or lower-case continuation ("og Skaun", "Toten", "Dialogtema 1").
    """
    title = norm(lines[start])
    end = start + 1
    while end < stop and end - start < MAX_HEADING_LINES and not is_blank(lines[end]):
        nxt = norm(lines[end])
        words = nxt.split()
        unbalanced = title.count("(") > title.count(")")
        dangling = title.endswith((",", "-", "–")) or (title[-1] not in ".?!:" and nxt[:1].islower())
        short_name = len(words) <= 2 and all(w[:1].isupper() or w[:1].isdigit() for w in words) and not _is_list_item(nxt)
        if not (unbalanced or dangling or (short_name and title[-1] not in ".?!:")):
            break
        title = f"{title} {nxt}"
        end += 1
    return end


_Block = tuple[int, str, list[str], int, str, list[str]]


def _post_block(lines: list[str], start: int, stop: int) -> _Block:
    """What the lines of one post say on their own: (title end, title, body lines, last line, kind, lead lines).

    The lead lines are the first two non-blank lines of the text, kept when
    short enough to name a theme or a group.
    """
    title_end = _title_extent(lines, start, stop)
    post_title = " ".join(norm(lines[k]) for k in range(start, title_end))
    body = [lines[k] for k in range(title_end, stop)]
    last = last_content_line(lines, start, stop)
    text_lines = [line for line in body if not is_artifact(line)]
    kind = classify_kind(post_title, "\n".join(text_lines))
    lead = list(islice((norm(line) for line in text_lines if not is_blank(line)), 2))
    lead = [line for line in lead if len(line) <= MAX_TITLE_CHARS]
    return title_end, post_title, body, last, kind, lead


def _build_posts(
    lines: list[str], starts: list[int], footer_start: int, blocks: dict[tuple[int, int], _Block] | None = None
) -> list[Post]:
    """The posts between the given start lines, with title, kind, theme and group.

    ``blocks`` keeps :func:`_post_block` by (start, stop) line for a second
    call on the same lines (a post that keeps its lines is not read again).
    """
    blocks = {} if blocks is None else blocks
    posts: list[Post] = []
    bounds = starts + [footer_start]
    previous_theme: int | None = None
    for ordinal, (start, stop) in enumerate(zip(bounds, bounds[1:]), 1):
        block = blocks.get((start, stop))
        if block is None:
            block = blocks[(start, stop)] = _post_block(lines, start, stop)
        title_end, post_title, body, last, kind, lead = block
        theme = theme_number(post_title)
        if theme is None:
            theme = next((t for t in map(theme_number, lead) if t is not None), None)
        if theme is None and kind != "empty":
            theme = previous_theme
        if theme is not None:
            previous_theme = theme

        group = None if kind == "prompt" else group_from_title(post_title)
        if kind != "prompt" and group is None and _theme_only(post_title) and lead and _looks_like_name(lead[0]):
            group = lead[0]

        posts.append(
            Post(
                source_line=start + 1,
                ordinal=ordinal,
                kind=kind,
                title=post_title,
                body_lines=body,
                body_start_line=title_end + 1,
                dialogue_theme=theme,
                group_label=group,
                last_line=last + 1,
            )
        )
    for post in posts:
        if post.kind == "empty":
            post.dialogue_theme = None

    return posts


_STOPWORDS = frozenset(
    "hva hvilke hvilken hvordan hvem kva kvar kven korleis skal til for og i på kan de dei det er som av med om "
    "at en ein et eit seg få må vi oss dere dykk så eller da når the".split()
)
_NUMBERED = re.compile(r"(?i)^\s*(?:spørsmål\s*)?((?:\d[./]?)+)\s*[.:)]?\s*(?=\S)")
MIN_QUESTION_MATCH = 0.6
QUESTION_MARGIN = 0.2


def _content_words(text: str) -> set[str]:
    """Lower-cased words that carry content; a lost ligature (U+FFFD) stands for both fi and fl."""
    # A board re-saved in an 8-bit encoding has "?" where the glyph was lost ("?ere").
    text = re.sub(r"\?(?=[a-zæøå])", "\ufffd", text.lower())
    if "\ufffd" in text:
        text = f"{text.replace(chr(0xFFFD), 'fi')} {text.replace(chr(0xFFFD), 'fl')}"
    return {w for w in re.findall(r"[a-zæøå]+", text) if len(w) > 2 and w not in _STOPWORDS}


def _numbers(line: str) -> list[int]:
    match = _NUMBERED.match(line)
    return [int(n) for n in re.findall(r"\d", match.group(1))] if match else []


def prompt_questions(posts: list[Post]) -> dict[tuple[int, int], set[str]]:
    """The numbered questions of the board's prompts: (theme, number) -> content words."""
    questions: dict[tuple[int, int], set[str]] = {}
    for post in posts:
        if post.kind != "prompt" or post.dialogue_theme is None:
            continue
        current: list | None = None
        for line in post.body_lines + [""]:
            numbers = _numbers(line)
            if current and (numbers or is_blank(line)):
                questions[(post.dialogue_theme, current[0])] = _content_words(current[1])
                current = None
            if len(numbers) == 1:
                current = [numbers[0], _NUMBERED.sub("", line)]
            elif current:
                current[1] += " " + line
    return questions


def _matching_question(heading: str, questions: dict[tuple[int, int], set[str]]) -> tuple[int, int] | None:
    """The prompt question an unnumbered heading repeats, when one clearly stands out."""
    words = _content_words(heading)
    if len(words) < 2:
        return None
    scores = sorted(((len(words & q) / len(words), key) for key, q in questions.items()), reverse=True)
    if not scores or scores[0][0] < MIN_QUESTION_MATCH:
        return None
    if len(scores) > 1 and scores[0][0] - scores[1][0] < QUESTION_MARGIN:
        return None
    return scores[0][1]


def _split_at_repeated_questions(lines: list[str], posts: list[Post], starts: list[int]) -> list[int]:
    """Start lines with new posts where a group's post restarts the board's questions.

    A post whose title names no group ("Hva kan de nasjonale aktørene bidra
    med?") cannot be told from a paragraph by its look. But within one post
    a group answers the prompt's questions once and in order: an unnumbered
    heading that repeats a prompt question the post has already answered
    (or passed), or one of another dialogue theme, starts a new post.
    """
    questions = prompt_questions(posts)
    if not questions:
        return starts
    extra: list[int] = []
    for post in posts:
        if post.kind == "prompt":
            continue
        covered: set[int] = set(_numbers(post.title or ""))
        first = post.body_start_line - 1
        for k in range(first, first + len(post.body_lines)):
            text = norm(lines[k])
            if not text:
                continue
            numbers = _numbers(lines[k])
            if numbers:
                covered.update(numbers)
                continue
            opens_block = k > first and (is_blank(lines[k - 1]) or is_page_start(lines[k]))
            if not opens_block or len(text) > MAX_TITLE_CHARS or _is_list_item(text) or not text[:1].isupper():
                continue
            end = _title_extent(lines, k, first + len(post.body_lines))
            heading = " ".join(norm(lines[j]) for j in range(k, end))
            match = _matching_question(heading, questions)
            if match is None:
                continue
            theme, number = match
            other_theme = post.dialogue_theme is not None and theme != post.dialogue_theme
            if other_theme or (covered and number <= max(covered)):
                extra.append(k)
                covered = {number}
            else:
                covered.add(number)
    return sorted(set(starts) | set(extra))


def parse(lines: list[str], source_file: str, sha256: str) -> Board:
    """Parse the lines of a subject-body export into a Board."""
    title, author, created, body_start = _parse_header(lines)
    header_lines = [n + 1 for n in range(body_start) if not is_blank(lines[n])]

    footer_start = next((n for n in range(body_start, len(lines)) if END_MARKER.match(lines[n])), len(lines))
    footer_lines = [n + 1 for n in range(footer_start, len(lines)) if not is_blank(lines[n])]

    starts: list[int] = []
    for n in range(body_start, footer_start):
        if is_blank(lines[n]):
            continue
        after_blank = n == body_start or lines[n - 1] == "" or is_blank(lines[n - 1])
        if not (after_blank or is_page_start(lines[n])):
            continue
        if not _opens_post(lines, n):
            continue
        if starts and _continues_title_only_post(lines, starts[-1], n):
            continue
        starts.append(n)

    first_content = next((n for n in range(body_start, footer_start) if not is_blank(lines[n])), None)
    if first_content is not None and (not starts or starts[0] > first_content):
        starts.insert(0, first_content)  # text before the first recognised title is a post of its own

    blocks: dict[tuple[int, int], _Block] = {}
    posts = _build_posts(lines, starts, footer_start, blocks)
    refined = _split_at_repeated_questions(lines, posts, starts)
    if refined != starts:
        posts = _build_posts(lines, refined, footer_start, blocks)

    return Board(
        source_file=source_file,
        source_sha256=sha256,
        layout="subject-body",
        title=title,
        author=author,
        created_at=created,
        description=None,
        posts=posts,
        header_lines=header_lines,
        footer_lines=footer_lines,
        truncated=footer_start == len(lines),
    )


def _looks_like_name(text: str) -> bool:
    """A short line that names something ("Sandnes kulturskole"), not a sentence or a list."""
    words = text.split()
    return 1 <= len(words) <= 4 and not re.search(r"[.,:;?!()\d]", text) and text[:1].isupper()


def _continues_title_only_post(lines: list[str], previous_start: int, n: int) -> bool:
    """True when the post before ``n`` is only a group title and line ``n`` only names the theme.

    "Gruppe 2, Oslo" + blank + "Dialogtema 2, gruppebesvarelse" is one post
    with a two-part heading; "Gruppe 2, Oslo" + blank + "Gruppe 2, Trondheim"
    is an empty post followed by another group's post.
    """
    title_end = _title_extent(lines, previous_start, n)
    has_body = any(not is_blank(lines[k]) for k in range(title_end, n))
    previous_title = " ".join(norm(lines[k]) for k in range(previous_start, title_end))
    candidate = norm(lines[n])
    return (
        not has_body
        and group_from_title(previous_title) is not None
        and theme_number(previous_title) is None
        and _theme_only(candidate)
    )
