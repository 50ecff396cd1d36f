"""Theme coding: match the codebook's rules in each segment and decide the themes of each post.

Each word of a rule term matches a token's lower-cased form or its lemma
(from the project's model, ``pipeline.nlp.load()``), always the whole token,
so "tid" never fires inside "tidligere" and "pris" never inside "prisgitt".
A term of plain words matches consecutive tokens whose forms all match, or
whose lemmas all match; a term with ``#``, ``=Exact`` or ``/POS`` words may
mix forms and lemmas word by word. These are the semantics of spaCy's
``PhraseMatcher`` over ``LOWER`` and over ``LEMMA`` and of its ``Matcher``,
which earlier versions built for every board; :class:`Tagger` now matches
directly, with what it works out per distinct word memoised, so that
tagging costs little beyond the model's pass (see ``Tagger.matches``). A
hit that lies wholly inside a match of one of the theme's ``ignore`` terms
does not count ("Rom 3" is a group, not a room).

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

import copy
import logging
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from spacy.attrs import IDX, LEMMA, LENGTH, LIKE_NUM, ORTH
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.codebook import Codebook, Term, codebook_frame, compiled_pattern, load_codebook
from pipeline.segment import segments_frame
from pipeline.tables import frame_from_tuples

log = logging.getLogger("pipeline.tag")

TAG_COLUMNS = ["post_id", "segment_id", "theme_id", "rule", "pattern", "strength", "matched_text", "start", "end"]
NGRAM = 3  # length of the letter n-grams that index the globs (see GlobIndex)
_NONE: frozenset[int] = frozenset()
_MATCH_ORDER = itemgetter(0, 1, 2)  # start, end, codebook order
_SEGMENT_COLUMNS = ("post_id", "seq", "segment_id", "role", "question_no", "start", "end")  # what tag() reads
MEMO_LIMIT = 200_000  # entries per memo of a Tagger (about 200 bytes each); a full memo is emptied


def required_text(regex: str) -> str:
    """The longest run of letters that every match of a glob regex contains ('' when unknown).

    ``regex`` is a pattern written by ``codebook.glob_to_regex``: ``^`` and
    ``$``, literal (possibly backslash-escaped) characters, ``.``, ``.*``
    and ``(?:a|b)`` groups. Literal characters between wildcards and groups
    must all appear, in a row. Anything else (character classes, a
    quantifier after a literal, top-level ``|``) gives '', i.e. "no known
    requirement", so that the caller tests the regex on every word.
    """
    runs, run = [], []
    i, n = 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n:
            if regex[i + 1].isalnum():
                return ""  # \d, \w, \b ...: not a literal
            run.append(regex[i + 1])
            i += 2
            continue
        if ch in "^$" and (i == 0 or i == n - 1):
            runs.append("".join(run))
            run = []
        elif ch == ".":
            runs.append("".join(run))
            run = []
            if regex[i + 1: i + 2] == "*":
                i += 1
        elif ch == "(" and regex.startswith("(?:", i):
            runs.append("".join(run))
            run = []
            j = i + 3
            while j < n and regex[j] != ")":
                if regex[j] in "([":
                    return ""
                j += 2 if regex[j] == "\\" else 1
            if j >= n or regex[j + 1: j + 2] in ("*", "+", "?", "{"):
                return ""
            i = j
        elif ch in "()[]{}|*+?^$":
            return ""
        else:
            run.append(ch)
        i += 1
    runs.append("".join(run))
    return max(runs, key=len)


class GlobIndex:
    """Which of the codebook's glob words a lower-cased word matches.

    A word matches a glob with spellings (no ``*`` or ``?``) when it is one
    of them, and any other glob when its anchored regex matches. Only globs
    whose required letters (``required_text``) share an n-gram with the word
    are tested; globs without ``NGRAM`` required letters in a row are tested
    on every word.
    """

    def __init__(self, globs: list[tuple[re.Pattern, tuple[str, ...] | None]]):
        self._literal: dict[str, list[int]] = {}
        self._by_ngram: dict[str, list[tuple[int, re.Pattern]]] = {}
        self._always: list[tuple[int, re.Pattern]] = []
        for gid, (rx, literals) in enumerate(globs):
            if literals is not None:
                for w in literals:
                    self._literal.setdefault(w, []).append(gid)
                continue
            need = required_text(rx.pattern)
            if len(need) >= NGRAM:
                self._by_ngram.setdefault(need[:NGRAM], []).append((gid, rx))
            else:
                self._always.append((gid, rx))

    def __call__(self, word: str) -> frozenset[int]:
        """Ids (positions in the list given to the constructor) of the globs ``word`` matches."""
        ids = set(self._literal.get(word, ()))
        candidates = list(self._always)
        for i in range(len(word) - NGRAM + 1):
            candidates += self._by_ngram.get(word[i: i + NGRAM], ())
        ids.update(gid for gid, rx in candidates if rx.match(word))
        return frozenset(ids) if ids else _NONE


@dataclass(frozen=True)
class _Rule:
    """A term compiled for matching: ``words`` are (kind, id, pos) with kind glob/exact/num."""

    term: Term
    order: int  # position in the codebook: a stable order for hits at the same tokens
    words: tuple[tuple[str, int, str | None], ...]
    plain: bool  # only globs without POS: all forms or all lemmas must match (no mixing)
    name: str  # ``term.rule`` ("okonomi.strong[3]"), worked out once
    globs: tuple[int, ...]  # the glob id of each word of a plain rule (empty for the others)


class Hit(NamedTuple):
    """A counted match of a term in one text (of the texts given to ``Tagger.hits``)."""

    term: Term
    seg_index: int
    tok_start: int
    tok_end: int
    start: int  # char offsets into the post's text_clean
    end: int
    word: str  # lemma (or lower-cased form) of the matched words: weak hits count once per word


class _Token(NamedTuple):
    """What matching needs to know about a token with a given written form and lemma."""

    forms: frozenset[int]  # glob words its lower-cased form matches
    lemmas: frozenset[int]  # glob words its lemma, lower-cased, matches
    globs: frozenset[int]  # forms | lemmas
    exacts: frozenset[int]  # =Exact words its written form matches
    singles: tuple[tuple[int, _Rule], ...]  # (codebook order, rule): one-word plain terms it matches
    chains: dict[int, tuple[_Rule, ...]]  # longer plain terms it may start, by the glob of their second word
    starts: tuple[_Rule, ...]  # other terms it may start (not plain), checked word by word
    word: str  # lemma, else lower-cased form, lower-cased: what a weak hit counts ('' in _INERT)


_NO_MATCH: tuple[frozenset[int], frozenset[int]] = (_NONE, _NONE)
_NO_CHAINS: dict[int, tuple[_Rule, ...]] = {}  # shared, never changed
_INERT = _Token(_NONE, _NONE, _NONE, _NONE, (), _NO_CHAINS, (), "")  # a token that matches no glob or exact word


class Tagger:
    """Compiled codebook rules for one spaCy pipeline; build once per run.

    ``nlp`` supplies tokenisation, lemmas and POS; pass ``pipeline.nlp.load()``
    for the project's model (``spacy.blank("nb")`` works, with forms only).
    The tagger memoises what it works out per distinct word (which globs a
    form or lemma matches, and so which terms a token can start): this only
    saves work, since each entry depends on its word alone, never on the
    texts tagged before. The memos grow with the vocabulary the process sees
    and are emptied when one reaches ``MEMO_LIMIT`` entries.
    """

    def __init__(self, codebook: Codebook, nlp: Language):
        self.codebook = codebook
        self.nlp = nlp
        # Tagging reads forms, lemmas and POS only: entities and sentence boundaries are not computed.
        self._disable = [p for p in ("ner", "parser", "senter") if p in nlp.pipe_names]
        self.has_pos = any(p in nlp.pipe_names for p in ("morphologizer", "tagger"))
        globs: dict[str, int] = {}
        glob_list: list[tuple[re.Pattern, tuple[str, ...] | None]] = []
        exacts: dict[str, int] = {}
        self._exact: list[tuple[frozenset[str] | None, re.Pattern]] = []
        rules: list[_Rule] = []
        for order, term in enumerate(codebook.terms()):
            if not self.has_pos and any(t.pos for t in term.tokens):
                continue  # words with /POS never hit without a tagger
            words = []
            for spec in term.tokens:
                if spec.kind == "glob":
                    if spec.regex not in globs:
                        globs[spec.regex] = len(glob_list)
                        glob_list.append((compiled_pattern(spec.regex), spec.literals))
                    words.append(("glob", globs[spec.regex], spec.pos))
                elif spec.kind == "exact":
                    if spec.regex not in exacts:
                        exacts[spec.regex] = len(self._exact)
                        lits = frozenset(spec.literals) if spec.literals else None
                        self._exact.append((lits, compiled_pattern(spec.regex)))
                    words.append(("exact", exacts[spec.regex], spec.pos))
                else:
                    words.append(("num", 0, spec.pos))
            plain = all(kind == "glob" and not pos for kind, _, pos in words)
            rules.append(_Rule(term, order, tuple(words), plain, term.rule,
                               tuple(wid for _, wid, _ in words) if plain else ()))
        # rules by their first word, where matching starts
        self._by_glob: dict[int, list[_Rule]] = {}
        self._by_exact: dict[int, list[_Rule]] = {}
        self._by_num: tuple[_Rule, ...] = tuple(r for r in rules if r.words[0][0] == "num")
        for rule in rules:
            kind, wid, _ = rule.words[0]
            if kind == "glob":
                self._by_glob.setdefault(wid, []).append(rule)
            elif kind == "exact":
                self._by_exact.setdefault(wid, []).append(rule)
        self._globs = GlobIndex(glob_list)
        self._theme_of = {theme.id: (t, theme) for t, theme in enumerate(codebook.themes)}
        # memos by string hash: ORTH -> (globs of the lower-cased form, exact words), LEMMA -> globs,
        # and (ORTH, LEMMA) -> _Token (_INERT for the tokens that match no word of a term)
        self._orth_memo: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
        self._lemma_memo: dict[int, frozenset[int]] = {}
        self._token_memo: dict[tuple[int, int], _Token] = {}

    def _orth_entry(self, orth: int) -> tuple[frozenset[int], frozenset[int]]:
        """(globs its lower-cased form matches, =Exact words it matches) for a written form (ORTH hash)."""
        vocab = self.nlp.vocab
        text = vocab.strings[orth]
        forms = self._globs(vocab.strings[vocab[orth].lower])  # LOWER, as the token has it
        exacts = frozenset(i for i, (lits, rx) in enumerate(self._exact)
                           if (text in lits if lits is not None else rx.search(text)))
        return (forms, exacts) if forms or exacts else _NO_MATCH

    def _lemma_entry(self, lemma: int) -> frozenset[int]:
        """Globs that a lemma (LEMMA hash; 0 for none), lower-cased, matches."""
        text = self.nlp.vocab.strings[lemma] if lemma else ""
        return self._globs(text.lower()) if text else _NONE

    def _token(self, orth: int, lemma: int) -> _Token:
        """The entry of a token with ORTH hash ``orth`` and LEMMA hash ``lemma`` (memos filled)."""
        forms, exacts = self._orth_memo[orth]
        lemmas = self._lemma_memo[lemma]
        globs = forms | lemmas
        singles, chains, starts = [], {}, []
        for gid in sorted(globs):
            for rule in self._by_glob.get(gid, ()):
                if not rule.plain:
                    starts.append(rule)
                elif len(rule.words) == 1:
                    singles.append((rule.order, rule))
                else:
                    chains.setdefault(rule.words[1][1], []).append(rule)
        for eid in sorted(exacts):
            starts += self._by_exact.get(eid, ())
        return _Token(forms, lemmas, globs, exacts, tuple(sorted(singles, key=itemgetter(0))),
                      {g: tuple(rs) for g, rs in chains.items()} if chains else _NO_CHAINS, tuple(starts),
                      self._word(orth, lemma))

    def _word(self, orth: int, lemma: int) -> str:
        """The lemma, else the lower-cased form, lower-cased: what a weak hit counts."""
        vocab = self.nlp.vocab
        return ((vocab.strings[lemma] if lemma else "") or vocab.strings[vocab[orth].lower]).lower()

    def _tokens(self, orths: list[int], lemmas: list[int]) -> list[_Token]:
        """The memo entry of each token, by its ORTH and LEMMA hashes; entries not seen before are worked out."""
        keys = list(zip(orths, lemmas))
        token_memo = self._token_memo
        try:
            return list(map(token_memo.__getitem__, keys))  # the usual case once the vocabulary is known
        except KeyError:
            pass
        orth_memo, lemma_memo = self._orth_memo, self._lemma_memo
        new = set(keys).difference(token_memo)
        if len(token_memo) + len(new) > MEMO_LIMIT:
            # entries depend on their word alone: dropping them only costs time
            # (the ORTH and LEMMA memos hold no more words than the token memo's keys)
            token_memo.clear()
            orth_memo.clear()
            lemma_memo.clear()
            new = set(keys)
        for orth in {orth for orth, _ in new}.difference(orth_memo):
            orth_memo[orth] = self._orth_entry(orth)
        for lemma in {lemma for _, lemma in new}.difference(lemma_memo):
            lemma_memo[lemma] = self._lemma_entry(lemma)
        for orth, lemma in new:
            # a token that matches no glob or exact word is _INERT (a '#' may still match it: see nums)
            matches = orth_memo[orth] is not _NO_MATCH or lemma_memo[lemma]
            token_memo[orth, lemma] = self._token(orth, lemma) if matches else _INERT
        return list(map(token_memo.__getitem__, keys))

    def _scan(self, doc: Doc) -> tuple[list[tuple[int, int, int, _Rule]], list[_Token], list[int], list[int],
                                       list[int], list[int]]:
        """The matches in ``doc`` as sorted (start, end, codebook order, rule) (see ``matches``), with,
        per token, its entry, character offset, length, ORTH and LEMMA hashes."""
        if not len(doc):
            return [], [], [], [], [], []
        orths, lemmas, nums, idx, lengths = doc.to_array([ORTH, LEMMA, LIKE_NUM, IDX, LENGTH]).T.tolist()
        toks = self._tokens(orths, lemmas)
        n = len(toks)
        found: list[tuple[int, int, int, _Rule]] = []
        append = found.append
        for i, tok in enumerate(toks):
            if tok is _INERT:
                continue
            for order, rule in tok.singles:
                append((i, i + 1, order, rule))
            if tok.chains and i + 1 < n:
                # plain terms of two or more words: only those whose second word the next token matches
                chains = tok.chains
                for g2 in toks[i + 1].globs:
                    for rule in chains.get(g2, ()):
                        e = i + len(rule.globs)
                        if e <= n:
                            span = toks[i:e]
                            if (all(g in t.forms for g, t in zip(rule.globs, span))
                                    or all(g in t.lemmas for g, t in zip(rule.globs, span))):
                                append((i, e, rule.order, rule))
            for rule in tok.starts:
                e = i + len(rule.words)
                if e <= n and all(self._word_ok(word, doc, j, toks[j], nums[j]) for j, word in enumerate(rule.words, i)):
                    append((i, e, rule.order, rule))
        if self._by_num and any(nums):
            for i in [i for i, num in enumerate(nums) if num]:
                for rule in self._by_num:  # terms that start with '#'
                    e = i + len(rule.words)
                    if e <= n and all(self._word_ok(word, doc, j, toks[j], nums[j])
                                      for j, word in enumerate(rule.words, i)):
                        append((i, e, rule.order, rule))
        found.sort(key=_MATCH_ORDER)
        return found, toks, idx, lengths, orths, lemmas

    @staticmethod
    def _word_ok(word: tuple[str, int, str | None], doc: Doc, j: int, tok: _Token, num: int) -> bool:
        """Whether token ``j`` (memo entry ``tok``, LIKE_NUM ``num``) matches a word of a term that is not plain."""
        kind, wid, pos = word
        if kind == "glob":
            ok = wid in tok.globs
        elif kind == "exact":
            ok = wid in tok.exacts
        else:
            ok = bool(num)
        return ok and (not pos or doc[j].pos_ == pos)

    def matches(self, doc: Doc) -> list[tuple[Term, int, int]]:
        """Every (term, token start, token end) where a term of the codebook matches in ``doc``.

        A token matches a glob word when its lower-cased form (``LOWER``) or
        its lemma, lower-cased, matches the glob; an ``=Exact`` word when its
        text (``ORTH``) is one of the spellings (or matches the pattern); ``#``
        when it looks like a number (``LIKE_NUM``); ``/POS`` also needs the
        token's ``pos_``. Plain terms (globs only, no POS) need all their
        words matched by forms or all by lemmas; other terms may mix. Every
        match counts, overlapping or nested; sorted by start, end and
        codebook order. Terms with ``/POS`` words are skipped when the
        pipeline has no tagger.
        """
        return [(rule.term, s, e) for s, e, _, rule in self._scan(doc)[0]]

    @cached_property
    def codebook_table(self) -> pd.DataFrame:
        """``codebook_frame(self.codebook)``, built once per tagger (the codebook does not change); do not modify."""
        return codebook_frame(self.codebook)

    @cached_property
    def versions(self) -> dict:
        """Codebook version and sha256 and the model's description, worked out once per tagger.

        The model's checksum reads every file of its folder; the model was
        loaded before, so the files it describes are the ones read then.
        The manifest must not depend on where the checkout lives, so a model
        path inside the project is recorded relative to it.
        """
        from pipeline import config
        from pipeline import nlp as nlp_mod

        model = dict(nlp_mod.model_info(self.nlp))
        if model.get("path"):
            path = Path(model["path"]).resolve()
            model["path"] = (str(path.relative_to(config.PROJECT_ROOT)) if path.is_relative_to(config.PROJECT_ROOT)
                             else path.name)
        return {
            "codebook": {"version": str(self.codebook.version), "sha256": self.codebook.sha256},
            "tagger_model": model,
        }

    def _docs(self, texts: list[str], batch_size: int = 64):
        """The model's docs of ``texts``, in order (lazily, ``batch_size`` texts at a time)."""
        return self.nlp.pipe(texts, batch_size=batch_size, disable=self._disable)

    def _counted(self, doc: Doc) -> list[tuple[int, int, _Rule, int, int, str]]:
        """The counted matches in ``doc``: (token start, token end, rule, char start, char end, word).

        In ``matches`` order. A match of an ``ignore`` term does not count,
        nor does a match that lies wholly inside a match of an ``ignore`` term
        of its theme. ``word`` is what a weak hit counts (see ``Hit``).
        """
        found, toks, idx, lengths, orths, lemmas = self._scan(doc)
        # (theme, start, end) of every token span that lies inside a match of one of the theme's ignore terms
        ignored: set[tuple[str, int, int]] = set()
        for s, e, _, rule in found:
            if rule.term.kind == "ignore":
                theme_id = rule.term.theme_id
                ignored.update((theme_id, a, b) for a in range(s, e) for b in range(a + 1, e + 1))
        counted = []
        for s, e, _, rule in found:
            term = rule.term
            if term.kind == "ignore" or (ignored and (term.theme_id, s, e) in ignored):
                continue
            word = toks[s].word if e == s + 1 else ""
            if not word:  # several words, or a '#' on a token that matches no glob (_INERT)
                word = " ".join(toks[j].word or self._word(orths[j], lemmas[j]) for j in range(s, e))
            counted.append((s, e, rule, idx[s], idx[e - 1] + lengths[e - 1], word))
        return counted

    def hits(self, texts: list[str], offsets: list[int], batch_size: int = 64) -> list[list[Hit]]:
        """Counted hits per text (ignore contexts applied); ``offsets`` shift char offsets into the post."""
        return [[Hit(rule.term, i, s, e, off + start, off + end, word)
                 for s, e, rule, start, end, word in self._counted(doc)]
                for i, (doc, off) in enumerate(zip(self._docs(texts, batch_size), offsets))]

    def tag(self, posts: pd.DataFrame, segments: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Tag the response posts: returns (tags, theme_matrix) frames.

        ``segments`` defaults to ``segments_frame(posts)``. Evidence offsets
        point into ``posts.text_clean``; ``matched_text`` is that slice.
        """
        if segments is None:
            segments = segments_frame(posts)
        is_response = [kind == "response" for kind in posts["kind"].tolist()]
        response_ids = list(compress(posts["post_id"].tolist(), is_response))
        text_of = dict(zip(response_ids, compress(posts["text_clean"].tolist(), is_response)))
        # the segments of the response posts, ordered by post and seq
        seg_rows = sorted((row for row in zip(*(segments[c].tolist() for c in _SEGMENT_COLUMNS)) if row[0] in text_of),
                          key=itemgetter(0, 1))
        seg_posts, _, seg_ids, roles, qnos, starts, ends = (list(c) for c in zip(*seg_rows)) if seg_rows else [[]] * 7
        texts = [text_of[p][s:e] for p, s, e in zip(seg_posts, starts, ends)]
        # post -> theme -> counted hits as (term kind, word, segment_id, rule, start, end), offsets into the post
        by_post: dict[str, dict[str, list[tuple[str, str, str, _Rule, int, int]]]] = {}
        for k, (pid, sid, role, qno, doc) in enumerate(zip(seg_posts, seg_ids, roles, qnos, self._docs(texts))):
            if role == "question":
                # a question segment counts (answers_to terms only) when the group answered it:
                # the next segment of the post is an answer to the same question number
                nxt = k + 1
                answered = (nxt < len(seg_posts) and seg_posts[nxt] == pid and roles[nxt] == "answer"
                            and not pd.isna(qnos[nxt]) and not pd.isna(qno) and qnos[nxt] == qno)
                if not answered:
                    continue
                counted = [c for c in self._counted(doc) if c[2].term.kind == "answers_to"]
            else:
                counted = [c for c in self._counted(doc) if c[2].term.kind != "answers_to"]
            if counted:
                off = int(starts[k])
                themes = by_post.setdefault(pid, {})
                for _, _, rule, start, end, word in counted:
                    term = rule.term
                    themes.setdefault(term.theme_id, []).append((term.kind, word, sid, rule, off + start, off + end))
        ids = list(self.codebook.ids)
        flags = np.zeros((len(response_ids), len(ids)), dtype=np.int8)
        tag_rows = []
        for r, pid in enumerate(response_ids):
            found = by_post.get(pid)
            if not found:
                continue
            text = text_of[pid]
            for theme_id, hits in found.items():
                t, theme = self._theme_of[theme_id]
                if _theme_holds(theme, hits):  # no hit never decides a theme (min_weak >= 1)
                    flags[r, t] = 1
                    tag_rows.extend([(pid, sid, theme_id, rule.name, rule.term.text, kind, text[start:end], start, end)
                                     for kind, _, sid, rule, start, end in hits])
        # one row per (post, theme, rule, offsets): the same post and offsets mean the same segment and
        # text, so the rows dropped are copies; then ordered by post, offsets, theme and rule
        rows = list({(r[0], r[2], r[3], r[7], r[8]): r for r in reversed(tag_rows)}.values())
        rows.sort(key=itemgetter(0, 7, 8, 2, 3))
        matrix = pd.DataFrame(flags, columns=ids)
        post_ids = pd.Series(response_ids)
        board = dict(zip(response_ids, compress(posts["board_id"].tolist(), is_response)))
        matrix.insert(0, "post_id", post_ids)
        # the column Series.map(board) gives, built directly (map costs more; on no posts it gives float64)
        board_ids = pd.Series([board[p] for p in response_ids]) if response_ids else post_ids.map(board)
        matrix.insert(1, "board_id", board_ids)
        matrix.insert(2, "n_themes", flags.sum(axis=1, dtype=np.int16))
        return _tags_frame(rows), matrix

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
        return _theme_holds(theme, [(h.term.kind, h.word) for h in hits])


def _theme_holds(theme, hits) -> bool:
    """``Tagger.decide`` over hits given as records whose first two items are the term's kind and the word."""
    if any(h[0] in ("strong", "answers_to") for h in hits):
        return True
    return len({h[1] for h in hits if h[0] == "weak"}) >= theme.min_weak


def _tags_frame(rows: list[tuple]) -> pd.DataFrame:
    """The ``tags`` frame of rows in ``TAG_COLUMNS`` order."""
    return frame_from_tuples(rows, TAG_COLUMNS, int32=("start", "end"))


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
    return {"codebook": tagger.codebook_table.copy(), "segments": segments, "tags": tags,
            "theme_matrix": matrix}


def tagger_versions(tagger: Tagger) -> dict:
    """What to record in the manifest: codebook version and sha256, and the model used (a copy of ``Tagger.versions``)."""
    return copy.deepcopy(tagger.versions)


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
