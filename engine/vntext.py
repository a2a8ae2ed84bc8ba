"""Vietnamese text: NFC normalisation, accent-free folding, tone-placement-insensitive keys,
legacy-encoding (TCVN3/VNI) detection, and ICU collation by given name."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
# Latin-1 letters that occur in Vietnamese written in Unicode; any other U+00A0..U+00FF character in a
# name is a sign of text typed in a legacy 8-bit font encoding (TCVN3/ABC, VNI) and read as Windows-1252.
_VIETNAMESE_LATIN1 = set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")
# Vowel + a composing letter: how VNI text looks when read as Windows-1252 ("Nguyeãn", "Vieät").
_VNI_PATTERN = re.compile(r"[aeo][âêôãäåùøûõï]|[aeiouy][ùøûõï](?:\b|[^a-z])", re.IGNORECASE)


def nfc(text: str | None) -> str:
    """NFC, trimmed, inner whitespace collapsed."""
    if text is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def fold(text: str | None) -> str:
    """Accent-free lower-case form for search: 'Đặng Thị Thuỷ' → 'dang thi thuy'."""
    decomposed = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tone_key(text: str | None) -> str:
    """A key equal for old- and new-style tone placement ('thuỷ'/'thủy', 'hòa'/'hoà'): per word, the
    tone mark is moved to the end of the word; case-insensitive."""
    words = []
    for word in nfc(text).lower().split(" "):
        decomposed = unicodedata.normalize("NFD", word)
        tones = [c for c in decomposed if c in TONE_MARKS]
        rest = "".join(c for c in decomposed if c not in TONE_MARKS)
        words.append(unicodedata.normalize("NFC", rest) + "".join(tones))
    return " ".join(words)


def legacy_encoding(text: str | None) -> str | None:
    """'TCVN3' or 'VNI' when the text looks like legacy-font Vietnamese read as Windows-1252, else None."""
    value = nfc(text)
    strange = [c for c in value if "\u00a0" <= c <= "\u00ff" and c not in _VIETNAMESE_LATIN1]
    if any(c in "ñöøûïÑÖØÛÏ" for c in strange) or _VNI_PATTERN.search(value):
        return "VNI"
    if strange:
        return "TCVN3"
    return None


@lru_cache(maxsize=1)
def _collator():  # noqa: ANN202
    import icu  # PyICU

    return icu.Collator.createInstance(icu.Locale("vi_VN"))


def sort_key(text: str | None) -> bytes:
    return _collator().getSortKey(nfc(text))


def name_sort_key(full_name: str | None) -> tuple[bytes, bytes]:
    """Vietnamese lists sort by given name (the last word), then by the full name."""
    name = nfc(full_name)
    given = name.rsplit(" ", 1)[-1] if name else ""
    return sort_key(given), sort_key(name)


def name_sort_bytes(full_name: str | None) -> bytes:
    """``name_sort_key`` as one byte string for a database column: ICU keys end with a 0 byte and hold no
    other, so comparing the concatenation byte-wise equals comparing the (given, full) pair."""
    given, full = name_sort_key(full_name)
    return given + full
