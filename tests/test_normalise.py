"""Tests of the normalise stage (variant detection, Nynorsk -> Bokmål).

Quality figures are measured on the seed exports as the pipeline publishes
them (joined with the labels of tests/fixtures/posts.json) and on the
hand-written references in tests/fixtures/nn_nb_reference.jsonl. The
Apertium tests are skipped when apertium-nno-nob is not installed.
No timing assertions here: throughput is measured by
scripts/bench_normalise.py.
"""
from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.normalise import (
    ApertiumBackend,
    LexiconBackend,
    apertium_available,
    backend_info,
    detect_variant,
    get_backend,
    label_segments,
    to_bokmal,
)
from pipeline.normalise import apertium as apertium_mod
from pipeline.normalise import backends as backends_mod
from pipeline.normalise.devdata import load_posts
from pipeline.normalise.lexicon import LEXICON_COLUMNS
from pipeline.normalise.metrics import bow_f1, kept_share, remaining_nn_share
from pipeline.normalise.text import WORD_RE, Tokens, segment_words, segments, word_spans, words

ROOT = Path(__file__).resolve().parents[1]
REFS = ROOT / "tests" / "fixtures" / "nn_nb_reference.jsonl"

HAS_APERTIUM = apertium_available()
needs_apertium = pytest.mark.skipif(
    not HAS_APERTIUM, reason="apertium-nno-nob not installed (apt-get install apertium-nno-nob)"
)
BACKENDS = ["lexicon", pytest.param("apertium", marks=needs_apertium)]


@pytest.fixture(scope="module")
def posts(processed):
    """The response posts of the seed boards as published, with the hand-made variant labels."""
    return [p for p in load_posts(processed) if p.kind == "response"]


@pytest.fixture(scope="module")
def refs():
    return [json.loads(line) for line in REFS.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- seeds


def test_lexicon_csv_declared_columns_and_scopes():
    with open(ROOT / "seeds" / "nn_nb_lexicon.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == LEXICON_COLUMNS
        rows = list(reader)
    assert len(rows) > 300
    seen = set()
    for r in rows:
        assert r["nn_form"] and r["nb_form"], r
        assert r["scope"] in ("any", "nn"), r
        assert r["nn_form"] == r["nn_form"].lower()
        assert r["nn_form"] not in seen, f"duplicate {r['nn_form']}"
        seen.add(r["nn_form"])


def test_reference_file_has_enough_hand_written_pairs(refs):
    assert len(refs) >= 6
    assert len({r["post_n"] for r in refs}) >= 4
    for r in refs:
        assert r["nn"] != r["nb"]


# ---------------------------------------------------------------- detection


def test_variant_accuracy_on_posts_json(posts):
    ok = 0
    for p in posts:
        ok += p.predicted == p.variant or (p.variant == "mixed" and p.predicted == "nn")
    acc = ok / len(posts)
    assert acc >= 0.97, f"variant accuracy {acc:.3f}"


def test_variant_result_fields():
    r = detect_variant("Kva skal til for å få fleire born i kulturskulen? Det er ikkje lett.")
    assert r.variant == "nn"
    assert r.score > 0.5 and r.nn_share > r.nb_share
    assert ("ikkje", "nn") in r.evidence


def test_bokmal_detected():
    r = detect_variant("Hva skal til for at flere barn og unge får tatt del i kulturaktiviteter? Det er ikke lett.")
    assert r.variant == "nb" and r.score < 0


def test_short_post_without_evidence_defaults_to_board_majority():
    assert detect_variant("Musikkstund.", board_majority="nn").variant == "nn"
    assert detect_variant("Musikkstund.", board_majority="nb").variant == "nb"
    assert detect_variant("Musikkstund.").defaulted


def test_mixed_post_and_segments():
    text = (
        "Det kan vere utfordrande å finne lærarar med kompetanse. Dei fysiske rammene på skular er viktige.\n"
        "Lærerstillingene i kulturskolen er vanskelig å få opp i prosent, for å ta slike oppgaver. "
        "Vi har ikke nok lærere som kan gjøre dette."
    )
    assert detect_variant(text).variant in ("mixed", "nn")
    labels = [lab for _, _, lab in label_segments(text, "mixed")]
    assert labels[0] == "nn" and labels[-1] == "nb"


# ---------------------------------------------------------------- carry-over

CARRY = [
    ("kulturskulen", "kulturskolen"),
    ("ikkje", "ikke"),
    ("fleire", "flere"),
    ("tilbod", "tilbud"),
    ("lærarar", "lærere"),
    ("korleis", "hvordan"),
    ("midlar", "midler"),
    ("saman", "sammen"),
    ("born", "barn"),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_marker_words_carried_over(backend):
    text = (
        "Korleis kan vi få fleire born i kulturskulen? Lærarar og skular må jobbe saman, "
        "men det er ikkje nok midlar til eit godt tilbod for dei som ikkje har råd til det."
    )
    out = to_bokmal([text], backend=backend)[0]
    low = out.lower()
    for nn, nb in CARRY:
        assert not re.search(rf"\b{nn}\b", low), (nn, out)
    for nb in ("hvordan", "flere", "barn", "kulturskolen", "lærere", "sammen", "ikke", "midler", "tilbud"):
        assert re.search(rf"\b{nb}\b", low), (nb, out)
    assert "har råd til" in out  # Apertium alone gives "har anbefal"
    assert "gjentatte" not in low  # Apertium alone turns "fleire" into "gjentatte"


@pytest.mark.parametrize("backend", BACKENDS)
def test_known_apertium_errors_are_worked_around(backend):
    text = "Dei som har små born treng løyve. Ungane kan kome inn i tilboda."
    out = to_bokmal([text], backend=backend)[0]
    assert out.startswith("De som har små barn")
    assert "lille" not in out and "born" not in out and "løyve" not in out
    assert "komme inn" in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_bokmal_untouched(backend):
    text = (
        "Hva skal til for å få til bedre samhandling hos oss – på alle nivåer?\n"
        "- Lavterskel tilbud, lett å melde seg på.  Gratis å delta.\n\n"
        "Kulturskolen må være på den arenaen hvor rektorene er."
    )
    assert to_bokmal([text], backend=backend)[0] == text


@pytest.mark.parametrize("backend", BACKENDS)
def test_names_titles_case_punctuation_whitespace_kept(backend):
    text = (
        "Frode Laks prosjektet er eit godt døme på kva som skal til.\n"
        "  - Sogndal, Luster og Førde: «Alle med» er ikkje nok!  \n\n"
        "KVA meiner Udir om \"Kulturskule for alle\"?\tIKKJE nok."
    )
    out = to_bokmal([text], backend=backend)[0]
    assert out.startswith("Frode Laks prosjektet er et godt eksempel på hva som skal til.\n")
    assert "  - Sogndal, Luster og Førde: «Alle med» er ikke nok!  \n\n" in out
    assert 'HVA' in out and 'Udir' in out and '"Kulturskule for alle"?\tIKKE nok.' in out


@pytest.mark.parametrize("backend", BACKENDS)
def test_bow_f1_against_hand_written_references(backend, refs):
    outs = to_bokmal([r["nn"] for r in refs], backend=backend)
    f1 = sum(bow_f1(o, r["nb"]) for o, r in zip(outs, refs)) / len(refs)
    untouched = sum(bow_f1(r["nn"], r["nb"]) for r in refs) / len(refs)
    assert untouched < 0.8
    assert f1 >= 0.97, f"{backend}: BoW F1 {f1:.4f}"
    for o, r in zip(outs, refs):
        assert o.count("\n") == r["nn"].count("\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bow_f1_on_general_sentences(backend):
    """Sentences written for the tests, not from the exports (vocabulary beyond the boards)."""
    gen = [json.loads(x) for x in (ROOT / "tests/fixtures/nn_nb_reference_general.jsonl").read_text("utf-8").splitlines()]
    outs = to_bokmal([r["nn"] for r in gen], backend=backend)
    f1 = sum(bow_f1(o, r["nb"]) for o, r in zip(outs, gen)) / len(gen)
    assert f1 >= 0.95, f"{backend}: BoW F1 {f1:.4f}"


@needs_apertium
def test_backends_agree(refs, posts):
    texts = [r["nn"] for r in refs] + [p.text for p in posts if p.variant != "nb"]
    lex = to_bokmal(texts, backend="lexicon")
    ape = to_bokmal(texts, backend="apertium")
    agree = sum(bow_f1(a, b) for a, b in zip(lex, ape)) / len(texts)
    assert agree >= 0.97, f"lexicon/apertium BoW agreement {agree:.4f}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_few_nynorsk_markers_remain(backend, posts):
    src = [p.text for p in posts if p.variant != "nb"]
    after, before, share = remaining_nn_share(src, to_bokmal(src, backend=backend))
    assert before > 100
    assert share <= 0.03, f"{after}/{before} Nynorsk markers remain"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bokmal_posts_keep_their_words(backend, posts):
    src = [p.text for p in posts if p.variant == "nb"]
    kept, total, share = kept_share(src, to_bokmal(src, backend=backend))
    assert total > 5000
    assert share >= 0.98, f"{kept}/{total} words kept"


BOKMAL_WORDS = (
    "samarbeid kulturskolen skolen barn og unge må vi kan det er viktig å få til mer tid "
    "lærere elever kommunen tilbud gratis hvordan hva ikke flere sammen gode rammer"
).split()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(BOKMAL_WORDS), st.sampled_from([" ", "  ", ", ", ".\n", "\n\n", " - ", "? ", "\t"])),
        min_size=1,
        max_size=30,
    )
)
def test_property_bokmal_text_is_left_exactly(parts):
    text = "".join(w + sep for w, sep in parts)
    assert to_bokmal([text], backend="lexicon") == [text]


# ---------------------------------------------------------------- tokens

TOKEN_PIECES = st.sampled_from(
    ["Kva", "kulturskulen", "ikkje", "Frode", "Laks", "NRK", "Sogndal", "Rammeplanar", "og", "dei", "å", "jobba", "i",
     "«Alle", "med»", "\"Kultur", "for", "alle\"", "“Ny", "plan”", "»", "«", "\"", "anne@skule.no", "#skule",
     "https://x.no/a", "1.", "(0)", "-", "•"]
)
TOKEN_SEPS = st.sampled_from([" ", " ", ". ", ".\n", "\n", "\n\n", "? ", ": ", " - ", "\n- ", "\t", "  ", ", ", " ("])


def _reference_segments(text):
    """Sentence/line spans as first defined (one regular expression; written out again, independent of text.py)."""
    spans, pos = [], 0
    for m in re.finditer(r"(?<=[.!?…])[ \t]+(?=\S)|\n", text):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _reference_words(text):
    """(start, end, form, opens a sentence, protected) of every word, as first defined: word by word, no memos.

    Only the word-level test of a name (``_name_like``, lexicon lookups) and
    the title and raw-token patterns are shared with the code under test.
    """
    from pipeline.normalise.text import RAW_TOKEN_RE, _name_like, quoted_title_spans

    spans = quoted_title_spans(text) + [m.span() for m in RAW_TOKEN_RE.finditer(text)]
    out, prev_end = [], None
    for m in re.finditer(r"[^\W\d_]+", text):
        gap = None if prev_end is None else text[prev_end:m.start()]
        opens = gap is None or (gap != " " and re.search(r"[.!?:;…]|\n|^\s*[-–•*]|\(\s*$", gap) is not None)
        form = m.group()
        protected = (not opens and form[0].isupper() and _name_like(form)) or any(
            a <= m.start() < b for a, b in spans)
        out.append((m.start(), m.end(), form, opens, protected))
        prev_end = m.end()
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TOKEN_PIECES, TOKEN_SEPS), min_size=1, max_size=25))
def test_property_segment_words_are_the_words_of_each_segment(parts):
    text = "".join(w + sep for w, sep in parts)
    ws = words(text)
    # the words and segments hold what their first, plain definitions give
    assert [(w.start, w.end, w.text, w.sent_start, w.protected) for w in ws] == _reference_words(text)
    assert segments(text) == _reference_segments(text)
    got = segment_words(text, ws)
    assert [(a, b) for a, b, _ in got] == segments(text)
    for a, b, seg_ws in got:
        want = [(w.start + a, w.end + a, w.text, w.sent_start, w.protected) for w in words(text[a:b])]
        assert [(w.start, w.end, w.text, w.sent_start, w.protected) for w in seg_ws] == want
    tok = Tokens(text, ws)
    for a, b in segments(text):
        assert list(tok.index_range(a, b)) == [i for i, w in enumerate(ws) if a <= w.start and w.end <= b]
    # Tokens made from the text hold the same words, gaps and segments as Tokens made from its words
    own = Tokens(text)
    assert own.words == ws
    for name in ("forms", "starts", "ends", "opens", "protected", "lower", "joined", "broken"):
        assert getattr(own, name) == getattr(tok, name), name
    assert own.forms == [w.text for w in ws] and own.opens == [w.sent_start for w in ws]
    assert [text[a:b] for a, b in zip(own.starts, own.ends)] == own.forms
    assert [(a, b) for a, b, _, _, _ in own.segment_ranges()] == segments(text)
    assert word_spans(text) == [(m.start(), m.end(), m.group()) for m in WORD_RE.finditer(text)]
    gaps = [text[end:start] for end, start in zip(own.ends, own.starts[1:])]
    assert own.joined == [False, *(not gap.strip() for gap in gaps)][: len(ws)]


CONTEXT_WORDS = ["å", "kan", "dei", "mange", "faste", "fleire", "i", "har", None]


@pytest.mark.parametrize("w", ["dei", "kvar", "anna", "sjølve", "kulturskulen", "ikkje", "jobba", "prosjekt",
                               "møtepunkt", "kor", "si", "set", "løyve", "auke", "sett", "skulane", "Sogndal",
                               "lavterskeltilbud", "heile", "frå", "kome", "borna", "forankra", "erfaringa"])
def test_words_left_alone_outside_nynorsk_are_left_alone_in_every_context(w):
    """The carry-over skips these words in Bokmål segments without their context: check every context."""
    from pipeline.normalise.lexicon import Ctx, left_alone_outside_nn, translate_word

    lw = w.lower()
    for capital in (False, True):
        for rules in (False, True):
            outs = {
                translate_word(lw, Ctx(prev=p, next=n, prev2=p2, sent_start=ss, nn=False, inf=inf, capital=capital, rules=rules))
                for p in CONTEXT_WORDS for n in CONTEXT_WORDS for p2 in CONTEXT_WORDS[::3]
                for ss in (False, True) for inf in (False, True)
            }
            if left_alone_outside_nn(lw, capital, rules):
                assert outs == {None}, (w, capital, rules, outs)
    if lw in ("dei", "kvar", "anna", "sjølve"):  # _context_rule changes them in Bokmål segments too
        assert not left_alone_outside_nn(lw, False, False)


def test_every_word_that_the_context_rules_name_is_known_to_depend_on_its_context():
    """``CONTEXT_WORDS_IN_NN`` must hold each word ``_context_rule`` tests with ``w == "..."`` (read from its source)."""
    import ast
    import inspect

    from pipeline.normalise import lexicon as lexicon_mod

    tree = ast.parse(inspect.getsource(lexicon_mod._context_rule))
    named = {node.comparators[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "w"
             and isinstance(node.ops[0], ast.Eq) and isinstance(node.comparators[0], ast.Constant)}
    assert len(named) >= 10
    assert named <= lexicon_mod.CONTEXT_WORDS_IN_NN, named - lexicon_mod.CONTEXT_WORDS_IN_NN


@pytest.mark.parametrize("w", ["dei", "kvar", "anna", "sjølve", "kulturskulen", "ikkje", "jobba", "prosjekt",
                               "møtepunkt", "kor", "si", "set", "løyve", "auke", "sett", "skulane", "Sogndal",
                               "lavterskeltilbud", "heile", "frå", "kome", "borna", "forankra", "erfaringa",
                               "fleire", "tilbod", "lærarane", "vere", "NRK", "i", "og", "kunna", "utnytta"])
def test_words_translated_alike_in_every_nynorsk_context(w):
    """The carry-over of a Nynorsk segment takes these words' outcome without their context: check every context."""
    from pipeline.normalise.lexicon import CONTEXT_WORDS_IN_NN, Ctx, translate_in_nn_anywhere, translate_word

    lw = w.lower()
    for capital in (False, True):
        fixed, out = translate_in_nn_anywhere(lw, capital)
        outs = {
            translate_word(lw, Ctx(prev=p, next=n, prev2=p2, sent_start=ss, nn=True, inf=inf, capital=capital, rules=rules))
            for p in CONTEXT_WORDS for n in CONTEXT_WORDS for p2 in CONTEXT_WORDS[::3]
            for ss in (False, True) for inf in (False, True) for rules in (False, True)
        }
        if fixed:
            assert outs == {out}, (w, capital, outs, out)
        if lw in CONTEXT_WORDS_IN_NN:
            assert not fixed
    assert not translate_in_nn_anywhere("jobba", False)[0]  # jobbe after å, else jobbet
    assert translate_in_nn_anywhere("ikkje", False) == (True, "ikke")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), max_size=6),
    st.lists(st.integers(-1, 45), max_size=20),
)
def test_property_covering_test_is_any_span_covering(spans, points):
    spans = [(a, a + n, "") for a, n in spans]
    covered = backends_mod._covering_test(spans)
    for x in points:
        assert covered(x) == any(a <= x < b for a, b, _ in spans)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcd"), max_size=8), st.lists(st.sampled_from("abcd"), max_size=8), st.booleans())
def test_property_word_opcodes_are_difflibs(a, b, same):
    import difflib

    b = list(a) if same else b
    assert backends_mod._word_opcodes(a, b) == difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()


# ---------------------------------------------------------------- backends


def test_get_backend_auto_and_info(monkeypatch):
    monkeypatch.setattr(backends_mod, "apertium_available", lambda: False)
    assert get_backend("auto").name == "lexicon"
    info = backend_info("lexicon")
    assert info["name"] == "lexicon" and info["version"].startswith("lexicon-")
    with pytest.raises(ValueError):
        get_backend("google")


@needs_apertium
def test_auto_prefers_apertium():
    assert get_backend("auto").name == "apertium"
    assert backend_info()["version"].startswith("apertium-nno-nob-")


@needs_apertium
def test_apertium_one_request_per_batch_and_one_pipeline_per_process(monkeypatch, refs):
    requests = []
    real = apertium_mod.translate_blocks

    def spy(blocks):
        requests.append(list(blocks))
        return real(blocks)

    b = ApertiumBackend()
    monkeypatch.setattr(backends_mod.apertium, "translate_blocks", spy)
    texts = [r["nn"] for r in refs] * 3
    outs = b.translate_batch(texts)
    assert len(outs) == len(texts) and len(requests) == 1
    assert len(requests[0]) == len(set(requests[0]))  # each distinct segment is sent once
    pipe = apertium_mod._pipeline()
    b.translate_batch(texts[:2])
    assert len(requests) == 2 and apertium_mod._pipeline() is pipe  # the same long-running pipeline
    n = len(refs)
    assert outs[:n] == outs[n : 2 * n] == outs[2 * n :]
    # a batch without Nynorsk segments does not ask Apertium
    b.translate_batch(["Det er ikke lett.", "Hva gjør vi nå?"])
    assert len(requests) == 2


# Blocks as the backend sends them (stripped, non-empty), with the characters Apertium's
# deformatter escapes, blanks it turns into superblanks, and one block larger than a pipe buffer.
BLOCKS = [
    "Eg har ikkje sett dei.",
    "Kva gjer du no?",
    "Dei som har små born treng løyve.",
    "x [y] z\\w /q @r <s> ^t$ {u} *v #w |x ~y  æøå «q» “r” – s…\ttab\n\nblank line",
    "a\r\nb\n\n\nc",
    "end\\",
    ".[][SEP 0]",
    "1.",
    "(0)",
    "Vi må ha fleire blørkete snurrebassar og XQaQX i skulen " * 400 + "!",
]


@pytest.fixture(scope="module")
def one_shot_blocks():
    """What `apertium -u nno-nob` prints for each block alone (one process chain per block)."""
    return [apertium_mod.run_once(b + "\n") for b in BLOCKS]


@needs_apertium
def test_apertium_pipeline_gives_each_block_the_one_shot_output_in_any_order(one_shot_blocks):
    assert all(o is not None for o in one_shot_blocks)
    assert apertium_mod.translate_blocks(BLOCKS) == one_shot_blocks
    order = list(reversed(range(len(BLOCKS))))
    assert apertium_mod.translate_blocks([BLOCKS[i] for i in order]) == [one_shot_blocks[i] for i in order]
    for i in (0, 1, 6):  # alone: no block sees another's words
        assert apertium_mod.translate_blocks([BLOCKS[i]]) == [one_shot_blocks[i]]
    assert apertium_mod._pipeline() is not None


@needs_apertium
def test_apertium_blocks_from_the_seed_boards_get_the_one_shot_output(refs):
    blocks = []
    real = apertium_mod.translate_blocks

    def spy(bs):
        blocks.extend(bs)
        return real(bs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backends_mod.apertium, "translate_blocks", spy)
        ApertiumBackend().translate_batch([r["nn"] for r in refs[:12]])
    assert len(blocks) >= 12
    assert apertium_mod.translate_blocks(blocks) == [apertium_mod.run_once(b + "\n") for b in blocks]


def test_apertium_blocks_must_be_stripped_and_non_empty():
    for bad in ("", " x", "x\n"):
        with pytest.raises(ValueError):
            apertium_mod.translate_blocks([bad])
    assert apertium_mod.translate_blocks([]) == []


@needs_apertium
def test_apertium_pipeline_restarts_after_it_died(one_shot_blocks):
    assert apertium_mod.translate_blocks(BLOCKS[:2]) == one_shot_blocks[:2]
    pipe = apertium_mod._pipeline()
    os.killpg(pipe.proc.pid, signal.SIGKILL)
    pipe.proc.wait()
    assert apertium_mod.translate_blocks(BLOCKS[:2]) == one_shot_blocks[:2]  # a new pipeline
    assert apertium_mod._pipeline() is not pipe


@needs_apertium
def test_apertium_pipeline_retries_then_falls_back_to_one_shot_calls(monkeypatch, one_shot_blocks):
    calls = []

    def broken(self, blocks):
        calls.append(self)
        raise apertium_mod.PipelineError("out of step")

    pipe = apertium_mod._pipeline()
    monkeypatch.setattr(apertium_mod._Pipeline, "translate_blocks", broken)
    assert apertium_mod.translate_blocks(BLOCKS[:3]) == one_shot_blocks[:3]
    assert len(calls) == 2 and calls[0] is pipe and calls[1] is not pipe  # tried once more with a new pipeline
    assert all(p.proc.poll() is not None for p in calls)  # both broken pipelines were ended


@needs_apertium
def test_apertium_pipeline_is_per_process_after_fork(one_shot_blocks):
    expected = one_shot_blocks[:2]
    parent_pipe = apertium_mod._pipeline()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        out, child_pipe_pid = pool.apply(_translate_in_child, (BLOCKS[:2],))
    assert out == expected and child_pipe_pid != parent_pipe.proc.pid
    assert apertium_mod._pipeline() is parent_pipe and apertium_mod.translate_blocks(BLOCKS[:2]) == expected


def _translate_in_child(blocks):
    out = apertium_mod.translate_blocks(blocks)
    return out, apertium_mod._pipeline().proc.pid


@needs_apertium
def test_apertium_pipelines_started_ahead_are_taken_by_one_worker_each(one_shot_blocks):
    expected = one_shot_blocks[:2]
    assert apertium_mod.start_spares(2) == 2
    spare_pids = {pipe.proc.pid for _, pipe in apertium_mod._SPARES}
    try:
        assert apertium_mod._take_spare() is None  # the spares are for the workers, not their starter
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(3)  # each of the three workers gets one task
        with ctx.Pool(3, initializer=_set_barrier, initargs=(barrier,)) as pool:  # one worker starts its own pipeline
            results = pool.map(_translate_in_a_new_worker, [BLOCKS[:2]] * 3, chunksize=1)
    finally:
        spares = [pipe for _, pipe in apertium_mod._SPARES]
        apertium_mod.release_spares()
    assert all(out == expected for out, _, _ in results)
    taken = [pid for _, pid, took in results if took]
    assert sorted(taken) == sorted(spare_pids)  # each spare went to exactly one worker
    assert apertium_mod._SPARES == [] and all(pipe.proc.poll() is not None for pipe in spares)  # ended
    # the shell of each exited by itself (a status, not a signal: it was not killed), after waiting for its
    # programs, so the CPU time they used counts for the run
    assert all(pipe.proc.returncode >= 0 for pipe in spares), [pipe.proc.returncode for pipe in spares]


_BARRIER = None


def _set_barrier(barrier):
    global _BARRIER
    _BARRIER = barrier


def _translate_in_a_new_worker(blocks):
    _BARRIER.wait(timeout=60)
    out = apertium_mod.translate_blocks(blocks)
    pipe = apertium_mod._pipeline()
    assert apertium_mod.translate_blocks(blocks) == out  # a taken pipeline goes on answering
    return out, pipe.proc.pid, pipe.started_in != os.getpid()


@needs_apertium
def test_a_worker_that_drops_a_broken_pipeline_it_took_over_ends_it(one_shot_blocks):
    """Only the starter can wait for a spare, and it still holds the spare's input: a worker kills a broken one."""
    import time

    assert apertium_mod.start_spares(1) == 1
    spare = apertium_mod._SPARES[0][1]
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            out, pid, took = pool.apply(_translate_and_close, (BLOCKS[:2],))
        assert took and pid == spare.proc.pid and out == one_shot_blocks[:2]
        deadline = time.monotonic() + 10
        while spare.proc.poll() is None and time.monotonic() < deadline:  # ended before the starter releases it
            time.sleep(0.05)
        assert spare.proc.returncode is not None
    finally:
        apertium_mod.release_spares()


def _translate_and_close(blocks):
    out = apertium_mod.translate_blocks(blocks)
    pipe = apertium_mod._pipeline()
    apertium_mod._close(broken=True)  # as after a failed request
    return out, pipe.proc.pid, pipe.started_in != os.getpid()


@needs_apertium
def test_apertium_output_has_no_unknown_marks_or_placeholders():
    text = (
        "Vi må ha fleire blørkete snurrebassar og ein merkeleg ting i skulen. "
        "Skriv til anders@kulturskoleradet.no, #kulturskule eller sjå https://kulturskoleradet.no/skule"
    )
    out = to_bokmal([text], backend="apertium")[0]
    assert "*" not in out and "XQ" not in out and "<" not in out
    assert "blørkete" in out and "flere" in out and "skolen" in out
    assert "anders@kulturskoleradet.no" in out
    assert "#kulturskule" in out and "https://kulturskoleradet.no/skule" in out


@needs_apertium
def test_apertium_segments_it_fails_on_fall_back_to_the_lexicon(monkeypatch, refs):
    b = ApertiumBackend()
    monkeypatch.setattr(backends_mod.apertium, "translate_blocks", lambda blocks: [None] * len(blocks))
    texts = [r["nn"] for r in refs[:4]]
    assert b.translate_batch(texts) == LexiconBackend().translate_batch(texts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_api_shapes(backend):
    assert to_bokmal([], backend=backend) == []
    assert to_bokmal(["", "  \n", "OK."], backend=backend) == ["", "  \n", "OK."]
    gen = (t for t in ["Det er ikkje lett.", "Det er ikke lett."])
    assert to_bokmal(gen, backend=backend) == ["Det er ikke lett.", "Det er ikke lett."]


@needs_apertium
def test_backends_give_identical_text_nb_on_the_seed_boards(processed):
    """Both backends give the same text_nb on the published posts, so the committed manifest
    reproduces on machines with and without Apertium (tests/test_run.py)."""
    from pipeline import io

    posts = io.read_table("posts", processed)
    texts, variants = posts["text_clean"].tolist(), posts["variant"].tolist()
    assert to_bokmal(texts, backend="lexicon", variants=variants) == to_bokmal(texts, backend="apertium", variants=variants)
