"""Theme coding: match the codebook's rules in each segment and decide the themes of each post.

The tagger runs spaCy's ``PhraseMatcher`` (over ``LOWER`` and over
``LEMMA``) and ``Matcher`` (terms with numbers, exact forms or POS) over the
tokens of every segment: each word of a rule term matches a token's
lower-cased form or its lemma (from the project's model,
``pipeline.nlp.load()``), always the whole token, so "tid" never fires
inside "tidligere" and "pris" never inside "prisgitt". A hit that lies wholly inside a match of one of the
theme's ``ignore`` terms does not count ("Rom 3" is a group, not a room).

A response post has a theme when, over all its segments, at least one
``strong`` term hits, or weak terms hit at least ``min_weak`` different words
(per theme in the codebook). Segments that are copies of the organisers'
questions (``segments.role == "question"``) are not tagged with strong/weak
terms, since their words are not the group's; only the theme's
``answers_to`` terms are matched there, and count when the group answered the
question (the next segment answers the same question number): an answer to
"Hva kan de tre nasjonale aktørene bidra med?" is about national actors.
Prompt and empty posts get no tags.

Outputs: ``tags`` (the evidence: one row per counted hit of a theme the post
has, with ``text_clean[start:end] == matched_text``) and ``theme_matrix``
(one row per response post, a 0/1 column per theme).

Data caveats: lemmas come from a statistical model and can be wrong
(compounds especially); the rules therefore also list the written forms.
Without a model (``spacy.blank("nb")``) only written forms match.
"""
from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from pipeline.codebook import Codebook, Term, TokenSpec, codebook_frame, load_codebook
from pipeline.segment import segments_frame

log = logging.getLogger("pipeline.tag")

MAX_PATTERNS_PER_TERM = 5000
TAG_COLUMNS = ["post_id", "segment_id", "theme_id", "rule", "pattern", "strength", "matched_text", "start", "end"]


def _token_alternatives(spec: TokenSpec, lowers: dict[str, list[str]], lemmas: dict[str, list[str]]) -> list[dict]:
    """Matcher token patterns for one word of a term, given the forms and lemmas that match it.

    Globs are expanded against the words actually present (``lowers`` and
    ``lemmas`` map a word regex to the matching strings), so that the Matcher
    compares plain ``LOWER``/``LEMMA`` values (fast hash comparisons) instead
    of running a regular expression or set predicate on every token.
    """
    if spec.kind == "num":
        alts = [{"LIKE_NUM": True}]
    elif spec.kind == "exact":
        alts = [{"ORTH": w} for w in (spec.literals or ())] or [{"ORTH": {"REGEX": spec.regex}}]
    else:
        alts = [{"LOWER": w} for w in lowers.get(spec.regex, ())]
        alts += [{"LEMMA": w} for w in lemmas.get(spec.regex, ())]
    if spec.pos:
        alts = [{**a, "POS": spec.pos} for a in alts]
    return alts


def term_patterns(term: Term, lowers: dict[str, list[str]], lemmas: dict[str, list[str]]) -> list[list[dict]]:
    """The Matcher patterns of a term: every mix of form/lemma matching over its words.

    Empty when some word of the term matches no word present.
    """
    per_word = [_token_alternatives(t, lowers, lemmas) for t in term.tokens]
    if any(not alts for alts in per_word):
        return []
    return [list(p) for p in itertools.islice(itertools.product(*per_word), MAX_PATTERNS_PER_TERM)]


@dataclass(frozen=True)
class Hit:
    term: Term
    seg_index: int
    tok_start: int
    tok_end: int
    start: int  # char offsets into the post's text_clean
    end: int
    word: str  # lemma (or lower-cased form) of the matched words: weak hits count once per word


class Tagger:
    """Compiled codebook rules for one spaCy pipeline; build once per run.

    ``nlp`` supplies tokenisation, lemmas and POS; pass ``pipeline.nlp.load()``
    for the project's model (``spacy.blank("nb")`` works, with forms only).
    """

    def __init__(self, codebook: Codebook, nlp: Language):
        self.codebook = codebook
        self.nlp = nlp
        self._disable = [p for p in ("ner", "parser") if p in nlp.pipe_names]
        self.has_pos = any(p in nlp.pipe_names for p in ("morphologizer", "tagger"))
        self._regex = {}
        for term in codebook.terms():
            for spec in term.tokens:
                if spec.kind == "glob":
                    self._regex.setdefault(spec.regex, (re.compile(spec.regex), spec.literals))

    def _matchers(self, docs):
        """Matchers for the codebook's terms, expanded against the words of ``docs``.

        Terms made of plain words go to two ``PhraseMatcher``s, one over
        ``LOWER`` (written forms) and one over ``LEMMA``, each glob expanded
        to the forms and lemmas present in ``docs`` (fast: no per-token regex).
        Terms with ``#``, ``=Exact`` or ``/POS`` words go to a ``Matcher``.
        Returns (list of matchers, {match id: Term}).
        """
        lower_words = {t.lower_ for d in docs for t in d}
        lemma_words = {t.lemma_ for d in docs for t in d if t.lemma_}
        lemma_lower: dict[str, list[str]] = {}
        for w in lemma_words:
            lemma_lower.setdefault(w.lower(), []).append(w)
        lowers: dict[str, list[str]] = {}
        lemmas: dict[str, list[str]] = {}
        for regex, (rx, literals) in self._regex.items():
            if literals is not None:
                found = [w for w in literals if w in lower_words]
                found_lemma = [w for w in literals if w in lemma_lower]
            else:
                found = [w for w in lower_words if rx.match(w)]
                found_lemma = [w for w in lemma_lower if rx.match(w)]
            lowers[regex] = sorted(found)
            lemmas[regex] = sorted(x for w in found_lemma for x in lemma_lower[w])
        vocab = self.nlp.vocab
        by_lower = PhraseMatcher(vocab, attr="LOWER")
        by_lemma = PhraseMatcher(vocab, attr="LEMMA")
        matcher = Matcher(vocab, validate=False)
        terms: dict[int, Term] = {}
        for term in self.codebook.terms():
            key = term.rule
            terms[vocab.strings.add(key)] = term
            if all(t.kind == "glob" and not t.pos for t in term.tokens):
                forms = itertools.islice(itertools.product(*(lowers[t.regex] for t in term.tokens)), MAX_PATTERNS_PER_TERM)
                docs_lower = [Doc(vocab, words=list(c)) for c in forms]
                if docs_lower:
                    by_lower.add(key, docs_lower)
                lems = itertools.islice(itertools.product(*(lemmas[t.regex] for t in term.tokens)), MAX_PATTERNS_PER_TERM)
                docs_lemma = [Doc(vocab, words=list(c), lemmas=list(c)) for c in lems]
                if docs_lemma:
                    by_lemma.add(key, docs_lemma)
            else:
                if not self.has_pos and any(t.pos for t in term.tokens):
                    continue  # words with /POS never hit without a tagger
                patterns = term_patterns(term, lowers, lemmas)
                if patterns:
                    matcher.add(key, patterns)
        return [matcher, by_lower, by_lemma], terms

    def hits(self, texts: list[str], offsets: list[int], batch_size: int = 64) -> list[list[Hit]]:
        """Counted hits per text (ignore contexts applied); ``offsets`` shift char offsets into the post."""
        docs = list(self.nlp.pipe(texts, batch_size=batch_size, disable=self._disable))
        matchers, terms = self._matchers(docs)
        out = []
        for i, (doc, off) in enumerate(zip(docs, offsets)):
            found = sorted({m for matcher in matchers for m in matcher(doc)}, key=lambda m: (m[1], m[2], m[0]))
            raw = [(terms[mid], s, e) for mid, s, e in found]
            ignores: dict[str, list[tuple[int, int]]] = {}
            for term, s, e in raw:
                if term.kind == "ignore":
                    ignores.setdefault(term.theme_id, []).append((s, e))
            hits = []
            for term, s, e in raw:
                if term.kind == "ignore":
                    continue
                if any(a <= s and e <= b for a, b in ignores.get(term.theme_id, ())):
                    continue
                span = doc[s:e]
                word = " ".join((t.lemma_ or t.lower_).lower() for t in span)
                hits.append(Hit(term, i, s, e, off + span.start_char, off + span.end_char, word))
            out.append(hits)
        return out

    def tag(self, posts: pd.DataFrame, segments: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Tag the response posts: returns (tags, theme_matrix) frames.

        ``segments`` defaults to ``segments_frame(posts)``. Evidence offsets
        point into ``posts.text_clean``; ``matched_text`` is that slice.
        """
        if segments is None:
            segments = segments_frame(posts)
        responses = posts[posts["kind"] == "response"]
        text_of = dict(zip(responses["post_id"], responses["text_clean"]))
        segs = segments[segments["post_id"].isin(text_of)].sort_values(["post_id", "seq"])
        texts = [text_of[p][s:e] for p, s, e in zip(segs["post_id"], segs["start"], segs["end"])]
        all_hits = self.hits(texts, [int(s) for s in segs["start"]])
        # a question segment counts (answers_to terms only) when the group answered it:
        # the next segment of the post is an answer to the same question number
        answered = []
        rows = list(zip(segs["post_id"], segs["role"], segs["question_no"]))
        for k, (pid, role, qno) in enumerate(rows):
            nxt = rows[k + 1] if k + 1 < len(rows) else None
            answered.append(role == "question" and nxt is not None and nxt[0] == pid and nxt[1] == "answer"
                            and not pd.isna(nxt[2]) and not pd.isna(qno) and nxt[2] == qno)
        by_post: dict[str, list[tuple[str, Hit]]] = {}
        for pid, sid, role, ok, hits in zip(segs["post_id"], segs["segment_id"], segs["role"], answered, all_hits):
            if role == "question":
                hits = [h for h in hits if h.term.kind == "answers_to" and ok]
            else:
                hits = [h for h in hits if h.term.kind != "answers_to"]
            by_post.setdefault(pid, []).extend((sid, h) for h in hits)
        tag_rows = []
        matrix_rows = []
        for pid in responses["post_id"]:
            hits = by_post.get(pid, [])
            row = {"post_id": pid}
            for theme in self.codebook.themes:
                th = [(sid, h) for sid, h in hits if h.term.theme_id == theme.id]
                if self.decide(theme, [h for _, h in th]):
                    row[theme.id] = 1
                    text = text_of[pid]
                    for sid, h in th:
                        tag_rows.append({
                            "post_id": pid, "segment_id": sid, "theme_id": theme.id, "rule": h.term.rule,
                            "pattern": h.term.text, "strength": h.term.kind,
                            "matched_text": text[h.start:h.end], "start": h.start, "end": h.end,
                        })
                else:
                    row[theme.id] = 0
            matrix_rows.append(row)
        tags = pd.DataFrame(tag_rows, columns=TAG_COLUMNS)
        if not tags.empty:
            tags = tags.drop_duplicates(["post_id", "theme_id", "rule", "start", "end"])
            tags = tags.sort_values(["post_id", "start", "end", "theme_id", "rule"], kind="stable").reset_index(drop=True)
        for c in ("start", "end"):
            tags[c] = tags[c].astype("int32")
        matrix = pd.DataFrame(matrix_rows, columns=["post_id", *self.codebook.ids])
        board = dict(zip(responses["post_id"], responses["board_id"]))
        matrix.insert(1, "board_id", matrix["post_id"].map(board))
        for tid in self.codebook.ids:
            matrix[tid] = matrix[tid].astype("int8")
        matrix.insert(2, "n_themes", matrix[list(self.codebook.ids)].sum(axis=1).astype("int16"))
        return tags, matrix

    def code_texts(self, texts: list[str]) -> tuple[list[set[str]], pd.DataFrame]:
        """Code free texts as response posts of a board without prompts (for checks and tests).

        Returns the theme set of each text and the evidence rows (post_id
        ``t0``, ``t1``, ... in input order).
        """
        posts = pd.DataFrame({
            "post_id": [f"t{i}" for i in range(len(texts))], "board_id": "texts", "kind": "response",
            "dialogue_theme": pd.array([None] * len(texts), dtype="Int32"), "title": None, "text_clean": texts,
        })
        tags, matrix = self.tag(posts)
        return list(themes_to_sets(matrix, self.codebook.ids).values()), tags

    @staticmethod
    def decide(theme, hits: list[Hit]) -> bool:
        """The codebook's rule for one theme over a post's counted hits.

        True when a strong (or answers_to) term hit, or when weak terms hit at
        least ``min_weak`` different words (by lemma, else lower-cased form:
        "prosjekt" and "prosjektet" are one word).
        """
        if any(h.term.kind in ("strong", "answers_to") for h in hits):
            return True
        return len({h.word for h in hits if h.term.kind == "weak"}) >= theme.min_weak


def default_nlp() -> Language:
    """The project's spaCy pipeline; falls back to ``spacy.blank("nb")`` with a warning.

    Without the model only written forms match (no lemmas, no POS), which
    lowers recall; the fallback is logged so that a run says so.
    """
    from pipeline import nlp as nlp_mod

    try:
        return nlp_mod.load()
    except nlp_mod.ModelNotAvailableError as exc:
        import spacy

        log.warning("no spaCy model (%s); tagging on written forms only", exc)
        return spacy.blank("nb")


def themes_to_sets(matrix: pd.DataFrame, theme_ids) -> dict[str, set[str]]:
    """post_id -> set of theme ids from a theme_matrix frame."""
    ids = list(theme_ids)
    return {row[0]: {t for t, v in zip(ids, row[1:]) if v}
            for row in matrix[["post_id", *ids]].itertuples(index=False)}


@lru_cache(maxsize=4)
def get_tagger(codebook_path: str | None = None, model: str | None = None) -> Tagger:
    """The tagger for a codebook file and spaCy model, built once per process (cached).

    ``codebook_path`` defaults to seeds/codebook.yaml, ``model`` to the
    project's model (``pipeline.nlp.load``; blank "nb" with a warning when it
    is missing).
    """
    from pipeline import nlp as nlp_mod

    nlp = nlp_mod.load(model) if model else default_nlp()
    return Tagger(load_codebook(codebook_path), nlp)


def tag_tables(posts: pd.DataFrame, tagger: Tagger | None = None) -> dict[str, pd.DataFrame]:
    """The tagging stage as a pure function: posts -> codebook, segments, tags and theme_matrix frames.

    Run it on the FINAL posts (after pseudonymisation and any renumbering of
    pseudonyms): tag offsets point into ``text_clean`` as given. Works on a
    whole run or on one board (segments link questions within a board).
    """
    tagger = tagger or get_tagger()
    segments = segments_frame(posts)
    tags, matrix = tagger.tag(posts, segments)
    return {"codebook": codebook_frame(tagger.codebook), "segments": segments, "tags": tags,
            "theme_matrix": matrix}


def tagger_versions(tagger: Tagger) -> dict:
    """What to record in the manifest: codebook version and sha256, and the model used."""
    from pipeline import nlp as nlp_mod

    from pipeline import config

    model = dict(nlp_mod.model_info(tagger.nlp))
    if model.get("path"):
        # The manifest must not depend on where the checkout lives.
        path = Path(model["path"]).resolve()
        model["path"] = str(path.relative_to(config.PROJECT_ROOT)) if path.is_relative_to(config.PROJECT_ROOT) else path.name
    return {
        "codebook": {"version": str(tagger.codebook.version), "sha256": tagger.codebook.sha256},
        "tagger_model": model,
    }


def run_tag(out_dir: Path, codebook_path: Path | None = None, nlp: Language | None = None) -> dict:
    """Stage wrapper: read ``posts`` from ``out_dir``, write codebook, segments, tags, theme_matrix.

    Returns the versions to record in the manifest (codebook version and
    sha256, model info). Loads the codebook and the model once.
    """
    from pipeline import io, load_table, schema

    codebook = load_codebook(codebook_path)
    if tuple(codebook.ids) != tuple(schema.THEME_IDS):
        raise ValueError(f"{codebook.path}: theme ids {list(codebook.ids)} differ from the theme_matrix columns "
                         f"declared from seeds/codebook.yaml {list(schema.THEME_IDS)}; tag with the seeds codebook "
                         "or edit seeds/codebook.yaml")
    tagger = Tagger(codebook, nlp or default_nlp())
    frames = tag_tables(load_table("posts", out_dir), tagger)
    for name, frame in frames.items():
        io.write_table(name, frame, out_dir)
    return tagger_versions(tagger)
