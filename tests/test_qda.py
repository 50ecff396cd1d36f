"""REFI-QDA exports: codebook (.qdc) and project (.qdpx) structure, reproducibility, round trip.

No package on PyPI ships the official REFI-QDA XSDs (portableQDA 0.4.2, the
only REFI-QDA package found, has none), so the structure is checked here
against the rules of Codebook.xsd / Project.xsd (March 2019) that these
files use: namespaces, element order, required attributes, GUID and colour
patterns, references that resolve.
"""
from __future__ import annotations

import re
import zipfile
from xml.etree import ElementTree as ET

import pytest

from pipeline import load_table, qda

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RGB_RE = re.compile(r"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$")
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)?$")
CB = "{urn:QDA-XML:codebook:1.0}"
PR = "{urn:QDA-XML:project:1.0}"
# Child order of the complex types used (Project.xsd / Codebook.xsd sequences).
ORDER = {
    "Project": ["Users", "CodeBook", "Variables", "Cases", "Sources", "Notes", "Links", "Sets", "Graphs", "Description", "NoteRef"],
    "CodeBook": ["Codes", "Sets"],
    "Code": ["Description", "NoteRef", "Code"],
    "Set": ["Description", "MemberCode", "MemberSource", "MemberNote"],
    "TextSource": ["Description", "PlainTextContent", "PlainTextSelection", "Coding", "NoteRef", "VariableValue"],
    "PlainTextSelection": ["Description", "Coding", "NoteRef"],
    "Coding": ["CodeRef", "NoteRef"],
}
REQUIRED = {
    "Project": ["name"], "User": ["guid"], "Code": ["guid", "name", "isCodable"], "Set": ["guid", "name"],
    "TextSource": ["guid"], "PlainTextSelection": ["guid", "startPosition", "endPosition"],
    "Coding": ["guid"], "CodeRef": ["targetGUID"],
}


def analysis_tables(out):
    """posts, codebook and tags of a pipeline run."""
    posts = load_table("posts", out)
    codebook = load_table("codebook", out)
    tags = load_table("tags", out)
    return posts, codebook, tags


@pytest.fixture(scope="module")
def tables(processed):
    return analysis_tables(processed)


@pytest.fixture(scope="module")
def exported(tables, tmp_path_factory):
    posts, codebook, tags = tables
    out = tmp_path_factory.mktemp("qda")
    return (qda.write_codebook_qdc(codebook, out / "codebook.qdc"),
            qda.write_project_qdpx(posts, tags, codebook, out / "project.qdpx"))


def _local(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def check_structure(root: ET.Element, ns: str) -> list[str]:
    """Problems with namespace, child order, required attributes and GUID/colour/date formats."""
    problems = []
    for el in root.iter():
        name = _local(el)
        if not el.tag.startswith(ns):
            problems.append(f"{el.tag}: not in namespace {ns}")
        if name in ORDER:
            seq = [ORDER[name].index(_local(c)) if _local(c) in ORDER[name] else -1 for c in el]
            if -1 in seq or seq != sorted(seq):
                problems.append(f"{name}: children {[ _local(c) for c in el]} not in schema order {ORDER[name]}")
        for attr in REQUIRED.get(name, []):
            if not el.get(attr):
                problems.append(f"{name}: required attribute {attr} missing")
        for attr, value in el.attrib.items():
            if attr in ("guid", "targetGUID", "creatingUser", "creatingUserGUID") and not GUID_RE.match(value):
                problems.append(f"{name}@{attr}={value!r}: not a GUID")
            if attr == "color" and not RGB_RE.match(value):
                problems.append(f"{name}@color={value!r}: not #RRGGBB")
            if attr.endswith("DateTime") and not DATETIME_RE.match(value):
                problems.append(f"{name}@{attr}={value!r}: not an xsd:dateTime")
    return problems


def test_codebook_qdc_structure(exported, tables):
    _, codebook, _ = tables
    root = ET.parse(exported[0]).getroot()
    assert root.tag == f"{CB}CodeBook"
    assert check_structure(root, CB) == []
    codes = root.findall(f"{CB}Codes/{CB}Code")
    assert len(codes) == len(codebook) == 24
    by_name = {c.get("name"): c for c in codes}
    for row in codebook.itertuples():
        code = by_name[row.label]
        assert code.get("isCodable") == "true"
        assert code.get("guid") == qda.code_guid(row.theme_id)
        assert " ".join(row.definition.split()) in " ".join(code.find(f"{CB}Description").text.split())
    sets = root.findall(f"{CB}Sets/{CB}Set")
    assert len(sets) == codebook["category"].nunique() == 5
    members = [m.get("guid") for s in sets for m in s.findall(f"{CB}MemberCode")]
    assert sorted(members) == sorted(c.get("guid") for c in codes)
    for s in sets:
        category = next(cat for cat in codebook["category"].unique() if f"({cat})" in s.get("name"))
        expected = {qda.code_guid(t) for t in codebook.loc[codebook["category"] == category, "theme_id"]}
        assert {m.get("guid") for m in s.findall(f"{CB}MemberCode")} == expected


def test_project_qdpx_structure(exported, tables):
    posts, codebook, _ = tables
    with zipfile.ZipFile(exported[1]) as zf:
        names = zf.namelist()
        root = ET.fromstring(zf.read("project.qde"))
        assert root.tag == f"{PR}Project"
        assert check_structure(root, PR) == []
        code_guids = {c.get("guid") for c in root.iter(f"{PR}Code")}
        assert len(code_guids) == len(codebook)
        refs = [r.get("targetGUID") for r in root.iter(f"{PR}CodeRef")] + [m.get("targetGUID") for m in root.iter(f"{PR}MemberCode")]
        assert set(refs) <= code_guids
        sources = root.findall(f"{PR}Sources/{PR}TextSource")
        with_text = posts[posts["text_clean"].str.len() > 0]
        assert len(sources) == len(with_text)
        for src in sources:
            path = src.get("plainTextPath")
            assert path == f"internal://{src.get('guid')}.txt"
            assert "sources/" + path.removeprefix("internal://") in names
            text = zf.read("sources/" + path.removeprefix("internal://")).decode("utf-8")
            for sel in src.findall(f"{PR}PlainTextSelection"):
                s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
                assert 0 <= s < e <= len(text)
                assert sel.get("name") == text[s:e]
        assert len(names) == len(sources) + 1


def test_round_trip_recovers_every_tag(exported, tables):
    posts, codebook, tags = tables
    back = qda.read_project_qdpx(exported[1])
    post_of = {qda.source_guid(p): p for p in posts["post_id"]}
    theme_of = {qda.code_guid(t): t for t in codebook["theme_id"]}
    got = back["codings"].assign(post_id=lambda d: d["source_guid"].map(post_of),
                                 theme_id=lambda d: d["code_guid"].map(theme_of))
    assert got["post_id"].notna().all() and got["theme_id"].notna().all()
    key = ["post_id", "theme_id", "start", "end"]
    recovered = set(got[key].itertuples(index=False, name=None))
    expected = {(p, t, int(s), int(e)) for p, t, s, e in tags[key].itertuples(index=False, name=None)}
    assert len(tags) > 100
    assert recovered == expected
    assert len(got) == len(recovered)  # no span coded twice with the same theme
    # The source texts are the posts' texts, so each span still reads as the evidence.
    text_of = dict(zip(posts["post_id"], posts["text_clean"]))
    for src_guid, src in back["sources"].items():
        assert src["text"] == text_of[post_of[src_guid]]
    merged = got.merge(tags.drop_duplicates(key)[key + ["matched_text"]], on=key)
    assert (merged["text"] == merged["matched_text"]).all()


def test_exports_are_reproducible(tables, exported, tmp_path):
    posts, codebook, tags = tables
    # Same inputs in another row order give the same bytes.
    again_qdc = qda.write_codebook_qdc(codebook, tmp_path / "codebook.qdc")
    again = qda.write_project_qdpx(posts.sample(frac=1, random_state=1), tags.sample(frac=1, random_state=2), codebook, tmp_path / "project.qdpx")
    assert again_qdc.read_bytes() == exported[0].read_bytes()
    assert qda.file_sha256(again) == qda.file_sha256(exported[1])
    assert qda.code_guid("okonomi") == qda.code_guid("okonomi") != qda.code_guid("tid")


def test_bad_tags_are_refused(tables, tmp_path):
    posts, codebook, tags = tables
    bad = tags.head(1).copy()
    bad["start"] = bad["start"] + 1
    with pytest.raises(ValueError, match="offsets"):
        qda.write_project_qdpx(posts, bad, codebook, tmp_path / "bad.qdpx")
    unknown = tags.head(1).assign(theme_id="no_such_theme")
    with pytest.raises(ValueError, match="not in the codebook"):
        qda.write_project_qdpx(posts, unknown, codebook, tmp_path / "bad.qdpx")
    assert not (tmp_path / "bad.qdpx").exists()


def _elementtree_bytes(data: bytes, namespace: str) -> bytes:
    """``data`` parsed and written again by ElementTree (indented, UTF-8 with declaration): the exports' format."""
    root = ET.fromstring(data)
    for el in root.iter():
        el.tag = el.tag.removeprefix(f"{{{namespace}}}")
    # As the exports were first built: the namespace as the root's first attribute, names unqualified.
    root.attrib = {"xmlns": namespace, **root.attrib}
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def test_xml_is_written_as_elementtree_writes_it(exported):
    # The exports are streamed as text; byte for byte they are what ElementTree writes for the same tree.
    qdc = exported[0].read_bytes()
    assert _elementtree_bytes(qdc, qda.CODEBOOK_NS) == qdc
    with zipfile.ZipFile(exported[1]) as zf:
        qde = zf.read("project.qde")
    assert _elementtree_bytes(qde, qda.PROJECT_NS) == qde


def test_xml_writer_edge_cases():
    attrib = {"xmlns": "urn:x", "a": 'q"<&>\n\t\r é', "skip": None, "n": 3}
    expected = ET.Element("Root", {k: str(v) for k, v in attrib.items() if v is not None})
    ET.SubElement(expected, "Empty")
    ET.SubElement(expected, "Blank").text = ""
    ET.SubElement(expected, "Text", {"b": "1"}).text = "a < b & c > d\n  e \"'"
    outer = ET.SubElement(expected, "Outer")
    inner = ET.SubElement(outer, "Inner")
    ET.SubElement(inner, "Leaf", {"c": "x"})
    ET.SubElement(outer, "Shut")
    ET.indent(expected, space="  ")
    pieces = []
    w = qda._XmlWriter(pieces.append)
    w.FLUSH_PARTS = 2  # hand over small pieces
    w.start("Root", attrib)
    w.leaf("Empty")
    w.leaf("Blank", text="")
    w.leaf("Text", {"b": 1}, text="a < b & c > d\n  e \"'")
    w.flush()
    w.start("Outer")
    w.markup('<Inner>\n      <Leaf c="x" />\n    </Inner>')
    w.flush()
    w.start("Shut")
    w.end()
    w.end()
    w.end()
    pieces.append(w.to_bytes())
    assert len(pieces) > 2
    assert b"".join(pieces) == ET.tostring(expected, encoding="utf-8", xml_declaration=True) + b"\n"


def test_guids_are_uuid5():
    import uuid

    for kind, parts in [("code", ("okonomi",)), ("selection", ("p-1", 3, 9)), ("coding", ("æøå ✓", 1, 2, "tid"))]:
        assert qda.guid(kind, *parts) == str(uuid.uuid5(qda.GUID_NAMESPACE, "\x1f".join([kind, *map(str, parts)])))
    assert qda.selection_guid("p-1", 3, 9) == qda.guid("selection", "p-1", 3, 9)
    assert qda.coding_guid("p-1", 3, 9, "tid") == qda.guid("coding", "p-1", 3, 9, "tid")


def test_selections_carry_their_guids(exported, tables):
    posts, codebook, _ = tables
    post_of = {qda.source_guid(p): p for p in posts["post_id"]}
    theme_of = {qda.code_guid(t): t for t in codebook["theme_id"]}
    root = ET.fromstring(zipfile.ZipFile(exported[1]).read("project.qde"))
    checked = 0
    for src in root.iter(f"{PR}TextSource"):
        pid = post_of[src.get("guid")]
        for sel in src.findall(f"{PR}PlainTextSelection"):
            s, e = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert sel.get("guid") == qda.selection_guid(pid, s, e)
            for coding in sel.findall(f"{PR}Coding"):
                theme = theme_of[coding.find(f"{PR}CodeRef").get("targetGUID")]
                assert coding.get("guid") == qda.coding_guid(pid, s, e, theme)
                checked += 1
    assert checked > 100


def test_streamed_archive_is_the_plain_one(tables, exported, monkeypatch, tmp_path):
    posts, codebook, tags = tables
    # project.qde is compressed while it is written: the archive is the one zipfile writes from whole files.
    plain = qda.qdpx_bytes(qda.project_files(posts, tags, codebook))
    assert exported[1].read_bytes() == plain
    # Entries so large that zipfile would use ZIP64 are not streamed (here: "large" is 100 kB).
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100_000)
    large = qda.write_project_qdpx(posts, tags, codebook, tmp_path / "large.qdpx").read_bytes()
    assert large == qda.qdpx_bytes(qda.project_files(posts, tags, codebook)) != plain
