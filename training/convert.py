"""Convert the Norwegian Dependency Treebank (NDT) with NorNE entities to spaCy DocBin files.

Usage::

    python training/convert.py --treebank ../shared/norne --out training/corpus

Reads ``ndt/nob/*.conll`` (Bokmål) and ``ndt/nno/*.conll`` (Nynorsk): 10-column
CoNLL, form in column 2, lemma in column 3, NDT part-of-speech tag in column 4,
NDT features in column 6, ``name=<BIO>`` in column 10.

Split (by sentence, matching the tuple of token forms against the UD files
in ``ud/nob`` and ``ud/nno``, which are a conversion of the same NDT):

* a sentence equal to a UD **test** sentence is dropped (never used);
* a sentence equal to a UD **dev** sentence goes to ``dev.spacy``;
* every other sentence goes to ``train.spacy``.

Annotations written to the Docs:

* ``pos``: NDT tag mapped to UPOS with ``upos()`` below (an approximation of
  the UD conversion: AUX is guessed from a short lemma list, NUM from the
  NDT feature ``kvant`` on numerals written with digits or number words);
* ``lemma``: as NDT writes it (punctuation lemmas like ``$.`` included);
* sentence starts: consecutive sentences of one file are grouped into Docs of
  up to ``SENTS_PER_DOC`` sentences so the senter sees boundaries;
* entities: NorNE labels, with GPE_LOC and GPE_ORG merged into GPE and the
  rare MISC (35 tokens) dropped to O.

From the train split only, ``variety.json`` is also written: per-word
log-likelihood ratios Nynorsk vs Bokmål and, for word forms whose usual
lemma differs between the two written standards (``er``: ``være``/``vere``),
both lemmas. ``training/finalize.py`` puts them into the ``nb_variety``
component (``pipeline/nlp.py``).

Spacing between tokens is not in NDT; it is reconstructed with a simple
punctuation rule (only affects the raw text the tokenizer sees in training).

Caveat: the NDT texts may not be republished as stand-alone texts; the
corpus folder is git-ignored and only trained weights are shipped.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from spacy.lang.nb import Norwegian
from spacy.tokens import Doc, DocBin

LANGS = {"nob": "no_bokmaal", "nno": "no_nynorsk"}
SENTS_PER_DOC = 10

ENT_MAP = {"GPE_LOC": "GPE", "GPE_ORG": "GPE", "MISC": None}

TAG_TO_UPOS = {
    "subst": "NOUN", "verb": "VERB", "prep": "ADP", "adj": "ADJ", "det": "DET",
    "pron": "PRON", "adv": "ADV", "konj": "CCONJ", "sbu": "SCONJ",
    "inf-merke": "PART", "ukjent": "X", "interj": "INTJ", "symb": "SYM",
    "clb": "PUNCT", "<komma>": "PUNCT", "<strek>": "PUNCT", "<anf>": "PUNCT",
    "<parentes-beg>": "PUNCT", "<parentes-slutt>": "PUNCT",
}
AUX_LEMMAS = {"være", "vere", "bli", "verte", "ha", "kunne", "skulle", "ville",
              "måtte", "burde", "få"}

NO_SPACE_BEFORE = set(",.:;!?)]}%»”")
NO_SPACE_AFTER = set("([{«“")
NUMBER_WORDS = {"en", "ein", "ett", "eitt", "to", "tre", "fire", "fem", "seks", "sju",
                "syv", "åtte", "ni", "ti", "elleve", "tolv", "tjue", "hundre", "tusen"}


def upos(form: str, lemma: str, tag: str, feats: str) -> str:
    """Map an NDT tag (column 4) plus features to a Universal POS tag."""
    feats_set = set(feats.split("|"))
    if tag == "subst" and "prop" in feats_set:
        return "PROPN"
    if tag == "det" and "kvant" in feats_set and (form[:1].isdigit() or lemma in NUMBER_WORDS):
        return "NUM"  # cardinals are det|kvant in NDT; "alle", "mange" etc. stay DET
    if tag == "verb" and lemma in AUX_LEMMAS:
        return "AUX"
    if tag == "clb" and form.isalnum():
        return "X"  # a word tagged as clause boundary (rare annotation slip)
    return TAG_TO_UPOS.get(tag, "X")


def read_conll(path: Path):
    """Yield sentences of a CoNLL/CoNLL-U file as lists of column lists (comments skipped)."""
    sent: list[list[str]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if sent:
                    yield sent
                sent = []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if "-" in cols[0] or "." in cols[0]:
                    continue  # multiword / empty nodes (none expected in Norwegian UD)
                sent.append(cols)
    if sent:
        yield sent


def name_tag(misc: str) -> str:
    """Extract the BIO entity tag from a column like ``SpaceAfter=No|name=B-PER``, mapped."""
    for part in misc.split("|"):
        if part.startswith("name="):
            bio = part[5:]
            if bio == "O":
                return "O"
            prefix, label = bio.split("-", 1)
            label = ENT_MAP.get(label, label)
            return f"{prefix}-{label}" if label else "O"
    return "O"


def fix_bio(tags: list[str]) -> list[str]:
    """Turn an I- tag that does not continue an entity of the same label into B-."""
    out = []
    for i, t in enumerate(tags):
        if t.startswith("I-") and (i == 0 or out[-1] == "O" or out[-1][2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
    return out


def spaces_for(words: list[str]) -> list[bool]:
    """Guess whitespace after each token (NDT does not record it)."""
    spaces = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        sp = nxt is not None and w not in NO_SPACE_AFTER and nxt not in NO_SPACE_BEFORE
        spaces.append(sp)
    return spaces


def make_doc(vocab, sents: list[list[list[str]]]) -> Doc:
    """Build one annotated Doc from NDT sentences (10 columns each)."""
    words, lemmas, pos, starts, ents = [], [], [], [], []
    for sent in sents:
        for i, c in enumerate(sent):
            words.append(c[1])
            lemmas.append(c[2])
            pos.append(upos(c[1], c[2], c[3], c[5]))
            starts.append(i == 0)
        ents.extend(fix_bio([name_tag(c[9]) for c in sent]))
    return Doc(vocab, words=words, spaces=spaces_for(words), lemmas=lemmas,
               pos=pos, sent_starts=starts, ents=ents)


def forms_key(sent: list[list[str]]) -> tuple[str, ...]:
    """Token-form tuple of a sentence, without NDT's headline marker tokens ``|``.

    UD drops the ``|`` that NDT puts at the end of headlines; otherwise the
    forms are identical for all but a handful of sentences (see ``loose_key``).
    """
    return tuple(c[1] for c in sent if c[1] != "|")


def loose_key(forms: tuple[str, ...]) -> str:
    """Lower-cased letters and digits of a sentence, for the fuzzy fallback match."""
    return re.sub(r"[^\w]", "", "".join(forms).lower())


class TestFilter:
    """Decides whether an NDT sentence is (part of) a UD test sentence.

    Exact match on the form tuple (``forms_key``). For the few UD test
    sentences without an exact NDT twin (a corrected token, a different
    sentence split), an NDT sentence is also excluded when its ``loose_key``
    equals, contains or is contained in such a test sentence's key (keys of
    at least 20 characters, so short strings like "( NTB )" do not
    remove unrelated sentences).
    """

    def __init__(self, test_path: Path, ndt_keys: set[tuple[str, ...]]):
        self.exact = {forms_key(s) for s in read_conll(test_path)}
        self.loose = [loose_key(k) for k in self.exact - ndt_keys]
        self.loose = [k for k in self.loose if len(k) >= 20]

    def __call__(self, key: tuple[str, ...]) -> bool:
        if key in self.exact:
            return True
        lk = loose_key(key)
        return len(lk) >= 20 and any(lk == t or lk in t or t in lk for t in self.loose)


def variety_tables(word_counts: dict[str, Counter], lemma_counts: dict[str, dict[str, Counter]],
                   min_word: int = 3, min_form: int = 5, min_share: float = 0.8) -> dict:
    """Tables for telling Bokmål from Nynorsk and fixing lemmas of the other standard.

    ``llr[word]``: add-0.5 smoothed log P(word | nno) - log P(word | nob) over
    lower-cased forms seen ``min_word`` times. ``lemma_fix[variety][form]``:
    ``[lemma in the other standard, lemma in this one]`` for forms seen
    ``min_form`` times in each standard with one lemma in ``min_share`` of
    the cases, the two lemmas differing.
    """
    nob, nno = word_counts["nob"], word_counts["nno"]
    vocab = set(nob) | set(nno)
    den_b = sum(nob.values()) + 0.5 * len(vocab)
    den_n = sum(nno.values()) + 0.5 * len(vocab)
    llr = {w: round(math.log((nno[w] + 0.5) / den_n) - math.log((nob[w] + 0.5) / den_b), 3)
           for w in sorted(vocab) if nob[w] + nno[w] >= min_word}

    def dominant(cnt: Counter) -> str | None:
        lemma, c = cnt.most_common(1)[0]
        total = sum(cnt.values())
        return lemma if total >= min_form and c / total >= min_share else None

    fix: dict[str, dict[str, list[str]]] = {"nob": {}, "nno": {}}
    for form in sorted(set(lemma_counts["nob"]) & set(lemma_counts["nno"])):
        b, n = dominant(lemma_counts["nob"][form]), dominant(lemma_counts["nno"][form])
        if b and n and b != n:
            fix["nob"][form], fix["nno"][form] = [n, b], [b, n]
    return {"llr": llr, "lemma_fix": fix}


def convert(treebank: Path, out: Path) -> dict:
    """Write train.spacy and dev.spacy to ``out``; return split statistics."""
    nlp = Norwegian()
    out.mkdir(parents=True, exist_ok=True)
    train, dev = DocBin(store_user_data=False), DocBin(store_user_data=False)
    stats = {}
    word_counts = {lang: Counter() for lang in LANGS}
    lemma_counts = {lang: defaultdict(Counter) for lang in LANGS}
    for lang, ud_name in LANGS.items():
        files = sorted((treebank / "ndt" / lang).glob("*.conll"))
        ndt_keys = {forms_key(s) for p in files for s in read_conll(p)}
        is_test = TestFilter(treebank / "ud" / lang / f"{ud_name}-ud-test.conllu", ndt_keys)
        dev_set = {forms_key(s) for s in read_conll(treebank / "ud" / lang / f"{ud_name}-ud-dev.conllu")}
        st = {"ndt_sentences": 0, "excluded_ud_test": 0, "excluded_fuzzy": 0, "dev": 0,
              "train": 0, "ud_test_sentences_unique": len(is_test.exact),
              "ud_test_without_exact_ndt_twin": len(is_test.exact - ndt_keys)}
        for path in files:
            buf: dict[str, list] = {"train": [], "dev": []}

            def flush(split):
                if buf[split]:
                    (train if split == "train" else dev).add(make_doc(nlp.vocab, buf[split]))
                    buf[split] = []

            for sent in read_conll(path):
                st["ndt_sentences"] += 1
                forms = forms_key(sent)
                if is_test(forms):
                    st["excluded_ud_test"] += 1
                    st["excluded_fuzzy"] += forms not in is_test.exact
                    flush("train"), flush("dev")  # do not join text across a removed sentence
                    continue
                split = "dev" if forms in dev_set else "train"
                st[split] += 1
                if split == "train":
                    for c in sent:
                        word_counts[lang][c[1].lower()] += 1
                        lemma_counts[lang][c[1]][c[2]] += 1
                buf[split].append(sent)
                if len(buf[split]) >= SENTS_PER_DOC:
                    flush(split)
            flush("train"), flush("dev")
        stats[lang] = st
    train.to_disk(out / "train.spacy")
    dev.to_disk(out / "dev.spacy")
    tables = variety_tables(word_counts, lemma_counts)
    (out / "variety.json").write_text(json.dumps(tables, ensure_ascii=False), encoding="utf-8")
    (out / "stats.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return stats


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--treebank", "--norne", type=Path, default=Path("../shared/norne"),
                    help="folder with ndt/ and ud/ (default ../shared/norne)")
    ap.add_argument("--out", type=Path, default=Path("training/corpus"))
    args = ap.parse_args(argv)
    stats = convert(args.treebank, args.out)
    json.dump(stats, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
