"""Vietnamese text as catalogues carry it and as people type it. `normalise` is what is
kept (NFC, with the marks of each letter in the order Unicode composes: the vowel's shape
before its tone, so "e + acute + circumflex" typed in the wrong order still becomes "ế");
`fold` is what search compares (no tones, no shapes, đ as d, lower case), so "truyen
kieu" finds "Truyện Kiều". Hán Nôm and other CJK characters pass through unchanged."""

from __future__ import annotations

import re
import unicodedata

# The marks that shape a Vietnamese vowel (â ê ô, ă, ơ ư) and the five tones.
_SHAPES = frozenset("\u0302\u0306\u031b")
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_SPACES = re.compile(r"\s+")
# A tone typed before its vowel's shape, both of combining class 230 (so NFD keeps their
# order and NFC cannot compose them): the one case `normalise` must reorder.
_MISORDERED = re.compile("[\u0300\u0301\u0303\u0309][\u0300-\u036f]*[\u0302\u0306]")
_REPEATED = re.compile(r"([\u0300-\u036f])[\u0300-\u036f]*\1")


def _in_order(marks: list[str]) -> list[str]:
    """One letter's combining marks: shapes first, then tones, each mark once."""
    seen: list[str] = []
    for mark in sorted(marks, key=lambda m: 0 if m in _SHAPES else 1 if m in _TONES else 2):
        if mark not in seen:
            seen.append(mark)
    return seen


def normalise(text: str) -> str:
    """NFC, with every letter's shape marks placed before its tone mark, repeated marks
    dropped, and runs of white space as one space."""
    if text.isascii():
        return _SPACES.sub(" ", text).strip()
    decomposed = unicodedata.normalize("NFD", text)
    if not _MISORDERED.search(decomposed) and not _REPEATED.search(decomposed):
        return _SPACES.sub(" ", unicodedata.normalize("NFC", decomposed)).strip()
    out: list[str] = []
    marks: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            marks.append(char)
            continue
        out.extend(_in_order(marks))
        marks = []
        out.append(char)
    out.extend(_in_order(marks))
    return _SPACES.sub(" ", unicodedata.normalize("NFC", "".join(out))).strip()


# The combining marks of Latin letters (U+0300-U+036F, all Vietnamese marks among them),
# deleted by one str.translate: the character-by-character test is for the rest.
_LATIN_MARKS = {c: None for c in range(0x300, 0x370) if unicodedata.combining(chr(c))}


def fold(text: str) -> str:
    """What search compares: no combining marks, đ as d, lower case, one space apart."""
    if text.isascii():
        return _SPACES.sub(" ", text.casefold()).strip()
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = decomposed.translate(_LATIN_MARKS).replace("đ", "d")
    if not bare.isascii():  # other scripts' marks, Hán Nôm: the general test
        bare = "".join(c for c in bare if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip()


def exact(text: str) -> str:
    """What tone-aware ranking compares: normalised, lower case."""
    return normalise(text).casefold()


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of `text` (letters and digits; a run of Hán characters is one word)."""
    return _WORD.findall(text)


def has_ideographs(text: str) -> bool:
    """Whether `text` holds CJK ideographs (Hán Nôm, Chinese, Japanese kanji)."""
    return any(unicodedata.name(c, "").startswith("CJK") for c in text)
