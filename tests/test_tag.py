"""The tagger: exact evidence, agreement with the hand coding, Nynorsk parity, and word traps.

The floor figures are measured on the real pipeline: data/raw -> posts (the
session's ``processed`` run) -> segments, tags and theme_matrix in a
temporary folder -> evaluation against tests/fixtures/gold-dev.csv.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import spacy

from pipeline import config, io, schema
from pipeline.codebook import load_codebook
from pipeline.evaluate import coding_from_matrix, evaluate_codings, evaluate_pipeline, read_coding
from pipeline.nlp import ModelNotAvailableError
from pipeline.tag import Tagger, run_tag

FIXTURES = Path(__file__).parent / "fixtures"
GOLD = FIXTURES / "gold-dev.csv"

# Floors: the targets. Measured on the seed boards: micro-F1 0.907 over the 84 gold
# posts (0.91+ over the posts ingest finds), every theme with >= 5 gold posts at F1 >= 0.75.
MICRO_F1_FLOOR = 0.90
MICRO_F1_MATCHED_FLOOR = 0.90
THEME_F1_FLOOR = 0.75


def _project_nlp():
    from pipeline import nlp

    try:
        return nlp.load()
    except ModelNotAvailableError:
        pytest.skip("the project's spaCy model is not built (make model)")


@pytest.fixture(scope="module")
def nlp():
    return _project_nlp()


@pytest.fixture(scope="module")
def tagger(nlp):
    return Tagger(load_codebook(), nlp)


@pytest.fixture(scope="module")
def tagged(processed, tmp_path_factory, nlp) -> Path:
    """Output folder with posts from the real run and the tagging tables."""
    if config.table_path("theme_matrix", processed).exists():
        return processed
    out = tmp_path_factory.mktemp("tagged")
    shutil.copy(config.table_path("posts", processed), config.table_path("posts", out))
    run_tag(out, nlp=nlp)
    return out


@pytest.fixture(scope="module")
def evaluation(tagged):
    return evaluate_pipeline(GOLD, tagged)


def test_tables_are_written_with_their_schema(tagged):
    for name in ("codebook", "segments", "tags", "theme_matrix"):
        frame = io.read_table(name, tagged)
        assert list(frame.columns) == schema.get(name).column_names
    matrix = io.read_table("theme_matrix", tagged)
    posts = io.read_table("posts", tagged)
    assert set(matrix["post_id"]) == set(posts.loc[posts["kind"] == "response", "post_id"])
    ids = list(load_codebook().ids)
    assert (matrix["n_themes"] == matrix[ids].sum(axis=1)).all()


def test_every_tag_is_exact_evidence(tagged):
    posts = io.read_table("posts", tagged)
    tags = io.read_table("tags", tagged)
    segments = io.read_table("segments", tagged).set_index("segment_id")
    text_of = dict(zip(posts["post_id"], posts["text_clean"]))
    assert len(tags) > 500
    for row in tags.itertuples():
        assert text_of[row.post_id][row.start:row.end] == row.matched_text, row
        seg = segments.loc[row.segment_id]
        assert seg["post_id"] == row.post_id and seg["start"] <= row.start and row.end <= seg["end"]
    kinds = dict(zip(posts["post_id"], posts["kind"]))
    assert {kinds[p] for p in tags["post_id"]} == {"response"}


def test_tags_explain_every_coded_theme(tagged):
    matrix = io.read_table("theme_matrix", tagged)
    tags = io.read_table("tags", tagged)
    ids = list(load_codebook().ids)
    coded = {(r.post_id, t) for r in matrix.itertuples() for t in ids if getattr(r, t)}
    assert coded == set(zip(tags["post_id"], tags["theme_id"]))


def test_agreement_with_the_hand_coding(evaluation):
    s = evaluation.summary
    assert s["micro_f1"] >= MICRO_F1_FLOOR, s
    frequent = evaluation.per_theme[evaluation.per_theme["n_gold"] >= 5]
    low = frequent[frequent["f1"] < THEME_F1_FLOOR]
    assert low.empty, low[["theme_id", "n_gold", "f1"]].to_dict("records")


def test_agreement_on_the_posts_ingest_finds(tagged):
    posts = io.read_table("posts", tagged)
    ids = list(load_codebook().ids)
    pred = coding_from_matrix(posts, io.read_table("theme_matrix", tagged), ids)
    gold = read_coding(GOLD)
    found = set(zip(pred["file"], pred["line"]))
    gold = gold[[(f, line) in found for f, line in zip(gold["file"], gold["line"])]]
    assert len(gold) >= 80
    assert evaluate_codings(gold, pred, ids).summary["micro_f1"] >= MICRO_F1_MATCHED_FLOOR


def _variants() -> dict[tuple[str, int], str]:
    boards = json.loads((FIXTURES / "posts.json").read_text(encoding="utf-8"))
    return {(b["file"], p["line"]): p["variant"] for b in boards for p in b["posts"]}


def test_nynorsk_recall_is_not_below_bokmal_recall(tagged):
    """Gold posts in Nynorsk (variant from the truth in posts.json) are found as well as Bokmål ones."""
    posts = io.read_table("posts", tagged)
    ids = list(load_codebook().ids)
    pred = coding_from_matrix(posts, io.read_table("theme_matrix", tagged), ids)
    gold = read_coding(GOLD)
    variant = _variants()
    gold["variant"] = [variant.get((f, line)) for f, line in zip(gold["file"], gold["line"])]
    recall = {v: evaluate_codings(gold[gold["variant"] == v], pred, ids).summary["micro_recall"]
              for v in ("nb", "nn")}
    assert (gold["variant"] == "nn").sum() >= 2
    assert recall["nn"] >= recall["nb"] - 0.10, recall


# The same statement in Bokmål and Nynorsk: written from the definitions, not from the dev set.
NB_NN = [
    ("okonomi", "Kulturskolen mangler penger og prosjektmidler.", "Kulturskulen manglar pengar og prosjektmidlar."),
    ("okonomi", "Hvem skal betale for samarbeidet?", "Kven skal betale for samarbeidet?"),
    ("pris_og_tilgang", "Prisen stenger barn ute, vi trenger friplasser.", "Prisen stengjer born ute, vi treng friplassar."),
    ("tid", "Det tar tid å bygge relasjoner.", "Det tek tid å byggje relasjonar."),
    ("samlokalisering", "Kulturskolen bør ha lokaler i skolebygget.", "Kulturskulen bør ha lokale i skulebygget."),
    ("personal_og_stillinger", "Kombinerte stillinger mellom skole og kulturskole.", "Kombinerte stillingar mellom skule og kulturskule."),
    ("kompetanse", "Lærerne trenger videreutdanning og kompetanseheving.", "Lærarane treng vidareutdanning og kompetanseheving."),
    ("forankring", "Samarbeidet må forankres hos politikerne.", "Samarbeidet må forankrast hjå politikarane."),
    ("planverk", "Rammeplanen og læreplanen må ses i sammenheng.", "Rammeplanen og læreplanen må sjåast i samanheng."),
    ("organisering", "Kulturskolen ligger i oppvekstsektoren.", "Kulturskulen ligg i oppvekstsektoren."),
    ("nasjonale_aktorer", "Udir og staten må komme med føringer.", "Udir og staten må kome med føringar."),
    ("moteplasser", "Vi trenger faste møtepunkt og et årshjul.", "Vi treng faste møtepunkt og eit årshjul."),
    ("likeverd_og_samskaping", "Vi må ha felles mål og være likeverdige parter.", "Vi må ha felles mål og vere likeverdige partar."),
    ("taushetsplikt", "Taushetsplikten hindrer informasjonsdeling.", "Teieplikta hindrar informasjonsdeling."),
    ("synlighet", "Kulturskolen må bli mer synlig.", "Kulturskulen må bli meir synleg."),
    ("initiativ_og_ildsjeler", "Samarbeidet er avhengig av ildsjeler.", "Samarbeidet er avhengig av eldsjeler."),
    ("prosjekt_vs_drift", "Pilotprosjektet må bli varig drift.", "Pilotprosjektet må bli varig drift."),
    ("inkludering", "Vi må motvirke utenforskap.", "Vi må motverke utanforskap."),
    ("rekruttering_og_relevans", "Ventelistene er lange, vi må rekruttere flere elever.", "Ventelistene er lange, vi må rekruttere fleire elevar."),
    ("medvirkning", "Elevmedvirkning og ungdomsråd er viktig.", "Elevmedverknad og ungdomsråd er viktig."),
    ("arena_skole", "Samarbeid med grunnskolen.", "Samarbeid med grunnskulen."),
    ("arena_sfo", "Kulturskolen kan gi tilbud i SFO-tiden.", "Kulturskulen kan gi tilbod i SFO-tida."),
    ("arena_barnehage", "Musikk i barnehagen.", "Musikk i barnehagen."),
    ("arena_helse_velferd", "Samarbeid med helsestasjonen og barnevernet.", "Samarbeid med helsestasjonen og barnevernet."),
    ("arena_frivillighet", "Samarbeid med korpset og frivillige lag.", "Samarbeid med korpset og friviljuge lag."),
]


def test_bokmal_and_nynorsk_forms_code_alike(tagger):
    nb, _ = tagger.code_texts([b for _, b, _ in NB_NN])
    nn, _ = tagger.code_texts([n for _, _, n in NB_NN])
    missed_nb = [t for (t, _, _), s in zip(NB_NN, nb) if t not in s]
    missed_nn = [t for (t, _, _), s in zip(NB_NN, nn) if t not in s]
    assert not missed_nb and not missed_nn, (missed_nb, missed_nn)


# Words shared with other meanings must not fire alone.
TRAPS = [
    ("samlokalisering", "Rom 3 har diskutert spørsmålet."),          # a group name, not a room
    ("samlokalisering", "Svar fra ROM 12 (Vaksdal, Ringebu)."),
    ("samlokalisering", "Grupperom 1: Hva merket du deg?"),
    ("samlokalisering", "Det må være rom for å prøve ut nye ting."),  # latitude, not a room
    ("tid", "Vi har tidligere hatt et samarbeid."),                  # 'tid' inside 'tidligere'
    ("tid", "Kulturskoletimen er populær."),                         # 'time' in 'kulturskoletimen'
    ("tid", "Time kulturskule har et pilotprosjekt."),               # Time, the municipality
    ("tid", "Vi må henge med i tiden."),
    ("pris_og_tilgang", "Vi er prisgitt kommunens vilje."),           # 'pris' inside 'prisgitt'
    ("planverk", "Elevene får lov til å velge selv."),                 # 'lov' = allowed
    ("arena_frivillighet", "Kor mykje kan vi få til?"),               # Nynorsk 'kor' = how
    ("arena_skole", "Kulturskolen har mange elever."),                 # 'kulturskole' is not 'skole'
    ("arena_frivillighet", "Laget rundt barnet er viktig."),           # 'lag' as team, not a club
    ("okonomi", "Virkemidler for bedre samarbeid."),
    ("nasjonale_aktorer", "Takk for et fint nasjonalt dialogseminar."),
]


@pytest.mark.parametrize("theme, text", TRAPS, ids=[t for _, t in TRAPS])
def test_shared_words_do_not_fire_alone(tagger, theme, text):
    (themes,), _ = tagger.code_texts([text])
    assert theme not in themes


@pytest.mark.parametrize("theme, text", [
    ("samlokalisering", "Rom 3: vi trenger egnede rom for samspill."),
    ("tid", "Det krever tid og tålmodighet."),
    ("pris_og_tilgang", "Prisen er for høy for mange familier."),
    ("arena_helse_velferd", "Laget rundt barnet er viktig."),
    ("arena_frivillighet", "Barnekoret og korpset øver sammen."),
])
def test_the_same_words_fire_in_their_own_sense(tagger, theme, text):
    (themes,), _ = tagger.code_texts([text])
    assert theme in themes


def test_weak_cues_need_a_second_word(tagger):
    (one, two, repeated), _ = tagger.code_texts([
        "Prosjektet var fint.",
        "Prosjektet må bli mer langsiktig.",
        "Prosjektet og prosjektene.",
    ])
    assert "prosjekt_vs_drift" not in one
    assert "prosjekt_vs_drift" in two
    assert "prosjekt_vs_drift" not in repeated  # forms of one word count once


def test_copied_questions_are_not_coded_but_answered_ones_count(tagged):
    tags = io.read_table("tags", tagged)
    segments = io.read_table("segments", tagged)
    questions = set(segments.loc[segments["role"] == "question", "segment_id"])
    in_questions = tags[tags["segment_id"].isin(questions)]
    assert len(in_questions) > 0
    assert set(in_questions["strength"]) == {"answers_to"}
    # post L00101 copies question 2 ("Hva kan de tre nasjonale aktørene bidra med?") and answers it
    pid = "2023-02-09_dialogseminar-fremtidens-kulturskole-L00101"
    t = tags[(tags["post_id"] == pid) & (tags["theme_id"] == "nasjonale_aktorer")]
    assert "answers_to" in set(t["strength"])


def test_tagging_without_the_model_uses_written_forms():
    tagger = Tagger(load_codebook(), spacy.blank("nb"))
    (themes,), tags = tagger.code_texts(["Vi trenger mer penger og kompetanseheving i barnehagen."])
    assert {"okonomi", "kompetanse", "arena_barnehage"} <= themes
    assert set(tags["matched_text"]) >= {"penger", "kompetanseheving", "barnehagen"}


# --- matching: the direct matcher keeps the semantics of spaCy's PhraseMatcher and Matcher ---

MATCH_TEXTS = [b for _, b, _ in NB_NN] + [n for _, _, n in NB_NN] + [t for _, t in TRAPS] + [
    "Rom 3: vi trenger egnede rom for samspill. ROM 12 og grupperom 4.",
    "LK20, LK-20, UDIR, KS og AKS-tilbudet; lk20 og Udir.",
    "Vi ansatte en ny lærer, de ansatte er fornøyde, og vi må ansette flere.",
    "Kor mykje? Barnekoret, korpset og skolekorpset øver i kulturhuset.",
    "Kulturskolen, KULTURSKOLEN og kultur-skolen samarbeider med grunnskolen og SFO/AKS.",
    "Lærere og ansatte, lærarstilling og kulturskolelærer-stillinger. 12 3,5 tre",
    # plain terms match all forms or all lemmas, never a mix ("søke midler": lemma 'søke', form 'midler')
    "Skolen søker midler fra staten, og vi søkte midler i fjor.",
    "", "\n\n", "   ",
]


def _reference_matches(tagger: Tagger, docs) -> list[set[tuple[str, int, int]]]:
    """(rule, start, end) per doc from spaCy's PhraseMatcher (LOWER, LEMMA) and Matcher, built as the
    tagger once built them (globs expanded against the words of ``docs``, no pattern limit)."""
    import itertools
    import re

    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc

    vocab = tagger.nlp.vocab
    lower_words = {t.lower_ for d in docs for t in d}
    lemma_lower: dict[str, list[str]] = {}
    for w in {t.lemma_ for d in docs for t in d if t.lemma_}:
        lemma_lower.setdefault(w.lower(), []).append(w)

    def present(spec):
        rx = re.compile(spec.regex)
        if spec.literals is not None:
            forms = [w for w in spec.literals if w in lower_words]
            lemmas = [w for w in spec.literals if w in lemma_lower]
        else:
            forms = [w for w in lower_words if rx.match(w)]
            lemmas = [w for w in lemma_lower if rx.match(w)]
        return sorted(forms), sorted(x for w in lemmas for x in lemma_lower[w])

    by_lower, by_lemma = PhraseMatcher(vocab, attr="LOWER"), PhraseMatcher(vocab, attr="LEMMA")
    matcher = Matcher(vocab, validate=False)
    rules = {}
    for term in tagger.codebook.terms():
        rules[vocab.strings.add(term.rule)] = term.rule
        if all(t.kind == "glob" and not t.pos for t in term.tokens):
            forms, lemmas = zip(*(present(t) for t in term.tokens))
            if docs_lower := [Doc(vocab, words=list(c)) for c in itertools.product(*forms)]:
                by_lower.add(term.rule, docs_lower)
            if docs_lemma := [Doc(vocab, words=list(c), lemmas=list(c)) for c in itertools.product(*lemmas)]:
                by_lemma.add(term.rule, docs_lemma)
            continue
        if not tagger.has_pos and any(t.pos for t in term.tokens):
            continue
        per_word = []
        for spec in term.tokens:
            if spec.kind == "num":
                alts = [{"LIKE_NUM": True}]
            elif spec.kind == "exact":
                alts = [{"ORTH": w} for w in (spec.literals or ())] or [{"ORTH": {"REGEX": spec.regex}}]
            else:
                forms, lemmas = present(spec)
                alts = [{"LOWER": w} for w in forms] + [{"LEMMA": w} for w in lemmas]
            per_word.append([{**a, "POS": spec.pos} if spec.pos else a for a in alts])
        if all(per_word):
            matcher.add(term.rule, [list(p) for p in itertools.product(*per_word)])
    return [{(rules[m], s, e) for mt in (matcher, by_lower, by_lemma) for m, s, e in mt(d)} for d in docs]


def _check_matches_like_spacy(tagger, texts=MATCH_TEXTS, min_matches=100):
    docs = list(tagger.nlp.pipe(texts))
    expected = _reference_matches(tagger, docs)
    assert sum(map(len, expected)) > min_matches
    for doc, want in zip(docs, expected):
        got = [(term.rule, s, e) for term, s, e in tagger.matches(doc)]
        assert len(got) == len(set(got)) and set(got) == want, doc.text
        assert [(s, e) for _, s, e in got] == sorted((s, e) for _, s, e in got)


def test_matches_are_the_spacy_matchers_matches_without_model():
    _check_matches_like_spacy(Tagger(load_codebook(), spacy.blank("nb")))


def test_matches_are_the_spacy_matchers_matches(tagger):
    _check_matches_like_spacy(tagger)


NUMBER_TEXTS = [
    "Vi har 12 elever og 3 timer i uka; 20 elevar står på venteliste. Det koster 300 kroner.",
    "Rom 4 og rom 5, ROM 6 og grupperom 7: 2 lærere, 1 lærer og tre lærarar. 12 3,5 tre 40",
]


def test_terms_that_start_with_a_number_match_as_the_spacy_matcher_does(nlp):
    """Terms whose first word is '#' (not in the seeds codebook) are looked for at number-like tokens only."""
    from pipeline.codebook import parse_codebook

    codebook = parse_codebook({"version": 1, "categories": {"c": "C"}, "themes": [{
        "id": "tall", "category": "c", "label": "Tall", "definition": "Numbers.",
        "rules": {"strong": ["# elev*", "# tim*/NOUN", "=Rom #", "rom #", "# lær{er,ere,arar}", "# # tre"],
                  "weak": ["#", "# kroner"], "min_weak": 1, "ignore": ["# kroner"]}}]})
    tagger = Tagger(codebook, nlp)
    _check_matches_like_spacy(tagger, NUMBER_TEXTS + MATCH_TEXTS, min_matches=20)
    assert {(term.rule, s, e) for term, s, e in tagger.matches(nlp("Vi har 12 elever."))} == {
        ("tall.strong[0]", 2, 4), ("tall.weak[0]", 2, 3)}


def test_results_do_not_depend_on_what_was_tagged_before(nlp, monkeypatch):
    from pipeline import tag

    codebook = load_codebook()
    first, second = MATCH_TEXTS[:30], MATCH_TEXTS[30:]
    alone = Tagger(codebook, nlp).code_texts(second)
    used = Tagger(codebook, nlp)
    used.code_texts(first)
    after = used.code_texts(second)
    monkeypatch.setattr(tag, "MEMO_LIMIT", 5)  # memos emptied again and again
    small = Tagger(codebook, nlp)
    small.code_texts(first)
    for got in (after, small.code_texts(second)):
        assert got[0] == alone[0]
        assert got[1].equals(alone[1])


def test_glob_index_finds_what_the_regexes_find(nlp):
    import re

    from pipeline.tag import GlobIndex

    specs = {s.regex: s.literals for t in load_codebook().terms() for s in t.tokens if s.kind == "glob"}
    globs = [(re.compile(r), lits) for r, lits in specs.items()]
    index = GlobIndex(globs)
    words = {t.lower_ for d in nlp.pipe(MATCH_TEXTS) for t in d} | {t.lemma_.lower() for d in nlp.pipe(MATCH_TEXTS) for t in d}
    words |= {w for _, lits in globs if lits for w in lits} | {"", "a", "ab", "skole\n", "x-sfo", "aks-", "prosjekta"}
    for word in words:
        want = {i for i, (rx, lits) in enumerate(globs) if (word in lits if lits is not None else rx.match(word))}
        assert index(word) == want, word


@pytest.mark.parametrize("regex, text", [
    ("^.*skole$", "skole"), ("^(?:elev|kurs)pris.*$", "pris"), ("^..*planane$", "planane"),
    ("^kultur.*skole.*$", "kultur"), ("^sfo\\-tid$", "sfo-tid"), ("^(?:a|b)$", ""),
    ("^a[bc]d$", ""), ("^ab*c$", ""), ("^a|b$", ""), ("^(?:a|(?:b))x$", ""), ("^\\d+$", ""),
])
def test_required_text(regex, text):
    from pipeline.tag import required_text

    assert required_text(regex) == text
