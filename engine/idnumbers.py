"""Vietnamese personal ID numbers: 12-digit CCCD and legacy 9-digit CMND.

CCCD = birth province code (3 digits) + century/sex digit + birth year (2 digits) + 6 random digits;
there is no check digit. Century/sex: 0/1 = male/female born 1900–1999, 2/3 = 2000–2099, 4/5 = 2100–2199,
6/7 = 2200–2299, 8/9 = 2300–2399. CMND (9 digits) expired on 31/12/2024 and is accepted as legacy with a
warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Birth-province codes (Circular 07/2016/TT-BCA); births keep their code after the 2025 merger.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}


@dataclass
class IdCheck:
    value: str  # the cleaned number ("" when unusable)
    kind: str | None = None  # "CCCD" | "CMND" | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def clean(raw: object) -> tuple[str, list[str]]:
    """Strip spaces and dots; explain numbers that Excel turned into floats or scientific notation."""
    notes = []
    if isinstance(raw, float):
        if raw != int(raw):
            return "", ["Số định danh bị Excel đổi thành số thập phân; hãy định dạng cột là Văn bản (Text)"]
        raw = int(raw)
        notes.append("Số định danh được Excel lưu dạng số; hãy định dạng cột là Văn bản để giữ số 0 đầu")
    elif isinstance(raw, int):
        notes.append("Số định danh được Excel lưu dạng số; hãy định dạng cột là Văn bản để giữ số 0 đầu")
    text = re.sub(r"[\s.]", "", str(raw or ""))
    if re.fullmatch(r"\d+(,\d+)?E\+?\d+", text, re.IGNORECASE) or re.fullmatch(r"\d\.?\d*e\+\d+", text):
        return "", ["Số định danh bị Excel đổi sang dạng khoa học (vd 1,23E+11); hãy nhập lại dạng Văn bản"]
    return text, notes


def check(raw: object, sex: str | None = None, birth_year: int | None = None) -> IdCheck:
    """Validate a CCCD/CMND against the row's sex ('Nam'/'Nữ') and birth year when given."""
    text, notes = clean(raw)
    result = IdCheck(text)
    if not text:
        result.errors.extend(notes or ["Thiếu số CCCD/CMND"])
        return result
    if not text.isdigit():
        result.errors.append("Số CCCD/CMND chỉ gồm chữ số")
        return result
    lost_zero = notes and len(text) in (8, 11)
    if lost_zero:
        result.errors.append(f"Số có {len(text)} chữ số: Excel đã làm mất số 0 ở đầu "
                             f"(có thể là 0{text}); hãy định dạng cột là Văn bản và nhập lại")
        return result
    if len(text) == 9:
        result.kind = "CMND"
        result.warnings.append("CMND 9 số đã hết hiệu lực từ 31/12/2024; nên cập nhật số CCCD 12 số")
        result.warnings.extend(notes)
        return result
    if len(text) != 12:
        result.errors.append(f"Số CCCD phải có 12 chữ số (CMND cũ: 9 chữ số), số đã nhập có {len(text)}")
        return result
    result.kind = "CCCD"
    result.warnings.extend(notes)
    province, century_sex, year2 = text[:3], int(text[3]), int(text[4:6])
    if province not in PROVINCE_CODES:
        result.errors.append(f"Mã tỉnh nơi đăng ký khai sinh '{province}' trong số CCCD không tồn tại")
    century = 1900 + (century_sex // 2) * 100
    id_sex = "Nam" if century_sex % 2 == 0 else "Nữ"
    if sex and sex in ("Nam", "Nữ") and sex != id_sex:
        result.errors.append(f"Chữ số thứ 4 của CCCD ({century_sex}) ứng với giới tính {id_sex}, "
                             f"không khớp với giới tính {sex}")
    if birth_year is not None and century + year2 != birth_year:
        result.errors.append(f"Chữ số 4–6 của CCCD ứng với năm sinh {century + year2}, "
                             f"không khớp với năm sinh {birth_year}")
    return result
