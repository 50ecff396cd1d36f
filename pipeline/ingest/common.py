"""Line-level patterns shared by the layout parsers.

These describe how Padlet's PDF export looks after text extraction, not any
particular board: blank and no-break-space lines, page-start indentation,
padlet links, reaction counts, and the words that mark groups and themes.
"""
from __future__ import annotations

import re
from itertools import islice

NBSP = "\u00a0"

# A line naming a group, room or dialogue theme: "Dialogtema 2", "dialogtema1",
# "Tema 1", "Del 2", "Gruppe 4", "GRUPPE 5", "Rom 12", "Samtale 2", "Gruppe: Førde",
# "gruppebesvarelse".
_NUMBERED_MARKER = re.compile(
    r"(?i)(?<![\w])(dialog\s*tema|tema|del|samtale|gruppe|grupperom|rom|bord|team)\s*(nr\.?\s*)?\d+(?!\w)"
)
_NAMED_MARKER = re.compile(r"(?i)(gruppe\s*:|gruppe\s*besvarelse|gruppesvar|svar fra)")
THEME_NUMBER = re.compile(r"(?i)(?<![\w])(?:dialog\s*tema|dialog|tema|samtale|del)\s*(\d+)(?!\w)")
PADLET_LINK = re.compile(r"^\s*https?://(www\.)?padlet\.com/\S*\s*$")
REACTIONS = re.compile(r"^\s*\d+\s+\d+\s*$")
END_MARKER = re.compile(r"^\s*※+\s*$")


def is_blank(line: str) -> bool:
    """True for empty lines and lines of only whitespace/no-break spaces."""
    return not line.strip()


def last_content_line(lines: list[str], start: int, stop: int) -> int:
    """The index of the last non-blank line of ``lines[start:stop]``; ``start`` when all are blank."""
    return next((k for k in range(stop - 1, start - 1, -1) if not is_blank(lines[k])), start)


def is_page_start(line: str) -> bool:
    """The PDF extraction indents the first line of a new text block by one space."""
    return line.startswith(" ") and not line.startswith("  ") and bool(line.strip())


def has_group_marker(line: str) -> bool:
    """True when a line names a group, room or dialogue theme."""
    return bool(_NUMBERED_MARKER.search(line) or _NAMED_MARKER.search(line))


def theme_number(text: str) -> int | None:
    """The dialogue theme number named in ``text`` ("Dialogtema 2", "Tema 1", "Del 2", "Samtale 3")."""
    match = THEME_NUMBER.search(text)
    return int(match.group(1)) if match else None


def is_artifact(line: str) -> bool:
    """Export artefacts that belong to a post but are not its text: padlet links, reaction counts."""
    return bool(PADLET_LINK.match(line) or REACTIONS.match(line))


def norm(line: str) -> str:
    """A line without surrounding whitespace and with no-break spaces as spaces."""
    return line.replace(NBSP, " ").strip()


_INSTRUCTION = re.compile(
    r"(?im)^\s*[-•]?\s*(skriv|trykk|velg|opprett|diskuter|drøft|drøfta|les|noter|svar|legg inn|lag)\b"
)
_PROMPT_TITLE = re.compile(r"(?i)(oppgave|innledning|instruks|introduksjon|slik svarer|hvordan svarer|korleis svarar)")
_WORD_CHAR = re.compile(r"\w")
_QUESTION_LINE = re.compile(r"(?m)^\s*(\d+[.:)]?|spørsmål\s*\d+:?)\s*.*\?\s*$")


def classify_kind(title: str | None, body: str) -> str:
    """``prompt``, ``response`` or ``empty`` for a post.

    A prompt is the organisers' instruction: it names a task in its title
    ("Gruppeoppgaver", "Innledning") or carries several imperative
    instruction lines ("Skriv ...", "Velg ...") beside numbered questions.
    Groups copy the questions into their answers, so questions alone do
    not make a prompt. A post with no words in its body is empty.
    """
    if not _WORD_CHAR.search(body):
        return "empty"
    # Only whether there are no, some or three instruction lines matters, and whether there is a question.
    instructions = sum(1 for _ in islice(_INSTRUCTION.finditer(body), 3))
    title_says_task = bool(title and _PROMPT_TITLE.search(title))
    if (title_says_task and instructions) or (
        (title_says_task or instructions >= 3) and _QUESTION_LINE.search(body)
    ):
        return "prompt"
    return "response"
