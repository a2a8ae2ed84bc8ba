"""Card pages (/cards): requests with their timeline, the print queue and batches, the preview PDF, the fee
ledger, the VietinBank list and the reports; scope (403 for another unit) and bad ids (404)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from engine import uploads, vntext
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.members.models import Member
from engine.membercodes import member_code, vpoint_code
from engine.models import HumanTask, ProcessInstance, ProcessVersion
from engine.orgtree import unit_by_code

AT = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
LETTER = b"%PDF-1.4 letter"
BATCH_PDF = b"%PDF-1.4 batch"


@dataclass
class Cards:
    own: int = 0  # request of cdcs's unit 102.08.01.001, in a ready batch
    other: int = 0  # request of 102.08.01.002, waiting for the level above (open task)
    batch: int = 0
    rendering: int = 0
    member: int = 0  # cdcs's member (with a photo)
    other_member: int = 0
    task: int = 0
    names: dict[str, str] = field(default_factory=dict)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (240, 360), (180, 150, 120)).save(out, "JPEG")
    return out.getvalue()


def _store(app, name: str, content: bytes) -> str:
    return uploads.store(app.config["UPLOAD_DIR"], "test", name, io.BytesIO(content)).reference


@pytest.fixture
def cards(app) -> Cards:
    from web.extensions import db

    out = Cards()
    with app.app_context():
        s = db.session
        own_unit, other_unit = unit_by_code(s, "102.08.01.001"), unit_by_code(s, "102.08.01.002")
        province, district = unit_by_code(s, "102.08"), unit_by_code(s, "102.08.01")
        name = "Ngô Thị Ánh Dương"
        member = Member(serial=90001, member_code=member_code(90001), vpoint_code=vpoint_code(90001),
                        unit_id=own_unit.id, full_name=name, name_fold=vntext.fold(name),
                        sort_key=vntext.name_sort_bytes(name), id_number="052090000099", birth_date=date(1990, 1, 2),
                        photo_ref=_store(app, "052090000099.jpg", _jpeg()))
        s.add(member)
        s.flush()
        other_member = s.scalars(select(Member).where(Member.unit_id == other_unit.id).order_by(Member.id)).first()
        out.member, out.other_member = member.id, other_member.id
        out.names = {"own": name, "other": other_member.full_name}

        batch = CardBatch(province_id=province.id, status="ready", card_count=1, sheet_count=1, created_at=AT,
                          pdf_ref=_store(app, "lo.pdf", BATCH_PDF), progress_done=1, progress_total=1,
                          skipped=[{"member_code": "", "full_name": "Trần Văn Thiếu", "reason": "Thiếu mã đoàn viên"}])
        rendering = CardBatch(province_id=province.id, status="rendering", card_count=10, progress_done=3,
                              progress_total=10, created_at=AT)
        s.add_all([batch, rendering])
        s.flush()
        own = CardRequest(unit_id=own_unit.id, province_id=province.id, status="ready", standard_count=1,
                          linked_count=0, letter_ref=_store(app, "dang_ky_in_the.pdf", LETTER),
                          letter_number="07/ĐK-CĐCS", signer_name="Ngô Thị Ánh", request_date=date(2026, 3, 1),
                          created_at=AT, forwarded_at=AT, batch_id=batch.id)
        version = s.scalars(select(ProcessVersion)).first()
        instance = ProcessInstance(version_id=version.id, process_id=version.process_id, title="In thẻ",
                                   subject_unit_id=other_unit.id)
        s.add_all([own, instance])
        s.flush()
        other = CardRequest(unit_id=other_unit.id, province_id=province.id, status="submitted", linked_count=1,
                            request_date=date(2026, 3, 1), created_at=AT, instance_id=instance.id)
        s.add(other)
        s.flush()
        item = CardItem(request_id=own.id, member_id=member.id, card_type="standard", reason="lost",
                        status="printed", batch_id=batch.id, printed_at=AT)
        s.add_all([item, CardItem(request_id=other.id, member_id=other_member.id, card_type="linked",
                                  reason="first", vietinbank_payroll=True)])
        s.flush()
        s.add(FeeEntry(item_id=item.id, batch_id=batch.id, unit_id=own_unit.id, member_id=member.id, kind="reprint",
                       amount=10000, payer="member", note="In lại thẻ (mất thẻ)", created_at=AT))
        task = HumanTask(instance_id=instance.id, task_uuid="t-1", element_id="review", name="Duyệt đề nghị in thẻ",
                         role="upper_reviewer", unit_id=district.id, status="open")
        s.add(task)
        s.commit()
        out.own, out.other, out.batch, out.rendering, out.task = own.id, other.id, batch.id, rendering.id, task.id
    return out


def test_login_required(client, cards):
    response = client.get("/cards")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_requests_list_and_nav(client, login, cards):
    login(client, "cdcs")
    page = client.get("/cards").get_data(as_text=True)
    assert f'href="/cards/requests/{cards.own}"' in page and f'href="/cards/requests/{cards.other}"' not in page
    assert "/processes#card_printing" in page and "Đề nghị in thẻ mới" in page
    assert 'href="/cards"' in page and "Thẻ đoàn viên" in page  # the nav link
    assert "Tệp in đã sẵn sàng" in page  # the status badge
    login(client, "quynhon")
    page = client.get("/cards").get_data(as_text=True)
    assert f'href="/cards/requests/{cards.own}"' in page and f'href="/cards/requests/{cards.other}"' in page
    filtered = client.get("/cards?status=submitted&page=x").get_data(as_text=True)
    assert f'href="/cards/requests/{cards.other}"' in filtered and f'href="/cards/requests/{cards.own}"' not in filtered


def test_request_detail_scope_and_letter(client, login, cards):
    login(client, "cdcs")
    response = client.get(f"/cards/requests/{cards.own}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (cards.names["own"], "07/ĐK-CĐCS", "mất thẻ", "Tải công văn đề nghị", "10.000 ₫",
                 "Cấp trên duyệt và chuyển LĐLĐ tỉnh/TP", "LĐLĐ tỉnh/TP in thẻ", "Giao thẻ về CĐCS"):
        assert text in page, text
    assert f"/cards/batches/{cards.batch}/pdf" not in page  # the batch PDF belongs to the print shop
    letter = client.get(f"/cards/requests/{cards.own}/letter")
    assert letter.status_code == 200 and letter.data == LETTER
    assert client.get(f"/cards/requests/{cards.other}").status_code == 403
    assert client.get(f"/cards/requests/{cards.other}/letter").status_code == 403
    assert client.get("/cards/requests/999999").status_code == 404
    assert client.get("/cards/requests/abc").status_code == 404


def test_open_task_button_for_the_level_above(app, client, login, cards):
    login(client, "cdcscang")
    assert client.get(f"/cards/requests/{cards.other}").status_code == 403
    login(client, "quynhon")
    page = client.get(f"/cards/requests/{cards.other}").get_data(as_text=True)
    assert f'href="/tasks/{cards.task}"' in page and "Duyệt đề nghị in thẻ" in page
    assert "Chưa có công văn" in page
    assert client.get(f"/cards/requests/{cards.other}/letter").status_code == 404
    with app.app_context():
        from web.extensions import db

        instance_id = db.session.get(CardRequest, cards.other).instance_id
    response = client.get(f"/cards/by-instance/{instance_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cards/requests/{cards.other}")
    assert client.get("/cards/by-instance/999999").status_code == 404
    login(client, "admin")
    page = client.get(f"/cards/requests/{cards.other}").get_data(as_text=True)
    assert f'href="/tasks/{cards.task}"' not in page and "Đang chờ" in page


def test_print_queue_batch_pdf_and_progress(client, login, cards):
    login(client, "intinh")
    queue = client.get("/cards/batches").get_data(as_text=True)
    assert f'href="/cards/batches/{cards.batch}"' in queue and f'href="/cards/batches/{cards.rendering}"' in queue
    page = client.get(f"/cards/batches/{cards.batch}").get_data(as_text=True)
    assert "Trần Văn Thiếu" in page and "Thiếu mã đoàn viên" in page and "Tải tệp in (PDF)" in page
    pdf = client.get(f"/cards/batches/{cards.batch}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    request_page = client.get(f"/cards/requests/{cards.own}").get_data(as_text=True)
    assert f"/cards/batches/{cards.batch}/pdf" in request_page
    rendering = client.get(f"/cards/batches/{cards.rendering}").get_data(as_text=True)
    assert 'id="progress"' in rendering and "js/progress.js" in rendering
    progress = client.get(f"/cards/batches/{cards.rendering}/progress.json").get_json()
    assert progress == {"status": "rendering", "label": "Đang tạo tệp in", "note": "Đang tạo tệp in", "done": 3,
                        "total": 10, "finished": False, "percent": 30}
    assert client.get(f"/cards/batches/{cards.rendering}/pdf").status_code == 404
    assert client.get("/cards/batches/999999").status_code == 404
    login(client, "cdcs")
    assert f'href="/cards/batches/{cards.batch}"' not in client.get("/cards/batches").get_data(as_text=True)
    assert client.get(f"/cards/batches/{cards.batch}").status_code == 403
    assert client.get(f"/cards/batches/{cards.batch}/pdf").status_code == 403
    assert client.get(f"/cards/batches/{cards.batch}/progress.json").status_code == 403


def test_member_preview_pdf(client, login, cards):
    login(client, "cdcs")
    response = client.get(f"/cards/members/{cards.member}/preview.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert client.get(f"/cards/members/{cards.other_member}/preview.pdf").status_code == 403
    assert client.get("/cards/members/999999/preview.pdf").status_code == 404


def test_fee_ledger_page_and_export(client, login, cards, unit_id):
    login(client, "quynhon")
    page = client.get("/cards/fees").get_data(as_text=True)
    assert cards.names["own"] in page and "In lại thẻ" in page and 'id="fee-total">10.000 ₫' in page
    assert "/cards/fees.xlsx" in page
    assert client.get(f"/cards/fees?batch_id={cards.batch}&year=2026").status_code == 200
    assert client.get("/cards/fees?unit_id=x&year=abc&batch_id=").status_code == 200
    empty = client.get(f"/cards/fees?unit_id={unit_id('102.08.01.002')}").get_data(as_text=True)
    assert 'id="fee-total">0 ₫' in empty
    assert client.get(f"/cards/fees?unit_id={unit_id('102.08.02.001')}").status_code == 403
    response = client.get("/cards/fees.xlsx?year=2026")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[1][5] == cards.names["own"] and rows[1][8] == 10000


def test_vietinbank_export_and_reports(client, login, cards):
    login(client, "quynhon")
    response = client.get("/cards/vietinbank.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][1] == "Họ và tên" and [r[1] for r in rows[1:]] == [cards.names["other"]]
    assert rows[1][9] == "Có"
    page = client.get("/cards/reports").get_data(as_text=True)
    assert "Công đoàn cơ sở Trường THPT Quốc Học Quy Nhơn" in page and "Thẻ liên kết VietinBank" in page
    assert client.get("/cards/reports?year=2026").status_code == 200
    report = client.get("/cards/reports.xlsx")
    assert report.status_code == 200
    sheet = list(load_workbook(io.BytesIO(report.data))["Báo cáo in thẻ"].iter_rows(values_only=True))
    assert [r[1] for r in sheet[1:-1]] == ["102.08.01.001", "102.08.01.002"]
    assert sheet[1][3:] == (1, 0, 0, 1, 0, 0, 10000, 0) and sheet[2][3:5] == (1, 1)
    login(client, "cdcs")
    own = list(load_workbook(io.BytesIO(client.get("/cards/vietinbank.xlsx").data)).active.iter_rows())
    assert len(own) == 1  # the CĐCS has no linked cards: headers only
