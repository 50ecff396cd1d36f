"""Cleaning stage: restore the text of Padlet PDF exports.

The exports are text extracted from Padlet PDFs and carry these kinds of damage:

* the fi/fl ligatures became U+FFFD (``\ufffdere`` = flere, ``re\ufffdeksjon`` =
  refleksjon); U+FFFD also replaces ``:`` in times (``9\ufffd08AM``) and
  punctuation in author names (``GRUPPE 3\ufffd``);
* ``gj`` got a space (``g jøre``, ``ig jen``, ``Avg jørende``);
* lines are hard-wrapped, page breaks (runs of blank lines, usually 2-4 but
  sometimes 1, and a leading space on a page's first line) fall mid-sentence;
* narrow mind-map columns break words without a hyphen (``svømm`` / ``ehall``).

Every decision that is not purely typographic is taken on lexical evidence
from :mod:`pipeline.lexicon` (word list + wordfreq + compound splitting);
there are no per-word exceptions. The writers' own typos are kept: nothing
here spell-corrects.

Public API: :func:`clean` (one post body), :func:`clean_title` (one line),
:func:`restore_word` (one U+FFFD token), :func:`restore_time`.
Every edit is reported as a :class:`pipeline.model.Repair` whose ``line`` is
the 0-based index of the input line where the edit starts.
"""
from __future__ import annotations

import itertools
import re
import weakref
from dataclasses import dataclass

from pipeline.lexicon import Lexicon, load_lexicon
from pipeline.model import Repair

GLYPH = "\ufffd"
# What a U+FFFD standing for a ligature can mean, in order of preference on ties.
# ff/ffi/ffl are rare in Norwegian; they carry a small penalty.
LIGATURES = (("fi", 0.0), ("fl", 0.0), ("ff", 1.5), ("ffi", 1.5), ("ffl", 1.5))
DROP_PENALTY = 4.0  # zipf points a dropped glyph must win by (glyph was punctuation)
LISTED_FLOOR = 2.0  # evidence floor for a glued form that is a listed word
COLUMN_WIDTH = 20  # a line this short (stripped) may be a narrow mind-map column
SHORT_LINE = 30  # a line that ends this far before any wrap column was ended by the writer
WRAP_SHARE = 0.75  # ... or ends before this share of the post's wrap column
MAX_WRAPPED_LINE = 100  # longer lines were never hard-wrapped (already restored text)

_LETTER = r"[^\W\d_]"
_LETTERS_RE = re.compile(rf"{_LETTER}+")
_SEGMENT_RE = re.compile(rf"(?:{_LETTER}|{GLYPH})+")
_TIME_RE = re.compile(rf"(?<=\d){GLYPH}(?=\d)")
_GLYPH_TOKEN_RE = re.compile(rf"\S*{GLYPH}\S*")
_GJ_RE = re.compile(rf"(?<![\w{GLYPH}])({_LETTER}*[gG]) ([jJ]{_LETTER}*)")
_LIST_RE = re.compile(
    r"""^(?:
        [-–—•*▪●]\s*\S                      # - item, -item, • item
      | \d{1,3}[.):]\s*\S                   # 1. item, 1) item, 1: item, 2.Hva
      | \d{1,3}[A-Za-z]?\s+[A-ZÆØÅ]         # 1 Item, 1B Item
      | [A-ZÆØÅ][.)]\s+\S                   # A. item
      | [A-ZÆØÅ][a-zæøå]+\s+\d{1,3}\s*[:.]  # Spørsmål 2: ...
    )""",
    re.VERBOSE,
)
_TERMINAL_RE = re.compile(r"[.!?:;]['\"»”)\]]*$")
# "kultur- og oppvekstsektoren": a hyphen before a conjunction is a suspended compound
_CONJUNCTIONS = frozenset({"og", "eller", "samt", "enn", "som"})
_G_END_RE = re.compile(rf"(?<![\w{GLYPH}])({_LETTER}*[gG])$")  # a line ending in a word's g (of a split gj)
_J_START_RE = re.compile(rf"([jJ]{_LETTER}*)")  # the j... that may continue it on the next line
_HYPHEN_END_RE = re.compile(rf"{_LETTER}-$")
_PUNCT_START_RE = re.compile(r"^(?:[,;:)\]»”]|[.!?](?:\s|$))")
_URL_RE = re.compile(r"^(?:https?://|www\.)", re.IGNORECASE)


# ---------------------------------------------------------------------------
# single tokens
# ---------------------------------------------------------------------------


def restore_time(token: str) -> str:
    """Replace each U+FFFD standing between two digits by ``:`` (``9\ufffd08AM`` -> ``9:08AM``)."""
    return _TIME_RE.sub(":", token)


def _match_case(replacement: str, segment: str) -> str:
    """Upper-case ``replacement`` if the segment's letters are all capitals (``\ufffdNANS``)."""
    letters = [c for c in segment if c != GLYPH and c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return replacement.upper()
    return replacement


def _evidence(word: str, lexicon: Lexicon) -> tuple[float, str]:
    """Score how well ``word`` (glyph-free, letters only) is attested, with the rule used.

    Tiers: listed word (10 + zipf) > known compound (6 + min part zipf / 4)
    > wordfreq-only word with zipf >= 3 (5 + zipf / 10) > fragment whose
    prefix matches a listed word (up to 4, by shared-prefix share).
    """
    if lexicon.has(word):
        return 10.0 + lexicon.zipf(word), "lexicon"
    parts = lexicon.compound_parts(word)
    if parts:
        return 6.0 + min(lexicon.zipf(p) for p in parts) / 4.0, "compound"
    z = lexicon.zipf(word)
    if z >= 3.0:
        return 5.0 + z / 10.0, "wordfreq"
    return 4.0 * lexicon.prefix_evidence(word) / max(len(word), 1), "prefix"


def _segment_candidates(segment: str) -> list[tuple[str, float, bool]]:
    """Every way to fill the glyphs of one letter segment: (text, penalty, dropped).

    A glyph may be dropped (it was punctuation) only where it touches the
    segment's edge; at most three glyphs per segment are expanded.
    """
    slots = [i for i, c in enumerate(segment) if c == GLYPH][:3]
    options = []
    for i in slots:
        opts = [(lig, pen, False) for lig, pen in LIGATURES]
        if i == 0 or i == len(segment) - 1:
            opts.append(("", DROP_PENALTY, True))
        options.append(opts)
    out = []
    for combo in itertools.product(*options):
        chars = list(segment)
        penalty, dropped = 0.0, False
        for i, (rep, pen, drop) in zip(slots, combo):
            chars[i] = _match_case(rep, segment)
            penalty += pen
            dropped = dropped or drop
        text = "".join(chars).replace(GLYPH, "")
        out.append((text, penalty, dropped))
    return out


def _restore_segment(segment: str, lexicon: Lexicon) -> tuple[str, float, str]:
    """Best filling of the glyphs in one letter segment: (text, score, rule)."""
    best = (segment.replace(GLYPH, ""), float("-inf"), "drop")
    for text, penalty, dropped in _segment_candidates(segment):
        if not text:
            continue
        score, rule = _evidence(text, lexicon)
        score -= penalty
        if dropped:
            rule = "drop"
        if score > best[1]:
            best = (text, score, rule)
    return best


def restore_word(token: str, lexicon: Lexicon | None = None) -> tuple[str, float | None, str]:
    """Restore one whitespace-free token containing U+FFFD: (word, score, rule).

    * between digits the glyph is ``:`` (rule ``time``, score None);
    * inside or at the edge of a letter run it is the fi/fl ligature whose
      result is best attested (rules ``lexicon``, ``compound``,
      ``wordfreq``, ``prefix``), or nothing when dropping it gives a far more
      frequent word (``\ufffdOG`` -> ``OG``, rule ``drop``);
    * standing alone or next to punctuation/digits only, it is kept as a
      ligature if that makes a listed abbreviation (``m.\ufffd`` -> ``m.fl``,
      rule ``abbrev``), otherwise dropped (``3\ufffd`` -> ``3``, rule ``drop``).

    Case follows the surrounding letters. Tokens without U+FFFD come back
    unchanged with rule ``none``. Never returns a U+FFFD.
    """
    if GLYPH not in token:
        return token, None, "none"
    lexicon = lexicon or load_lexicon()
    memo = _restored_words.setdefault(lexicon, {})
    found = memo.get(token)
    if found is None:
        if len(memo) >= _RESTORED_MAX:
            memo.clear()
        found = memo[token] = _restore_word(token, lexicon)
    return found


# Per lexicon: token -> restore_word's answer. The answer depends only on the token and the
# lexicon, and damaged words repeat across posts and boards; a memo that reaches _RESTORED_MAX
# tokens is emptied, which changes no result.
_restored_words: "weakref.WeakKeyDictionary[Lexicon, dict[str, tuple[str, float | None, str]]]" = (
    weakref.WeakKeyDictionary()
)
_RESTORED_MAX = 1 << 16


def _restore_word(token: str, lexicon: Lexicon) -> tuple[str, float | None, str]:
    """:func:`restore_word` for a token that holds U+FFFD, without the memo."""
    text = restore_time(token)
    if GLYPH not in text:
        return text, None, "time"
    scores: list[float] = []
    rules: list[str] = []
    out: list[str] = []
    pos = 0
    for m in _SEGMENT_RE.finditer(text):
        seg = m.group(0)
        out.append(text[pos:m.start()])
        pos = m.end()
        if GLYPH not in seg:
            out.append(seg)
            continue
        if seg.strip(GLYPH) == "":  # glyphs with no letter in the segment
            rep, score, rule = _restore_bare_glyph(text, m.start(), m.end(), lexicon)
        else:
            rep, score, rule = _restore_segment(seg, lexicon)
        out.append(rep)
        scores.append(score)
        rules.append(rule)
    out.append(text[pos:])
    restored = "".join(out).replace(GLYPH, "")
    rule = "drop" if rules and all(r == "drop" for r in rules) else next(
        (r for r in rules if r != "drop"), "drop"
    )
    return restored, (min(scores) if scores else None), rule


def _restore_bare_glyph(text: str, start: int, end: int, lexicon: Lexicon) -> tuple[str, float, str]:
    """Fill glyphs that touch no letter: a listed abbreviation (``m.fl``) or nothing."""
    best = ("", 0.0, "drop")
    if not re.search(_LETTER, text[:start] + text[end:]):
        return best
    for lig, penalty in LIGATURES:
        cand = (text[:start] + lig + text[end:]).replace(GLYPH, "")
        core = cand.strip(".,;:!?()[]{}\"'«»").lower()
        if core and lexicon.has(core):
            score = 10.0 + lexicon.zipf(core) - penalty
            if score > best[1]:
                best = (lig, score, "abbrev")
    return best


# ---------------------------------------------------------------------------
# line-level repairs
# ---------------------------------------------------------------------------


def _glyph_kind(rule: str) -> str:
    """Repair kind for a ``restore_word`` rule."""
    return {"time": "time", "drop": "glyph"}.get(rule, "ligature")


def _repair_glyphs(line: str, index: int, lexicon: Lexicon) -> tuple[str, list[Repair]]:
    """Restore every U+FFFD token of one line; one Repair per token.

    A token that vanishes entirely (a lone glyph standing for punctuation)
    takes one neighbouring space with it, so no double space is left.
    """
    if GLYPH not in line:
        return line, []
    repairs: list[Repair] = []
    out: list[str] = []
    pos = 0
    for m in _GLYPH_TOKEN_RE.finditer(line):
        before = m.group(0)
        after, score, rule = restore_word(before, lexicon)
        repairs.append(Repair(index, _glyph_kind(rule), before, after, rule, score))
        out.append(line[pos:m.start()])
        pos = m.end()
        if not after and out[-1].endswith(" ") and line[pos:pos + 1] in (" ", ""):
            out[-1] = out[-1][:-1]
        out.append(after)
    out.append(line[pos:])
    return "".join(out), repairs


def _should_join_gj(left: str, right: str, lexicon: Lexicon) -> bool:
    """True if ``left + right`` (split at ``g j``) is one word and not two real words.

    The export splits every ``gj``, so a listed joined form wins
    (``følg jer`` -> ``følgjer``; ``og jeg`` has no joined form). A joined
    form known only as a compound must pass :func:`should_glue`'s tests.
    """
    if lexicon.has(left + right):
        return True
    return should_glue([left, right.lower() if left[-1].islower() else right], lexicon)


def _repair_gj(line: str, index: int, lexicon: Lexicon) -> tuple[str, list[Repair]]:
    """Join ``g j`` splits inside one line (``g jøre`` -> ``gjøre``), keeping real pairs."""
    if " j" not in line and " J" not in line:  # every split holds "g j", "G j", "g J" or "G J"
        return line, []
    repairs: list[Repair] = []

    def sub(m: re.Match) -> str:
        left, right = m.group(1), m.group(2)
        if _should_join_gj(left, right, lexicon):
            repairs.append(Repair(index, "gj_split", m.group(0), left + right, "lexicon", lexicon.zipf(left + right)))
            return left + right
        return m.group(0)

    return _GJ_RE.sub(sub, line), repairs


def clean_title(text: str, lexicon: Lexicon | None = None) -> tuple[str, list[Repair]]:
    """Clean a single-line title or header: glyphs (ligature/time/dropped) and ``g j`` only."""
    lexicon = lexicon or load_lexicon()
    line, repairs = _repair_glyphs(text, 0, lexicon)
    line, gj = _repair_gj(line, 0, lexicon)
    return line.strip(), repairs + gj


# ---------------------------------------------------------------------------
# structure: wraps, page breaks, columns, lists
# ---------------------------------------------------------------------------


def is_blank(line: str) -> bool:
    """True for empty lines and lines of only whitespace or no-break spaces."""
    return not line.strip()


def is_list_item(line: str) -> bool:
    """True if a (stripped) line starts a list item: ``- x``, ``1.``, ``1 X``, ``A.``, ``Spørsmål 2:``."""
    return bool(_LIST_RE.match(line))


def _continues_sentence(prev: str, nxt: str) -> bool:
    """True if ``nxt`` carries on the sentence of ``prev`` across blank lines (a page break).

    The previous line must not end a sentence and the next must start with
    a lower-case letter (or a comma, which never opens a line) and be
    neither a list item nor a URL.
    """
    if not nxt or _TERMINAL_RE.search(prev) or is_list_item(nxt) or _URL_RE.match(nxt):
        return False
    return (nxt[0].isalpha() and nxt[0].islower()) or nxt[0] in ",;)"


def _ended_by_writer(last: str, nxt: str, limit: float) -> bool:
    """True if the writer ended ``last`` (a short line) and ``nxt`` starts a new line.

    Padlet wraps lines at 40-70 characters. When the previous line and the
    next line's first word would together have fitted well inside the wrap
    column (``limit`` characters) and the next line starts with a capital
    or a digit, the break is the writer's ("Halden" / "Mona, lærer";
    "Kommunikasjon" / "Samhandling starter ..."), not a wrap. Caveat: the
    export's font is proportional, so character counts are approximate.
    """
    words = nxt.split(None, 1)
    first = words[0] if words else ""
    return len(last) + 1 + len(first) <= limit and (nxt[:1].isupper() or nxt[:1].isdigit())


def _writer_break_limit(lines: list[str]) -> float:
    """The line length below which a line was ended by the writer, from the post's wrap column.

    The wrap column is the longest line, capped at ``MAX_WRAPPED_LINE``; since
    joining lines only makes them longer, restored text never gets a lower
    limit than its source, which keeps cleaning idempotent.
    """
    longest = min(max((len(line) for line in lines), default=0), MAX_WRAPPED_LINE)
    return max(SHORT_LINE, WRAP_SHARE * longest)


def _ends_list_item(last: str, nxt: str) -> bool:
    """True if ``last`` is a list item (question/heading) closed by ``?`` or ``:`` and
    ``nxt`` opens a new sentence: the answer below ``Spørsmål 2: ...?`` keeps its own line."""
    return is_list_item(last) and last.endswith(("?", ":")) and nxt[:1].isupper()


_TRAIL_PUNCT = ".,;:!?)\"'»”"


def _compound_evidence(parts: tuple[str, ...], lexicon: Lexicon) -> float:
    """Zipf of the rarest compound part (a part's linking s/e ignored when that helps)."""
    def part_zipf(p: str) -> float:
        z = lexicon.zipf(p)
        return max(z, lexicon.zipf(p[:-1])) if p[-1] in "se" and not lexicon.has(p) else z

    return min(part_zipf(p) for p in parts)


def _join_evidence(pieces: list[str], lexicon: Lexicon) -> float | None:
    """Evidence (zipf-like) that ``pieces`` glued together make one word, or None.

    A listed word scores the best of its frequency, its compound reading
    minus 1, and a floor of ``LISTED_FLOOR`` (listed inflections and Nynorsk
    forms that wordfreq's Bokmål list barely has); an
    unlisted compound scores its rarest part minus 1. A compound whose parts
    split exactly at a break is refused when the text before that break is a
    known word on its own (that is just two words side by side).
    """
    joined = "".join(pieces)
    parts = lexicon.compound_parts(joined)
    if parts:
        cuts = set(itertools.accumulate(len(p) for p in parts[:-1]))
        breaks = set(itertools.accumulate(len(p) for p in pieces[:-1]))
        if any(_piece_evidence(joined[:c], lexicon) > float("-inf") for c in cuts & breaks):
            parts = None
    comp = _compound_evidence(parts, lexicon) - 1.0 if parts else None
    if lexicon.has(joined):
        return max(lexicon.zipf(joined), comp if comp is not None else 0.0, LISTED_FLOOR)
    return comp


def _piece_evidence(piece: str, lexicon: Lexicon) -> float:
    """Evidence that ``piece`` is a word on its own (-inf for a fragment).

    A listed word of 2+ letters scores its zipf; a piece known only as a
    compound scores its rarest part minus 3 (fragments such as ``idrettsan``
    often split into odd short parts); anything else is a fragment.
    """
    if len(piece) >= 2 and lexicon.has(piece):
        return lexicon.zipf(piece)
    parts = lexicon.compound_parts(piece)
    if parts:
        return _compound_evidence(parts, lexicon) - 3.0
    return float("-inf")


def should_glue(pieces: list[str], lexicon: Lexicon) -> bool:
    """True if the pieces of a word broken by a narrow column should be glued.

    Rules (all lexical, case-insensitive): continuation pieces start in lower
    case (or everything is capitals); the glued form is a word or a compound
    not split at the breaks; if the first piece is a common word, or a known
    word followed by a common word (``Kulturskolen`` + ``er``), the glued
    form must be a listed word; and the glued form is better attested
    than the weakest piece on its own (``svømm`` + ``ehall``, ``integre`` +
    ``ring``, ``kulturs`` + ``kole``; never ``for`` + ``kultura``).
    """
    all_caps = all(p.isupper() for p in pieces)
    if not all_caps and any(not p[0].islower() for p in pieces[1:]):
        return False
    low = [p.lower() for p in pieces]
    joined_score = _join_evidence(low, lexicon)
    if joined_score is None:
        return False
    listed = lexicon.has("".join(low))
    if lexicon.is_solid(low[0]) and not listed:
        return False
    evidence = [_piece_evidence(p, lexicon) for p in low]
    if not listed and evidence[0] > float("-inf") and lexicon.is_solid(low[-1]):
        return False  # a known word + a common word: only a listed word may glue them
    return joined_score > min(evidence)


def _column_join(content: list["_Line"], start: int, lexicon: Lexicon) -> int:
    """How many following lines to glue without a space onto ``content[start]`` (0 = none).

    A narrow column breaks words anywhere: ``svømm`` / ``ehall``,
    ``flyktni`` / ``ngepoli`` / ``tikk``. Only a short line whose last token
    is bare letters can end in a broken word; a middle piece must be a whole
    one-token line that is no word itself. See :func:`should_glue`.
    """
    first = content[start].text
    if len(first) > COLUMN_WIDTH or not first or not first[-1].isalpha():
        return 0
    left = first.split()[-1]
    if not _LETTERS_RE.fullmatch(left):
        return 0
    pieces = [left]
    found = 0
    for k in range(1, 3):
        if start + k >= len(content):
            break
        nxt = content[start + k].text
        if not nxt or is_list_item(nxt) or (k > 1 and content[start + k].blanks_before):
            break
        right = nxt.split()[0].rstrip(_TRAIL_PUNCT)
        if not _LETTERS_RE.fullmatch(right):
            break
        if should_glue(pieces + [right], lexicon):
            found = k  # a longer glue through a fragment line wins over a shorter one
        # go on only through a middle fragment that is a whole one-token line
        if len(nxt.split()) != 1 or len(nxt) > COLUMN_WIDTH or lexicon.is_known(right.lower()):
            break
        pieces.append(right)
    return found


@dataclass
class _Line:
    """A non-blank input line: its index, stripped text and blank lines before it."""

    index: int
    text: str
    blanks_before: int


def _content_lines(lines: list[str]) -> tuple[list[_Line], list[Repair]]:
    """Non-blank lines, stripped, with blank-run lengths; Repairs for removed page-start indents."""
    out: list[_Line] = []
    repairs: list[Repair] = []
    blanks = 0
    for i, raw in enumerate(lines):
        if is_blank(raw):
            blanks += 1
            continue
        text = raw.strip()
        lead = raw[: len(raw) - len(raw.lstrip())]
        if lead.strip(" ") == "" and lead:  # plain spaces: the indent of a page's first line
            repairs.append(Repair(i, "page_break", lead, "", "leading_space"))
        elif lead:  # no-break spaces or tabs typed by the writer
            repairs.append(Repair(i, "wrap", lead, "", "leading_whitespace"))
        out.append(_Line(i, text, blanks if out else 0))
        blanks = 0
    return out, repairs


def clean(text: str, lexicon: Lexicon | None = None) -> tuple[str, list[Repair]]:
    """Restore one post body; return the text and one Repair per edit.

    ``text`` is the post's raw lines joined with ``\\n`` (blank lines and
    leading spaces as in the export). Steps: (1) per line, U+FFFD tokens
    (ligature, time, dropped glyph) and ``g j`` splits; (2) structure: lines
    of a paragraph are joined with a space (``wrap``; a final ``word-`` keeps
    its hyphen and glues), broken words of narrow columns are glued
    (``column_join``), blank runs inside a sentence vanish (``page_break``:
    the line before does not end a sentence and the next starts in lower
    case; otherwise a blank run is a paragraph break),
    a ``g`` / ``j...`` split across lines is glued (``gj_split``), list items
    stay on their own lines; paragraphs are separated by one blank line.
    Idempotent; drops no word; never outputs U+FFFD.
    """
    lexicon = lexicon or load_lexicon()
    repairs: list[Repair] = []
    fixed: list[str] = []
    for i, line in enumerate(text.split("\n")):
        line, reps = _repair_glyphs(line, i, lexicon)
        repairs += reps
        line, reps = _repair_gj(line, i, lexicon)
        repairs += reps
        fixed.append(line.replace(GLYPH, ""))
    content, reps = _content_lines(fixed)
    repairs += reps

    paragraphs: list[list[str]] = []
    texts = [c.text for c in content]
    writer_break = _writer_break_limit(texts)
    glued_tail = -1
    j = 0
    while j < len(content):
        cur = content[j]
        prev_para = paragraphs[-1] if paragraphs else None
        if prev_para is None or (cur.blanks_before and not _continues_sentence(prev_para[-1], cur.text)):
            paragraphs.append([cur.text])
            j += 1
            continue
        para = prev_para
        prev = content[j - 1]
        if cur.blanks_before:
            repairs.append(Repair(prev.index, "page_break", "\n" * (cur.blanks_before + 1), " ",
                                  "blank_run_in_sentence"))
        if is_list_item(cur.text) or _ends_list_item(para[-1], cur.text) or (
            not cur.blanks_before and _ended_by_writer(para[-1], cur.text, writer_break)
        ):
            para.append(cur.text)
            j += 1
            continue
        # a line wholly consumed as the tail of a glued word cannot start another glue
        n = _column_join(content, j - 1, lexicon) if j - 1 != glued_tail else 0
        if n:
            pieces = texts[j - 1 : j + n]
            left_tok = pieces[0].split()[-1]
            right_tok = pieces[-1].split()[0].rstrip(_TRAIL_PUNCT)
            word = left_tok + "".join(pieces[1:-1]) + right_tok
            before = "\n".join([left_tok, *pieces[1:-1], right_tok])
            repairs.append(Repair(prev.index, "column_join", before, word, "lexicon", lexicon.zipf(word)))
            para[-1] = para[-1] + "".join(pieces[1:])
            if len(pieces[-1].split()) == 1:
                glued_tail = j - 1 + n
            j += n
            continue
        last = para[-1]
        if _PUNCT_START_RE.match(cur.text):
            # a narrow column pushed the word's punctuation to the next line
            repairs.append(Repair(prev.index, "column_join", "\n", "", "punctuation"))
            para[-1] = last + cur.text
            j += 1
            continue
        # both patterns below match letters at the very end, so only the paragraph's last space-free run
        # can hold them: searching that run, not the whole growing paragraph, keeps clean() linear
        tail = last[last.rfind(" ") + 1 :]
        gj = _G_END_RE.search(tail)
        m_right = _J_START_RE.match(cur.text)
        if gj and m_right and _should_join_gj(gj.group(1), m_right.group(1), lexicon):
            repairs.append(Repair(prev.index, "gj_split", gj.group(1) + "\n" + m_right.group(1),
                                  gj.group(1) + m_right.group(1), "lexicon"))
            para[-1] = last + cur.text
        elif (_HYPHEN_END_RE.search(tail) and cur.text[0].isalnum()
              and cur.text.split()[0].lower() not in _CONJUNCTIONS):
            repairs.append(Repair(prev.index, "wrap", "-\n", "-", "hyphen_kept"))
            para[-1] = last + cur.text
        else:
            repairs.append(Repair(prev.index, "wrap", "\n", " ", "line_join"))
            para[-1] = last + " " + cur.text
        j += 1
    out = "\n\n".join("\n".join(p) for p in paragraphs)
    return out, repairs
