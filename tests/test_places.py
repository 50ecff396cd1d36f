"""Municipality mentions: gazetteer, traps, roles, and participant places against the truth.

Cases are real sentences from the seed boards (data/raw) plus the traps of
issue 7. Nothing here reads /work/shared: the gazetteer is seeds/.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipeline import config
from pipeline.places import fold, find_place_mentions, load_gazetteer
from pipeline.who import extract_who

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


@pytest.fixture(scope="module")
def who_snapshot(processed):
    """extract_who over the seed boards' posts as the pipeline publishes them (pseudonymised)."""
    from pipeline import io

    posts = io.read_table("posts", processed)
    return posts, extract_who(posts, io.read_table("boards", processed))


def keys(text, gaz):
    """Keys of the accepted mentions: weak ones only when the context confirms them ('Time kulturskule')."""
    from pipeline.places import confirmed_by_context

    return [m.key for m in find_place_mentions(text, gaz) if not m.weak or confirmed_by_context(text, m)]


# ---------------------------------------------------------------- gazetteer


def test_seed_gazetteer_is_the_2024_list(gaz):
    with open(config.SEEDS_DIR / "kommuner-2024.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 357
    assert len({k for ks in gaz.by_key.values() for k in ks}) == 357


def test_alias_file_has_declared_columns_and_valid_numbers(gaz):
    with open(config.SEEDS_DIR / "kommune_aliases.csv", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["alias", "kommunenummer", "note"]
        rows = list(reader)
    numbers = {k.kommunenummer for ks in gaz.by_key.values() for k in ks}
    assert rows and all(r["kommunenummer"] in numbers and r["note"] for r in rows)


@pytest.mark.parametrize(
    "name, nummer",
    [
        ("Førde", "4647"),  # merged into Sunnfjord 2020
        ("Orkdal", "5059"),  # -> Orkland
        ("Odda", "4618"),  # -> Ullensvang
        ("Sandnes", "1108"),  # unchanged
        ("Tjeldsund", "5512"),  # = Dielddanuorri - Tjeldsund
        ("Dielddanuorri", "5512"),
        ("Evenes", "1853"),  # = Evenes - Evenášši
        ("Trondheim", "5001"),  # = Trondheim - Tråante
        ("Tråante", "5001"),
        ("Østre Toten", "3442"),
        ("Askøy", "4627"),
        ("Øygarden", "4626"),
    ],
)
def test_resolve(gaz, name, nummer):
    assert gaz.resolve(name).kommunenummer == nummer


@pytest.mark.parametrize("name", ["Våler", "Herøy"])
def test_namesakes_stay_unresolved_without_context(gaz, name):
    assert len(gaz.lookup(name)) == 2
    assert gaz.resolve(name) is None
    (m,) = find_place_mentions(f"Asbjørn Holmsen {name} og andre", gaz)
    assert m.kommune is None and m.match == "ambiguous"


@pytest.mark.parametrize(
    "text, nummer",
    [("Våler i Østfold har", "3114"), ("Våler (Innlandet) har", "3419"), ("Våler i Hedmark", "3419"), ("Herøy på Sunnmøre", "1515")],
)
def test_county_nearby_decides(gaz, text, nummer):
    (m,) = [m for m in find_place_mentions(text, gaz) if fold(m.mention) in ("våler", "herøy")]
    assert m.kommune is not None and m.kommune.kommunenummer == nummer


# ---------------------------------------------------------------- traps


@pytest.mark.parametrize(
    "text",
    [
        "Vi brukte en time på det.",
        "Vi må fylle hol i tilbudet.",
        "Båten lå i en vik.",
        "Det vokser moss på taket.",
        "Vi bor på et nes ved en fjord.",
        "Dette er et bø-tun.",
        "Ta med re og lund.",
        "Kulturskolen og skolen samarbeider om dans.",
    ],
)
def test_lower_case_words_are_not_places(gaz, text):
    assert find_place_mentions(text, gaz) == []


@pytest.mark.parametrize("text", ["Time er en utfordring.", "Hol i budsjettet er et problem.", "1. Vik ikke fra planen."])
def test_common_word_names_at_sentence_start_are_weak(gaz, text):
    assert all(m.weak for m in find_place_mentions(text, gaz))


@pytest.mark.parametrize(
    "text, expected",
    [
        # real lines from the seed boards
        ("Kommunar: Sogndal, Luster, Førde, Vik, Høyanger, Gloppen", ["4640", "4644", "4647", "4639", "4638", "4650"]),
        ("(Evenes/Tjeldsund, Østre Toten, Kvænangen, Grethe D. Berentzen i Kunnskapsdepartementet)", ["1853", "5512", "3442", "5546"]),
        ("Lindesnes/Lyngdal, Orkland, Skaun og østre Toten Dialogtema 1", ["4205", "4225", "5059", "5029", "3442"]),
        ("Ringebu, Stryn, Stryn, Lyngdal, Vinje, Orkdal og Skaun Dialogtema 2", ["3439", "4651", "4651", "4225", "4036", "5059", "5029"]),
        ("Nyskjerrig på etter Vestre Toten og Osterøys innlegg", ["3443", "4630"]),
        ("Guri Årsvoll - Time kulturskule, Sindre Sortland - Vaksdal.", ["1121", "1870", "4628"]),
        ("Kulturkarusellen i Bergen", ["4601"]),
    ],
)
def test_mentions_in_real_lines(gaz, text, expected):
    assert keys(text, gaz) == expected


@pytest.mark.parametrize("label", ["Dialogtema 2 - AskØyarden", "Dialogtema 1 - AskØygarden"])
def test_blended_group_name_gives_both_places(gaz, label):
    ms = find_place_mentions(label, gaz)
    assert [m.kommune.kommunenavn for m in ms] == ["Askøy", "Øygarden"]
    assert {m.match for m in ms} == {"blend"}


def test_time_kommune_is_confirmed_by_context(gaz):
    from pipeline.places import confirmed_by_context

    text = "Time Kommune: (under oppvekst) Pilotprosjekt"
    (m,) = find_place_mentions(text, gaz)
    assert m.weak and confirmed_by_context(text, m)


# ---------------------------------------------------------------- roles on real posts


def _rows(res, line_suffix):
    p = res["places"]
    return p[p.post_id.str.endswith(line_suffix)]


@pytest.mark.parametrize(
    "post, mention, role",
    [
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00783", "Bergen", "mentioned"),  # Kulturkarusellen i Bergen
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00783", "Røros", "mentioned"),
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00745", "Trondheim", "mentioned"),  # studietur til f.eks. Trondheim
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00160", "Halden", "participant"),  # Gruppen besto av:
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00160", "Oslo", "venue"),  # Gruppe 2, Oslo
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L01053", "Lillestrøm", "participant"),  # "- Lillestrøm: ..."
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L01053", "Oslo", "venue"),
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00215", "Trondheim", "participant"),  # title, no member list
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00858", "Hol", "participant"),  # "Hol Halvor, kommunalsjef"
        ("2023-02-09_dialogseminar-fremtidens-kulturskole-L00004", None, None),  # organisers' prompt
        ("2025-05-05_nasjonalt-dialogseminar-L00154", "ASKØY", "participant"),  # author name
    ],
)
def test_place_roles(who_snapshot, post, mention, role):
    _, res = who_snapshot
    rows = res["places"][res["places"].post_id == post]
    if mention is None:
        assert (rows.role != "participant").all()
        return
    got = set(rows[rows.mention == mention].role)
    assert role in got


def test_places_table_matches_schema(who_snapshot):
    from pipeline.io import to_arrow

    _, res = who_snapshot
    for name in ("places", "participants", "groups"):
        to_arrow(name, res[name])


# ---------------------------------------------------------------- against the truth


def participant_place_scores(posts: pd.DataFrame, truth_board: dict, gaz) -> tuple[float, float, set, set]:
    """Precision/recall of (post line, municipality) pairs with role participant against the truth's `places`."""
    res = extract_who(posts)
    bid = truth_board["file"].removesuffix(".txt")
    pl = res["places"].merge(posts[["post_id", "source_line"]], on="post_id")
    pl = pl[(pl.role == "participant") & pl.post_id.str.startswith(bid)]
    pred = {(int(r.source_line), r.kommunenummer if isinstance(r.kommunenummer, str) else fold(r.mention)) for r in pl.itertuples()}
    gold = {(p["line"], gaz.key(n)) for p in truth_board["posts"] for n in p.get("places") or []}
    tp = pred & gold
    return len(tp) / max(len(pred), 1), len(tp) / max(len(gold), 1), pred - gold, gold - pred


def test_participant_places_against_truth_snapshot(who_snapshot, truth, gaz):
    posts, _ = who_snapshot
    board = truth["2023-02-09_dialogseminar-fremtidens-kulturskole.txt"]
    p, r, fp, fn = participant_place_scores(posts, board, gaz)
    assert p >= 0.90 and r >= 0.90, (p, r, sorted(fp), sorted(fn))


def test_participant_places_against_truth_pipeline(processed, truth, gaz):
    """The same measure on a fresh pipeline run (the parser's posts, not the snapshot)."""
    import pipeline

    posts = pipeline.load_table("posts", processed)
    board = truth["2023-02-09_dialogseminar-fremtidens-kulturskole.txt"]
    p, r, fp, fn = participant_place_scores(posts, board, gaz)
    assert p >= 0.90 and r >= 0.90, (p, r, sorted(fp), sorted(fn))


def test_results_do_not_depend_on_the_per_word_memos():
    """The gazetteer memoises per-word work; a fresh gazetteer and a used one give the same mentions."""
    from pipeline.places import Gazetteer

    texts = ["AskØyarden og Vestre Totens innlegg", "Time kulturskule. Time er kort.", "østre Toten, Osterøys, Våler i Østfold"]
    used = load_gazetteer()
    for text in texts * 2:
        fresh = Gazetteer(used.by_key.copy(), used.kind.copy(), used.counties.copy(), used.max_words)
        assert find_place_mentions(text, fresh) == find_place_mentions(text, used)
