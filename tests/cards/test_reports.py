"""Card read side (engine.cards.views) and reports (engine.cards.reports) on SQLite and PostgreSQL: scope, the
status timeline, the print queue, the fee ledger totals, the VietinBank list and the per-unit report."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from engine import vntext
from engine.cards import reports, views
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.errors import Forbidden, NotFound
from engine.members.models import Member
from engine.membercodes import member_code, vpoint_code

T2026 = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
T2025 = datetime(2025, 6, 1, 3, 0, tzinfo=timezone.utc)
NEW_YEAR_VN = datetime(2025, 12, 31, 18, 0, tzinfo=timezone.utc)  # 01:00 on 1 January 2026 in Vietnam
FIRST = 8000  # a first card funded by the province (the schedule is configuration; rows are written here)
# key, unit, full name, id number
PEOPLE = [
    ("an", "G1", "Nguyễn Văn An", "052090000001"),
    ("binh", "G1", "Trần Thị Bình", "052090000002"),
    ("cuong", "G1", "Lê Văn Cường", "052090000003"),
    ("cmd", "G1", "=cmd|' /C calc'!A0", "052090000004"),
    ("dung", "G1", "Phạm Thị Dung", "052090000005"),
    ("em", "G1B", "Võ Minh Em", "052090000006"),
    ("hai", "G2", "Đặng Văn Hải", "031190000007"),
    ("hoa", "G3", "Nguyễn Thị Hoa", "031190000008"),
]


@dataclass
class Data:
    members: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)


def add_member(session, unit_id: int, name: str, serial: int, id_number: str) -> Member:
    member = Member(serial=serial, member_code=member_code(serial), vpoint_code=vpoint_code(serial), unit_id=unit_id,
                    full_name=name, name_fold=vntext.fold(name), sort_key=vntext.name_sort_bytes(name),
                    id_number=id_number, birth_date=date(1990, 3, 5), phone="0912345678")
    session.add(member)
    session.flush()
    return member


def fee(session, item: CardItem, unit_id: int, kind: str, amount: int, payer: str, at: datetime = T2026) -> None:
    session.add(FeeEntry(item_id=item.id, batch_id=item.batch_id, unit_id=unit_id, member_id=item.member_id,
                         kind=kind, amount=amount, payer=payer, note="", created_at=at))


@pytest.fixture
def data(sessions, org) -> Data:
    """R1 (G1, printed in batch B1 of P1), R2 (G1B, forwarded), R3 (G2, delivered in 2025 from B2 of P2),
    R4 (G3, returned), with their items and fees."""
    out = Data()
    with sessions() as s:
        u = org.units
        m = {key: add_member(s, u[unit], name, 2001 + n, idn) for n, (key, unit, name, idn) in enumerate(PEOPLE)}
        out.members = {k: v.id for k, v in m.items()}
        b1 = CardBatch(province_id=u["P1"], status="printed", card_count=4, sheet_count=1, created_at=T2026,
                       printed_at=T2026, skipped=[{"member_code": m["dung"].member_code, "full_name": "Phạm Thị Dung",
                                                   "reason": "Thiếu ảnh"},
                                                  {"index": 6, "reason": "Không có mã đoàn viên"}])
        b2 = CardBatch(province_id=u["P2"], status="printed", card_count=1, sheet_count=1, created_at=T2025,
                       printed_at=T2025, warnings=[{"member_code": m["hai"].member_code, "full_name": "Đặng Văn Hải",
                                                    "reason": "Ảnh không đọc được, dùng hình thay thế"}])
        s.add_all([b1, b2])
        s.flush()
        out.batches = {"B1": b1.id, "B2": b2.id}

        def request(unit: str, province: str, status: str, on: date, batch: CardBatch | None = None,
                    **extra) -> CardRequest:
            r = CardRequest(unit_id=u[unit], province_id=u[province], status=status, request_date=on,
                            created_at=datetime(on.year, on.month, on.day, 2, tzinfo=timezone.utc),
                            batch_id=batch.id if batch else None, **extra)
            s.add(r)
            s.flush()
            return r

        r1 = request("G1", "P1", "printed", date(2026, 3, 1), b1, standard_count=3, linked_count=2,
                     letter_number="03/ĐK-CĐCS", forwarded_at=T2026)
        r2 = request("G1B", "P1", "forwarded", date(2026, 3, 1), linked_count=1, forwarded_at=T2026)
        r3 = request("G2", "P2", "delivered", date(2025, 6, 1), b2, linked_count=1, forwarded_at=T2025,
                     delivered_at=T2025)
        r4 = request("G3", "P2", "returned", date(2026, 3, 1), standard_count=1, return_reason="Thiếu chữ ký")
        out.requests = {"R1": r1.id, "R2": r2.id, "R3": r3.id, "R4": r4.id}

        def item(r: CardRequest, key: str, card_type: str, reason: str, status: str, payroll: bool = False,
                 skip: str | None = None) -> CardItem:
            it = CardItem(request_id=r.id, member_id=m[key].id, card_type=card_type, reason=reason, status=status,
                          vietinbank_payroll=payroll, skip_reason=skip,
                          batch_id=r.batch_id if status != "skipped" else None)
            s.add(it)
            s.flush()
            return it

        an = item(r1, "an", "standard", "first", "printed")
        binh = item(r1, "binh", "linked", "first", "printed", payroll=True)
        cuong = item(r1, "cuong", "standard", "lost", "printed")
        cmd = item(r1, "cmd", "linked", "first", "printed")
        item(r1, "dung", "standard", "first", "skipped", skip="Thiếu ảnh")
        item(r2, "em", "linked", "first", "requested")
        hai = item(r3, "hai", "linked", "first", "delivered")
        item(r4, "hoa", "standard", "first", "skipped", skip="Đề nghị bị trả lại")
        g1, g2 = u["G1"], u["G2"]
        fee(s, an, g1, "first_card", FIRST, "province")
        fee(s, binh, g1, "first_card", FIRST, "province")
        fee(s, binh, g1, "linked", 0, "vietinbank")
        fee(s, cuong, g1, "reprint", 10000, "member", at=NEW_YEAR_VN)
        fee(s, cmd, g1, "first_card", FIRST, "province")
        fee(s, cmd, g1, "linked", 50000, "member")
        fee(s, hai, g2, "first_card", FIRST, "province", at=T2025)
        fee(s, hai, g2, "linked", 50000, "member", at=T2025)
        s.commit()
    return out


def ids(page) -> set[int]:
    return {r.id for r in page.items}


# ===================================================================================== views
def test_requests_are_scoped_by_unit_and_printing_province(sessions, org, data):
    r = data.requests
    with sessions() as s:
        assert ids(views.requests_page(s, org.user(s, "officer_g1"))) == {r["R1"]}
        assert ids(views.requests_page(s, org.user(s, "reviewer_d1"))) == {r["R1"], r["R2"]}
        assert ids(views.requests_page(s, org.user(s, "printer_p1"))) == {r["R1"], r["R2"]}
        assert ids(views.requests_page(s, org.user(s, "printer_p2"))) == {r["R3"], r["R4"]}
        assert ids(views.requests_page(s, org.user(s, "admin"), status="forwarded")) == {r["R2"]}
        assert views.requests_page(s, org.user(s, "admin")).total == 4
        with pytest.raises(Forbidden):
            views.request_detail(s, org.user(s, "officer_g2"), r["R1"])
        with pytest.raises(NotFound):
            views.request_detail(s, org.user(s, "admin"), 999_999)
        # a request printed by another province is seen by that province's printer
        s.get(CardRequest, r["R2"]).province_id = org.units["P2"]
        s.commit()
        assert ids(views.requests_page(s, org.user(s, "printer_p2"))) == {r["R2"], r["R3"], r["R4"]}
        assert views.request_detail(s, org.user(s, "printer_p2"), r["R2"]).request.id == r["R2"]


def test_request_detail_timeline_items_fees_and_batch(sessions, org, data):
    with sessions() as s:
        d = views.request_detail(s, org.user(s, "officer_g1"), data.requests["R1"])
        assert [i.member.full_name for i in d.items][:2] == ["Nguyễn Văn An", "Trần Thị Bình"]
        assert d.item_counts == {"printed": 4, "skipped": 1}
        assert d.fee_total == 3 * FIRST + 10000 + 50000 and len(d.fees) == 6
        assert d.batch.id == data.batches["B1"] and not d.can_open_batch  # the CĐCS sees the status, not the PDF
        assert d.open_task is None and not d.can_act
        steps = {step.key: step for step in d.timeline}
        assert [step.key for step in d.timeline] == ["submitted", "forwarded", "ready", "printed", "delivered"]
        assert all(steps[k].done for k in ("submitted", "forwarded", "ready", "printed"))
        assert steps["printed"].at == T2026 and steps["delivered"].current and not steps["delivered"].done
        assert views.request_detail(s, org.user(s, "printer_p1"), data.requests["R1"]).can_open_batch

        returned = views.request_detail(s, org.user(s, "officer_g3"), data.requests["R4"]).timeline
        assert [(t.key, t.current) for t in returned][:2] == [("submitted", False), ("returned", True)]
        assert returned[1].note == "Thiếu chữ ký" and not any(t.current for t in returned[2:])
        waiting = views.request_detail(s, org.user(s, "reviewer_d1"), data.requests["R2"]).timeline
        assert [t.key for t in waiting if t.current] == ["ready"]


def test_print_queue_and_batch_detail(sessions, org, data):
    with sessions() as s:
        queue = views.batches_page(s, org.user(s, "printer_p1"))
        assert [b.id for b in queue.batches.items] == [data.batches["B1"]]
        assert [r.id for r in queue.waiting] == [data.requests["R2"]]
        assert views.batches_page(s, org.user(s, "officer_g1")).batches.total == 0
        assert views.batches_page(s, org.user(s, "admin")).batches.total == 2
        with pytest.raises(Forbidden):
            views.batch_detail(s, org.user(s, "printer_p2"), data.batches["B1"])
        with pytest.raises(Forbidden):
            views.batch_detail(s, org.user(s, "officer_g1"), data.batches["B1"])
        d = views.batch_detail(s, org.user(s, "printer_p1"), data.batches["B1"])
        assert [r.id for r in d.requests] == [data.requests["R1"]]
        assert d.item_counts == {"printed": 4, "skipped": 1}
        # the skipped item once (from the table, with its unit), the JSON entry without an item by its position
        assert [(x.full_name, x.unit_name, x.reason) for x in d.skipped] == [
            ("Phạm Thị Dung", "CĐCS Công ty May Tiên Sơn", "Thiếu ảnh"), ("", "", "Không có mã đoàn viên")]
        assert d.skipped[1].member_code == "#7"
        warned = views.batch_detail(s, org.user(s, "printer_p2"), data.batches["B2"])
        assert warned.warnings[0]["full_name"] == "Đặng Văn Hải"
        progress = views.progress(s, org.user(s, "printer_p1"), data.batches["B1"]).as_dict()
        assert progress["finished"] and progress["status"] == "printed"
        with pytest.raises(NotFound):  # printed, but no PDF stored
            views.batch_pdf(s, org.user(s, "printer_p1"), data.batches["B1"], "/nonexistent")
        with pytest.raises(NotFound):
            views.letter_file(s, org.user(s, "officer_g1"), data.requests["R1"], "/nonexistent")


def test_member_card_for_preview(sessions, org, data, tmp_path):
    with sessions() as s:
        member = s.get(Member, data.members["an"])
        member.photo_ref = "upload:" + "a" * 32 + "/anh.jpg"  # the file is gone: silhouette, no crash
        s.commit()
        card = views.member_card(s, org.user(s, "officer_g1"), member.id, tmp_path, issue_date=date(2026, 3, 2))
        assert (card.full_name, card.unit_name, card.member_code, card.photo) == (
            "Nguyễn Văn An", "CĐCS Công ty May Tiên Sơn", member.member_code, None)
        (tmp_path / ("a" * 32)).write_bytes(b"\xff\xd8photo")
        assert views.member_card(s, org.user(s, "officer_g1"), member.id, tmp_path).photo == b"\xff\xd8photo"
        with pytest.raises(Forbidden):
            views.member_card(s, org.user(s, "officer_g2"), member.id, tmp_path)
        with pytest.raises(NotFound):
            views.member_card(s, org.user(s, "admin"), 999_999, tmp_path)


# ===================================================================================== fee ledger
def test_fee_ledger_totals_by_payer_and_scope(sessions, org, data):
    with sessions() as s:
        admin = org.user(s, "admin")
        ledger = reports.fee_ledger(s, admin)
        assert ledger.by_payer == {"province": 4 * FIRST, "member": 110000, "vietinbank": 0}
        assert ledger.count_by_payer == {"province": 4, "member": 3, "vietinbank": 1}
        assert ledger.total == 4 * FIRST + 110000 and ledger.count == 8 and len(ledger.rows) == 8
        assert {name for _, _, name in ledger.units} == {"CĐCS Công ty May Tiên Sơn", "CĐCS Công ty Cảng Hải Phòng"}

        g1 = reports.fee_ledger(s, org.user(s, "officer_g1"))
        assert g1.by_payer == {"province": 3 * FIRST, "member": 60000, "vietinbank": 0}
        assert {row.unit_code for row in g1.rows} == {"G1"}
        assert reports.fee_ledger(s, org.user(s, "printer_p1")).total == g1.total
        assert reports.fee_ledger(s, org.user(s, "reviewer_c2")).by_payer == {"province": FIRST, "member": 50000}
        assert reports.fee_ledger(s, admin, unit_id=org.units["D1"]).total == g1.total  # a unit and everything below
        assert reports.fee_ledger(s, org.user(s, "reviewer_d1"), unit_id=org.units["G1B"]).count == 0
        assert reports.fee_ledger(s, admin, batch_id=data.batches["B2"]).by_payer == {"province": FIRST,
                                                                                      "member": 50000}
        with pytest.raises(Forbidden):
            reports.fee_ledger(s, org.user(s, "officer_g1"), unit_id=org.units["G2"])
        # years are Vietnamese years: 18:00 UTC on 31/12/2025 is already 2026
        assert reports.fee_ledger(s, admin, year=2025).total == FIRST + 50000
        assert reports.fee_ledger(s, admin, year=2026).total == g1.total
        assert reports.fee_ledger(s, admin, limit=3).truncated


def test_fee_ledger_xlsx(sessions, org, data):
    with sessions() as s:
        content = reports.fee_ledger_xlsx(s, org.user(s, "officer_g1"))
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:9] == reports.FEE_HEADERS[:9]
    body = [r for r in rows[1:] if r[0] is not None]
    assert len(body) == 6 and sum(r[8] for r in body) == 3 * FIRST + 60000
    assert all(isinstance(r[8], int) for r in body)
    cmd = [r for r in body if r[5].startswith("=")]
    assert len(cmd) == 2 and cmd[0][5] == "=cmd|' /C calc'!A0"
    reprint = next(r for r in body if r[6] == "In lại thẻ")
    assert reprint[1] == "01/01/2026" and reprint[7] == "Đoàn viên"
    for row in ws.iter_rows(min_row=2):
        assert row[5].value is None or row[5].data_type == "s"
        if isinstance(row[8].value, int):
            assert row[8].number_format == "#,##0"
    assert rows[-1][6] == "Tổng cộng" and rows[-1][8] == 3 * FIRST + 60000


# ===================================================================================== linked cards
def test_vietinbank_export_contents(sessions, org, data):
    with sessions() as s:
        content = reports.vietinbank_xlsx(s, org.user(s, "admin"))
        g1_only = reports.vietinbank_xlsx(s, org.user(s, "officer_g1"))
        p2_only = reports.vietinbank_xlsx(s, org.user(s, "printer_p2"))
        batch = reports.vietinbank_xlsx(s, org.user(s, "admin"), batch_id=data.batches["B1"])
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == reports.VIETINBANK_HEADERS
    assert rows[0][1:8] == ("Họ và tên", "Ngày sinh", "Số CCCD", "Mã đoàn viên", "Mã Vpoint", "Đơn vị", "Điện thoại")
    names = [r[1] for r in rows[1:]]
    assert sorted(names) == sorted(["Trần Thị Bình", "=cmd|' /C calc'!A0", "Võ Minh Em", "Đặng Văn Hải"])
    binh = next(r for r in rows[1:] if r[1] == "Trần Thị Bình")
    with sessions() as s:
        member = s.get(Member, data.members["binh"])
        assert binh == (binh[0], "Trần Thị Bình", "05/03/1990", "052090000002", member.member_code,
                        member.vpoint_code, "CĐCS Công ty May Tiên Sơn", "0912345678", "Đã in", "Có", "01/03/2026")
    assert next(r for r in rows[1:] if r[1] == "Võ Minh Em")[8:10] == ("Chờ in", "Không")
    for row in ws.iter_rows(min_row=2):
        assert all(cell.data_type == "s" for cell in row[1:]), "every text cell is text, never a formula"
    assert [r[0] for r in rows[1:]] == [1, 2, 3, 4]
    assert len(list(load_workbook(io.BytesIO(g1_only)).active.iter_rows())) == 1 + 2
    p2 = list(load_workbook(io.BytesIO(p2_only)).active.iter_rows(values_only=True))
    assert [r[1] for r in p2[1:]] == ["Đặng Văn Hải"] and p2[1][3] == "031190000007"
    assert len(list(load_workbook(io.BytesIO(batch)).active.iter_rows())) == 1 + 2


def test_linked_summary_by_unit_and_status(sessions, org, data):
    with sessions() as s:
        summary = reports.linked_summary(s, org.user(s, "admin"))
        by_unit = {row.unit_code: (row.by_status, row.total, row.payroll) for row in summary.rows}
        assert by_unit == {"G1": ({"printed": 2}, 2, 1), "G1B": ({"requested": 1}, 1, 0),
                           "G2": ({"delivered": 1}, 1, 0)}
        assert summary.by_status == {"printed": 2, "requested": 1, "delivered": 1}
        assert summary.total == 4 and summary.payroll == 1
        d1 = reports.linked_summary(s, org.user(s, "reviewer_d1"))
        assert [row.unit_code for row in d1.rows] == ["G1", "G1B"] and d1.total == 3


# ===================================================================================== per-unit report
def test_unit_report_numbers(sessions, org, data):
    with sessions() as s:
        report = reports.unit_report(s, org.user(s, "admin"))
        rows = {r.unit_code: r for r in report.rows}
        assert [r.unit_code for r in report.rows] == ["G1", "G1B", "G2", "G3"]
        g1 = rows["G1"]
        assert (g1.requested, g1.pending, g1.returned, g1.printed, g1.delivered, g1.skipped) == (5, 0, 0, 4, 0, 1)
        assert (g1.member_fees, g1.province_fees) == (60000, 3 * FIRST)
        assert (rows["G1B"].requested, rows["G1B"].pending, rows["G1B"].member_fees) == (1, 1, 0)
        g2 = rows["G2"]
        assert (g2.requested, g2.printed, g2.delivered, g2.member_fees, g2.province_fees) == (1, 1, 1, 50000, FIRST)
        g3 = rows["G3"]
        assert (g3.requested, g3.returned, g3.skipped, g3.pending) == (1, 1, 0, 0)
        total = report.total
        assert (total.requested, total.printed, total.delivered, total.member_fees) == (8, 5, 1, 110000)

        assert [r.unit_code for r in reports.unit_report(s, org.user(s, "reviewer_d1")).rows] == ["G1", "G1B"]
        assert [r.unit_code for r in reports.unit_report(s, org.user(s, "officer_g2")).rows] == ["G2"]
        y2025 = reports.unit_report(s, org.user(s, "admin"), year=2025)
        assert [(r.unit_code, r.requested, r.member_fees) for r in y2025.rows] == [("G2", 1, 50000)]
        page = reports.card_reports(s, org.user(s, "printer_p1"))
        assert page.linked.total == 3 and page.units.total.requested == 6


def test_unit_report_xlsx(sessions, org, data):
    with sessions() as s:
        content = reports.unit_report_xlsx(s, org.user(s, "admin"))
    wb = load_workbook(io.BytesIO(content))
    ws = wb["Báo cáo in thẻ"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == reports.UNIT_HEADERS
    assert rows[1] == (1, "G1", "CĐCS Công ty May Tiên Sơn", 5, 0, 0, 4, 0, 1, 60000, 3 * FIRST)
    assert rows[-1][2] == "Tổng cộng" and rows[-1][9] == 110000
    assert ws.cell(row=2, column=10).number_format == "#,##0"
    linked = list(wb["Thẻ liên kết"].iter_rows(values_only=True))
    assert linked[1][:2] == ("G1", "CĐCS Công ty May Tiên Sơn") and linked[1][-2:] == (2, 1)
