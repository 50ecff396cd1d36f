"""Ingest: layout detection and post segmentation, against the hand-made truth and own boards."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.ingest import ExportError, parse_board, read_export, split_lines
from pipeline.ingest.author_timestamp import restore_author
from pipeline.ingest.common import is_blank
from pipeline.ingest.subject_body import group_from_title

from conftest import FIXTURES, SEED_EXPORTS, load_truth

TRUTH = load_truth()
OWN_BOARDS = json.loads((FIXTURES / "boards" / "expected.json").read_text(encoding="utf-8"))


def segmentation_scores(board, truth_posts) -> tuple[float, float, float]:
    """Precision, recall and F1 of post starts; boundaries the truth marks 'probable' are not scored."""
    probable = {p["line"] for p in truth_posts if p.get("boundary") == "probable"}
    certain = {p["line"] for p in truth_posts} - probable
    found = {p.source_line for p in board.posts} - probable
    tp = len(found & certain)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(certain) if certain else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


@pytest.fixture(scope="module", params=[p.name for p in SEED_EXPORTS])
def seed(request):
    path = next(p for p in SEED_EXPORTS if p.name == request.param)
    return read_export(path), TRUTH[path.name], path


def test_every_seed_export_has_truth():
    assert {p.name for p in SEED_EXPORTS} == set(TRUTH)


def test_layout_and_board_header(seed):
    board, truth, _ = seed
    assert board.layout == truth["layout"]
    assert board.title == truth["board"]["title"]
    assert board.author == truth["board"]["author"]
    expected_created = truth["board"]["created"].replace("T", " ").replace(":00+00:00", " UTC")
    assert board.created_at == expected_created


def test_segmentation_f1(seed):
    board, truth, _ = seed
    precision, recall, f1 = segmentation_scores(board, truth["posts"])
    assert f1 >= 0.97, (precision, recall)


def test_kind(seed):
    board, truth, _ = seed
    found = {p.source_line: p for p in board.posts}
    matched = [(found[t["line"]].kind, t["kind"]) for t in truth["posts"] if t["line"] in found]
    accuracy = sum(got == want for got, want in matched) / len(matched)
    assert accuracy >= 0.95


def test_author_and_posted_at(seed):
    board, truth, _ = seed
    if truth["layout"] != "author-timestamp":
        pytest.skip("only the author-timestamp layout prints authors and times")
    found = {p.source_line: p for p in board.posts}
    posts = truth["posts"]
    authors = sum(t["line"] in found and found[t["line"]].author == t["author"] for t in posts)
    times = sum(
        t["line"] in found and found[t["line"]].posted_at is not None
        and found[t["line"]].posted_at.isoformat() == t["posted"]
        for t in posts
    )
    sections = sum(t["line"] in found and found[t["line"]].section == t["section"] for t in posts)
    assert authors / len(posts) >= 0.97
    assert times / len(posts) >= 0.97
    assert sections / len(posts) >= 0.97


def test_dialogue_theme_and_group(seed):
    board, truth, _ = seed
    if truth["layout"] != "subject-body":
        pytest.skip("the truth records themes and groups for the subject-body layout")
    found = {p.source_line: p for p in board.posts}
    matched = [(found[t["line"]], t) for t in truth["posts"] if t["line"] in found]
    themes = sum(p.dialogue_theme == t["dialogue_theme"] for p, t in matched) / len(matched)
    groups = sum(p.group_label == t["group"] for p, t in matched) / len(matched)
    assert themes >= 0.95
    assert groups >= 0.85


def owned_lines(board) -> list[int]:
    lines = list(board.header_lines) + list(board.footer_lines)
    for post in board.posts:
        lines += range(post.source_line, post.last_line + 1)
    return lines


@pytest.mark.parametrize("path", SEED_EXPORTS + sorted((FIXTURES / "boards").glob("*.txt")), ids=lambda p: p.name)
def test_nothing_lost(path: Path):
    """Every non-blank line belongs to exactly one post or to the board header/footer."""
    board = read_export(path)
    lines = split_lines(path.read_text(encoding="utf-8-sig"))
    owned = owned_lines(board)
    assert len(owned) == len(set(owned)), "a line belongs to two posts"
    non_blank = {n for n, line in enumerate(lines, 1) if not is_blank(line)}
    assert non_blank - set(owned) == set()


@pytest.mark.parametrize("name", sorted(OWN_BOARDS))
def test_own_boards(name: str):
    """Boards written for the tests: other titles, sections, authors and group names."""
    expected = OWN_BOARDS[name]
    board = read_export(FIXTURES / "boards" / name)
    assert board.layout == expected["layout"]
    assert (board.title, board.author, board.created_at) == (
        expected["board"]["title"], expected["board"]["author"], expected["board"]["created_at"]
    )
    got = [
        {
            "line": p.source_line,
            "kind": p.kind,
            "dialogue_theme": p.dialogue_theme,
            **({"group": p.group_label} if board.layout == "subject-body" else {}),
            **(
                {"author": p.author, "posted": p.posted_at.isoformat(), "section": p.section}
                if board.layout == "author-timestamp" else {}
            ),
        }
        for p in board.posts
    ]
    assert got == expected["posts"]


@pytest.mark.parametrize(
    "title, group",
    [
        ("Dialogtema 2 - Gruppe: Førde", "Førde"),
        ("Gruppe 2, Trondheim dialogtema 2", "Gruppe 2, Trondheim"),
        ("Dialogtema1 ROM 12 (Vaksdal, Ringebu, Øyer Kulturskule)", "Rom 12"),
        ("Tema 2 - Les Miserables", "Les Miserables"),
        ("Svar fra Rom 8.", "Rom 8"),
        ("Samtale 2 - Gruppe 4 - Bergen og Askøy", "Gruppe 4 - Bergen og Askøy"),
        ("Ringebu, Stryn, Lyngdal, Vinje, Orkdal og Skaun Dialogtema 2", None),
        ("Dialogtema 1, gruppebesvarelse.", None),
    ],
)
def test_group_from_title(title, group):
    assert group_from_title(title) == group


def test_author_brackets_restored():
    name, edits = restore_author("KIM ANDRE  \ufffd NORSK MUSIKKRÅD  \ufffdOG REFERENT  FOR GRUPPE 3\ufffd")
    assert name == "KIM ANDRE (NORSK MUSIKKRÅD) OG REFERENT FOR GRUPPE 3"
    assert len(edits) == 3


@pytest.mark.parametrize(
    "text",
    [
        "Dette er bare et vanlig brev.\n\nMed vennlig hilsen\nOla",
        "name,value\n1,2\n3,4\n",
        "",
    ],
)
def test_not_a_padlet_export(text):
    with pytest.raises(ExportError, match="prose.txt"):
        parse_board(text, source_file="prose.txt")


@pytest.mark.parametrize(
    "title, body, kind",
    [
        (None, "  \n ", "empty"),
        ("Gruppeoppgaver", "Skriv svaret under.", "prompt"),  # a task title and one instruction
        ("Innledning", "1. Hva gjør dere?", "prompt"),  # a task title and a numbered question
        ("Innledning", "Velkommen alle sammen.", "response"),
        (None, "Skriv navn.\nVelg tema.\nDiskuter i gruppa.\n1. Hva er viktig?", "prompt"),
        (None, "Skriv navn.\nVelg tema.\nDiskuter i gruppa.", "response"),  # instructions, no question
        (None, "Skriv navn.\nVelg tema.\n1. Hva er viktig?", "response"),  # two instructions only
        (None, "1. Hva er viktig?\nVi mener samarbeid.", "response"),  # a group copies the question
    ],
)
def test_classify_kind(title, body, kind):
    from pipeline.ingest.common import classify_kind

    assert classify_kind(title, body) == kind


def test_last_content_line():
    from pipeline.ingest.common import last_content_line

    lines = ["a", "", "b", " ", "\u00a0", "c", ""]
    assert last_content_line(lines, 0, len(lines)) == 5
    assert last_content_line(lines, 0, 5) == 2
    assert last_content_line(lines, 3, 5) == 3  # all blank: the start
    assert last_content_line(lines, 4, 4) == 4  # no line at all: the start
