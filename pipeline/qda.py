"""Exports to qualitative data analysis (QDA) tools in the REFI-QDA exchange format.

Two files, both readable by NVivo, ATLAS.ti, MAXQDA, QualCoder and others:

* ``codebook.qdc`` (``urn:QDA-XML:codebook:1.0``): one ``Code`` per theme,
  its definition as ``Description``, and one ``Set`` per codebook category
  listing its themes (``MemberCode``).
* ``project.qdpx``: a zip with ``project.qde`` (``urn:QDA-XML:project:1.0``)
  and ``sources/<guid>.txt``, one UTF-8 text source per post
  (``posts.text_clean``). Every tag becomes coded text: one
  ``PlainTextSelection`` per distinct evidence span of a post
  (``startPosition``/``endPosition`` are character offsets into the text,
  the same as ``tags.start``/``tags.end``), with one ``Coding``/``CodeRef``
  per theme whose evidence the span is.

Output is reproducible: every GUID is a UUID5 derived from ids (theme,
post, span), elements are written in a fixed order, zip entries carry a
fixed date, and the only timestamp (``creationDateTime``) is derived from
the inputs (the latest ``posts.posted_at``, local time without zone, else
a fixed date).

The XML follows the structure of the REFI-QDA 1.0 schemas (Codebook.xsd,
Project.xsd of March 2019): element order, required attributes and the
GUID pattern. :func:`read_project_qdpx` reads a project back for checking.
"""
from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd

from pipeline.io import write_bytes_atomic

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
ORIGIN = "kulturskole-pipeline (Fremtidens kulturskole)"
# Fixed namespace for the UUID5 GUIDs of this project's exports.
GUID_NAMESPACE = uuid.UUID("6f1d2a52-8a1e-5c3b-9d0e-7b4c1f2e9a10")
FIXED_DATETIME = "2000-01-01T00:00:00"
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
# Outputs are for sharing: readable by all (mkstemp would leave them 0600).

CATEGORY_LABELS = {
    "rammer": "Rammebetingelser",
    "styring": "Styring og forankring",
    "samhandling": "Samhandling i praksis",
    "malgruppe": "Barn og unge",
    "arena": "Samarbeidsarenaer",
}
# One colour per category, so that themes of a category look alike in a QDA tool.
CATEGORY_COLOURS = {
    "rammer": "#1F77B4",
    "styring": "#D62728",
    "samhandling": "#2CA02C",
    "malgruppe": "#9467BD",
    "arena": "#FF7F0E",
}
DEFAULT_COLOUR = "#7F7F7F"


def guid(kind: str, *parts) -> str:
    """A deterministic GUID for an object of ``kind`` identified by ``parts`` (UUID5)."""
    name = "\x1f".join([kind, *(str(p) for p in parts)])
    return str(uuid.uuid5(GUID_NAMESPACE, name))


def code_guid(theme_id: str) -> str:
    """GUID of a theme's Code (the same in the codebook and the project)."""
    return guid("code", theme_id)


def set_guid(category: str) -> str:
    """GUID of a category's Set."""
    return guid("set", category)


def source_guid(post_id: str) -> str:
    """GUID of a post's TextSource (also its file name in ``sources/``)."""
    return guid("source", post_id)


def selection_guid(post_id: str, start: int, end: int) -> str:
    """GUID of the PlainTextSelection of one evidence span of a post."""
    return guid("selection", post_id, int(start), int(end))


def coding_guid(post_id: str, start: int, end: int, theme_id: str) -> str:
    """GUID of the Coding of one span with one theme."""
    return guid("coding", post_id, int(start), int(end), theme_id)


def _sub(parent: ET.Element, tag: str, attrib: dict | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in (attrib or {}).items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _str(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _codebook_rows(codebook: pd.DataFrame) -> list[dict]:
    """Themes in codebook order with the fields the exports use."""
    rows = []
    for row in codebook.to_dict("records"):
        rows.append({
            "theme_id": str(row["theme_id"]),
            "label": _str(row.get("label")) or str(row["theme_id"]),
            "category": _str(row.get("category")) or "",
            "definition": _str(row.get("definition")) or "",
            "exclude": _str(row.get("exclude")),
        })
    return rows


def _description(row: dict) -> str:
    text = row["definition"].strip()
    if row.get("exclude"):
        text += f"\n\nExclude: {row['exclude'].strip()}"
    return f"[{row['theme_id']}] {text}"


def _categories(rows: list[dict]) -> dict[str, list[str]]:
    """category -> theme ids, categories in order of first appearance."""
    out: dict[str, list[str]] = {}
    for r in rows:
        if r["category"]:
            out.setdefault(r["category"], []).append(r["theme_id"])
    return out


def _codes(parent: ET.Element, rows: list[dict]) -> None:
    codes = _sub(parent, "Codes")
    for r in rows:
        code = _sub(codes, "Code", {
            "guid": code_guid(r["theme_id"]),
            "name": r["label"],
            "isCodable": "true",
            "color": CATEGORY_COLOURS.get(r["category"], DEFAULT_COLOUR),
        })
        _sub(code, "Description", text=_description(r))


def _set_name(category: str) -> str:
    label = CATEGORY_LABELS.get(category)
    return f"{label} ({category})" if label else category


def _to_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _sets(parent: ET.Element, rows: list[dict], member_attribute: str) -> None:
    """One ``Set`` per codebook category with its themes as members (the two schemas name the member's GUID differently)."""
    cats = _categories(rows)
    if not cats:
        return
    sets = _sub(parent, "Sets")
    for cat, ids in cats.items():
        s = _sub(sets, "Set", {"guid": set_guid(cat), "name": _set_name(cat)})
        _sub(s, "Description", text=f"Kategori {cat}: {len(ids)} temaer")
        for tid in ids:
            _sub(s, "MemberCode", {member_attribute: code_guid(tid)})


def codebook_qdc_bytes(codebook_frame: pd.DataFrame) -> bytes:
    """The REFI-QDA codebook (``.qdc``) XML for a ``codebook`` table, as bytes."""
    rows = _codebook_rows(codebook_frame)
    # The default namespace is declared on the root; children inherit it.
    root = ET.Element("CodeBook", {"xmlns": CODEBOOK_NS, "origin": ORIGIN})
    _codes(root, rows)
    # Codebook.xsd: MemberCodeType carries the member's GUID in ``guid``.
    _sets(root, rows, member_attribute="guid")
    return _to_bytes(root)


def write_codebook_qdc(codebook_frame: pd.DataFrame, path) -> Path:
    """Write the codebook as a REFI-QDA codebook file (``urn:QDA-XML:codebook:1.0``) to ``path``.

    One ``Code`` per theme (name = label, ``Description`` = definition, and
    the exclusion note when there is one), and one ``Set`` per category with
    a ``MemberCode`` per theme. Returns the path.
    """
    return write_bytes_atomic(Path(path), codebook_qdc_bytes(codebook_frame))


def _creation_datetime(posts: pd.DataFrame) -> str:
    """A timestamp derived from the inputs: the latest ``posted_at``, else a fixed date."""
    if "posted_at" in posts.columns:
        stamps = pd.to_datetime(posts["posted_at"], errors="coerce").dropna()
        if len(stamps):
            # posted_at is Norwegian wall-clock time: written without a time zone.
            return stamps.max().strftime("%Y-%m-%dT%H:%M:%S")
    return FIXED_DATETIME


def _source_name(row: dict) -> str:
    parts = [row["post_id"]]
    if _str(row.get("group_label")):
        parts.append(str(row["group_label"]))
    return " | ".join(parts)


def _source_description(row: dict) -> str:
    fields = [("board", "board_id"), ("section", "section"), ("dialogue_theme", "dialogue_theme"),
              ("group", "group_label"), ("variant", "variant"), ("kind", "kind"), ("line", "source_line")]
    return "; ".join(f"{label}: {row[col]}" for label, col in fields if col in row and _str(row[col]) is not None)


def project_files(posts: pd.DataFrame, tags: pd.DataFrame, codebook: pd.DataFrame) -> dict[str, bytes]:
    """The files of a ``.qdpx`` archive (name -> bytes): ``project.qde`` and ``sources/*.txt``.

    Sources are the posts that have text (in post_id order). Tags are
    grouped by (post_id, start, end): one selection per span, one coding
    per theme. Tags whose theme is not in the codebook, whose post is not
    in ``posts``, or whose offsets do not give back ``matched_text``
    raise ``ValueError``: an export must never silently drop or shift evidence.
    """
    rows = _codebook_rows(codebook)
    theme_ids = {r["theme_id"] for r in rows}
    posts = posts.sort_values("post_id", kind="stable")
    post_rows = [r for r in posts.to_dict("records") if _str(r.get("text_clean"))]
    text_of = {r["post_id"]: str(r["text_clean"]) for r in post_rows}

    spans: dict[str, dict[tuple[int, int], dict[str, list[str]]]] = {}
    problems = []
    for t in tags.to_dict("records"):
        pid, tid, s, e = str(t["post_id"]), str(t["theme_id"]), int(t["start"]), int(t["end"])
        if tid not in theme_ids:
            problems.append(f"{pid} [{s}:{e}]: theme {tid!r} is not in the codebook")
            continue
        if pid not in text_of:
            problems.append(f"{pid} [{s}:{e}]: post has no text in posts")
            continue
        matched = _str(t.get("matched_text"))
        if not (0 <= s < e <= len(text_of[pid])) or (matched is not None and text_of[pid][s:e] != matched):
            problems.append(f"{pid} [{s}:{e}]: offsets do not give back the matched text {matched!r}")
            continue
        rule = _str(t.get("rule"))
        spans.setdefault(pid, {}).setdefault((s, e), {}).setdefault(tid, [])
        if rule:
            spans[pid][(s, e)][tid].append(rule)
    if problems:
        raise ValueError(f"{len(problems)} tag(s) cannot be exported:\n  " + "\n  ".join(problems[:20]))

    stamp = _creation_datetime(posts)
    user = guid("user", "pipeline")
    root = ET.Element("Project", {
        "xmlns": PROJECT_NS,
        "name": "Fremtidens kulturskole: dialogseminarer (Padlet)",
        "origin": ORIGIN,
        "creatingUserGUID": user,
        "creationDateTime": stamp,
    })
    users = _sub(root, "Users")
    _sub(users, "User", {"guid": user, "name": "kulturskole-pipeline (automatisk koding)"})
    codebook_el = _sub(root, "CodeBook")
    _codes(codebook_el, rows)

    files: dict[str, bytes] = {}
    sources = _sub(root, "Sources") if post_rows else None
    for row in post_rows:
        pid = row["post_id"]
        sguid = source_guid(pid)
        src = _sub(sources, "TextSource", {
            "guid": sguid,
            "name": _source_name(row),
            "plainTextPath": f"internal://{sguid}.txt",
            "creatingUser": user,
            "creationDateTime": stamp,
        })
        _sub(src, "Description", text=_source_description(row))
        for (s, e), themes in sorted(spans.get(pid, {}).items()):
            sel = _sub(src, "PlainTextSelection", {
                "guid": selection_guid(pid, s, e),
                "name": text_of[pid][s:e],
                "startPosition": s,
                "endPosition": e,
                "creatingUser": user,
                "creationDateTime": stamp,
            })
            rules = sorted({r for rs in themes.values() for r in rs})
            if rules:
                _sub(sel, "Description", text="Regel: " + ", ".join(rules))
            for tid in sorted(themes):
                coding = _sub(sel, "Coding", {"guid": coding_guid(pid, s, e, tid), "creatingUser": user, "creationDateTime": stamp})
                _sub(coding, "CodeRef", {"targetGUID": code_guid(tid)})
        files[f"sources/{sguid}.txt"] = text_of[pid].encode("utf-8")

    # Project.xsd: a set's MemberCode points at the code with ``targetGUID``.
    _sets(root, rows, member_attribute="targetGUID")
    _sub(root, "Description", text=(
        "Automatisk tematisk koding av svar fra dialogseminarene om Fremtidens kulturskole. "
        "Navn er pseudonymisert. Kodene er regelbaserte forslag som bør kontrolleres."))
    files["project.qde"] = _to_bytes(root)
    return dict(sorted(files.items(), key=lambda kv: (kv[0] != "project.qde", kv[0])))


def write_project_qdpx(posts: pd.DataFrame, tags: pd.DataFrame, codebook: pd.DataFrame, path) -> Path:
    """Write a REFI-QDA project (``.qdpx``): the posts as text sources, every tag as coded text.

    ``project.qde`` (``urn:QDA-XML:project:1.0``) holds users, the codebook,
    one ``TextSource`` per post with ``plainTextPath="internal://<guid>.txt"``
    (the text stored in ``sources/``), a ``PlainTextSelection`` per evidence
    span with a ``Coding``/``CodeRef`` per theme, and the category Sets.
    The archive's bytes depend only on the inputs. Returns the path.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in project_files(posts, tags, codebook).items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return write_bytes_atomic(Path(path), buffer.getvalue())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_project_qdpx(path) -> dict:
    """Read a ``.qdpx`` back: codes, sources with their texts, and the coded spans.

    Returns ``{"codes": {guid: name}, "sources": {guid: {"name", "text",
    "path"}}, "codings": DataFrame(source_guid, selection_guid, start, end,
    code_guid, text)}``; ``text`` is the source text sliced at the
    selection's positions. Used by the tests to check that every tag survives.
    """
    ns = {"q": PROJECT_NS}
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("project.qde"))
        sources, rows = {}, []
        for src in root.iterfind("q:Sources/q:TextSource", ns):
            sg = src.get("guid")
            ref = src.get("plainTextPath", "")
            text = zf.read("sources/" + ref.removeprefix("internal://")).decode("utf-8")
            sources[sg] = {"name": src.get("name"), "text": text, "path": ref}
            for sel in src.iterfind("q:PlainTextSelection", ns):
                s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
                for coding in sel.iterfind("q:Coding", ns):
                    rows.append({
                        "source_guid": sg, "selection_guid": sel.get("guid"), "start": s, "end": e,
                        "code_guid": coding.find("q:CodeRef", ns).get("targetGUID"), "text": text[s:e],
                    })
    codes = {c.get("guid"): c.get("name") for c in root.iter(f"{{{PROJECT_NS}}}Code")}
    return {"codes": codes, "sources": sources,
            "codings": pd.DataFrame(rows, columns=["source_guid", "selection_guid", "start", "end", "code_guid", "text"])}


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes (to compare two exports)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
