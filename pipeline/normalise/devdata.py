"""The seed posts as the pipeline publishes them, with the hand-made variant labels.

Used by the normalise tests and ``scripts/bench_normalise.py`` to measure
variant detection and Bokmål conversion on real, cleaned text: the posts
table of a pipeline run joined on (file, line) with
``tests/fixtures/posts.json``. Posts whose boundary the parser does not find
(two "probable" ones on the 2023 board) are absent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipeline import config, io

TRUTH = config.FIXTURES_DIR / "posts.json"


@dataclass
class DevPost:
    """One post: board file, source line, kind, hand-labelled variant, the pipeline's variant and text."""

    file: str
    line: int
    kind: str
    variant: str
    predicted: str
    text: str


def load_posts(out_dir: Path | None = None) -> list[DevPost]:
    """The posts of a pipeline run (default data/processed) that the truth labels."""
    truth = {
        (board["file"], post["line"]): post
        for board in json.loads(TRUTH.read_text(encoding="utf-8"))
        for post in board["posts"]
    }
    posts = io.read_table("posts", out_dir)
    out = []
    for row in posts.itertuples():
        label = truth.get((row.source_file, row.source_line))
        if label is not None:
            out.append(DevPost(row.source_file, row.source_line, label["kind"], label["variant"], row.variant, row.text_clean))
    return out
