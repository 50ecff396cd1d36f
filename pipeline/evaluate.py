"""Evaluate theme coding against a hand coding, or two hand codings against each other.

A coding CSV has the columns ``file, post, line, anchor, themes``: ``line``
is the post's 1-based start line in the export (``posts.source_line``) and
``themes`` the space-separated theme ids. ``evaluate_codings(gold, other)``
compares two codings of the same posts; ``coding_from_matrix`` turns the
pipeline's ``theme_matrix`` into a coding so that the tagger is evaluated the
same way as a second coder (inter-coder agreement).

All metrics come from scikit-learn: per theme precision, recall and F1
(``precision_recall_fscore_support``, binary) and Cohen's kappa
(``cohen_kappa_score``); micro and macro averages over the themes from the
same function on the multi-label indicator matrix. Prevalence is the share
of gold posts coded with the theme.

Data caveats: a gold post that the pipeline did not find as a post (another
post start line) counts as coded with no theme, and is listed in the report;
a theme that neither coding uses has undefined precision/recall (reported as
0, ``zero_division=0``) and a kappa of NaN, and is left out of the macro
average over "themes with gold posts".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import typer

from pipeline.privacy import redact

CODING_COLUMNS = ("file", "post", "line", "anchor", "themes")


@dataclass
class Evaluation:
    """Result of comparing two codings: per-theme table, summary, disagreements, unmatched posts."""

    per_theme: pd.DataFrame
    summary: dict
    disagreements: pd.DataFrame
    unmatched: pd.DataFrame
    gold_name: str = "gold"
    other_name: str = "other"


def read_coding(path: str | Path) -> pd.DataFrame:
    """Read a coding CSV; ``themes`` becomes a frozenset of ids per row.

    Raises ``ValueError`` naming the file when a column is missing or a
    (file, line) pair occurs twice.
    """
    frame = pd.read_csv(path, dtype={"file": str, "anchor": str, "themes": str})
    missing = [c for c in ("file", "line", "themes") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(CODING_COLUMNS)}")
    frame["line"] = frame["line"].astype(int)
    frame["themes"] = frame["themes"].fillna("").map(lambda s: frozenset(s.split()))
    if "anchor" in frame.columns:
        # Anchors quote the export (names included); reports built from them are published.
        frame["anchor"] = frame["anchor"].map(redact)
    dup = frame.duplicated(["file", "line"])
    if dup.any():
        first = frame[dup].iloc[0]
        raise ValueError(f"{path}: post {first['file']} line {first['line']} is coded twice")
    return frame


def coding_from_matrix(posts: pd.DataFrame, matrix: pd.DataFrame, theme_ids) -> pd.DataFrame:
    """The pipeline's coding (theme_matrix joined to posts) in the coding-CSV shape."""
    ids = list(theme_ids)
    m = matrix.merge(posts[["post_id", "source_file", "source_line", "title"]], on="post_id", how="left")
    themes = [frozenset(t for t, v in zip(ids, row) if v) for row in m[ids].itertuples(index=False)]
    return pd.DataFrame({
        "file": m["source_file"], "post": m["post_id"], "line": m["source_line"].astype(int),
        "anchor": m["title"], "themes": themes,
    })


def evaluate_codings(gold: pd.DataFrame, other: pd.DataFrame, theme_ids=None,
                     evidence: dict | None = None) -> Evaluation:
    """Compare ``other`` with ``gold`` on gold's posts, theme by theme (sklearn metrics).

    ``theme_ids`` defaults to every id either coding uses. ``evidence`` may map
    (file, line, theme) to a text shown with each disagreement (the tagger's
    matched words).
    """
    # imported here, not at the top: sklearn takes a second to import and only evaluation needs it
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    key = ["file", "line"]
    merged = gold[[*key, "anchor", "themes"]].merge(
        other[[*key, "themes"]].rename(columns={"themes": "other"}), on=key, how="left")
    unmatched = merged[merged["other"].isna()][[*key, "anchor"]].reset_index(drop=True)
    merged["other"] = merged["other"].map(lambda v: v if isinstance(v, frozenset) else frozenset())
    if theme_ids is None:
        theme_ids = sorted(set().union(*merged["themes"], *merged["other"]))
    ids = list(theme_ids)
    y_true = np.array([[t in s for t in ids] for s in merged["themes"]], dtype=int).reshape(len(merged), len(ids))
    y_pred = np.array([[t in s for t in ids] for s in merged["other"]], dtype=int).reshape(len(merged), len(ids))
    rows = []
    for j, tid in enumerate(ids):
        p, r, f, _ = precision_recall_fscore_support(y_true[:, j], y_pred[:, j], average="binary",
                                                     zero_division=0)
        both_constant = len(set(y_true[:, j])) == 1 and len(set(y_pred[:, j])) == 1
        kappa = np.nan if both_constant and y_true[0, j] == y_pred[0, j] else cohen_kappa_score(y_true[:, j], y_pred[:, j])
        rows.append({
            "theme_id": tid, "n_gold": int(y_true[:, j].sum()), "n_pred": int(y_pred[:, j].sum()),
            "tp": int((y_true[:, j] & y_pred[:, j]).sum()),
            "fp": int(((1 - y_true[:, j]) & y_pred[:, j]).sum()),
            "fn": int((y_true[:, j] & (1 - y_pred[:, j])).sum()),
            "precision": float(p), "recall": float(r), "f1": float(f), "kappa": float(kappa),
            "prevalence": float(y_true[:, j].mean()) if len(merged) else np.nan,
        })
    per_theme = pd.DataFrame(rows, columns=["theme_id", "n_gold", "n_pred", "tp", "fp", "fn", "precision",
                                            "recall", "f1", "kappa", "prevalence"])
    summary = {"n_posts": len(merged), "n_themes": len(ids), "n_unmatched": len(unmatched)}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        summary.update({f"{avg}_precision": float(p), f"{avg}_recall": float(r), f"{avg}_f1": float(f)})
    used = [j for j, tid in enumerate(ids) if y_true[:, j].any()]
    if used:
        p, r, f, _ = precision_recall_fscore_support(y_true[:, used], y_pred[:, used], average="macro", zero_division=0)
        summary["macro_f1_gold_themes"] = float(f)
    summary["pooled_kappa"] = float(cohen_kappa_score(y_true.ravel(), y_pred.ravel())) if y_true.size else np.nan
    summary["mean_kappa"] = float(per_theme["kappa"].mean(skipna=True)) if len(per_theme) else np.nan
    dis = []
    for i, row in enumerate(merged.itertuples(index=False)):
        for j, tid in enumerate(ids):
            if y_true[i, j] != y_pred[i, j]:
                dis.append({
                    "file": row.file, "line": int(row.line), "anchor": row.anchor, "theme_id": tid,
                    "gold": int(y_true[i, j]), "other": int(y_pred[i, j]),
                    "kind": "missed (FN)" if y_true[i, j] else "extra (FP)",
                    "evidence": (evidence or {}).get((row.file, int(row.line), tid), ""),
                })
    disagreements = pd.DataFrame(dis, columns=["file", "line", "anchor", "theme_id", "gold", "other", "kind",
                                               "evidence"])
    return Evaluation(per_theme, summary, disagreements, unmatched)


def markdown_report(ev: Evaluation, title: str = "Theme coding evaluation") -> str:
    """The evaluation as a Markdown report: summary, per-theme table, unmatched posts, disagreements."""
    s = ev.summary
    lines = [f"# {title}", "", f"Compared: **{ev.other_name}** against **{ev.gold_name}** "
             f"on {s['n_posts']} posts and {s['n_themes']} themes.", "",
             "| average | precision | recall | F1 |", "|---|---|---|---|"]
    for avg in ("micro", "macro"):
        lines.append(f"| {avg} | {s[f'{avg}_precision']:.3f} | {s[f'{avg}_recall']:.3f} | {s[f'{avg}_f1']:.3f} |")
    lines += ["", f"Pooled Cohen's kappa: {s['pooled_kappa']:.3f}; mean per-theme kappa: {s['mean_kappa']:.3f}.", ""]
    if s["n_unmatched"]:
        lines += [f"**{s['n_unmatched']} gold post(s) have no post in the other coding** (counted as coded with "
                  "no theme):", ""]
        lines += [f"- {r.file} line {r.line}: {r.anchor}" for r in ev.unmatched.itertuples()]
        lines.append("")
    lines += ["## Per theme", "", "| theme | gold | pred | precision | recall | F1 | kappa | prevalence |",
              "|---|---|---|---|---|---|---|---|"]
    for r in ev.per_theme.itertuples():
        kappa = "n/a" if pd.isna(r.kappa) else f"{r.kappa:.3f}"
        lines.append(f"| {r.theme_id} | {r.n_gold} | {r.n_pred} | {r.precision:.3f} | {r.recall:.3f} | "
                     f"{r.f1:.3f} | {kappa} | {r.prevalence:.3f} |")
    lines += ["", f"## Disagreements ({len(ev.disagreements)})", "",
              "| file | line | anchor | theme | kind | evidence |", "|---|---|---|---|---|---|"]
    for r in ev.disagreements.itertuples():
        anchor = str(r.anchor or "").replace("|", "/")[:50]
        evidence = str(r.evidence or "").replace("|", "/")[:80]
        lines.append(f"| {r.file} | {r.line} | {anchor} | {r.theme_id} | {r.kind} | {evidence} |")
    return "\n".join(lines) + "\n"


def write_evaluation(ev: Evaluation, report_dir: Path, stem: str = "evaluation") -> dict[str, Path]:
    """Write ``<stem>.csv`` (per theme + micro/macro rows), ``<stem>_disagreements.csv`` and ``<stem>.md``."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    table = ev.per_theme.copy()
    s = ev.summary
    extra = pd.DataFrame([
        {"theme_id": f"_{avg}", "precision": s[f"{avg}_precision"], "recall": s[f"{avg}_recall"],
         "f1": s[f"{avg}_f1"], "kappa": s["pooled_kappa"] if avg == "micro" else s["mean_kappa"]}
        for avg in ("micro", "macro")])
    table = pd.concat([table, extra], ignore_index=True)
    paths = {
        "table": report_dir / f"{stem}.csv",
        "disagreements": report_dir / f"{stem}_disagreements.csv",
        "report": report_dir / f"{stem}.md",
    }
    table.to_csv(paths["table"], index=False)
    ev.disagreements.to_csv(paths["disagreements"], index=False)
    paths["report"].write_text(markdown_report(ev), encoding="utf-8")
    return paths


def evaluate_pipeline(gold_path: Path, out_dir: Path) -> Evaluation:
    """Evaluate the tagger's ``theme_matrix`` in ``out_dir`` against the coding in ``gold_path``.

    Themes are those of the ``codebook`` table in ``out_dir``; evidence for
    each disagreement comes from the ``tags`` table.
    """
    from pipeline import load_table

    posts = load_table("posts", out_dir)
    matrix = load_table("theme_matrix", out_dir)
    ids = list(load_table("codebook", out_dir)["theme_id"])
    other = coding_from_matrix(posts, matrix, ids)
    evidence = {}
    try:
        tags = load_table("tags", out_dir)
    except FileNotFoundError:
        tags = None
    if tags is not None and len(tags):
        t = tags.merge(posts[["post_id", "source_file", "source_line"]], on="post_id")
        for (f, line, tid), g in t.groupby(["source_file", "source_line", "theme_id"]):
            evidence[(f, int(line), tid)] = "; ".join(dict.fromkeys(g["matched_text"]))
    ev = evaluate_codings(read_coding(gold_path), other, ids, evidence)
    ev.gold_name, ev.other_name = Path(gold_path).name, f"tagger ({out_dir})"
    return ev


def evaluate_command(
    gold: Path = typer.Option(..., "--gold", help="Hand coding CSV (file, post, line, anchor, themes)."),
    against: Optional[Path] = typer.Option(None, "--against", help="A second coding CSV to compare with --gold (inter-coder agreement)."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Folder with the pipeline's tables (default data/processed)."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Where to write the report (default: --out-dir)."),
) -> None:
    """Score the theme coding against a hand coding: per theme precision, recall, F1, kappa, prevalence.

    Without --against, the tagger's theme_matrix in OUT_DIR (written by
    `python -m pipeline all`) is compared with --gold; with --against, two
    hand codings are compared (inter-coder agreement). Writes evaluation.csv,
    evaluation_disagreements.csv and evaluation.md to --report-dir (default
    OUT_DIR) and prints the summary.

    Example: python -m pipeline evaluate --gold tests/fixtures/gold-dev.csv
    """
    from pipeline import config

    out_dir = Path(out_dir or config.PROCESSED_DIR)
    report_dir = Path(report_dir or out_dir)
    try:
        if against is not None:
            ev = evaluate_codings(read_coding(gold), read_coding(against))
            ev.gold_name, ev.other_name = Path(gold).name, Path(against).name
        else:
            ev = evaluate_pipeline(gold, out_dir)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    paths = write_evaluation(ev, report_dir)
    s = ev.summary
    typer.echo(f"{ev.other_name} vs {ev.gold_name}: {s['n_posts']} posts, micro-F1 {s['micro_f1']:.3f}, "
               f"macro-F1 {s['macro_f1']:.3f}, pooled kappa {s['pooled_kappa']:.3f}"
               + (f", {s['n_unmatched']} gold post(s) not found" if s["n_unmatched"] else ""))
    typer.echo(f"wrote {paths['report']}")
