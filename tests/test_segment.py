"""Segments: posts split into answers to numbered questions and paragraphs, on real seed posts."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline import io
from pipeline.segment import prompt_questions, segment_post, segments_frame

BOARD1 = "2023-02-09_dialogseminar-fremtidens-kulturskole"
BOARD2 = "2025-05-05_nasjonalt-dialogseminar"


@pytest.fixture(scope="module")
def posts(processed):
    return io.read_table("posts", processed)


@pytest.fixture(scope="module")
def segments(posts):
    return segments_frame(posts)


def _segs(segments, board, line):
    pid = f"{board}-L{line:05d}"
    return segments[segments["post_id"] == pid].sort_values("seq")


def _numbered(segs):
    """(role, question_no, note, text start) of every segment with a question number."""
    return [(r.role, int(r.question_no), None if pd.isna(r.question_note) else r.question_note, r.text[:25])
            for r in segs.itertuples() if not pd.isna(r.question_no)]


# (board, line, expected (role, question_no, note, text prefix) of the first numbered segments)
CASES = [
    # "1. Hva ..." copied questions, and the group's own list "1 Sia ... 1B ... 2 Stipend ... 3. Udir"
    # inside the answer to question 2 (not question numbers: out of order / beyond the prompt's 2)
    (BOARD1, 101, [("question", 1, None, "1. Hva skal til for å få "), ("answer", 1, None, "Bli betre kjent med kvara")]),
    # "Spørsmål 1 (question):" with the answer on the same line
    (BOARD1, 215, [("question", 1, None, "Spørsmål 1 (Hva skal til "), ("answer", 1, None, "Forankre godt og ta tid. ")]),
    # "Spørsmål 1:" alone on a line
    (BOARD1, 462, [("question", 1, None, "Spørsmål 1:"), ("answer", 1, None, "-Involvere alle deltagere")]),
    # "1:" then the answer
    (BOARD1, 543, [("question", 1, None, "1:"), ("answer", 1, None, "Hvordan kan vi bruke ress")]),
    # "1.Kva ...?" followed by answers written as questions ("Møteplassar?") that stay answers
    (BOARD1, 559, [("question", 1, None, "1.Kva skal til for å få b"), ("answer", 1, None, "Møteplassar? Sett av tid?")]),
    # "1.-3." answered together, answer on the same line
    (BOARD1, 822, [("question", 1, "1-3", "1.-3."), ("answer", 1, "1-3", "dialogmøter med rektorere")]),
    # "1./2./3." answered together: first number and a range note
    (BOARD1, 858, [("question", 1, "1-3", "1./2./3. På hvilke område"), ("answer", 1, "1-3", "Se arenaene i sammenheng.")]),
    # "1. 2. og 3."
    (BOARD1, 1320, [("question", 1, "1-3", "1. 2. og 3."), ("answer", 1, "1-3", "Hvordan kan kulturskole s")]),
    # board without prompts: the group's own numbered questions stay in the answer text
    (BOARD2, 632, [("answer", 1, None, "1. Hvordan løse utfordrin")]),
]


@pytest.mark.parametrize("board, line, expected", CASES, ids=[f"{b[:4]}-L{l}" for b, l, _ in CASES])
def test_numbered_answers_on_seed_posts(segments, board, line, expected):
    segs = _segs(segments, board, line)
    assert _numbered(segs)[: len(expected)] == expected


def test_groups_own_list_is_not_taken_for_question_numbers(segments):
    numbers = [int(q) for q in _segs(segments, BOARD1, 101)["question_no"].dropna()]
    assert numbers == sorted(numbers) and max(numbers) == 2


def test_nynorsk_question_without_question_mark(segments):
    segs = _segs(segments, BOARD1, 633)
    q4 = segs[(segs["question_no"] == 4)]
    assert q4.iloc[0]["role"] == "question"
    assert q4.iloc[0]["text"].startswith("4 Kva skal til for å få fleire barn")
    assert q4.iloc[1]["text"].startswith("Ein må ha tilbod som er økonomisk")


def test_question_text_is_linked_from_the_prompt(segments):
    segs = _segs(segments, BOARD1, 101)
    q2 = segs[segs["question_no"] == 2]
    assert set(q2["question_text"]) == {"Hva kan de tre nasjonale aktørene bidra med?"}
    assert _segs(segments, BOARD2, 632)["question_text"].isna().all()  # no prompt on that board


def test_title_names_the_question(segments):
    segs = _segs(segments, BOARD1, 269)  # title "Del 2, spørsmål 1: Hva skal til ..."
    assert set(segs["question_no"].dropna()) == {1}


def test_segments_cover_the_text_exactly(posts, segments):
    text_of = dict(zip(posts["post_id"], posts["text_clean"]))
    assert segments["segment_id"].is_unique
    for pid, segs in segments.groupby("post_id"):
        text = text_of[pid]
        covered = [False] * len(text)
        for r in segs.itertuples():
            assert 0 <= r.start < r.end <= len(text)
            assert text[r.start:r.end] == r.text
            assert r.text == r.text.strip()
            for i in range(r.start, r.end):
                assert not covered[i], (pid, r.seq)
                covered[i] = True
        assert all(c or text[i].isspace() for i, c in enumerate(covered)), pid


def test_only_response_posts_are_segmented(posts, segments):
    kinds = dict(zip(posts["post_id"], posts["kind"]))
    assert {kinds[p] for p in segments["post_id"]} == {"response"}
    assert set(posts.loc[posts["kind"] == "response", "post_id"]) == set(segments["post_id"])


def test_prompt_questions():
    prompt = ("Innledning\n\n1. På hvilke områder kan vi samarbeide? Hva skal til?\n\n"
              "Tekst uten nummer.\n\n4.Hva skal til for å nå flere?\n\n2 Velg en skriver")
    assert prompt_questions(prompt) == {1: "På hvilke områder kan vi samarbeide? Hva skal til?",
                                        4: "Hva skal til for å nå flere?"}


def test_segment_post_small_cases():
    qs = {1: "Hva skal til?", 2: "Hva kan de nasjonale aktørene bidra med?"}
    text = "1. Hva skal til?\nTid og penger.\n\n2.\nMer midler.\n\n7.trinn er med."
    segs = segment_post(text, qs)
    assert [(s.role, s.question_no, text[s.start:s.end]) for s in segs] == [
        ("question", 1, "1. Hva skal til?"), ("answer", 1, "Tid og penger."),
        ("question", 2, "2."), ("answer", 2, "Mer midler."), ("answer", 2, "7.trinn er med."),
    ]


def _lcs_table(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def test_lcs_length():
    import random

    from pipeline.segment import lcs_length

    rng = random.Random(7)
    for _ in range(500):
        a = "".join(rng.choice("abcæ ") for _ in range(rng.randint(0, 30)))
        b = "".join(rng.choice("abcæ ") for _ in range(rng.randint(0, 90)))
        assert lcs_length(a, b) == _lcs_table(a, b), (a, b)


def test_matching_characters_are_difflibs():
    """The matching blocks found with str.find hold as many characters as SequenceMatcher's (no autojunk)."""
    import random
    from difflib import SequenceMatcher

    from pipeline.segment import matching_characters

    def difflib_count(a, b):
        return sum(block.size for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())

    rng = random.Random(11)
    for _ in range(3000):
        alphabet = "abcæ "[: rng.randint(1, 5)]
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert matching_characters(a, b) == difflib_count(a, b), (a, b)
    sentences = ["hva skal til for å få til bedre samhandling?", "hva skal til for å få gjerne til bedre samhandling også",
                 "på hvilke områder kan vi samarbeide?", "", "samhandling samhandling", "ab" * 40 + "c"]
    for a in sentences:
        for b in sentences:
            assert matching_characters(a, b) == difflib_count(a, b), (a, b)


def test_similarity_shortcuts_give_the_full_answer(posts):
    """The bounds only skip work: the same answers as comparing with ``_similar`` every time."""
    from pipeline.segment import _most_similar, _similar, _similar_above

    prompts = posts.loc[posts["kind"] == "prompt", "text_clean"]
    questions = [q for text in prompts for q in prompt_questions(text).values()]
    lines = [line for text in posts["text_clean"][:150] for line in text.split("\n") if line.strip()]
    assert len(questions) >= 5 and len(lines) > 200
    pairs = 0
    for line in lines[:300] + questions:
        for question in questions[:8]:
            for text in (line, line[: len(question) + 5]):
                for threshold in (0.6, 0.8):
                    assert _similar_above(text, question, threshold) == (_similar(text, question) > threshold)
                    pairs += 1
        qs = dict(enumerate(questions[:8], 1))
        best = max(qs, key=lambda n: _similar(line, qs[n]))
        assert _most_similar(line, qs, 0.8) == (best if _similar(line, qs[best]) > 0.8 else None)
    assert pairs > 1000


def test_segment_frames_are_what_frames_built_from_rows_give(segments):
    """``frame_from_tuples`` (column by column) gives the frame that building from the rows and typing gives."""
    from pipeline.segment import SEGMENT_COLUMNS
    from pipeline.tables import frame_from_tuples

    typed = {"seq": "int32", "start": "int32", "end": "int32", "question_no": "Int32"}
    for rows in ([], list(segments.itertuples(index=False, name=None))):
        want = pd.DataFrame(rows, columns=SEGMENT_COLUMNS).astype(typed)
        got = frame_from_tuples(rows, SEGMENT_COLUMNS, int32=("seq", "start", "end"), nullable_int32=("question_no",))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(segments) > 100
