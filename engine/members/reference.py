"""Reference lists for member declarations, and accent-/case-insensitive matching to their canonical
spelling ('kinh' → 'Kinh', 'Khmer' → 'Khơ-me', 'dai hoc' → 'Đại học')."""
from __future__ import annotations

import re
from functools import lru_cache

from engine.vntext import fold

SEXES = ["Nam", "Nữ"]

# The 54 ethnic groups of Vietnam (Decision 121-TCTK/PPCĐ, 1979, names as in the 2019 census), Kinh first.
ETHNIC_GROUPS = [
    "Kinh", "Tày", "Thái", "Hoa", "Khơ-me", "Mường", "Nùng", "Mông", "Dao", "Gia-rai",
    "Ngái", "Ê-đê", "Ba-na", "Xơ-đăng", "Sán Chay", "Cơ-ho", "Chăm", "Sán Dìu", "Hrê", "Mnông",
    "Ra-glai", "Xtiêng", "Bru-Vân Kiều", "Thổ", "Giáy", "Cơ-tu", "Gié-Triêng", "Mạ", "Khơ-mú", "Co",
    "Tà-ôi", "Chơ-ro", "Kháng", "Xinh-mun", "Hà Nhì", "Chu-ru", "Lào", "La Chí", "La Ha", "Phù Lá",
    "La Hủ", "Lự", "Lô Lô", "Chứt", "Mảng", "Pà Thẻn", "Cơ Lao", "Cống", "Bố Y", "Si La",
    "Pu Péo", "Brâu", "Ơ Đu", "Rơ-măm",
]
ETHNIC_ALIASES = {
    "Việt": "Kinh", "Kinh (Việt)": "Kinh", "Khmer": "Khơ-me", "Khơ Me": "Khơ-me", "H'Mông": "Mông",
    "Hmông": "Mông", "Hmong": "Mông", "Mèo": "Mông", "Ê Đê": "Ê-đê", "Rhade": "Ê-đê", "Jrai": "Gia-rai",
    "Bahnar": "Ba-na", "K'Ho": "Cơ-ho", "Cơ Ho": "Cơ-ho", "Raglai": "Ra-glai", "Stiêng": "Xtiêng",
    "Vân Kiều": "Bru-Vân Kiều", "Bru": "Bru-Vân Kiều", "Katu": "Cơ-tu", "Khmu": "Khơ-mú",
    "Hoa (Hán)": "Hoa", "Pà Hưng": "Pà Thẻn", "M'Nông": "Mnông", "Xê Đăng": "Xơ-đăng",
}

# Religions recognised in Vietnam, "Không" (none) first.
RELIGIONS = [
    "Không", "Phật giáo", "Công giáo", "Tin lành", "Cao Đài", "Hòa Hảo", "Hồi giáo", "Bà-la-môn",
    "Tịnh độ cư sĩ Phật hội Việt Nam", "Tứ Ân Hiếu Nghĩa", "Bửu Sơn Kỳ Hương", "Minh Sư đạo",
    "Minh Lý đạo", "Baha'i", "Cơ đốc Phục lâm", "Mặc môn", "Khác",
]
RELIGION_ALIASES = {
    "Phật giáo Hòa Hảo": "Hòa Hảo", "Đạo Phật": "Phật giáo", "Phật": "Phật giáo", "Thiên Chúa giáo": "Công giáo",
    "Thiên Chúa": "Công giáo", "Công giáo La Mã": "Công giáo", "Đạo Tin lành": "Tin lành", "Tin lành giáo": "Tin lành",
    "Đạo Cao Đài": "Cao Đài", "Islam": "Hồi giáo", "Bà La Môn": "Bà-la-môn", "Không tôn giáo": "Không",
    "Không có": "Không", "Không theo tôn giáo": "Không",
}

# Trình độ học vấn (general education, 12-year system), highest first.
GENERAL_EDUCATION = [f"{n}/12" for n in range(12, 0, -1)] + ["Không"]
PROFESSIONAL_LEVELS = ["Không", "Sơ cấp", "Trung cấp", "Cao đẳng", "Đại học", "Thạc sĩ", "Tiến sĩ"]
PROFESSIONAL_ALIASES = {"Cử nhân": "Đại học", "Kỹ sư": "Đại học", "Thạc sỹ": "Thạc sĩ", "Tiến sỹ": "Tiến sĩ",
                        "Cao học": "Thạc sĩ", "TS": "Tiến sĩ", "ThS": "Thạc sĩ", "CĐ": "Cao đẳng", "ĐH": "Đại học"}
POLITICAL_LEVELS = ["Không", "Sơ cấp", "Trung cấp", "Cao cấp", "Cử nhân"]

SEX_ALIASES = {"Nu": "Nữ", "Male": "Nam", "Female": "Nữ"}


def match_key(text: object) -> str:
    """Accent-, case-, space- and punctuation-insensitive key: 'Khơ-me' ≡ 'khome' ≡ 'Kho Me'."""
    return re.sub(r"[^a-z0-9/]", "", fold(str(text) if text is not None else ""))


def _index(canonical: list[str], aliases: dict[str, str] | None = None) -> dict[str, str]:
    index = {match_key(a): c for a, c in (aliases or {}).items()}
    index.update({match_key(c): c for c in canonical})
    return index


LISTS: dict[str, list[str]] = {
    "gioi_tinh": SEXES, "dan_toc": ETHNIC_GROUPS, "ton_giao": RELIGIONS, "hoc_van": GENERAL_EDUCATION,
    "chuyen_mon": PROFESSIONAL_LEVELS, "ly_luan_ct": POLITICAL_LEVELS,
}
_INDEXES = {
    "gioi_tinh": _index(SEXES, SEX_ALIASES), "dan_toc": _index(ETHNIC_GROUPS, ETHNIC_ALIASES),
    "ton_giao": _index(RELIGIONS, RELIGION_ALIASES), "hoc_van": _index(GENERAL_EDUCATION),
    "chuyen_mon": _index(PROFESSIONAL_LEVELS, PROFESSIONAL_ALIASES), "ly_luan_ct": _index(POLITICAL_LEVELS),
}


def canonical(list_key: str, value: object) -> str | None:
    """The canonical spelling of ``value`` in the list ``list_key`` ('dan_toc', …), or None."""
    if isinstance(value, str):  # a list repeats a handful of spellings thousands of times
        return _canonical_text(list_key, value)
    return _canonical(list_key, value)


@lru_cache(maxsize=4096)
def _canonical_text(list_key: str, value: str) -> str | None:
    return _canonical(list_key, value)


def _canonical(list_key: str, value: object) -> str | None:
    key = match_key(value)
    if list_key == "hoc_van" and re.fullmatch(r"(lop)?\d{1,2}", key):
        key = re.sub(r"\D", "", key) + "/12"
    return _INDEXES[list_key].get(key) if key else None
