"""The HTML report: self-contained, evidence marked, filters work in a real headless browser.

The browser test drives Debian's chromium (``apt-get install chromium``)
through Playwright, never downloading a browser; it is skipped with a
message when chromium or Playwright is absent.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline import load_table, report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def analysis_tables(out):
    """posts, boards, codebook and tags of a pipeline run."""
    posts = load_table("posts", out)
    codebook = load_table("codebook", out)
    tags = load_table("tags", out)
    return posts, load_table("boards", out), codebook, tags


@pytest.fixture(scope="module")
def tables(processed):
    return analysis_tables(processed)


@pytest.fixture(scope="module")
def report_file(tables, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "index.html"
    path.write_text(report.build_report(*tables), encoding="utf-8")
    return path


def test_excerpt_marks_evidence_and_escapes():
    text = "Vi trenger <mer> tid og penger. " + "x " * 200 + "Tid er viktig."
    out = report.excerpt_html(text, [(17, 20), (21, 23), (17, 20)], context=10)
    assert "<mark>tid</mark>" in out and "&lt;mer&gt;" in out
    assert out.count("<mark>") == 2 and "…" in out
    # Overlapping spans become one mark.
    assert report.excerpt_html("faste møtepunkt her", [(0, 5), (0, 15)]).count("<mark>") == 1


def test_report_is_self_contained(report_file, tables):
    text = report_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text), "no external resources"
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", text)
    assert "<svg" in text and "<mark>" in text
    posts, boards, codebook, tags = tables
    for label in codebook["label"]:
        assert report._esc(label) in text
    # Every response with a theme is quoted under that theme.
    pairs = tags[["post_id", "theme_id"]].drop_duplicates()
    assert text.count("class='quote'") == len(pairs)


def test_report_has_no_raw_names(report_file):
    """Names in the report are the tables' pseudonyms; the report adds none."""
    text = report_file.read_text(encoding="utf-8")
    persons = Path(__file__).parent / "fixtures" / "persons.txt"
    if persons.exists():
        names = [n.strip() for n in persons.read_text(encoding="utf-8").splitlines() if len(n.strip()) > 5 and " " in n.strip() and not n.startswith("#")]
        leaked = [n for n in names if n in text]
        assert leaked == []


def test_write_outputs(processed):
    written = report.write_outputs(processed)
    assert written["report"] == processed / "report" / "index.html"
    assert written["report"].read_text(encoding="utf-8").count("<section") >= 3
    assert (processed / "exports" / "codebook.qdc").exists()
    try:
        load_table("tags", processed)
    except (KeyError, FileNotFoundError):
        assert "project_qdpx" not in written
    else:
        assert (processed / "exports" / "project.qdpx").exists()


def test_write_outputs_in_parallel_or_not(processed, tmp_path):
    """The report built in a forked child and the exports built here: the same files as one after the other."""
    import shutil

    serial = tmp_path / "serial"
    shutil.copytree(processed, serial)
    written = report.write_outputs(processed, parallel=True)
    again = report.write_outputs(serial, parallel=False)
    assert list(written) == list(again) == ["report", "codebook_qdc", "project_qdpx"]
    for name, path in written.items():
        assert path.read_bytes() == again[name].read_bytes(), name


def test_report_errors_reach_the_caller(processed, monkeypatch):
    def broken(*args):
        raise KeyError("no such column")

    monkeypatch.setattr(report, "build_report", broken)
    with pytest.raises(KeyError, match="no such column") as raised:
        report.write_outputs(processed, parallel=True)
    assert any("child process" in note for note in getattr(raised.value, "__notes__", []))
    with pytest.raises(KeyError, match="no such column"):
        report.write_outputs(processed, parallel=False)


def _reference_excerpt(text: str, spans, context: int = report.CONTEXT) -> str:
    """excerpt_html as first written: the definition the faster version must keep."""
    import html as html_module

    def esc(v):
        return html_module.escape(str(v), quote=True)

    def merge(sp):
        out = []
        for s, e in sorted(sp):
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return [(s, e) for s, e in out]

    def edge(i, forward):
        if forward:
            while i < len(text) and not text[i].isspace():
                i += 1
        else:
            while i > 0 and not text[i - 1].isspace():
                i -= 1
        return i

    marks = merge([(int(s), int(e)) for s, e in spans if 0 <= int(s) < int(e) <= len(text)])
    if not marks:
        return esc(text[: 2 * context])
    windows = merge([(edge(max(0, s - context), False), edge(min(len(text), e + context), True)) for s, e in marks])
    parts = []
    for ws, we in windows:
        pos, chunk = ws, []
        for s, e in marks:
            if s >= ws and e <= we:
                chunk += [esc(text[pos:s]), f"<mark>{esc(text[s:e])}</mark>"]
                pos = e
        chunk.append(esc(text[pos:we]))
        parts.append(("… " if ws > 0 else "") + "".join(chunk).strip() + (" …" if we < len(text) else ""))
    return "<br><span class='gap'>[…]</span><br>".join(re.sub(r"\n\s*\n", "\n", p) for p in parts).replace("\n", "<br>")


def test_excerpt_matches_its_definition():
    import random

    rng = random.Random(7)
    alphabet = "ab <&\n\n  x'\"\t.é\u00a0\u2003"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        spans = [(rng.randint(-3, len(text) + 3), rng.randint(-3, len(text) + 3)) for _ in range(rng.randint(0, 6))]
        context = rng.choice([0, 1, 3, 10, 140])
        got = report.excerpt_html(text, spans, context=context, max_windows=None)
        assert got == _reference_excerpt(text, spans, context), (text, spans, context)


def test_excerpt_keeps_the_windows_with_the_most_evidence_in_text_order():
    filler = " ".join(["ord"] * 40)
    words = ["en", "to", "tre", "fire", "fem", "seks"]
    text = f" {filler} ".join(["alfa", "beta gamma", "delta", "epsilon zeta"]) + " " + " ".join(words)
    spans = []
    for evidence in ("alfa", "beta", "gamma", "delta", "epsilon", "zeta"):
        start = text.index(evidence)
        spans.append((start, start + len(evidence)))
    everything = report.excerpt_html(text, spans, context=5, max_windows=None)
    assert everything.count("[…]") == 3  # four windows
    two = report.excerpt_html(text, spans, context=5, max_windows=2)
    assert two.count("[…]") == 1
    assert two.index("<mark>beta</mark>") < two.index("<mark>epsilon</mark>")  # the two-mark windows, in order
    assert "<mark>alfa</mark>" not in two and "<mark>delta</mark>" not in two
    assert report.excerpt_html(text, spans, context=5) == report.excerpt_html(text, spans, context=5, max_windows=3)
    assert report.excerpt_html(text, spans, context=5, max_windows=3).count("<mark>") == 5  # alfa wins the tie


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium chromium-driver): browser test skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: browser test skipped")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _visible(page, selector: str):
    return [el for el in page.query_selector_all(selector) if el.is_visible()]


def test_report_in_browser(browser, report_file, tables, tmp_path):
    posts, boards, codebook, tags = tables
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert errors == []
    assert [u for u in requests if not u.startswith("file:")] == [], "the report must not touch the network"

    n_responses = int((posts["kind"] == "response").sum())
    assert page.text_content("#status") == f"{n_responses} av {n_responses} svar vises"
    bars = page.query_selector_all("#theme-chart g.bar")
    assert len(bars) == len(codebook)

    # Evidence is marked in the visible quotes, and each mark is made of tagged evidence.
    marks = _visible(page, "blockquote.quote mark")
    assert marks
    evidence = {t.lower() for t in tags["matched_text"]}
    for mark in marks[:50]:
        text = mark.text_content().lower()
        assert any(e in text for e in evidence), text

    def state():
        quotes = _visible(page, "blockquote.quote")
        counts = {b.get_attribute("data-theme"): int(b.query_selector("text.count").text_content()) for b in bars}
        return quotes, counts

    all_quotes, all_counts = state()
    # Filter by variant: only Nynorsk quotes stay, and the chart counts fall.
    if (posts["variant"] == "nn").any():
        page.select_option("#filter-variant", "nn")
        quotes, counts = state()
        assert quotes and all(q.get_attribute("data-variant") == "nn" for q in quotes)
        assert sum(counts.values()) < sum(all_counts.values())
        page.screenshot(path=str(tmp_path / "report-nynorsk.png"))
        page.select_option("#filter-variant", "")
    # Filter by board.
    board = sorted(posts["board_id"].unique())[0]
    page.select_option("#filter-board", board)
    quotes, counts = state()
    assert quotes and all(q.get_attribute("data-board") == board for q in quotes)
    expected = tags[tags["post_id"].isin(posts.loc[posts["board_id"] == board, "post_id"])].groupby("theme_id")["post_id"].nunique()
    assert counts == {t: int(expected.get(t, 0)) for t in codebook["theme_id"]}
    # Filter by dialogue theme on top of it.
    page.select_option("#filter-dialogue", "1")
    quotes = _visible(page, "blockquote.quote")
    assert all(q.get_attribute("data-dialogue") == "1" and q.get_attribute("data-board") == board for q in quotes)
    # Reset: everything is back; "show all" shows every quote of every theme.
    page.select_option("#filter-board", "")
    page.select_option("#filter-dialogue", "")
    assert len(state()[0]) == len(all_quotes)
    page.check("#show-all")
    page.evaluate("document.querySelectorAll('details.theme').forEach(d => d.open = true)")
    assert len(_visible(page, "blockquote.quote")) == len(tags[["post_id", "theme_id"]].drop_duplicates())
    page.close()


def test_write_outputs_from_the_tables_as_written(processed, tmp_path):
    """Given the tables' rows as written (Arrow), the outputs and manifest entries are those of reading them back."""
    import shutil

    from pipeline import config, io, schema

    copy = tmp_path / "copy"
    shutil.copytree(processed, copy)
    tables = {name: io.to_arrow(name, io.read_table(name, copy))
              for name in schema.TABLES if config.table_path(name, copy).exists() and name != "boards"}
    from_files = report.write_outputs(processed, table_summaries=True)
    for parallel in (True, False):
        given = report.write_outputs(copy, parallel=parallel, table_summaries=True, tables=tables)
        assert list(given) == list(from_files) == ["report", "codebook_qdc", "project_qdpx", "table_summaries"]
        assert given["table_summaries"] == from_files["table_summaries"] == io.table_summaries(processed)
        assert list(given["table_summaries"]) == list(io.table_summaries(processed))
        for name in ("report", "codebook_qdc", "project_qdpx"):
            assert given[name].read_bytes() == from_files[name].read_bytes(), name


def test_forked_processes_take_turns_without_sharing_an_item():
    from pipeline.parallel import ForkedCall, SharedCounter, take_turns

    items = list(range(40))
    turns = SharedCounter()

    def my_share() -> list[int]:
        return list(take_turns(items, turns))

    child = ForkedCall(my_share)
    here, there = my_share(), child.result()
    assert sorted(here + there) == items and not set(here) & set(there)
    assert list(take_turns(items, None)) == items


def test_write_outputs_writes_the_tables_given(processed, tmp_path):
    """With write_tables, the validated rows become the run's tables: the same files as written one by one."""
    from pipeline import config, io, schema

    names = [name for name in schema.TABLES if config.table_path(name, processed).exists()]
    tables = {name: io.to_arrow(name, io.read_table(name, processed)) for name in names}
    for parallel in (True, False):
        out = tmp_path / f"parallel-{parallel}"
        written = report.write_outputs(out, parallel=parallel, table_summaries=True, tables=tables, write_tables=True)
        for name in names:
            assert config.table_path(name, out).read_bytes() == config.table_path(name, processed).read_bytes(), name
        assert written["table_summaries"] == io.table_summaries(processed)
        assert written["report"].read_bytes() == (processed / "report" / "index.html").read_bytes()
