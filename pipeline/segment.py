"""Split posts into segments: the answers to numbered questions and their paragraphs.

Groups often answer the organisers' numbered questions in one post ("1.",
"2:", "Spørsmål 3", "4 Kva skal til ...", "1./2./3."). ``segment_post``
cuts a post's ``text_clean`` into segments (paragraphs, and a new segment at
every accepted question number), each with character offsets into
``text_clean`` and the question number it answers. A question the group
copied into its answer ("1. Hva skal til for ...?") becomes its own segment
with role ``question``, so that the tagger can skip words that come from the
organisers rather than the group. On boards without prompts a numbered
question is the group's own text and stays in the answer segment.

Data caveats: numbering is the groups' own and not always the organisers'
(a list "1 ... 2 ... 3" inside the answer to question 2). A number counts as
a question number only when it is written as a question ("Spørsmål 2",
"4 Kva skal til"), or it follows the previous question number in order and
lies within the questions the board's prompt asks (when the board has a
prompt for the dialogue theme) or below 10. Question text is linked from the
prompt posts of the same board and dialogue theme; boards without prompts get
no ``question_text``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import pandas as pd

from pipeline.tables import frame_from_tuples

PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")
MARKER_RE = re.compile(
    r"""^(?P<spm>(?:spørsmål|spørsmal|spm\.?|sp\.)\s*)?
        (?P<nums>\d{1,2}(?:\s*[.:)/]?\s*(?:[-–/]|og|&|,)\s*\d{1,2}|\.\s*\d{1,2}(?=\s*[.:)]))*)
        (?P<sep>\s*[.:)]+)?
        (?=\s|$|[A-Za-zÆØÅæøå(])""",
    re.IGNORECASE | re.VERBOSE,
)
INTERROGATIVE_RE = re.compile(
    r"^(?:hva|kva|hvordan|korleis|korleise|hvilke|hvilken|hvilket|kva for|på hvilke|på kva|i hvilken|"
    r"hvem|kven|hvor|kor|hvorfor|kvifor|når|kan|skal|bør|er|finnes|fins)\b",
    re.IGNORECASE,
)
TITLE_QUESTION_RE = re.compile(r"(?:spørsmål|spm\.?)\s*(\d{1,2})", re.IGNORECASE)
PROMPT_QUESTION_RE = re.compile(r"^\s*(\d{1,2})\s*[.:)]\s*(\S.*)$")
MAX_UNPROMPTED_QUESTION = 9


@dataclass
class Segment:
    """One segment of a post; ``start``/``end`` are offsets into the post's text_clean."""

    seq: int
    start: int
    end: int
    role: str  # question / answer / text
    question_no: int | None
    question_note: str | None
    question_text: str | None


def prompt_questions(prompt_text: str) -> dict[int, str]:
    """The numbered questions of a prompt post: ``{1: "På hvilke områder ...?", ...}``.

    Only lines that start with a number and a separator and contain a
    question mark count; the first occurrence of a number wins.
    """
    questions: dict[int, str] = {}
    for line in prompt_text.split("\n"):
        m = PROMPT_QUESTION_RE.match(line)
        if m and "?" in m.group(2):
            questions.setdefault(int(m.group(1)), m.group(2).strip())
    return questions


def _similar(a: str, b: str) -> float:
    """Similarity of two texts (0..1), ignoring case and spacing."""
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (bit-parallel, Hyyrö 2004)."""
    masks: dict[str, int] = {}
    for i, ch in enumerate(b):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(b)) - 1
    v = full
    for ch in a:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - v.bit_count()


def matching_characters(a: str, b: str) -> int:
    """The number of characters in the matching blocks of ``SequenceMatcher(None, a, b, autojunk=False)``.

    The same blocks as difflib's, found with ``str.find`` instead of its
    per-character dictionaries (several times faster on sentences): the
    longest common substring of the two ranges (the one that starts
    earliest in ``a``, then earliest in ``b``), then the same on the parts
    left of it and right of it. Without junk and without the autojunk
    heuristic, difflib's ``find_longest_match`` returns exactly that block.
    """
    total = 0
    find = b.find
    ranges = [(0, len(a), 0, len(b))]
    while ranges:
        a_lo, a_hi, b_lo, b_hi = ranges.pop()
        size, a_start = 0, a_lo
        for i in range(a_lo, a_hi):
            if a_hi - i <= size:
                break  # no longer block can start here or later
            # grow the longest block found so far while a block that long starts at i
            while i + size < a_hi and find(a[i:i + size + 1], b_lo, b_hi) >= 0:
                size += 1
                a_start = i
        if size:
            b_start = find(a[a_start:a_start + size], b_lo, b_hi)
            total += size
            if a_lo < a_start and b_lo < b_start:
                ranges.append((a_lo, a_start, b_lo, b_start))
            if a_start + size < a_hi and b_start + size < b_hi:
                ranges.append((a_start + size, a_hi, b_start + size, b_hi))
    return total


def _similarity_above(a: str, b: str, threshold: float) -> float | None:
    """``_similar(a, b)`` when it exceeds ``threshold``, else None; cheap when an upper bound rules it out.

    ``SequenceMatcher.ratio`` is 2*M/T, M the letters in its matching blocks
    and T the total length. The blocks form a common subsequence, so M is at
    most the longest common subsequence, which is at most the shorter
    length. These bounds are tried first; M itself comes from
    ``matching_characters``, so the answer is always the one ``_similar``
    gives.
    """
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    total = len(a) + len(b)
    if total and (2.0 * min(len(a), len(b)) / total <= threshold or 2.0 * lcs_length(a, b) / total <= threshold):
        return None
    ratio = 2.0 * matching_characters(a, b) / total if total else 1.0  # difflib's ratio of two empty texts
    return ratio if ratio > threshold else None


def _similar_above(a: str, b: str, threshold: float) -> bool:
    """``_similar(a, b) > threshold`` (see ``_similarity_above``)."""
    return _similarity_above(a, b, threshold) is not None


def _most_similar(text: str, questions: dict[int, str], threshold: float) -> int | None:
    """The number of the question most similar to ``text`` (the first on ties), if above ``threshold``."""
    best, best_score = None, threshold
    for no, question in questions.items():
        score = _similarity_above(text, question, best_score)
        if score is not None:
            best, best_score = no, score
    return best


def _numbers(nums: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,2}", nums)]


def _question_part(rest: str, questions: dict[int, str], no: int | None) -> int:
    """Length of the question text at the start of ``rest`` (0 when it starts with the answer)."""
    m = re.match(r"\s*\(([^)]*)\)\s*:?", rest)
    if m:
        return m.end()
    known = questions.get(no) if no is not None else None
    m = re.match(r"\s*([^.?!]*[.?!])", rest)
    if known and m and INTERROGATIVE_RE.match(m.group(1).strip()) and _similar_above(m.group(1), known[: len(m.group(1)) + 10], 0.6):
        # a copied question that ends with '.' instead of '?'
        rest_pos = m.end()
        more = _question_part(rest[rest_pos:], {}, None) if rest[rest_pos:].strip() else 0
        return rest_pos + more
    end = 0
    pos = 0
    first = True
    while True:
        m = re.match(r"\s*([^.?!]*\?)", rest[pos:])
        if not m:
            break
        sentence = m.group(1).strip()
        if INTERROGATIVE_RE.match(sentence) or (first and known and _similar_above(sentence, known[: len(sentence) + 10], 0.6)):
            pos += m.end()
            end = pos
            first = False
            continue
        break
    return end


def _line_spans(text: str, start: int, end: int):
    """(start, end) of each line of text[start:end]."""
    pos = start
    for line in text[start:end].split("\n"):
        yield pos, pos + len(line)
        pos += len(line) + 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def segment_post(text: str, questions: dict[int, str] | None = None, title: str | None = None) -> list[Segment]:
    """Split one post's text into segments (see the module docstring for the rules).

    ``questions`` are the prompt's numbered questions for the post's board
    and dialogue theme ({} or None when unknown); ``title`` is the post's
    title, which may name the question ("Del 2, spørsmål 1: ..."). Every
    non-blank character of ``text`` lies in exactly one segment.
    """
    questions = questions or {}
    current: int | None = None
    note: str | None = None
    m = TITLE_QUESTION_RE.search(title or "")
    if m:
        current = int(m.group(1))
    pieces: list[tuple[int, int, str, int | None, str | None]] = []
    last_no: int | None = None

    def add(s: int, e: int, role: str, no, nt):
        s, e = _trim(text, s, e)
        if e > s:
            pieces.append((s, e, role, no, nt))

    pos = 0
    paragraphs = []
    for m in PARAGRAPH_RE.finditer(text):
        paragraphs.append((pos, m.start()))
        pos = m.end()
    paragraphs.append((pos, len(text)))
    for p_start, p_end in paragraphs:
        seg_start = p_start
        for l_start, l_end in _line_spans(text, p_start, p_end):
            line = text[l_start:l_end]
            lead = len(line) - len(line.lstrip())
            header = _accept_header(line.lstrip(), questions, last_no)
            if header is None:
                # an unnumbered copy of a prompt question
                stripped = line.strip()
                if questions and stripped.endswith("?"):
                    best = _most_similar(stripped, questions, 0.8)
                    if best is not None:
                        add(seg_start, l_start, "answer" if current else "text", current, note)
                        current, note, last_no = best, None, best
                        add(l_start, l_end, "question", best, None)
                        seg_start = l_end
                continue
            no, nt, marker_len = header
            add(seg_start, l_start, "answer" if current else "text", current, note)
            current, note, last_no = no, nt, no
            if not questions:
                # no prompt on this board: the numbered line is the group's own text
                # (often its own question), so it stays in the answer
                seg_start = l_start
                continue
            rest = line.lstrip()[marker_len:]
            q_len = _question_part(rest, questions, no)
            q_end = l_start + lead + marker_len + q_len
            add(l_start, q_end, "question", no, nt)
            seg_start = q_end
        add(seg_start, p_end, "answer" if current else "text", current, note)
    out = []
    for seq, (s, e, role, no, nt) in enumerate(pieces, 1):
        out.append(Segment(seq, s, e, role, no, nt, questions.get(no) if no is not None else None))
    return out


def _accept_header(line: str, questions: dict[int, str], last_no: int | None):
    """(question_no, note, marker length) when ``line`` starts with a question number, else None."""
    m = MARKER_RE.match(line)
    if not m:
        return None
    nums = _numbers(m.group("nums"))
    if not nums or any(n == 0 for n in nums):
        return None
    no = nums[0]
    note = None
    if len(nums) > 1:
        if nums != sorted(nums) or len(set(nums)) != len(nums):
            return None
        note = f"{nums[0]}-{nums[-1]}"
    rest = line[m.end():].strip()
    sep = (m.group("sep") or "").strip()
    if m.group("spm"):
        return no, note, m.end()
    if len(nums) == 1 and not sep and re.match(r"^\d", line) and re.match(r"^[.,]\d", line[m.end():]):
        return None
    in_range = (no in questions) if questions else no <= MAX_UNPROMPTED_QUESTION
    if not in_range:
        return None
    if not rest:
        return no, note, m.end()
    if INTERROGATIVE_RE.match(rest) or (questions and _similar_above(rest[: len(questions[no]) + 5], questions[no], 0.6)):
        return no, note, m.end()
    in_order = last_no is None or no > last_no
    if in_order and (sep or len(nums) > 1 or not re.match(r"^[a-zæøå]", rest)):
        return no, note, m.end()
    if in_order and last_no is not None and no == last_no + 1:
        return no, note, m.end()
    if in_order and last_no is None and no == 1:
        return no, note, m.end()
    return None


SEGMENT_COLUMNS = ["segment_id", "post_id", "seq", "role", "question_no", "question_note", "question_text",
                   "start", "end", "text"]


def board_questions(posts: pd.DataFrame) -> dict[tuple[str, int], dict[int, str]]:
    """Numbered prompt questions per (board_id, dialogue_theme), from the prompt posts."""
    out: dict[tuple[str, int], dict[int, str]] = {}
    for kind, board_id, theme, text in zip(*(posts[c].tolist() for c in ("kind", "board_id", "dialogue_theme",
                                                                         "text_clean"))):
        if kind != "prompt" or pd.isna(theme):
            continue
        qs = prompt_questions(text)
        if qs:
            out.setdefault((board_id, int(theme)), {}).update(qs)
    return out


def segments_frame(posts: pd.DataFrame) -> pd.DataFrame:
    """The ``segments`` table for the response posts of ``posts``.

    One row per segment: segment_id ("<post_id>-S01"), post_id, seq, role,
    question_no, question_note (range such as "1-3" when a group answered
    several questions at once), question_text (the prompt's question when
    linked), start/end offsets into posts.text_clean, and the text.
    Prompt and empty posts get no segments.
    """
    qmap = board_questions(posts)
    rows = []
    for kind, post_id, board_id, theme, title, text in zip(
            *(posts[c].tolist() for c in ("kind", "post_id", "board_id", "dialogue_theme", "title", "text_clean"))):
        if kind != "response":
            continue
        questions = qmap.get((board_id, int(theme)), {}) if pd.notna(theme) else {}
        for seg in segment_post(text, questions, title if isinstance(title, str) else None):
            rows.append((f"{post_id}-S{seg.seq:02d}", post_id, seg.seq, seg.role, seg.question_no,
                         seg.question_note, seg.question_text, seg.start, seg.end, text[seg.start:seg.end]))
    return frame_from_tuples(rows, SEGMENT_COLUMNS, int32=("seq", "start", "end"), nullable_int32=("question_no",))
