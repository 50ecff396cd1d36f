"""Development data for the normalise stage: post texts from the raw exports.

Used by ``tests/test_normalise.py`` and ``scripts/bench_normalise.py`` only,
never by the pipeline. Posts are cut from ``data/raw`` at the 1-based
``line`` of each entry of ``tests/fixtures/posts.json`` (up to the next
post). The cleaner (``pipeline.clean``) is approximated: U+FFFD is
replaced by the ligature (fi/fl/ff/ffi) that gives a known word, "g jøre"
splits are joined and hard-wrapped lines are joined into paragraphs (list
items and numbered lines kept on their own line). Caveat: this is rougher
than the real cleaner; figures measured on it are indicative.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import PROJECT_ROOT, RAW_DIR

from .lexicon import nb_forms, nn_only

POSTS_JSON = PROJECT_ROOT / "tests" / "fixtures" / "posts.json"
_LIG = ("fl", "fi", "ff", "ffi", "ffl")
_FFFD_WORD = re.compile(r"[^\W\d_]*\ufffd[^\W\d_]*")
_ITEM = re.compile(r"^\s*(?:[-–•*]|\d+[.):]?\s|\d+[A-Za-z]?\s|[A-Ca-c][.)]\s)")


@dataclass
class DevPost:
    """One post: board file, number, kind, gold variant and approximate clean text."""

    file: str
    n: int
    kind: str
    variant: str
    line: int
    text: str


def _fix_ligature(m: re.Match) -> str:
    w = m.group(0)
    known = nb_forms()
    nno = nn_only()
    for lig in _LIG:
        cand = w.replace("\ufffd", lig)
        if cand.lower() in known or cand.lower() in nno:
            return cand
    for lig in _LIG:  # compounds: accept if the part after the ligature is known
        cand = w.replace("\ufffd", lig)
        tail = cand.lower().split(lig, 1)[-1]
        if (lig + tail) in known or tail in known:
            return cand
    return w.replace("\ufffd", "fl" if w.lower().startswith("\ufffd") and len(w) > 4 else "fi")


def approx_clean(raw: str) -> str:
    """Rough stand-in for ``pipeline.clean`` (see module docstring)."""
    t = raw.replace("\r", "")
    t = re.sub(r"(\d)\ufffd(\d)", r"\1:\2", t)
    t = _FFFD_WORD.sub(_fix_ligature, t)
    t = re.sub(r"\bg (jø|jo|je|jø)", r"g\1", t)
    paras = re.split(r"\n[ \t\u00a0]*\n+", t)
    out = []
    for p in paras:
        lines = [ln.strip() for ln in p.split("\n") if ln.strip()]
        if not lines:
            continue
        joined: list[str] = []
        for ln in lines:
            if joined and not _ITEM.match(ln) and not re.search(r"[.?!:]$", joined[-1]):
                if joined[-1].endswith("-") and not joined[-1].endswith(" -"):
                    joined[-1] = joined[-1] + ln
                else:
                    joined[-1] = joined[-1] + " " + ln
            else:
                joined.append(ln)
        out.append("\n".join(joined))
    return "\n\n".join(out)


def load_posts(root: Path | None = None) -> list[DevPost]:
    """All posts of posts.json with their approximate clean text."""
    root = Path(root or PROJECT_ROOT)
    spec = json.loads((root / "tests" / "fixtures" / "posts.json").read_text(encoding="utf-8"))
    out = []
    for board in spec:
        lines = (Path(RAW_DIR) / board["file"]).read_text(encoding="utf-8").split("\n")
        posts = board["posts"]
        for i, p in enumerate(posts):
            end = posts[i + 1]["line"] - 1 if i + 1 < len(posts) else len(lines)
            body = lines[p["line"] - 1 : end]
            if board["layout"] == "author-timestamp":
                body = body[1:]  # the author/timestamp header line
            out.append(DevPost(board["file"], p["n"], p["kind"], p["variant"], p["line"], approx_clean("\n".join(body))))
    return out
