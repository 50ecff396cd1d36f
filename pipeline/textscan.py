"""Quick tests that let a text skip a regular-expression scan that cannot find anything in it.

A case-blind pattern with no literal prefix (``(?i)hilsen|mvh``) is tried at
every character of a text; most texts hold none of its words. These tests
answer "can the pattern match here?" from a substring search, and never
answer no where the pattern would match.
"""
from __future__ import annotations

from functools import lru_cache

# The letters whose case variants in Python's ``re`` are known (tests/test_textscan.py checks them).
_CHECKED_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzæøå")
# Characters that ``re`` with IGNORECASE takes for one of those letters but that
# ``str.lower()`` does not turn into it: "İ" and "ı" match "i", "ſ" matches "s".
# (Every other variant, the Kelvin sign "K" for "k" and the Ångström sign "Å"
# for "å" included, lower-cases to the letter itself.)
_RE_ONLY_CASE_VARIANTS = ("İ", "ı", "ſ")


@lru_cache(maxsize=64)
def _checked(words: tuple[str, ...]) -> bool:
    """True when ``words`` hold only letters of :data:`_CHECKED_LETTERS` and ASCII characters without case."""
    return all(
        char in _CHECKED_LETTERS or (char.isascii() and not char.isalpha()) for word in words for char in word
    )


def may_contain_case_blind(text: str, words: tuple[str, ...]) -> bool:
    """False only when no word of ``words`` occurs in ``text`` as ``re.IGNORECASE`` compares case.

    ``words`` are literals: lower-case letters a-z, æ, ø, å and ASCII
    characters without case (spaces, digits, punctuation). For any other
    character the answer is always True (nothing is known about its case
    variants), as it is for a text holding one of the characters ``re``
    alone takes for a letter ("İ", "ı", "ſ").
    """
    if not _checked(words) or any(char in text for char in _RE_ONLY_CASE_VARIANTS):
        return True
    low = text.lower()
    return any(word in low for word in words)
