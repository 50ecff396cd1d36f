"""Groups and participants: stable group ids, participant lists, person-name patterns.

Cases are real posts of the seed boards (as the pipeline publishes them,
pseudonymised) and real lines from them.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.who import canonical_role, extract_who, find_person_mentions, member_spans

FIXTURES = Path(__file__).parent / "fixtures"
B23 = "2023-02-09_dialogseminar-fremtidens-kulturskole"
B25 = "2025-05-05_nasjonalt-dialogseminar"


@pytest.fixture(scope="module")
def posts(processed):
    from pipeline import io

    return io.read_table("posts", processed)


@pytest.fixture(scope="module")
def res(posts):
    return extract_who(posts)


def gid(res, post_id):
    pg = res["post_groups"]
    return pg.loc[pg.post_id == post_id, "group_id"].iloc[0]


# ---------------------------------------------------------------- group ids


def test_every_post_with_a_known_group_has_a_group_id(posts, res):
    pg = res["post_groups"].merge(posts.drop(columns=["group_id"]), on="post_id")
    known = pg[(pg.kind != "prompt") & (pg.group_label.notna() | pg.author.notna())]
    assert len(known) > 0 and known.group_id.notna().all()
    assert pg[pg.kind == "prompt"].group_id.isna().all()


@pytest.mark.parametrize(
    "a, b",
    [
        (f"{B23}-L00101", f"{B23}-L00633"),  # Dialogtema 2 / Dialogtema 1 - Gruppe: Førde
        (f"{B23}-L00559", f"{B23}-L01298"),  # AskØyarden / AskØygarden (typo variant)
        (f"{B23}-L00160", f"{B23}-L00781"),  # Gruppe 2, Oslo
        (f"{B23}-L00215", f"{B23}-L00783"),  # Gruppe 2, Trondheim (dialogtema 2) / Gruppe 2, Trondheim
        (f"{B23}-L00745", f"{B23}-L01613"),  # no label, same member list (Stavanger v/..., Ålesund v/...)
        (f"{B25}-L00010", f"{B25}-L00148"),  # a run signed "Gruppe nr vet-ikke"
        (f"{B25}-L00355", f"{B25}-L00713"),  # the same author account
    ],
)
def test_same_group(res, a, b):
    assert gid(res, a) == gid(res, b)


@pytest.mark.parametrize(
    "a, b",
    [
        (f"{B23}-L00160", f"{B23}-L00215"),  # Gruppe 2, Oslo vs Gruppe 2, Trondheim
        (f"{B23}-L00574", f"{B23}-L00160"),  # Gruppe 1 Oslo vs Gruppe 2, Oslo
        (f"{B23}-L00822", f"{B23}-L01143"),  # Gruppe 3 vs Trondheim, Gruppe 3
        (f"{B23}-L00462", f"{B23}-L01490"),  # different member lists
        (f"{B25}-L00010", f"{B25}-L00448"),  # Gruppe nr vet-ikke vs Gruppe som Eva skriver for
    ],
)
def test_different_groups(res, a, b):
    assert gid(res, a) != gid(res, b)


def test_group_ids_are_deterministic_and_order_free(posts, res):
    again = extract_who(posts.sample(frac=1.0, random_state=7))
    a = res["post_groups"].set_index("post_id").group_id
    b = again["post_groups"].set_index("post_id").group_id.reindex(a.index)
    assert a.fillna("").equals(b.fillna(""))


def test_group_ids_are_slugs_and_hide_person_authors(res):
    g = res["groups"]
    assert g.group_id.str.fullmatch(r"[a-z0-9-]+").all()
    assert "2023-02-09-gruppe-2-oslo" in set(g.group_id)
    assert not g.group_id.str.contains("sigrun|sjolyst|bjerkestrand").any()
    assert set(g[g.label_source == "author"].label) >= {"Gruppe nr vet-ikke", "ASKØY", "Gruppe 3"}


@pytest.mark.parametrize(
    "group_id, kommuner, venue",
    [
        ("2023-02-09-forde", {"4640", "4644", "4647", "4639", "4638", "4650"}, None),
        ("2023-02-09-gruppe-2-oslo", {"3101", "5536", "3212"}, "Oslo"),
        ("2023-02-09-gruppe-1-oslo", {"3205", "3214"}, "Oslo"),
        ("2023-02-09-askoyarden", {"4627", "4626"}, None),
        ("2023-02-09-rom-8", {"1853", "5512", "3442", "5546"}, None),
    ],
)
def test_group_municipalities(res, group_id, kommuner, venue):
    row = res["groups"].set_index("group_id").loc[group_id]
    assert set(row.kommunenummer.split(";")) == kommuner
    assert (row.venue if isinstance(row.venue, str) else None) == venue


def test_ambiguous_member_place_is_kept_unresolved(res):
    row = res["groups"].set_index("group_id").loc["2023-02-09-rom-7"]
    assert row.unresolved_places == "Våler"


# ---------------------------------------------------------------- participants


def _participants(res, post_id):
    p = res["participants"]
    return p[p.post_id == post_id]


def test_participant_list_under_header(res):
    rows = _participants(res, f"{B23}-L00160")
    # Names are pseudonymised before this stage: the person is a pseudonym, the rest is kept.
    assert rows.person.dropna().str.fullmatch(r"\[Person \d+\]").all()
    pairs = set(zip(rows.municipality.fillna(""), rows.organisation.fillna(""), rows.role.fillna("")))
    assert ("Halden", "", "lærer") in pairs
    assert ("", "Kulturskolerådet", "rådgiver") in pairs
    assert ("Nesodden", "", "inspektør") in pairs


def test_name_org_list(res):
    rows = _participants(res, f"{B23}-L00374")
    assert rows.person.notna().sum() == 4
    assert set(rows[rows.role == "referent"].organisation) == {"Kulturskolerådet Agder"}
    assert "Time" in set(rows.kommunenavn.dropna())
    assert "Vaksdal" in set(rows.municipality.dropna())  # after a surname that is a place name


def test_person_spans_point_into_text_clean(posts, res):
    p = res["participants"].dropna(subset=["person_start"]).merge(posts[["post_id", "text_clean"]], on="post_id")
    assert len(p) > 10
    for r in p.itertuples():
        assert r.text_clean[r.person_start : r.person_end] == r.person


@pytest.mark.parametrize(
    "text, names",
    [
        ("Gruppen besto av:\nHalden Mona, lærer og student\n\nKulturskolerådet Bård H., rådgiver", ["Mona", "Bård H."]),
        ("Eidsvoll Anita, kultursjef Damnjan, konst. rektor", ["Anita", "Damnjan"]),
        ("Fabiola Charry - Kulturskolerådet, Inger Margrethe Stoveland (ref) - Kulturskolerådet Agder", ["Fabiola Charry", "Inger Margrethe Stoveland"]),
        ("Dialogtema 1 (Stavanger v/Elin Aase, Ålesund v/Annbjørg Skar og Jo-Terje S. Høyesveen Østre Toten).", ["Elin Aase", "Annbjørg Skar", "Jo-Terje S. Høyesveen"]),
        ("Haldis Hove\xa0 Lindesnes Asbjørn Holmsen Våler Bård Ringbakken Lyngen Øystein Åmdal Grømstad (referent)\n\n1: Samarbeide", ["Haldis Hove", "Asbjørn Holmsen", "Bård Ringbakken", "Øystein Åmdal Grømstad"]),
        ("(Evenes/Tjeldsund, Østre Toten, Kvænangen, Grethe D. Berentzen i Kunnskapsdepartementet)", ["Grethe D. Berentzen"]),
        ("Hilsen Inger Margrethe (Agder) og Morten Hagevik (Vestfold og Telemark)", ["Inger Margrethe", "Morten Hagevik"]),
        ("Gruppe Eldbjørg, Anne Rita, Svetlana, Marthe og Sigrun\n\nNyttige punkter", ["Eldbjørg", "Anne Rita", "Svetlana", "Marthe", "Sigrun"]),
        ("med mandat i flere sektorer enn bare kulturskolen Elisabeth: vi har nylig ansatt", ["Elisabeth"]),
        ("Utfordringer: Folk sitter litt på hver sin tue. Skolen: må være med.", []),
        ("Kulturdag (Trondheim) med både barnehage og grunnskole", []),
        ("Kulturkarusellen i Bergen er et godt eksempel.", []),
    ],
)
def test_find_person_mentions(text, names):
    found = find_person_mentions(text)
    assert [n for _, _, n in found] == names
    assert all(text[s:e] == n for s, e, n in found)


@pytest.mark.parametrize(
    "raw, canon",
    [("konst. rektor", "rektor"), ("ref", "referent"), ("lærer og student", "lærer"), ("kommunalsjef kultur", "kommunalsjef"), ("kulturskoleleder", "kulturskoleleder"), ("rådgiver", "rådgiver"), (None, None)],
)
def test_canonical_role(raw, canon):
    assert canonical_role(raw) == canon


def test_member_spans_header_block_stops_at_first_question():
    text = "Gruppen besto av: Eidsvoll Anita, kultursjef\n\nVadsø Anja, kulturskoleleder\n\n1./2./3. På hvilke området kan kulturskolen samarbeide?"
    (span,) = member_spans(text)
    assert text[span[0] : span[1]].strip().endswith("kulturskoleleder")


# ---------------------------------------------------------------- fast scans = the plain patterns

SCAN_CASES = [
    "Gruppen besto av:\nHalden Mona, lærer og student\n\nKulturskolerådet Bård H., rådgiver",
    "gruppa\nbestod \t av :Kari, Per\nVår gruppe: Ola\nvår\n\ngruppe:\nDeltakere:a Til stede: tilstede: Gruppemedlemmer:",
    "Kommunar: Sogndal, Luster\nsmå kommuner: x:Kommunar:KOMMUNER :Medlemmer:\na Medlemmer: kl. 10:30 :: :",
    "Bodø kulturskole og Time kulturskule, kulturskolen. Norsk kulturråd, Norges musikkorps forbund for barn og unge.",
    "Nord universitet, Universitetet i Bergen, universitetet i Agder; Kunnskapsdepartementet Oslo.\nMusikkrådetForbundet x-Norsk y",
    "NTNU, UiT, UiB, UiO, OsloMet, HVL, UKM Norge, KS, Udir, Kulturtanken; KSx UKMNorge",
    "Kari Nordmann, konst. rektor i Bergen\nPer Olsen,rådgiver\n, rektor\nOla Nordmann - Bergen kommune\n[Person 2] (ref) - Norsk kulturråd",
    "Kari Hansen i Kulturrådet, Ola i Oslo\nKari: vi snakket\nTone Li: hei\nMari Sand (Referent)\nPer (REF.) og Åse (sekretær)",
    "Hilsen Kari (Bodø)\nog Per\nmvh Ola Nordmann (ref) og Kari",
    "Kari Nordmann (rektor,\nBodø kulturskole) og [Person 3] (Oslo)(x) Ola (( Per Hansen (Nord universitet)\n(Kari)",
    "HİLSEN Kari\nhılsen Per\nhilſen Ola\nHELSING Åse\nMVH. Tone\nhilse n",
    "xkulturskole ukulturskule, Kulturskolerådet-musikkrådet; universitetet i Oslo, Universitetet i Bergen",
]


def _scan_texts(posts):
    texts = [t for col in ("text_clean", "title", "author") for t in posts[col].dropna()]
    return SCAN_CASES + texts + [t.title() for t in texts] + [t.upper() for t in texts]


def test_fast_scans_find_what_the_patterns_find(posts):
    from pipeline import who
    from pipeline.textscan import may_contain_case_blind

    pairs = [
        (who.NAME_ROLE_RE, who.NAME_ROLE_ANCHOR),
        (who.NAME_ORG_RE, who.NAME_ORG_ANCHOR),
        (who.NAME_IN_RE, who.NAME_IN_ANCHOR),
        (who.NAME_REF_RE, who.REF_ROLE_RE),
        (who.SPEAKER_RE, who.SPEAKER_ANCHOR),
    ]
    found = 0
    for text in _scan_texts(posts):
        assert who._orgs(text) == [m.span() for m in who.ORG_RE.finditer(text)], text
        assert [m.span() for m in who._header_matches(text)] == [m.span() for m in who.HEADER_RE.finditer(text)], text
        assert [m.span() for m in who._name_paren_matches(text)] == [m.span() for m in who.NAME_PAREN_RE.finditer(text)], text
        if who.GREETING_ANCHOR.search(text):
            assert may_contain_case_blind(text, who.GREETING_WORDS), text
        for pattern, anchor in pairs:
            want = [(m.span(), m.groupdict()) for m in pattern.finditer(text)]
            assert [(m.span(), m.groupdict()) for m in who._finditer_lines(pattern, anchor, text)] == want, (pattern.pattern, text)
            found += len(want)
    assert found > 50


def test_post_rows_are_what_itertuples_gives(posts):
    """The column-wise read of the posts gives itertuples' fields, values and value types."""
    from pipeline import who

    def same(a, b):
        return type(a) is type(b) and (a is b or a == b or (a != a and b != b))

    for frame in (posts, posts.iloc[::-1], posts.set_index("post_id"), posts.astype({"source_line": "Int64"})):
        want, got = list(frame.itertuples()), who._post_rows(frame)
        assert len(got) == len(want) and got[0]._fields == want[0]._fields
        assert all(same(a, b) for w, g in zip(want, got) for a, b in zip(w, g))


def test_int32_column_is_what_astype_gives():
    import pandas as pd

    from pipeline import who

    for values in ([1, None, 3], [None, None], [5, 6], []):
        rows = [{"n": v} for v in values]
        want = pd.DataFrame(rows, columns=["n"])["n"].astype("Int32")
        got = pd.Series(who._int32_column(rows, "n"), name="n")
        assert got.dtype == want.dtype and got.equals(want)
