"""Member card rendering (issue 4): Code 128, A4 sheets with duplex-mirrored backs, Vietnamese text in the PDF,
bad input (bad photo, missing code) and the one-card preview."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from datetime import date
from urllib.parse import unquote

import pytest
import weasyprint
from PIL import Image

from engine.cards import CardData, barcode, render_batch, render_batch_parallel, render_preview
from engine.cards import render as R
from engine.membercodes import member_code

MM = 96 / 25.4  # CSS px per mm
FAMILY = ["Nguyễn Thị", "Đặng Văn", "Trần Thị Ngọc", "Phạm Thị", "Lê Quang", "Hoàng Minh"]
GIVEN = ["Thủy", "Đức", "Ánh", "Hường", "Vũ"]
NAMES = [f"{FAMILY[k // 5]} {GIVEN[k % 5]}" for k in range(30)]  # 30 distinct names, none inside another


def jpeg(color: tuple[int, int, int] = (180, 150, 120), size: tuple[int, int] = (240, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def card(k: int, **changes) -> CardData:
    data = dict(
        full_name=NAMES[k % len(NAMES)],
        birth_date=date(1970 + k, 1 + k % 12, 1 + k % 28),
        unit_name="Công đoàn cơ sở Trường THPT Quy Nhơn" if k % 2 else "CĐCS Công ty Cổ phần Dệt may Phú Tài",
        member_code=member_code(1000 + k),
        vpoint_code=f"VP{1000 + k:011d}",
        photo=jpeg((100 + k * 4, 120, 140)),
        issue_date=date(2026, 11, 23),
        linked=k % 6 == 0,
    )
    data.update(changes)
    return CardData(**data)


def pdf_text(pdf: bytes) -> list[str]:
    """The text of each page, with whatever extractor the machine has (the test is skipped without one)."""
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
        return out.stdout.decode("utf-8").split("\f")[:-1]
    pytest.skip("no PDF text extractor here: needs pypdf (PyPI) or pdftotext (Debian poppler-utils)")


def boxes(page):
    stack = [page._page_box]
    while stack:
        box = stack.pop()
        yield box
        stack.extend(reversed(getattr(box, "children", ())))


def card_boxes(page) -> dict[int, object]:
    """The card boxes of a laid-out page by input index."""
    found = {}
    for box in boxes(page):
        element = getattr(box, "element", None)
        if element is not None and "card" in (element.get("class") or "").split() and box.element_tag == "div":
            found[int(element.get("data-i"))] = box
    return found


def texts_by_class(page, css_class: str) -> list[str]:
    """Concatenated text of every element with ``css_class`` on a laid-out page, in document order."""
    out: dict[object, list[str]] = {}
    for box in boxes(page):
        element = getattr(box, "element", None)
        if hasattr(box, "text") and element is not None and css_class in (element.get("class") or "").split():
            out.setdefault(element, []).append(box.text)
    return ["".join(parts) for parts in out.values()]


# --- Code 128 ---------------------------------------------------------------------------------------------


def test_code128_member_code_vector():
    # 123456789012 in code set C: start C (105), pairs 12 34 56 78 90 12;
    # checksum (105 + 1*12 + 2*34 + 3*56 + 4*78 + 5*90 + 6*12) % 103 = 1187 % 103 = 54; stop 106.
    values = barcode.encode("123456789012")
    assert values == [105, 12, 34, 56, 78, 90, 12, 54, 106]
    elements = barcode.widths(values)
    assert elements[:6] == [2, 1, 1, 2, 3, 2]  # start C
    assert elements[6:12] == [1, 1, 2, 2, 3, 2]  # value 12
    assert elements[42:48] == [3, 1, 1, 1, 2, 3]  # checksum 54
    assert elements[-7:] == [2, 3, 3, 1, 1, 1, 2]  # stop
    assert sum(elements) == 11 * 8 + 13 == 101
    assert barcode.decode(elements) == "123456789012"


def test_code128_patterns_are_well_formed():
    assert len(set(barcode.PATTERNS)) == 107
    for pattern in barcode.PATTERNS[:-1]:
        widths = [int(w) for w in pattern]
        assert sum(widths) == 11 and sum(widths[0::2]) % 2 == 0  # bars take an even number of modules


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("ABC", [104, 33, 34, 35, 1, 106]),  # (104 + 33 + 2*34 + 3*35) % 103 = 310 % 103 = 1
        # odd digit count: the last digit in set B; (105 + 12 + 2*34 + 3*100 + 4*21) % 103 = 569 % 103 = 54
        ("12345", [105, 12, 34, 100, 21, 54, 106]),
        # B for "VP0", then C (99) for the even run; (104 + 54 + 2*48 + 3*16 + 4*99 + 8*10) % 103 = 778 % 103 = 57
        ("VP00000001000", [104, 54, 48, 16, 99, 0, 0, 0, 10, 0, 57, 106]),
        ("X1Y", [104, 56, 17, 57, 56, 106]),  # (104 + 56 + 2*17 + 3*57) % 103 = 365 % 103 = 56
    ],
)
def test_code128_known_values_and_round_trip(text, values):
    assert barcode.encode(text) == values
    assert barcode.decode(barcode.widths(values)) == text


def test_code128_rejects_bad_input():
    for bad in ("", "Đức", "tab\there"):
        with pytest.raises(ValueError):
            barcode.encode(bad)
    elements = barcode.widths(barcode.encode("123456789012"))
    elements[42:48] = [int(w) for w in barcode.PATTERNS[55]]  # wrong checksum symbol
    with pytest.raises(ValueError, match="checksum"):
        barcode.decode(elements)


def test_barcode_svg_has_one_bar_per_pattern_bar():
    svg = barcode.svg("123456789012")
    assert 'viewBox="0 0 121 40"' in svg  # 101 modules + 2 x 10 quiet zone
    assert svg.count("M") == 8 * 3 + 4  # three bars per symbol, four in the stop pattern


# --- batch sheets -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch30():
    cards = [card(k) for k in range(30)]
    cards[3] = card(3, full_name=unicodedata.normalize("NFD", NAMES[3]))  # decomposed input (Windows IMEs)
    return cards, render_batch(cards)


def test_batch_of_30_has_3_front_and_3_back_sheets(batch30):
    cards, result = batch30
    assert result.pdf.startswith(b"%PDF")
    assert (result.pages, result.cards, result.skipped) == (6, 30, [])
    assert result.warnings == []
    document = weasyprint.HTML(string=R.batch_html(cards)).render()
    assert len(document.pages) == 6
    for page in document.pages:
        assert page.width == pytest.approx(210 * MM, abs=0.01)
        assert page.height == pytest.approx(297 * MM, abs=0.01)


def test_every_name_is_in_the_pdf_text_exactly(batch30):
    _, result = batch30
    pages = pdf_text(result.pdf)
    assert len(pages) == 6
    fronts = "\n".join(pages[0::2])
    for k, name in enumerate(NAMES):
        assert fronts.count(name) == 1, name
        assert fronts.count(member_code(1000 + k)) == 1
        assert pages[2 * (k // 10) + 1].count(f"VP{1000 + k:011d}") == 1  # the Vpoint code on its back sheet
    assert "TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM" in pages[0]
    assert "THẺ ĐOÀN VIÊN CÔNG ĐOÀN" in pages[0]
    assert "trợ giúp pháp lý miễn phí" in pages[1]
    assert re.search(r"Ngày sinh: 01/01/1970", pages[0])


def test_backs_take_the_mirrored_column_for_long_edge_duplex(batch30):
    cards, _ = batch30
    document = weasyprint.HTML(string=R.batch_html(cards)).render()
    for sheet in range(3):
        fronts, backs = card_boxes(document.pages[2 * sheet]), card_boxes(document.pages[2 * sheet + 1])
        assert sorted(fronts) == sorted(backs) == list(range(10 * sheet, 10 * sheet + 10))
        for index, front in fronts.items():
            back = backs[index]
            assert front.width == pytest.approx(85.6 * MM, abs=0.01)
            assert front.height == pytest.approx(53.98 * MM, abs=0.01)
            # flipping the sheet on its long (vertical) edge maps x to page width - x
            assert back.position_x == pytest.approx(210 * MM - front.position_x - front.width, abs=0.01)
            assert back.position_y == pytest.approx(front.position_y, abs=0.01)
        slot0, slot1 = fronts[10 * sheet], fronts[10 * sheet + 1]
        assert slot0.position_x < slot1.position_x  # fronts: first card on the left
        assert backs[10 * sheet].position_x > backs[10 * sheet + 1].position_x  # backs: on the right
        names = texts_by_class(document.pages[2 * sheet], "name")
        assert names == NAMES[10 * sheet:10 * sheet + 10]  # laid out whole, in order, NFC


def test_partial_sheet_and_mirrored_crop_marks():
    cards = [card(k) for k in range(13)]
    document = weasyprint.HTML(string=R.batch_html(cards)).render()
    assert len(document.pages) == 4
    fronts, backs = card_boxes(document.pages[2]), card_boxes(document.pages[3])
    assert sorted(fronts) == sorted(backs) == [10, 11, 12]
    assert backs[12].position_x == pytest.approx(210 * MM - fronts[12].position_x - 85.6 * MM, abs=0.01)


@pytest.mark.parametrize("back", [False, True])
def test_crop_marks_at_every_corner_and_outside_every_card(back):
    svg = unquote(R._marks_uri(tuple(range(10)), back))
    d = re.search(r' d="([^"]+)"', svg).group(1)
    segments = re.findall(r"M([\d.]+) ([\d.]+)([hv])(-?[\d.]+)", d)
    assert len(segments) == 10 * 4 * 2  # two strokes at each of the 4 corners of 10 cards
    cards = [R.slot_position(slot) for slot in range(10)]
    corners = [(x + dx, y + dy) for x, y in cards for dx in (0, 85.6) for dy in (0, 53.98)]
    strokes: dict[tuple[float, float], list[str]] = {corner: [] for corner in corners}
    for x, y, direction, length in segments:
        x, y, length = float(x), float(y), float(length)
        x2, y2 = (x + length, y) if direction == "h" else (x, y + length)
        cx, cy = min(corners, key=lambda c: abs(c[0] - x) + abs(c[1] - y))
        along, across = (x - cx, y - cy) if direction == "h" else (y - cy, x - cx)
        assert across == pytest.approx(0, abs=0.01)  # on the extension of a card edge
        assert 0.5 - 0.01 <= abs(along) <= 1.0 + 0.01 and along * length > 0  # off the corner, going away
        strokes[(cx, cy)].append(direction)
        for left, top in cards:  # never over a card
            for px, py in ((x, y), (x2, y2)):
                assert not (left < px < left + 85.6 and top < py < top + 53.98)
        assert 0 < min(x, x2) and max(x, x2) < 210 and 0 < min(y, y2) and max(y, y2) < 297
    assert all(sorted(directions) == ["h", "v"] for directions in strokes.values())


# --- bad input --------------------------------------------------------------------------------------------


def test_bad_photo_gives_a_placeholder_and_a_warning():
    truncated = jpeg()[:400]
    cards = [card(0, photo=b"this is not an image"), card(1, photo=truncated), card(2, photo=None), card(3)]
    result = render_batch(cards)
    assert result.cards == 4 and result.pages == 2 and result.skipped == []
    reasons = {w.index: w.reason for w in result.warnings}
    assert set(reasons) == {0, 1, 2}
    assert "không phải tệp ảnh" in reasons[0] and "không phải tệp ảnh" in reasons[1]
    assert "Không có ảnh" in reasons[2]
    assert result.warnings[0].member_code == member_code(1000) and result.warnings[0].full_name == NAMES[0]
    html = R.batch_html(cards)
    assert html.count(R.SILHOUETTE_URI) == 3
    assert html.count("data:image/jpeg;base64,") == 1


def test_large_or_rotated_photo_is_reencoded_small():
    big = jpeg(size=(2400, 3600))
    uri, problem = R.prepare_photo(big)
    assert problem is None and uri.startswith("data:image/jpeg;base64,")
    import base64

    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as img:
        assert img.size[0] <= R.PHOTO_PX[0] and img.size[1] <= R.PHOTO_PX[1]
    buffer = io.BytesIO()
    Image.new("RGBA", (200, 300), (10, 20, 30, 128)).save(buffer, "PNG")
    assert R.prepare_photo(buffer.getvalue())[0].startswith("data:image/png;base64,")


def test_missing_or_invalid_code_is_skipped_with_a_reason():
    cards = [card(k) for k in range(12)]
    cards[2] = card(2, member_code=None)
    cards[5] = card(5, member_code="123")
    cards[7] = card(7, member_code=member_code(1007)[:-1] + str((int(member_code(1007)[-1]) + 1) % 10))
    cards[9] = card(9, full_name="   ")
    result = render_batch(cards)
    assert result.cards == 8 and result.pages == 2
    skipped = {s.index: s.reason for s in result.skipped}
    assert set(skipped) == {2, 5, 7, 9}
    assert skipped[2] == "Thiếu mã đoàn viên"
    assert "không hợp lệ" in skipped[5] and "không hợp lệ" in skipped[7]
    assert skipped[9] == "Thiếu họ và tên"
    assert NAMES[2] not in R.batch_html(cards)


def test_nothing_printable_gives_an_empty_result():
    result = render_batch([card(0, member_code="")])
    assert (result.pdf, result.pages, result.cards, len(result.skipped)) == (b"", 0, 0, 1)


def test_values_are_escaped():
    tricky = card(0, full_name='Lê <b>"Tí"</b> & Tèo', unit_name="</div><script>x</script>", vpoint_code="<i>")
    html = R.batch_html([tricky])
    assert "<script>" not in html and '<b>"' not in html and "<i>" not in html
    assert "Lê &lt;b&gt;&quot;Tí&quot;&lt;/b&gt; &amp; Tèo" in html
    document = weasyprint.HTML(string=html).render()
    assert texts_by_class(document.pages[0], "name") == ['Lê <b>"Tí"</b> & Tèo']


# --- preview and parallel ---------------------------------------------------------------------------------


def test_preview_is_one_front_and_one_back_of_card_size_with_everything_inside():
    html, warnings = R.preview_html(card(0, full_name="Nguyễn Thị Ngọc Ánh Hường", linked=True))
    assert warnings == []
    document = weasyprint.HTML(string=html).render()
    assert len(document.pages) == 2
    for page in document.pages:
        assert page.width == pytest.approx(85.6 * MM, abs=0.01)
        assert page.height == pytest.approx(53.98 * MM, abs=0.01)
        for box in boxes(page):
            if hasattr(box, "text") and box.text.strip():  # every word is drawn inside the card
                assert 0 <= box.position_x and box.position_x + box.width <= 85.6 * MM + 0.01, box.text
                assert 0 <= box.position_y and box.position_y + box.height <= 53.98 * MM + 0.01, box.text
    assert "THẺ LIÊN KẾT" in "".join(b.text for b in boxes(document.pages[0]) if hasattr(b, "text"))
    pdf = render_preview(card(0))
    assert pdf.startswith(b"%PDF")
    pages = pdf_text(pdf)
    assert len(pages) == 2 and NAMES[0] in pages[0] and "VP00000001000" in pages[1]


def test_preview_of_a_card_without_code_still_renders_with_a_warning():
    html, warnings = R.preview_html(card(0, member_code=None, photo=b"junk"))
    assert [w.reason for w in warnings] == ["Thiếu mã đoàn viên"]
    assert len(weasyprint.HTML(string=html).render().pages) == 2


def test_parallel_batch_matches_and_reports_progress():
    cards = [card(k) for k in range(30)]
    calls: list[tuple[int, int]] = []
    result = render_batch_parallel(cards, workers=2, chunk_sheets=1, progress=lambda d, t: calls.append((d, t)))
    assert (result.pages, result.cards) == (6, 30)
    assert calls[0] == (0, 30) and calls[-1] == (30, 30)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    if R.merge_available():
        assert result.workers == 2
        pages = pdf_text(result.pdf)
        assert len(pages) == 6
        for k, name in enumerate(NAMES):
            assert pages[2 * (k // 10)].count(name) == 1  # each chunk in its place
    else:
        assert result.workers == 1


def test_odd_types_from_callers_never_crash():
    cards = [
        card(0, photo=memoryview(jpeg())),  # a database driver's buffer
        card(1, member_code=int(member_code(1001))),  # a number: its leading zeros are lost, so it is invalid
        card(2, birth_date="1980-01-01"),  # not a date: left out with a reason
        card(3, full_name=None, unit_name=None, vpoint_code=None),
        card(4, unit_name=None, vpoint_code=None, birth_date=None),
    ]
    result = render_batch(cards)
    assert result.cards == 2 and result.pages == 2
    reasons = {s.index: s.reason for s in result.skipped}
    assert reasons.pop(1).startswith("Mã đoàn viên không hợp lệ (10019)")
    assert reasons == {2: "Dữ liệu thẻ không hợp lệ (AttributeError)", 3: "Thiếu họ và tên"}
    assert result.warnings == []
    pages = pdf_text(result.pdf)
    assert NAMES[0] in pages[0] and "VP00000001000" in pages[1] and "Ngày sinh: —" in pages[0]


def test_text_uses_embedded_noto_fonts(batch30):
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(batch30[1].pdf))
    fonts = set()
    for page in reader.pages[:2]:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]).split("+")[-1])
            assert "/ToUnicode" in font  # real text, extractable
    assert fonts == {"Noto-Sans", "Noto-Sans-Bold"}


def test_parallel_falls_back_to_one_process(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    cards = [card(k) for k in range(25)]

    def broken(*args, **kwargs):
        raise BrokenProcessPool("worker died")

    monkeypatch.setattr(R, "_render_in_pool", broken)
    result = render_batch_parallel(cards, workers=2, chunk_sheets=1)
    assert (result.pages, result.cards, result.workers) == (6, 25, 1)
    monkeypatch.setattr(R, "merge_available", lambda: False)
    result = render_batch_parallel(cards, workers=2, chunk_sheets=1)
    assert (result.pages, result.cards, result.workers) == (6, 25, 1)
    assert sum(text.count("Họ và tên:") for text in pdf_text(result.pdf)) == 25
