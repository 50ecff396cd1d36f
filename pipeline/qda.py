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

A large run's project has hundreds of thousands of elements, so the XML is
written as text (:class:`_XmlWriter`), byte for byte in the format that
``ElementTree`` (``ET.indent`` + ``ET.tostring``) gives, and compressed
while it is written; the tests hold it to that format.
"""
from __future__ import annotations

import hashlib
import io
import queue
import re
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import pandas as pd

from pipeline.io import write_bytes_atomic
from pipeline.parallel import gc_paused

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


_NAMESPACE_BYTES = GUID_NAMESPACE.bytes
_US = "\x1f"  # joins the parts of a GUID's name (unit separator)
# The RFC 4122 variant bits (10xx) of a UUID's 17th hex digit, from the hash's digit there.
_VARIANT_DIGIT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _uuid5_utf8(name: bytes) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, name))`` for a UTF-8 encoded name, without building ``uuid.UUID`` objects."""
    x = hashlib.sha1(_NAMESPACE_BYTES + name).hexdigest()
    # Digit 13 is the version (5); digit 17 keeps its two low bits under the variant bits.
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT_DIGIT[x[16]]}{x[17:20]}-{x[20:32]}"


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(GUID_NAMESPACE, name))``, several times faster."""
    return _uuid5_utf8(name.encode("utf-8"))


def guid(kind: str, *parts) -> str:
    """A deterministic GUID for an object of ``kind`` identified by ``parts`` (UUID5 of the parts joined by U+001F)."""
    return _uuid5(_US.join([kind, *(str(p) for p in parts)]))


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
    return _uuid5(f"selection{_US}{post_id}{_US}{int(start)}{_US}{int(end)}")


def coding_guid(post_id: str, start: int, end: int, theme_id: str) -> str:
    """GUID of the Coding of one span with one theme."""
    return _uuid5(f"coding{_US}{post_id}{_US}{int(start)}{_US}{int(end)}{_US}{theme_id}")


# Beyond &, < and > (which ``escape`` always replaces, & first): what ElementTree writes in attribute values.
_ATTR_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


# The characters _attr and _text replace (most values have none: they are returned as they are).
_ATTR_SPECIAL = re.compile('[&<>"\r\n\t]')
_TEXT_SPECIAL = re.compile("[&<>]")


def _attr(value) -> str:
    """An attribute value escaped as ElementTree writes it: ``&<>"`` as entities, CR, LF and TAB as character references."""
    text = str(value)
    return escape(text, _ATTR_ENTITIES) if _ATTR_SPECIAL.search(text) else text


def _text(value: str) -> str:
    """Character data escaped as ElementTree writes it (``&<>`` only)."""
    return escape(value) if _TEXT_SPECIAL.search(value) else value


def _start_tag(tag: str, attrib: dict | None) -> str:
    """``<tag a="v" ...`` (left open) with the attributes whose value is not None, in the given order."""
    if not attrib:
        return "<" + tag
    return "<" + tag + "".join(f' {k}="{_attr(v)}"' for k, v in attrib.items() if v is not None)


def _indent(level: int) -> str:
    """Newline and indentation before an element at ``level`` (root = 0)."""
    return "\n" + "  " * level


class _XmlWriter:
    """Writes an XML document element by element, indented two spaces per level.

    The bytes are exactly those of building the same tree with ElementTree
    and writing it with ``ET.indent(root, space="  ")`` and
    ``ET.tostring(root, encoding="utf-8", xml_declaration=True)`` plus a
    final newline (the format of these exports so far), at a fraction of the
    cost: a project has hundreds of thousands of elements. Caveats, as in
    ElementTree: an element without children and without text is written
    ``<tag ... />``; mixed content (text and children) is not supported.
    Attribute values are ``str()``-ed; None values are left out.

    With a ``sink``, :meth:`flush` hands the document written so far to it
    in UTF-8 pieces (so it can be compressed while the rest is written);
    :meth:`to_bytes` then returns only what was not handed over yet.
    """

    # Pieces (roughly 1 MB for a project) handed to the sink at once.
    FLUSH_PARTS = 512

    def __init__(self, sink: Callable[[bytes], object] | None = None) -> None:
        self._parts = ["<?xml version='1.0' encoding='utf-8'?>\n"]
        self._open: list[str] = []
        # The innermost open element has no child yet (its start tag still lacks ">").
        self._bare = False
        self._sink = sink

    @property
    def level(self) -> int:
        """Level of the next child (the number of open elements)."""
        return len(self._open)

    def _before_child(self) -> None:
        if self._open:
            if self._bare:
                self._parts.append(">")
            self._parts.append(_indent(len(self._open)))
        self._bare = False

    def start(self, tag: str, attrib: dict | None = None) -> None:
        """Open an element; its children follow until :meth:`end`."""
        self._before_child()
        self._parts.append(_start_tag(tag, attrib))
        self._open.append(tag)
        self._bare = True

    def end(self) -> None:
        """Close the innermost open element."""
        tag = self._open.pop()
        self._parts.append(" />" if self._bare else _indent(len(self._open)) + "</" + tag + ">")
        self._bare = False

    def leaf(self, tag: str, attrib: dict | None = None, text: str | None = None) -> None:
        """An element without children, with ``text`` (if any) as its content."""
        self._before_child()
        start = _start_tag(tag, attrib)
        self._parts.append(f"{start}>{_text(text)}</{tag}>" if text else start + " />")

    def markup(self, fragment: str) -> None:
        """Child elements already serialised at :attr:`level`: inner lines indented for that level,
        siblings separated by a newline and that level's indentation."""
        self._before_child()
        self._parts.append(fragment)

    @staticmethod
    def _encode(text: str) -> bytes:
        # ElementTree's encoding (characters UTF-8 cannot encode become character references).
        return text.encode("utf-8", "xmlcharrefreplace")

    def flush(self) -> None:
        """Hand what was written so far to the sink once it has grown large enough (no-op without a sink)."""
        if self._sink is not None and len(self._parts) >= self.FLUSH_PARTS:
            self._sink(self._encode("".join(self._parts)))
            self._parts = []

    def to_bytes(self) -> bytes:
        """The document (all elements closed) as UTF-8 bytes with a final newline (the part not yet flushed)."""
        if self._open:
            raise ValueError(f"unclosed elements: {self._open}")
        return self._encode("".join(self._parts) + "\n")


def _str(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def column_values(frame: pd.DataFrame, column: str) -> list:
    """A column as a list of plain Python values, None for missing ones (all None when the column is absent).

    Much faster than ``to_dict("records")`` or iterating a Series of an
    Arrow-backed or nullable dtype value by value.
    """
    if column not in frame.columns:
        return [None] * len(frame)
    return frame[column].to_numpy(dtype=object, na_value=None).tolist()


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


def _codes(w: _XmlWriter, rows: list[dict]) -> None:
    w.start("Codes")
    for r in rows:
        w.start("Code", {
            "guid": code_guid(r["theme_id"]),
            "name": r["label"],
            "isCodable": "true",
            "color": CATEGORY_COLOURS.get(r["category"], DEFAULT_COLOUR),
        })
        w.leaf("Description", text=_description(r))
        w.end()
    w.end()


def _set_name(category: str) -> str:
    label = CATEGORY_LABELS.get(category)
    return f"{label} ({category})" if label else category


def _sets(w: _XmlWriter, rows: list[dict], member_attribute: str) -> None:
    """One ``Set`` per codebook category with its themes as members (the two schemas name the member's GUID differently)."""
    cats = _categories(rows)
    if not cats:
        return
    w.start("Sets")
    for cat, ids in cats.items():
        w.start("Set", {"guid": set_guid(cat), "name": _set_name(cat)})
        w.leaf("Description", text=f"Kategori {cat}: {len(ids)} temaer")
        for tid in ids:
            w.leaf("MemberCode", {member_attribute: code_guid(tid)})
        w.end()
    w.end()


def codebook_qdc_bytes(codebook_frame: pd.DataFrame) -> bytes:
    """The REFI-QDA codebook (``.qdc``) XML for a ``codebook`` table, as bytes."""
    rows = _codebook_rows(codebook_frame)
    w = _XmlWriter()
    # The default namespace is declared on the root; children inherit it.
    w.start("CodeBook", {"xmlns": CODEBOOK_NS, "origin": ORIGIN})
    _codes(w, rows)
    # Codebook.xsd: MemberCodeType carries the member's GUID in ``guid``.
    _sets(w, rows, member_attribute="guid")
    w.end()
    return w.to_bytes()


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


_SOURCE_FIELDS = [("board", "board_id"), ("section", "section"), ("dialogue_theme", "dialogue_theme"),
                  ("group", "group_label"), ("variant", "variant"), ("kind", "kind"), ("line", "source_line")]


def _source_description(row: dict) -> str:
    return "; ".join(f"{label}: {row[col]}" for label, col in _SOURCE_FIELDS if col in row and _str(row[col]) is not None)


def _strings(values: list) -> list:
    """:func:`_str` of every value (the list itself when it holds only str and None)."""
    if set(map(type, values)) <= {str, type(None)}:
        return values
    return [_str(v) for v in values]


def _tag_problems(pids, tids, starts, ends, matched, theme_ids: set[str], text_of: dict) -> list[str]:
    """Why tags cannot be exported, one line per tag (empty when all can)."""
    problems = []
    for pid, tid, s, e, m in zip(pids, tids, starts, ends, matched):
        if tid not in theme_ids:
            problems.append(f"{pid} [{s}:{e}]: theme {tid!r} is not in the codebook")
        elif pid not in text_of:
            problems.append(f"{pid} [{s}:{e}]: post has no text in posts")
        elif not (0 <= s < e <= len(text_of[pid])) or (m is not None and text_of[pid][s:e] != m):
            problems.append(f"{pid} [{s}:{e}]: offsets do not give back the matched text {m!r}")
    return problems


def _evidence_spans(tags: pd.DataFrame, theme_ids: set[str], text_of: dict) -> dict[str, dict[tuple[int, int], tuple[set, set]]]:
    """post_id -> (start, end) -> (theme ids, rules) of the tags.

    Raises ``ValueError`` listing the tags that cannot be exported (see
    :func:`project_files`). Works on whole columns: a large run has
    hundreds of thousands of tags.
    """
    pids = list(map(str, column_values(tags, "post_id")))
    tids = list(map(str, column_values(tags, "theme_id")))
    starts = list(map(int, column_values(tags, "start")))
    ends = list(map(int, column_values(tags, "end")))
    matched = _strings(column_values(tags, "matched_text"))
    texts = list(map(text_of.get, pids))
    valid = set(tids) <= theme_ids and None not in texts and all(
        0 <= s < e <= len(t) and (m is None or t[s:e] == m) for t, s, e, m in zip(texts, starts, ends, matched))
    if not valid:
        problems = _tag_problems(pids, tids, starts, ends, matched, theme_ids, text_of)
        raise ValueError(f"{len(problems)} tag(s) cannot be exported:\n  " + "\n  ".join(problems[:20]))
    spans: dict[str, dict[tuple[int, int], tuple[set, set]]] = {}
    last, of_post = None, {}
    for pid, s, e, tid, rule in zip(pids, starts, ends, tids, _strings(column_values(tags, "rule"))):
        if pid != last:  # tags usually come post by post
            last, of_post = pid, spans.setdefault(pid, {})
        span = of_post.get((s, e))
        if span is None:
            span = of_post[(s, e)] = (set(), set())
        span[0].add(tid)
        if rule:
            span[1].add(rule)
    return spans


def _selections_markup(pid: str, text: str, spans: dict[tuple[int, int], tuple[set, set]], by: str, level: int,
                       code_refs: dict[str, tuple[str, bytes]], descriptions: dict[frozenset, str] | None = None) -> str:
    """The ``PlainTextSelection`` elements of one post (by position), serialised as :class:`_XmlWriter` would at ``level``.

    One selection per span with a ``Description`` listing the rules (when
    any) and a ``Coding``/``CodeRef`` per theme. ``by`` holds the rendered
    ``creatingUser``/``creationDateTime`` attributes; ``code_refs`` caches
    per theme the rendered ``CodeRef`` with the closing tag, and the
    theme's part of a coding GUID's name; ``descriptions`` caches the
    escaped ``Description`` text of a set of rules (the same sets recur).
    Written by hand (the GUIDs are those of :func:`selection_guid` and
    :func:`coding_guid`) because a large project has hundreds of thousands
    of selections.
    """
    ind0, ind1 = _indent(level), _indent(level + 1)
    selection_name = f"selection{_US}{pid}{_US}".encode("utf-8")
    coding_name = f"coding{_US}{pid}{_US}".encode("utf-8")
    between = f"{ind0}</PlainTextSelection>{ind0}"
    descriptions = {} if descriptions is None else descriptions
    out = []
    for (s, e), (themes, rules) in sorted(spans.items()):
        where = f"{s}{_US}{e}".encode("ascii")
        out.append(f'<PlainTextSelection guid="{_uuid5_utf8(selection_name + where)}" name="{_attr(text[s:e])}" '
                   f'startPosition="{s}" endPosition="{e}"{by}>')
        if rules:
            key = frozenset(rules)
            description = descriptions.get(key)
            if description is None:
                description = descriptions[key] = _text("Regel: " + ", ".join(sorted(rules)))
            out.append(f"{ind1}<Description>{description}</Description>")
        for tid in sorted(themes) if len(themes) > 1 else themes:
            ref = code_refs.get(tid)
            if ref is None:
                ref = code_refs[tid] = (f'{_indent(level + 2)}<CodeRef targetGUID="{code_guid(tid)}" />{ind1}</Coding>',
                                        f"{_US}{tid}".encode("utf-8"))
            out.append(f'{ind1}<Coding guid="{_uuid5_utf8(coding_name + where + ref[1])}"{by}>{ref[0]}')
        out.append(between)
    # The last selection's trailing indentation is left to the writer.
    return "".join(out)[: -len(ind0)]


@gc_paused()
def project_files(posts: pd.DataFrame, tags: pd.DataFrame, codebook: pd.DataFrame) -> dict[str, bytes]:
    """The files of a ``.qdpx`` archive (name -> bytes): ``project.qde`` and ``sources/*.txt``.

    Sources are the posts that have text (in post_id order). Tags are
    grouped by (post_id, start, end): one selection per span, one coding
    per theme. Tags whose theme is not in the codebook, whose post is not
    in ``posts``, or whose offsets do not give back ``matched_text``
    raise ``ValueError``: an export must never silently drop or shift evidence.
    """
    pieces: list[bytes] = []
    sources = _write_project(posts, tags, codebook, pieces.append)
    return {"project.qde": b"".join(pieces), **sources}


def _write_project(posts: pd.DataFrame, tags: pd.DataFrame, codebook: pd.DataFrame,
                   sink: Callable[[bytes], object]) -> dict[str, bytes]:
    """:func:`project_files`, with ``project.qde`` handed to ``sink`` piece by piece; returns the sources by name.

    Every tag is checked before the first piece is handed over.
    """
    rows = _codebook_rows(codebook)
    theme_ids = {r["theme_id"] for r in rows}
    columns = list(dict.fromkeys(["post_id", "text_clean", *(col for _, col in _SOURCE_FIELDS)]))
    present = [c for c in columns if c in posts.columns]
    # Sorted with only the columns used here (posts also hold e.g. text_nb).
    posts = posts[present + [c for c in ("posted_at",) if c in posts.columns]].sort_values("post_id", kind="stable")
    post_rows = [r for r in (dict(zip(present, vals)) for vals in zip(*(column_values(posts, c) for c in present)))
                 if _str(r.get("text_clean"))]
    text_of = {r["post_id"]: str(r["text_clean"]) for r in post_rows}
    spans = _evidence_spans(tags, theme_ids, text_of)

    stamp = _creation_datetime(posts)
    user = guid("user", "pipeline")
    w = _XmlWriter(sink)
    w.start("Project", {
        "xmlns": PROJECT_NS,
        "name": "Fremtidens kulturskole: dialogseminarer (Padlet)",
        "origin": ORIGIN,
        "creatingUserGUID": user,
        "creationDateTime": stamp,
    })
    w.start("Users")
    w.leaf("User", {"guid": user, "name": "kulturskole-pipeline (automatisk koding)"})
    w.end()
    w.start("CodeBook")
    _codes(w, rows)
    w.end()

    files: dict[str, bytes] = {}
    by = f' creatingUser="{_attr(user)}" creationDateTime="{_attr(stamp)}"'
    code_refs: dict[str, tuple[str, bytes]] = {}
    descriptions: dict[frozenset, str] = {}
    if post_rows:
        w.start("Sources")
    for row in post_rows:
        pid = row["post_id"]
        text = text_of[pid]
        sguid = source_guid(pid)
        w.start("TextSource", {
            "guid": sguid,
            "name": _source_name(row),
            "plainTextPath": f"internal://{sguid}.txt",
            "creatingUser": user,
            "creationDateTime": stamp,
        })
        w.leaf("Description", text=_source_description(row))
        if pid in spans:
            w.markup(_selections_markup(pid, text, spans[pid], by, w.level, code_refs, descriptions))
        w.end()
        w.flush()
        files[f"sources/{sguid}.txt"] = text.encode("utf-8")
    if post_rows:
        w.end()

    # Project.xsd: a set's MemberCode points at the code with ``targetGUID``.
    _sets(w, rows, member_attribute="targetGUID")
    w.leaf("Description", text=(
        "Automatisk tematisk koding av svar fra dialogseminarene om Fremtidens kulturskole. "
        "Navn er pseudonymisert. Kodene er regelbaserte forslag som bør kontrolleres."))
    w.end()
    sink(w.to_bytes())
    return dict(sorted(files.items()))


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A deflated archive entry with a fixed date, readable by all."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def qdpx_bytes(files: dict[str, bytes]) -> bytes:
    """The ``.qdpx`` archive of :func:`project_files`'s files, in that order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(_zip_info(name), data)
    return buffer.getvalue()


class _TooLargeToStream(Exception):
    """The streamed entry would need ZIP64 extensions that ``writestr`` adds but a stream cannot know of in time."""


def _stream_entry(zf: zipfile.ZipFile, name: str, pieces: queue.Queue) -> None:
    """Deflate the pieces from the queue (None ends them) into the archive entry ``name``.

    The entry's bytes equal those of ``zf.writestr`` of the joined pieces
    (deflate's output does not depend on how its input is split), unless
    ``writestr`` would have used ZIP64 (entries of about 2 GB and more):
    then :class:`_TooLargeToStream` is raised.
    """
    size, ended = 0, False
    try:
        entry = zf.open(_zip_info(name), "w")
        try:
            while (piece := pieces.get()) is not None:
                entry.write(piece)
                size += len(piece)
            ended = True
        finally:
            try:
                entry.close()
            except RuntimeError:  # "File size too large": handled below
                if size * 1.05 <= zipfile.ZIP64_LIMIT:
                    raise
    finally:
        if not ended:  # failed on the way: take the remaining pieces so that the writer is never blocked
            while pieces.get() is not None:
                pass
    if size * 1.05 > zipfile.ZIP64_LIMIT:
        raise _TooLargeToStream(name)


@gc_paused()
def write_project_qdpx(posts: pd.DataFrame, tags: pd.DataFrame, codebook: pd.DataFrame, path) -> Path:
    """Write a REFI-QDA project (``.qdpx``): the posts as text sources, every tag as coded text.

    ``project.qde`` (``urn:QDA-XML:project:1.0``) holds users, the codebook,
    one ``TextSource`` per post with ``plainTextPath="internal://<guid>.txt"``
    (the text stored in ``sources/``), a ``PlainTextSelection`` per evidence
    span with a ``Coding``/``CodeRef`` per theme, and the category Sets.
    The archive's bytes depend only on the inputs (the same as
    ``qdpx_bytes(project_files(...))``). Returns the path.

    ``project.qde`` is compressed in a second thread while it is written
    (zlib releases the GIL), which hides most of the compression time.
    """
    buffer = io.BytesIO()
    pieces: queue.Queue = queue.Queue(maxsize=8)
    errors: list[BaseException] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def compress() -> None:
            try:
                _stream_entry(zf, "project.qde", pieces)
            except BaseException as exc:  # raised in the writing thread below
                errors.append(exc)

        worker = threading.Thread(target=compress, name="qdpx-deflate", daemon=True)
        worker.start()
        try:
            sources = _write_project(posts, tags, codebook, pieces.put)
        finally:
            pieces.put(None)
            worker.join()
        if errors and isinstance(errors[0], _TooLargeToStream):
            files = project_files(posts, tags, codebook)
            return write_bytes_atomic(Path(path), qdpx_bytes(files))
        if errors:
            raise errors[0]
        for name, data in sources.items():
            zf.writestr(_zip_info(name), data)
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
