"""Quick tests before case-blind scans: they never say no where the pattern matches."""
from __future__ import annotations

import re
import sys

import pytest

from pipeline import privacy, who
from pipeline.textscan import _CHECKED_LETTERS, _RE_ONLY_CASE_VARIANTS, may_contain_case_blind

GATED = [(who.GREETING_ANCHOR, who.GREETING_WORDS), (privacy._ANCHOR_RE, privacy._ANCHOR_WORDS)]
EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)


@pytest.mark.parametrize("letter", sorted(_CHECKED_LETTERS))
def test_every_case_variant_re_takes_for_a_letter_lower_cases_to_it_or_is_let_through(letter):
    variants = re.findall(re.escape(letter), EVERY_CHARACTER, flags=re.IGNORECASE)
    assert letter in variants
    assert all(v.lower() == letter or v in _RE_ONLY_CASE_VARIANTS for v in variants), variants


@pytest.mark.parametrize(
    "text",
    ["Hilsen Kari", "HILSEN", "hİlsen", "hılsen", "hilſen", "MVH Ola", "Helsing frå oss", "Skolen v/Kari",
     "V/ Per", "Med Besøk Av Ola", "MED BESØK AV", "med besøk  av", "hils en", "ingen hilsing", "",
     "Skolen V/Åse", "med beſøk av Per", "HİLSEN Kari"],
)
def test_a_text_the_pattern_matches_is_let_through(text):
    for pattern, words in GATED:
        if pattern.search(text):
            assert may_contain_case_blind(text, words), (pattern.pattern, text)


def test_a_text_without_the_words_is_stopped():
    assert not may_contain_case_blind("Vi snakket om kulturskolen.", who.GREETING_WORDS)
    assert may_contain_case_blind("Vennlig HILSEN", who.GREETING_WORDS)


def test_words_with_other_letters_are_never_stopped():
    assert may_contain_case_blind("nothing here", ("straße",))
    assert may_contain_case_blind("nothing here", ("Hilsen",))  # upper case: not a lower-case literal
