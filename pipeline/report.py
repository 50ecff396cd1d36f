"""A self-contained HTML report for analysts: ``<out_dir>/report/index.html``.

One file, no network: CSS, JavaScript and the SVG charts are inline and
generated here in Python. It shows

* key figures (boards, posts, responses, coded responses);
* the theme overview: responses per theme as an SVG bar chart (bars
  coloured by codebook category) and a table with evidence counts;
* per theme, the strongest quotes: excerpts of the responses around the
  theme's evidence, the evidence marked with ``<mark>``;
* filters by board, dialogue theme and written standard (Bokmål/Nynorsk):
  plain inline JavaScript hides the quotes that do not match and redraws
  the bar chart's counts for the selection.

Labels are Norwegian (the analysts' language). ``build_report`` is pure
(frames in, HTML out); ``write_report`` reads the tables of a pipeline run.
``write_outputs`` writes the report and the REFI-QDA exports (``qda``),
the report in a forked child process while the exports are written; at the
end of a run that child writes the validated tables first, and both
processes then share the hashing of the tables for the manifest.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline import schema
from pipeline.io import table_summary, to_frame, write_arrow, write_bytes_atomic
from pipeline.parallel import ForkedCall, SharedCounter, can_fork, gc_paused, take_turns
from pipeline.qda import CATEGORY_COLOURS, CATEGORY_LABELS, DEFAULT_COLOUR, column_values

if TYPE_CHECKING:
    import pyarrow as pa

REPORT_DIR = "report"
# Characters of context on each side of an evidence span in a quote.
CONTEXT = 140
# Quotes shown per theme before "Vis alle sitater" is ticked.
QUOTES_SHOWN = 4
VARIANT_LABELS = {"nb": "Bokmål", "nn": "Nynorsk", "mixed": "Blandet", "": "Ukjent"}


_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"\s")
# The characters html.escape(quote=True) replaces.
_HTML_SPECIAL = re.compile("[&<>\"']")


def _esc(value) -> str:
    text = "" if value is None else str(value)
    return html.escape(text, quote=True) if _HTML_SPECIAL.search(text) else text


def _isna(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined, in order."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def excerpt_html(text: str, spans: list[tuple[int, int]], context: int = CONTEXT, max_windows: int | None = 3) -> str:
    """HTML excerpt of ``text`` around ``spans`` with every span in ``<mark>``.

    Windows of ``context`` characters around each span (widened to whole
    words) are joined when they overlap; gaps are shown as "[…]". At most
    ``max_windows`` windows are kept (None: all): those with the most
    marks, the earlier on a tie, in text order. Spans
    are character offsets into ``text`` (``tags.start``/``tags.end``).
    """
    spans = [(int(s), int(e)) for s, e in spans]
    return _excerpt(text, spans, context, bool(_HTML_SPECIAL.search(text)), max_windows)


def _excerpt(text: str, spans: list[tuple[int, int]], context: int, escape: bool, max_windows: int | None = None) -> str:
    """:func:`excerpt_html` of spans given as ints; ``escape`` False promises that ``text`` has nothing to escape
    (saves a scan per call); ``max_windows`` None keeps every window (the report shows all the evidence)."""
    n = len(text)
    marks = _merge([(s, e) for s, e in spans if 0 <= s < e <= n])
    if not marks:
        return _esc(text[: 2 * context])
    esc = _esc if escape else str
    windows: list[list[int]] = []
    for s, e in marks:
        # The window: ``context`` characters either side, widened to whitespace (or the text's edges).
        ws = max(0, s - context)
        while ws > 0 and not text[ws - 1].isspace():
            ws -= 1
        space = _SPACE.search(text, e + context) if e + context < n else None  # re's \s is str.isspace
        we = space.start() if space else n
        # Window starts grow with the marks' starts: only the last window can overlap the next.
        if windows and ws <= windows[-1][1]:
            if we > windows[-1][1]:
                windows[-1][1] = we
        else:
            windows.append([ws, we])
    # Every mark lies inside exactly one window; both are in order.
    window_marks: list[list[tuple[int, int]]] = []
    k = 0
    for _, we in windows:
        first = k
        while k < len(marks) and marks[k][1] <= we:
            k += 1
        window_marks.append(marks[first:k])
    kept = range(len(windows))
    if max_windows is not None and len(windows) > max_windows:
        # the windows with the most marks (the earlier one on a tie), shown in text order
        kept = sorted(sorted(kept, key=lambda i: -len(window_marks[i]))[:max(max_windows, 1)])
    parts = []
    for i in kept:
        ws, we = windows[i]
        pos, chunk = ws, []
        for s, e in window_marks[i]:
            chunk.append(esc(text[pos:s]))
            chunk.append("<mark>" + esc(text[s:e]) + "</mark>")
            pos = e
        chunk.append(esc(text[pos:we]))
        body = "".join(chunk).strip()
        if ws > 0:
            body = "… " + body
        if we < n:
            body += " …"
        parts.append(_BLANK_LINES.sub("\n", body) if "\n" in body else body)
    return "<br><span class='gap'>[…]</span><br>".join(parts).replace("\n", "<br>")


def _theme_rows(codebook: pd.DataFrame) -> list[dict]:
    return [{"theme_id": str(r["theme_id"]), "label": str(r.get("label") or r["theme_id"]),
             "category": "" if _isna(r.get("category")) else str(r["category"]),
             "definition": "" if _isna(r.get("definition")) else str(r["definition"])}
            for r in codebook.to_dict("records")]


def _post_meta(posts: pd.DataFrame) -> pd.DataFrame:
    """post_id, board_id, dialogue theme and variant as filter keys (strings; '' when unknown)."""
    meta = pd.DataFrame({"post_id": posts["post_id"].astype(str), "board_id": posts["board_id"].astype(str)})
    meta["dialogue"] = ["" if _isna(v) else str(int(v)) for v in column_values(posts, "dialogue_theme")]
    meta["variant"] = ["" if _isna(v) else str(v) for v in column_values(posts, "variant")]
    return meta.set_index("post_id")


def quote_scores(tags: pd.DataFrame) -> dict[tuple[str, str], float]:
    """:func:`quote_score` for every (theme, post) of a tags table at once."""
    return _quote_scores(tags.drop_duplicates(["theme_id", "post_id", "start", "end"]))


def _quote_scores(distinct: pd.DataFrame) -> dict[tuple[str, str], float]:
    """:func:`quote_scores` of tags without duplicate (theme, post, start, end)."""
    distinct = distinct.copy()
    distinct["word"] = distinct["matched_text"].str.lower()
    distinct["strong"] = (distinct["strength"] == "strong") if "strength" in distinct.columns else False
    grouped = distinct.groupby(["theme_id", "post_id"], sort=False)
    words, strong = grouped["word"].nunique(), grouped["strong"].sum()
    # Both aggregations of one groupby: the same keys in the same order.
    return {key: float(w + int(s)) for key, w, s in zip(words.index, words.tolist(), strong.tolist())}


def quote_score(theme_tags: pd.DataFrame) -> float:
    """How strongly a post's evidence supports a theme: distinct evidence words, strong hits count double."""
    distinct = theme_tags.drop_duplicates(["start", "end"])
    strong = int((distinct["strength"] == "strong").sum()) if "strength" in distinct.columns else 0
    return float(distinct["matched_text"].str.lower().nunique() + strong)


def _bar_chart(themes: list[dict], counts: dict[str, int], total: int) -> str:
    """Horizontal SVG bar chart: responses per theme, bars coloured by category."""
    row_h, label_w, bar_w, top = 22, 330, 420, 28
    height = top + row_h * len(themes) + 10
    peak = max([*counts.values(), 1])
    out = [f"<svg id='theme-chart' role='img' aria-labelledby='chart-title' xmlns='http://www.w3.org/2000/svg' "
           f"viewBox='0 0 {label_w + bar_w + 70} {height}' width='100%' data-max='{peak}' data-width='{bar_w}'>",
           f"<title id='chart-title'>Antall svar per tema (av {total} svar)</title>",
           f"<text x='{label_w}' y='16' class='axis'>Antall svar med temaet</text>"]
    for i, t in enumerate(themes):
        y = top + i * row_h
        n = counts.get(t["theme_id"], 0)
        w = bar_w * n / peak
        colour = CATEGORY_COLOURS.get(t["category"], DEFAULT_COLOUR)
        out.append(
            f"<g class='bar' data-theme='{_esc(t['theme_id'])}'>"
            f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end' class='label'>{_esc(t['label'])}</text>"
            f"<rect x='{label_w}' y='{y + 3}' height='{row_h - 6}' width='{w:.1f}' fill='{colour}'><title>{_esc(t['label'])}: {n}</title></rect>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 15}' class='count'>{n}</text></g>")
    out.append("</svg>")
    return "".join(out)


def _legend() -> str:
    items = "".join(f"<span class='key'><i style='background:{c}'></i>{_esc(CATEGORY_LABELS.get(k, k))}</span>"
                    for k, c in CATEGORY_COLOURS.items())
    return f"<p class='legend'>{items}</p>"


def _select(name: str, label: str, options: list[tuple[str, str]]) -> str:
    opts = "".join(f"<option value='{_esc(v)}'>{_esc(t)}</option>" for v, t in options)
    return f"<label>{_esc(label)} <select id='filter-{name}' data-filter='{name}'><option value=''>Alle</option>{opts}</select></label>"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9;line-height:1.45}
header{background:#23395d;color:#fff;padding:1.2rem 2rem}header h1{margin:0 0 .3rem;font-size:1.6rem}header p{margin:0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1rem 1.4rem;margin:1rem 0}
h2{font-size:1.25rem;margin:.2rem 0 .8rem}.figures{display:flex;gap:1rem;flex-wrap:wrap}
.figure{background:#eef2f8;border-radius:6px;padding:.5rem 1rem;min-width:8rem}.figure b{display:block;font-size:1.5rem}
#filters{position:sticky;top:0;z-index:2;display:flex;gap:1.2rem;flex-wrap:wrap;align-items:center}
select{font-size:1rem;padding:.2rem}#status{color:#555}
svg .label{font-size:13px;fill:#1d2433}svg .count{font-size:12px;fill:#333}svg .axis{font-size:12px;fill:#666}
.legend .key{margin-right:1rem;font-size:.9rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;border-radius:2px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e3e6eb}td.n{text-align:right}
details.theme{border-top:1px solid #e3e6eb;padding:.4rem 0}details.theme summary{cursor:pointer;font-weight:600}
.definition{color:#555;font-size:.92rem;margin:.3rem 0 .6rem}
.quote{border-left:4px solid #c9d3e3;background:#fafbfc;margin:.5rem 0;padding:.5rem .8rem}
.quote .meta{font-size:.8rem;color:#666;margin-bottom:.2rem}
mark{background:#ffe066;padding:0 .1em;border-radius:2px}.gap{color:#999}
.hidden{display:none!important}.more{font-size:.85rem;color:#666}
footer{font-size:.85rem;color:#666;margin-top:2rem}
"""

JS = """
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-filter]'));
  var showAll = document.getElementById('show-all');
  function wanted(){var w={};selects.forEach(function(s){w[s.dataset.filter]=s.value;});return w;}
  function matches(meta,w){for(var k in w){if(w[k]!=='' && meta[k]!==w[k]) return false;}return true;}
  function apply(){
    var w = wanted(), counts = {}, nPosts = 0;
    data.themes.forEach(function(t){counts[t]=0;});
    Object.keys(data.posts).forEach(function(pid){
      var p = data.posts[pid];
      if(!matches(p,w)) return;
      nPosts += 1;
      p.themes.forEach(function(t){counts[t]+=1;});
    });
    var svg = document.getElementById('theme-chart');
    var peak = Math.max.apply(null, data.themes.map(function(t){return counts[t];}).concat([1]));
    var width = parseFloat(svg.dataset.width);
    Array.prototype.forEach.call(svg.querySelectorAll('g.bar'), function(g){
      var n = counts[g.dataset.theme], rect = g.querySelector('rect'), label = g.querySelector('text.count');
      var x = parseFloat(rect.getAttribute('x')), bw = width*n/peak;
      rect.setAttribute('width', bw.toFixed(1));
      label.setAttribute('x', (x+bw+6).toFixed(1));
      label.textContent = n;
    });
    Array.prototype.forEach.call(document.querySelectorAll('details.theme'), function(d){
      var shown = 0, total = 0;
      Array.prototype.forEach.call(d.querySelectorAll('.quote'), function(q){
        var ok = matches(q.dataset, w);
        if(ok) total += 1;
        var visible = ok && (showAll.checked || shown < data.quotes_shown);
        if(visible) shown += 1;
        q.classList.toggle('hidden', !visible);
      });
      d.querySelector('.n-shown').textContent = total;
      var more = d.querySelector('.more');
      more.textContent = total > shown ? (total - shown) + ' sitater til (kryss av for «Vis alle sitater»)' : '';
      var cell = document.querySelector('td[data-count="'+d.dataset.theme+'"]');
      if(cell) cell.textContent = counts[d.dataset.theme];
    });
    document.getElementById('status').textContent = nPosts + ' av ' + Object.keys(data.posts).length + ' svar vises';
  }
  selects.forEach(function(s){s.addEventListener('change', apply);});
  showAll.addEventListener('change', apply);
  apply();
})();
"""


@gc_paused()
def build_report(posts: pd.DataFrame, boards: pd.DataFrame, codebook: pd.DataFrame, tags: pd.DataFrame | None) -> str:
    """The report as one HTML string (pure: no I/O).

    ``posts`` needs post_id, board_id, kind, text_clean and, when present,
    dialogue_theme, group_label, variant; ``tags`` post_id, theme_id,
    start, end, matched_text (and strength, when present); ``codebook``
    theme_id, label, category, definition. A post has a theme when it has
    evidence for it in ``tags``.
    """
    themes = _theme_rows(codebook)
    theme_ids = [t["theme_id"] for t in themes]
    # Only the columns used here are copied (posts also hold e.g. text_nb).
    used = [c for c in ("post_id", "board_id", "text_clean", "dialogue_theme", "group_label", "variant") if c in posts.columns]
    responses = posts.loc[posts["kind"] == "response", used]
    meta = _post_meta(responses)
    response_ids = responses["post_id"].astype(str).tolist()
    text_of = dict(zip(response_ids, responses["text_clean"].astype(str).tolist()))
    group_of = {p: (None if _isna(g) else str(g)) for p, g in zip(response_ids, column_values(responses, "group_label"))}
    if tags is None:
        tags = pd.DataFrame(columns=["post_id", "theme_id", "start", "end", "matched_text"])
    used = [c for c in ("post_id", "theme_id", "start", "end", "matched_text", "strength") if c in tags.columns]
    tags = tags.loc[tags["post_id"].astype(str).isin(text_of) & tags["theme_id"].isin(theme_ids), used].copy()
    tags["post_id"] = tags["post_id"].astype(str)
    themes_of: dict[str, list[str]] = {p: [] for p in text_of}
    # Tags once per evidence span and theme (first occurrences, in table order).
    distinct = tags.drop_duplicates(["post_id", "theme_id", "start", "end"])
    pairs = distinct[["post_id", "theme_id"]].drop_duplicates()
    for pid, tid in zip(pairs["post_id"].tolist(), pairs["theme_id"].tolist()):
        themes_of[pid].append(tid)
    counts = {t: 0 for t in theme_ids}
    for ts in themes_of.values():
        for t in ts:
            counts[t] += 1
    evidence = distinct.groupby("theme_id").size().to_dict()

    board_titles = {str(b): (None if _isna(t) else str(t)) for b, t in zip(boards["board_id"], boards.get("title", boards["board_id"]))}
    board_opts = [(b, f"{board_titles.get(b) or b} ({b[:10]})") for b in sorted(meta["board_id"].unique())]
    dialogue_opts = [(d, f"Dialogtema {d}") for d in sorted({d for d in meta["dialogue"] if d}, key=int)]
    if (meta["dialogue"] == "").any():
        dialogue_opts.append(("none", "Ukjent"))
    variant_opts = [(v, VARIANT_LABELS.get(v, v)) for v in ("nb", "nn", "mixed") if (meta["variant"] == v).any()]
    if (meta["variant"] == "").any():
        variant_opts.append(("none", "Ukjent"))

    def key(v: str) -> str:
        return v if v else "none"

    meta_rows = list(zip(meta.index.tolist(), meta["board_id"].tolist(), meta["dialogue"].tolist(), meta["variant"].tolist()))

    data = {
        "themes": theme_ids,
        "quotes_shown": QUOTES_SHOWN,
        "posts": {p: {"board": board, "dialogue": key(dialogue), "variant": key(variant), "themes": themes_of[p]}
                  for p, board, dialogue, variant in meta_rows},
    }

    n_coded = sum(1 for ts in themes_of.values() if ts)
    figures = [("Tavler", len(boards)), ("Innlegg", len(posts)), ("Svar", len(responses)),
               ("Svar med minst ett tema", n_coded), ("Temaer i kodeboka", len(themes)), ("Belegg (treff)", int(sum(evidence.values())))]
    parts = [
        "<!DOCTYPE html><html lang='no'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Fremtidens kulturskole – temarapport</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>Fremtidens kulturskole – temarapport</h1>",
        "<p>Svar fra dialogseminarene (Padlet), automatisk kodet mot kodeboka. Navn er pseudonymisert.</p></header><main>",
        "<section id='figures'><h2>Nøkkeltall</h2><div class='figures'>",
        "".join(f"<div class='figure'><b>{n}</b>{_esc(label)}</div>" for label, n in figures),
        "</div></section>",
        "<section id='filters'>",
        _select("board", "Tavle", board_opts),
        _select("dialogue", "Dialogtema", dialogue_opts),
        _select("variant", "Målform", variant_opts),
        "<label><input type='checkbox' id='show-all'> Vis alle sitater</label>",
        "<span id='status'></span></section>",
        "<section id='overview'><h2>Temaoversikt</h2>",
        _legend(),
        _bar_chart(themes, counts, len(responses)),
        "<table id='theme-table'><thead><tr><th>Tema</th><th>Kategori</th><th>Svar</th><th>Belegg</th></tr></thead><tbody>",
    ]
    for t in themes:
        parts.append(f"<tr><td>{_esc(t['label'])}</td><td>{_esc(CATEGORY_LABELS.get(t['category'], t['category']))}</td>"
                     f"<td class='n' data-count='{_esc(t['theme_id'])}'>{counts[t['theme_id']]}</td>"
                     f"<td class='n'>{evidence.get(t['theme_id'], 0)}</td></tr>")
    parts.append("</tbody></table></section>")

    parts.append("<section id='quotes'><h2>Sitater per tema</h2>"
                 "<p class='definition'>De sterkeste sitatene først (flest ulike belegg, sterke regler teller dobbelt). "
                 "Belegget temaet ble kodet på er <mark>markert</mark>.</p>")
    scores = _quote_scores(distinct)
    spans: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for tid, pid, start, end in zip(*(distinct[c].tolist() for c in ("theme_id", "post_id", "start", "end"))):
        spans.setdefault(tid, {}).setdefault(pid, []).append((int(start), int(end)))
    meta_of = {row[0]: row for row in meta_rows}
    card_head: dict[str, str] = {}  # post_id -> the start of its quote cards (the same under every theme)
    escape_text: dict[str, bool] = {}  # post_id -> whether its text has characters to escape

    def head(pid: str) -> str:
        if pid not in card_head:
            _, board, dialogue, variant = meta_of[pid]
            where = [board_titles.get(board) or board]
            if dialogue:
                where.append(f"Dialogtema {dialogue}")
            if group_of.get(pid):
                where.append(group_of[pid])
            if variant:
                where.append(VARIANT_LABELS.get(variant, variant))
            card_head[pid] = (f"<blockquote class='quote' data-board='{_esc(board)}' data-dialogue='{key(dialogue)}' "
                              f"data-variant='{key(variant)}' data-post='{_esc(pid)}'>"
                              f"<div class='meta'>{_esc(' · '.join(where))} · {_esc(pid)} · styrke ")
        return card_head[pid]

    for i, t in enumerate(themes):
        tid = t["theme_id"]
        cards = []
        if tid in spans:
            scored = sorted(((scores[(tid, pid)], pid) for pid in spans[tid]), key=lambda x: (-x[0], x[1]))
            for score, pid in scored:
                text = text_of[pid]
                if pid not in escape_text:
                    escape_text[pid] = bool(_HTML_SPECIAL.search(text))
                cards.append(f"{head(pid)}{score:g}</div>{_excerpt(text, spans[tid][pid], CONTEXT, escape_text[pid])}</blockquote>")
        colour = CATEGORY_COLOURS.get(t["category"], DEFAULT_COLOUR)
        parts.append(
            f"<details class='theme' id='theme-{_esc(tid)}' data-theme='{_esc(tid)}'{' open' if i < 3 else ''}>"
            f"<summary><span style='color:{colour}'>■</span> {_esc(t['label'])} "
            f"(<span class='n-shown'>{len(cards)}</span> svar)</summary>"
            f"<p class='definition'>{_esc(t['definition'])}</p>"
            + ("".join(cards) if cards else "<p class='definition'>Ingen svar er kodet med dette temaet.</p>")
            + "<p class='more'></p></details>")
    parts.append("</section>")
    parts.append("<footer>Generert av kulturskole-pipeline fra tabellene posts, boards, codebook og tags. "
                 "Kodingen er regelbasert og bør leses som forslag; se valideringen mot manuell koding i notatbøkene.</footer>")
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    parts.append(f"</main><script type='application/json' id='report-data'>{payload}</script>")
    parts.append(f"<script>{JS}</script></body></html>\n")
    return "".join(parts)


def _table(name: str, out_dir: Path, tables: dict[str, pa.Table] | None = None) -> pd.DataFrame:
    """Table ``name`` of the run: from ``tables`` (its rows as written, Arrow) when there, else read from ``out_dir``."""
    from pipeline import load_table

    if tables and name in tables:
        return to_frame(tables[name])
    return load_table(name, out_dir)


def _optional_table(name: str, out_dir: Path, tables: dict[str, pa.Table] | None = None):
    """A table of the run, or None when the run (or the schema) does not have it yet."""
    try:
        return _table(name, out_dir, tables)
    except (KeyError, FileNotFoundError):
        return None


def load_codebook_frame(out_dir: Path, tables: dict[str, pa.Table] | None = None) -> pd.DataFrame:
    """The run's ``codebook`` table; the seeds codebook when the run has none."""
    frame = _optional_table("codebook", out_dir, tables)
    if frame is None:
        from pipeline.codebook import codebook_frame, load_codebook

        frame = codebook_frame(load_codebook())
    return frame


def write_report(out_dir, tables: dict[str, pa.Table] | None = None) -> Path:
    """Read the run's tables from ``out_dir`` and write ``<out_dir>/report/index.html``; returns its path.

    ``tables`` may hold some of the tables' rows as written (Arrow, see
    :func:`pipeline.io.to_frame`): those are not read back.
    """
    out_dir = Path(out_dir)
    html_text = build_report(_table("posts", out_dir, tables), _table("boards", out_dir, tables),
                             load_codebook_frame(out_dir, tables), _optional_table("tags", out_dir, tables))
    return write_bytes_atomic(out_dir / REPORT_DIR / "index.html", html_text.encode("utf-8"))


def write_exports(out_dir, tables: dict[str, pa.Table] | None = None) -> dict[str, Path]:
    """Write the REFI-QDA exports of a run: ``<out_dir>/exports/codebook.qdc`` and, when the run has tags, ``project.qdpx``.

    ``tables`` as for :func:`write_report`.
    """
    from pipeline import qda

    out_dir = Path(out_dir)
    codebook = load_codebook_frame(out_dir, tables)
    written = {"codebook_qdc": qda.write_codebook_qdc(codebook, out_dir / "exports" / "codebook.qdc")}
    tags = _optional_table("tags", out_dir, tables)
    if tags is not None:
        written["project_qdpx"] = qda.write_project_qdpx(_table("posts", out_dir, tables), tags, codebook,
                                                         out_dir / "exports" / "project.qdpx")
    return written


def write_outputs(out_dir, parallel: bool = True, table_summaries: bool = False,
                  tables: dict[str, pa.Table] | None = None, write_tables: bool = False) -> dict:
    """Write the analyst outputs of a run: the HTML report and the REFI-QDA exports.

    ``<out_dir>/report/index.html``, ``<out_dir>/exports/codebook.qdc`` and
    ``<out_dir>/exports/project.qdpx`` (the project only when the run has a
    ``tags`` table); returns their paths. Call at the end of a run;
    ``tables`` may hold the tables' rows (Arrow, as
    :func:`pipeline.io.to_arrow` validated them), which are then not read
    back from ``out_dir``. With ``write_tables`` those ``tables`` are
    written here first, as the run's tables: by the report's process,
    before the report (``run_all`` does this); without it the tables must
    be in ``out_dir`` already.

    With ``parallel`` (and where processes can be forked) the report is
    written by a forked child process while this process writes the
    exports: on a large run each takes seconds of CPU. The files are the
    same either way. An error in either is raised here, after both ended.
    With ``table_summaries`` the manifest's entries of the tables are
    returned as well, under ``"table_summaries"`` (those of
    :func:`pipeline.io.table_summaries`): the two processes hash the
    tables once done with their own output, each taking the next table
    (the largest first) until none is left.
    """
    out_dir = Path(out_dir)
    to_hash = _tables_to_hash(out_dir, tables or {}) if table_summaries else None
    to_write = (tables or {}) if write_tables else {}
    with gc_paused():
        if not (parallel and can_fork()):
            written = {**_report_side(out_dir, tables, to_write, None, None), **write_exports(out_dir, tables)}
            if to_hash is not None:
                written["table_summaries"] = _in_schema_order(_summaries(out_dir, to_hash, None))
            return written
        turns = SharedCounter() if to_hash is not None else None
        child = ForkedCall(_report_side, out_dir, tables, to_write, to_hash, turns)
        try:
            exports = write_exports(out_dir, tables)
            summaries = _summaries(out_dir, to_hash, turns) if to_hash is not None else None
        except BaseException as exc:
            try:  # let the report finish before raising
                child.result()
            except BaseException as report_exc:
                exc.add_note(f"The report failed as well: {report_exc!r}")
            raise
        written = {**child.result(), **exports}
        if to_hash is not None:
            written["table_summaries"] = _in_schema_order({**summaries, **written.pop("table_summaries")})
        return written


def _report_side(out_dir: Path, tables: dict[str, pa.Table] | None, to_write: dict[str, pa.Table],
                 to_hash: list | None, turns: SharedCounter | None) -> dict:
    """The child's share of :func:`write_outputs`: the tables in ``to_write``, the report, then (with ``to_hash``)
    the manifest entries of the tables this process takes."""
    for name, arrow in to_write.items():
        write_arrow(name, arrow, out_dir)
    written = {"report": write_report(out_dir, tables)}
    if to_hash is not None:
        written["table_summaries"] = _summaries(out_dir, to_hash, turns)
    return written


def _tables_to_hash(out_dir: Path, tables: dict[str, pa.Table]) -> list[tuple[str, pa.Table | None]]:
    """(name, rows as written or None) of every declared table of the run: those in ``tables`` and those in
    ``out_dir`` (as :func:`pipeline.io.table_summaries` finds them), the largest first."""
    import pyarrow.parquet as pq

    from pipeline import config

    present = [name for name in schema.TABLES if name in tables or config.table_path(name, out_dir).exists()]

    def size(name: str) -> int:
        if name in tables:
            return tables[name].nbytes
        metadata = pq.read_metadata(config.table_path(name, out_dir))
        return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))

    return [(name, tables.get(name)) for name in sorted(present, key=size, reverse=True)]


def _summaries(out_dir: Path, to_hash: list[tuple[str, pa.Table | None]],
               turns: SharedCounter | None) -> dict[str, dict]:
    """The manifest entries of the tables in ``to_hash`` that this process takes (all of them without ``turns``)."""
    return {name: table_summary(name, out_dir, arrow) for name, arrow in take_turns(to_hash, turns)}


def _in_schema_order(summaries: dict[str, dict]) -> dict[str, dict]:
    return {name: summaries[name] for name in schema.TABLES if name in summaries}
