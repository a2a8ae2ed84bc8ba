"""The request letter (Đăng ký in thẻ đoàn viên) as a PDF, laid out like an administrative document of
Decree 30/2020: issuer and national heading, number and date, title, addressee, body, signature."""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import weasyprint

from engine.cards.fees import CARD_TYPE_LABELS, REASON_LABELS

CSS = """
@page { size: A4 portrait; margin: 20mm 15mm 20mm 30mm; }
body { font-family: "Noto Serif", serif; font-size: 13pt; line-height: 1.4; color: #000; }
table.head { width: 100%; border-collapse: collapse; }
table.head td { vertical-align: top; text-align: center; font-size: 12pt; }
.upper { text-transform: uppercase; }
.bold { font-weight: bold; }
.line { display: inline-block; border-top: 1px solid #000; width: 40%; margin-top: 1mm; }
.date { font-style: italic; }
h1 { text-align: center; font-size: 14pt; margin: 10mm 0 4mm; }
p { text-align: justify; margin: 2mm 0; }
table.list { width: 100%; border-collapse: collapse; font-size: 11pt; margin-top: 4mm; }
table.list th, table.list td { border: 1px solid #000; padding: 1mm 1.5mm; }
table.list th { background: #eee; }
.sign { width: 50%; margin-left: 50%; text-align: center; margin-top: 8mm; }
.sign .name { margin-top: 18mm; font-weight: bold; }
"""


@dataclass
class LetterLine:
    full_name: str
    birth_date: date | None
    member_code: str
    card_type: str
    reason: str


@dataclass
class Letter:
    parent_name: str  # the level above (issuer's superior line of the heading)
    unit_name: str
    addressee: str
    number: str  # e.g. 03/ĐK-CĐCS
    place: str
    on: date
    standard_count: int
    linked_count: int
    signer_name: str
    signer_title: str
    lines: list[LetterLine]


def _e(value: object) -> str:
    return html.escape(str(value or ""))


def letter_html(letter: Letter) -> str:
    rows = "".join(
        f"<tr><td>{i}</td><td>{_e(line.full_name)}</td>"
        f"<td>{line.birth_date.strftime('%d/%m/%Y') if line.birth_date else ''}</td>"
        f"<td>{_e(line.member_code)}</td><td>{_e(CARD_TYPE_LABELS.get(line.card_type, line.card_type))}</td>"
        f"<td>{_e(REASON_LABELS.get(line.reason, line.reason))}</td></tr>"
        for i, line in enumerate(letter.lines, start=1))
    on = letter.on
    total = letter.standard_count + letter.linked_count
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><style>{CSS}</style></head><body>
<table class="head"><tr>
<td><div class="upper">{_e(letter.parent_name)}</div><div class="upper bold">{_e(letter.unit_name)}</div>
<div class="line"></div><div>Số: {_e(letter.number)}</div></td>
<td><div class="bold">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</div><div class="bold">Độc lập - Tự do - Hạnh phúc</div>
<div class="line"></div>
<div class="date">{_e(letter.place)}, ngày {on.day:02d} tháng {on.month:02d} năm {on.year}</div></td>
</tr></table>
<h1>ĐĂNG KÝ IN THẺ ĐOÀN VIÊN CÔNG ĐOÀN</h1>
<p style="text-align:center">Kính gửi: {_e(letter.addressee)}</p>
<p>{_e(letter.unit_name)} đề nghị cấp trên xem xét, chuyển Liên đoàn Lao động tỉnh/thành phố in thẻ đoàn viên
công đoàn cho <b>{total}</b> đoàn viên, gồm: thẻ thường <b>{letter.standard_count}</b> thẻ; thẻ liên kết
VietinBank <b>{letter.linked_count}</b> thẻ. Danh sách đoàn viên kèm theo.</p>
<table class="list"><thead><tr><th>STT</th><th>Họ và tên</th><th>Ngày sinh</th><th>Mã đoàn viên</th>
<th>Loại thẻ</th><th>Lý do</th></tr></thead><tbody>{rows}</tbody></table>
<div class="sign"><div class="bold">TM. BAN CHẤP HÀNH</div><div class="bold upper">{_e(letter.signer_title)}</div>
<div class="name">{_e(letter.signer_name)}</div></div>
</body></html>"""


def render_letter(letter: Letter) -> bytes:
    return weasyprint.HTML(string=letter_html(letter)).write_pdf()
