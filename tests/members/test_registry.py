"""The member registry (engine.members.registry / export) on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine import vntext
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.members import registry
from engine.members.models import Member, MemberEvent
from engine.membercodes import member_code, vpoint_code
from engine.models import AuditEntry, OrgUnit

# unit, full name, id number, extra fields
PEOPLE = [
    ("G1", "Đặng Thị Đào", "052185000004", {"sex": "Nữ"}),
    ("G1", "Lê Văn Bình", "052185000003", {}),
    ("G1", "Nguyễn Văn An", "079090012345", {"birth_date": date(1990, 3, 15)}),
    ("G1", "Trần Thị Ánh", "052185000002", {"sex": "Nữ"}),
    ("G1B", "Phạm Minh Tuấn", "123456789", {"id_kind": "CMND"}),
    ("G1B", "=HYPERLINK(\"http://x\")", "052185000006", {"phone": "+84912345678"}),
    ("G2", "Đặng Văn Hải", "031190000007", {}),
    ("G2", "Nguyễn Thị Hoa", "031190000008", {"sex": "Nữ"}),
    ("G3", "Hoàng Văn An", "031190000009", {}),
]


def add_member(session, unit_id: int, full_name: str, serial: int, id_number: str, **extra) -> Member:
    member = Member(serial=serial, member_code=member_code(serial), vpoint_code=vpoint_code(serial), unit_id=unit_id,
                    full_name=full_name, name_fold=vntext.fold(full_name),
                    sort_key=vntext.name_sort_bytes(full_name), id_number=id_number,
                    sex=extra.pop("sex", "Nam"), joined_on=extra.pop("joined_on", date(2015, 6, 1)), **extra)
    session.add(member)
    session.flush()
    return member


@pytest.fixture
def people(sessions, org) -> dict[str, int]:
    """Members on both trees; returns full name → member id."""
    ids = {}
    with sessions() as session:
        for serial, (unit, name, id_number, extra) in enumerate(PEOPLE, start=1001):
            ids[name] = add_member(session, org.units[unit], name, serial, id_number, **dict(extra)).id
        session.commit()
    return ids


def names(page) -> list[str]:
    return [m.full_name for m in page.items]


def test_accent_free_name_search(sessions, org, people):
    with sessions() as session:
        admin = org.user(session, "admin")
        assert names(registry.search(session, admin, "dang")) == ["Đặng Thị Đào", "Đặng Văn Hải"]
        assert names(registry.search(session, admin, "nguyen van an")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, admin, "NGUYỄN  văn")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, admin, "thi")) == ["Trần Thị Ánh", "Đặng Thị Đào", "Nguyễn Thị Hoa"]
        assert names(registry.search(session, admin, "van an")) == ["Hoàng Văn An", "Nguyễn Văn An"]
        assert names(registry.search(session, admin, "hai dang")) == []  # words keep their order
        assert names(registry.search(session, admin, "100%")) == []  # LIKE wildcards are escaped
        assert names(registry.search(session, admin, "_")) == []


def test_id_number_member_code_and_vpoint_search(sessions, org, people):
    with sessions() as session:
        admin = org.user(session, "admin")
        assert names(registry.search(session, admin, "079 090 012 345")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, admin, "079.090.012.345")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, admin, "123456789")) == ["Phạm Minh Tuấn"]
        assert names(registry.search(session, admin, "07909001234")) == []  # 11 digits: no partial match
        serial = 1001 + [p[1] for p in PEOPLE].index("Lê Văn Bình")
        assert names(registry.search(session, admin, member_code(serial))) == ["Lê Văn Bình"]
        assert names(registry.search(session, admin, vpoint_code(serial))) == ["Lê Văn Bình"]
        assert names(registry.search(session, admin, f"vp{serial}")) == ["Lê Văn Bình"]


def test_vietnamese_order_by_given_name(sessions, org, people):
    with sessions() as session:
        officer = org.user(session, "officer_g1")
        assert names(registry.search(session, officer)) == ["Nguyễn Văn An", "Trần Thị Ánh", "Lê Văn Bình",
                                                            "Đặng Thị Đào"]
        second = registry.search(session, officer, per_page=2, page=2)
        assert names(second) == ["Lê Văn Bình", "Đặng Thị Đào"]
        assert (second.total, second.pages, second.capped) == (4, 2, False)


@pytest.mark.parametrize("username, expected", [
    ("officer_g1", {"G1"}),                  # grassroots officer: its own members
    ("lead_g1", {"G1"}),
    ("reviewer_d1", {"G1", "G1B"}),          # district: its grassroots unions
    ("printer_p1", {"G1", "G1B"}),           # province: everything below it
    ("officer_g2", {"G2"}),                  # post-2025 2-level tree
    ("reviewer_c2", {"G2"}),                 # commune union
    ("reviewer_p2", {"G2", "G3"}),           # province: via the commune and directly
    ("admin", {"G1", "G1B", "G2", "G3"}),
])
def test_scope_per_level(sessions, org, people, username, expected):
    with sessions() as session:
        user = org.user(session, username)
        page = registry.search(session, user, per_page=200)
        units = {code for code, uid in org.units.items() if uid in {m.unit_id for m in page.items}}
        assert units == expected
        assert page.total == sum(1 for p in PEOPLE if p[0] in expected)


def test_unit_filter_and_status(sessions, org, people):
    with sessions() as session:
        reviewer = org.user(session, "reviewer_d1")
        assert names(registry.search(session, reviewer, unit_id=org.units["G1B"])) == [
            "=HYPERLINK(\"http://x\")", "Phạm Minh Tuấn"]
        with pytest.raises(Forbidden):
            registry.search(session, reviewer, unit_id=org.units["G2"])
        with pytest.raises(NotFound):
            registry.search(session, reviewer, unit_id=999999)
        with pytest.raises(InvalidInput):
            registry.search(session, reviewer, status="gone")
        admin = org.user(session, "admin")
        assert registry.search(session, admin, unit_id=org.units["P2"]).total == 3
        assert registry.search(session, admin, status="left").total == 0
        view = registry.registry_view(session, reviewer, "phạm")
        assert [u.code for u in view.units] == ["D1", "G1", "G1B"]
        assert names(view.page) == ["Phạm Minh Tuấn"]


def test_count_is_capped(sessions, org, people, monkeypatch):
    monkeypatch.setattr(registry, "COUNT_CAP", 3)
    with sessions() as session:
        page = registry.search(session, org.user(session, "admin"), per_page=2)
        assert (page.total, page.capped, len(page.items)) == (3, True, 2)


def test_get_member_is_scoped(sessions, org, people):
    with sessions() as session:
        member_id = people["Nguyễn Văn An"]
        assert registry.get_member(session, org.user(session, "printer_p1"), member_id).full_name == "Nguyễn Văn An"
        with pytest.raises(Forbidden):
            registry.get_member(session, org.user(session, "officer_g2"), member_id)
        with pytest.raises(Forbidden):
            registry.get_member(session, org.user(session, "reviewer_p2"), member_id)
        with pytest.raises(NotFound):
            registry.get_member(session, org.user(session, "admin"), 999999)


def _state(session, member_id: int) -> tuple:
    member = session.get(Member, member_id)
    events = session.scalars(select(MemberEvent).where(MemberEvent.member_id == member_id)).all()
    audits = session.scalars(select(AuditEntry).where(AuditEntry.entity == "member")).all()
    return member.status, member.status_reason, member.status_date, len(events), len(audits)


@pytest.mark.parametrize("kind, reason, on, fields", [
    ("left", "", "01/03/2026", {"reason"}),
    ("left", "   ", "01/03/2026", {"reason"}),
    ("left", "Nghỉ việc", "03/03/2026", {"date"}),        # tomorrow (the clock is frozen at 02/03/2026)
    ("left", "Nghỉ việc", "31/02/2026", {"date"}),
    ("left", "Nghỉ việc", "hôm qua", {"date"}),
    ("left", "Nghỉ việc", "", {"date"}),
    ("left", "Nghỉ việc", "01/01/2010", {"date"}),        # before joining the union
    ("quit", "Nghỉ việc", "01/03/2026", {"kind"}),
    ("quit", "", "x", {"kind", "reason", "date"}),
])
def test_leaving_validation_writes_nothing(sessions, org, people, frozen_clock, kind, reason, on, fields):
    member_id = people["Nguyễn Văn An"]
    with sessions() as session:
        before = _state(session, member_id)
        with pytest.raises(InvalidInput) as caught:
            registry.record_leaving(session, org.user(session, "officer_g1"), member_id, kind, reason, on)
        assert set(caught.value.field_errors) == fields
        session.rollback()
        assert _state(session, member_id) == before == ("active", None, None, 0, 0)


def test_leaving_is_recorded_and_audited(sessions, org, people, frozen_clock):
    member_id = people["Nguyễn Văn An"]
    with sessions() as session:
        officer = org.user(session, "officer_g1")
        code = session.get(Member, member_id).member_code
        registry.record_leaving(session, officer, member_id, "left", " Chuyển công tác  ra nước ngoài ",
                                "01/03/2026")
        session.commit()
    with sessions() as session:
        member = session.get(Member, member_id)
        assert (member.status, member.status_reason, member.status_date) == (
            "left", "Chuyển công tác ra nước ngoài", date(2026, 3, 1))
        assert member.member_code == code
        [event] = registry.history(session, member)
        assert (event.kind, event.effective, event.actor.username, event.unit.code) == (
            "left", date(2026, 3, 1), "officer_g1", "G1")
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "member_left")).all()
        assert (entry.entity, entry.entity_id, entry.actor_id) == ("member", str(member_id), org.users["officer_g1"])
        assert entry.details["member_code"] == code and entry.details["effective"] == "2026-03-01"
        officer = org.user(session, "officer_g1")
        assert "Nguyễn Văn An" not in names(registry.search(session, officer))
        assert names(registry.search(session, officer, status="left")) == ["Nguyễn Văn An"]
        assert len(registry.search(session, officer, status=None).items) == 4
        with pytest.raises(InvalidInput) as caught:  # only once
            registry.record_leaving(session, officer, member_id, "removed", "Lặp lại", date(2026, 3, 1))
        assert "_form" in caught.value.field_errors
        assert not registry.member_view(session, officer, member_id).can_record_leaving


@pytest.mark.parametrize("username, allowed", [
    ("officer_g1", True), ("reviewer_d1", True), ("admin", True),
    ("printer_p1", False), ("lead_g1", False), ("staff_g1", False), ("officer_g2", False),
])
def test_who_may_record_leaving(sessions, org, people, frozen_clock, username, allowed):
    member_id = people["Lê Văn Bình"]
    with sessions() as session:
        user = org.user(session, username)
        if allowed:
            member = registry.record_leaving(session, user, member_id, "removed", "Không đóng đoàn phí 6 tháng",
                                             date(2026, 3, 2))
            assert member.status == "removed"
        else:
            with pytest.raises(Forbidden):
                registry.record_leaving(session, user, member_id, "removed", "Không đóng đoàn phí", date(2026, 3, 2))
            assert session.get(Member, member_id).status == "active"


def test_upper_reviewer_on_two_level_tree(sessions, org, people, frozen_clock):
    with sessions() as session:
        # G3 hangs directly under the province P2: its upper reviewer is the province's.
        member = registry.record_leaving(session, org.user(session, "reviewer_p2"), people["Hoàng Văn An"], "left",
                                         "Nghỉ hưu", "2026-02-28")
        assert member.status_date == date(2026, 2, 28)
        with pytest.raises(Forbidden):  # G2's upper level is the commune union C2, not the province
            registry.record_leaving(session, org.user(session, "reviewer_p2"), people["Đặng Văn Hải"], "left",
                                    "Nghỉ hưu", "2026-02-28")
        registry.record_leaving(session, org.user(session, "reviewer_c2"), people["Đặng Văn Hải"], "left",
                                "Nghỉ hưu", "2026-02-28")


def test_export_contents(sessions, org, people):
    with sessions() as session:
        data = registry.export_xlsx(session, org.user(session, "reviewer_d1"))
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD/CMND", "Mã đoàn viên", "Mã Vpoint",
                       "Đơn vị", "Trạng thái", "Ngày vào công đoàn", "Điện thoại", "Email")
    # punctuation sorts before letters: the one-word "name" comes first
    assert [r[1] for r in rows[1:]] == ["=HYPERLINK(\"http://x\")", "Nguyễn Văn An", "Trần Thị Ánh", "Lê Văn Bình",
                                        "Đặng Thị Đào", "Phạm Minh Tuấn"]
    an = rows[2]
    assert an[0] == 2 and an[2] == "15/03/1990" and an[4] == "079090012345"
    assert an[5] == member_code(1001 + 2) and an[6] == vpoint_code(1001 + 2)
    assert an[7] == "CĐCS Công ty May Tiên Sơn" and an[8] == "Đang sinh hoạt" and an[9] == "01/06/2015"
    formula_row = next(r for r in sheet.iter_rows(min_row=2) if str(r[1].value).startswith("="))
    assert formula_row[1].data_type == "s" and formula_row[10].data_type == "s"
    assert formula_row[10].value == "+84912345678"
    assert rows[6][4] == "123456789"


def test_export_follows_the_filter(sessions, org, people):
    with sessions() as session:
        data = registry.export_xlsx(session, org.user(session, "admin"), "dang")
        with pytest.raises(Forbidden):
            registry.export_xlsx(session, org.user(session, "officer_g1"), unit_id=org.units["G2"])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["Đặng Thị Đào", "Đặng Văn Hải"]


def test_word_prefix_semantics(sessions, org, people):
    """Each word typed starts a word of the name, in order (not an arbitrary substring)."""
    with sessions() as session:
        for serial, (name, number) in enumerate([("Võ Thị Hoa", "052185000011"), ("Nguyễn Văn Võ Thịnh",
                                                 "052185000012"), ("Lê Thị Võ", "052185000013")], start=2001):
            add_member(session, org.units["G3"], name, serial, number)
        admin = org.user(session, "admin")
        assert names(registry.search(session, admin, "vo thi")) == ["Võ Thị Hoa", "Nguyễn Văn Võ Thịnh"]
        assert names(registry.search(session, admin, "thi vo")) == ["Lê Thị Võ"]
        # "an" starts "An" and "Ánh", but is inside "Văn", "Hoàng": no longer a match there
        assert names(registry.search(session, admin, "an")) == ["Hoàng Văn An", "Nguyễn Văn An", "Trần Thị Ánh"]
        assert names(registry.search(session, admin, "oa")) == []  # inside "Hoa"/"Hoàng" only
        assert names(registry.search(session, admin, "ho")) == ["Hoàng Văn An", "Nguyễn Thị Hoa", "Võ Thị Hoa"]
        assert names(registry.search(session, admin, "nguyen v v")) == ["Nguyễn Văn Võ Thịnh"]


# plan → module settings that force it on PostgreSQL (SQLite has one plan)
PLANS = {
    "trigram": {},  # few matches expected: read them all through the trigram index
    "walk-all": {"GIN_DIRECT": -1, "WALK_FIRST": 0},  # many expected: walk the sort order first (all of it)
    "walk-probe": {"GIN_DIRECT": -1, "WALK_FIRST": 0, "WALK_PROBE": 2},  # … not all of it, then as below
    "walk": {"GIN_DIRECT": -1, "WALK_FIRST": 1e12, "GIN_ROW_US": 1e9},  # trigram sample, then a bounded walk
    "trigram-all": {"GIN_DIRECT": -1, "WALK_FIRST": 1e12, "WALK_ROW_US": 1e9},  # trigram sample, then the rest
}


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_every_name_plan_gives_the_same_page(sessions, org, people, monkeypatch, plan):
    """On PostgreSQL a name search chooses per query how to read (see registry._search_names); every plan gives
    the same members in the same order, and a count that is exact or, when it says "more than", true."""
    with sessions() as session:
        printer = org.user(session, "printer_p1")
        expected = names(registry.search(session, printer, "van"))
        assert expected == ["Nguyễn Văn An", "Lê Văn Bình"]
        monkeypatch.setattr(registry, "PROBE", 1)
        for name, value in PLANS[plan].items():
            monkeypatch.setattr(registry, name, value)
        postgresql = session.get_bind().dialect.name == "postgresql"
        for per_page, page in ((50, 1), (1, 1), (1, 2), (1, 3)):
            session.info.pop("member_search_plan", None)
            result = registry.search(session, printer, "van", per_page=per_page, page=page)
            assert names(result) == expected[(page - 1) * per_page:page * per_page]
            assert result.total <= 2 and (result.capped or result.total == 2)
            if postgresql:  # (walk-probe: whatever follows it; walk-all stops early once PROBE matched)
                assert session.info["member_search_plan"].startswith("walk" if plan.startswith("walk") else plan)
        first = registry.search(session, printer, "van", per_page=1)
        assert first.pages == 2
        assert names(registry.search(session, printer, "van an", per_page=1)) == ["Nguyễn Văn An"]
        assert names(registry.search(session, printer, "tran", per_page=1)) == ["Trần Thị Ánh"]
        assert names(registry.search(session, printer, "ha", per_page=1)) == []
        reviewer = org.user(session, "reviewer_p2")  # P2: members via a commune and directly
        assert names(registry.search(session, reviewer, "van", per_page=1)) == ["Hoàng Văn An"]
        assert names(registry.search(session, reviewer, "van", per_page=1, page=2)) == ["Đặng Văn Hải"]
        district = org.user(session, "reviewer_d1")  # not a whole province: unit ids plus the province
        assert names(registry.search(session, district, "van")) == expected


@pytest.mark.parametrize("username", ["printer_p1", "admin"])
def test_capped_name_search_still_gives_the_first_page(sessions, org, people, monkeypatch, username):
    """More matches than COUNT_CAP: those read are only some of them, yet the page is the true one in order."""
    monkeypatch.setattr(registry, "COUNT_CAP", 1)
    with sessions() as session:
        user = org.user(session, username)
        expected = ["Nguyễn Văn An", "Lê Văn Bình"] if username == "printer_p1" else [
            "Hoàng Văn An", "Nguyễn Văn An", "Lê Văn Bình", "Đặng Văn Hải"]
        for page in (1, 2):  # (the pages go as far as the matches read: COUNT_CAP + 1)
            result = registry.search(session, user, "van", per_page=1, page=page)
            assert names(result) == expected[page - 1:page]
            assert (result.total, result.capped) == (1, True)
            assert result.pages >= 2


def test_province_kept_on_members(sessions, org, people):
    """members.province_id (what a province-wide search filters on) follows the unit: on insert, on a
    transfer through the ORM, and after the org tree changes (``sync_provinces``)."""
    from engine import orgtree

    with sessions() as session:
        member = session.get(Member, people["Nguyễn Văn An"])
        assert member.province_id == org.units["P1"]
        assert session.get(Member, people["Đặng Văn Hải"]).province_id == org.units["P2"]  # via the commune
        member.unit_id = org.units["G2"]
        session.flush()
        assert member.province_id == org.units["P2"]
        assert names(registry.search(session, org.user(session, "reviewer_p2"), "nguyen van")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, org.user(session, "printer_p1"), "nguyen van")) == []
        member.unit_id = org.units["G1"]
        session.flush()
        assert member.province_id == org.units["P1"]
        # a district moves to the other province: move_unit brings its members along (nothing left to sync)
        orgtree.move_unit(session, session.get(OrgUnit, org.units["D1"]), session.get(OrgUnit, org.units["P2"]))
        session.flush()
        assert registry.sync_provinces(session, [org.units["D1"]]) == 0
        assert session.get(Member, people["Lê Văn Bình"]).province_id == org.units["P2"]
        assert registry.sync_provinces(session) == 0
        session.commit()
    with sessions() as session:
        reviewer = org.user(session, "reviewer_p2")
        assert names(registry.search(session, reviewer, "nguyen van")) == ["Nguyễn Văn An"]
        assert names(registry.search(session, reviewer, "le van binh")) == ["Lê Văn Bình"]


def test_moving_a_unit_to_another_province_moves_its_members_province(sessions, org):
    from engine.members.models import Member
    from engine.membercodes import member_code, vpoint_code
    from engine.orgtree import move_unit
    from engine import vntext

    with sessions() as session:
        member = Member(serial=990001, member_code=member_code(990001), vpoint_code=vpoint_code(990001),
                        unit_id=org.units["G1"], full_name="Trần Văn Chuyển", name_fold=vntext.fold("Trần Văn Chuyển"),
                        sort_key=vntext.name_sort_bytes("Trần Văn Chuyển"), id_number="052090990001")
        session.add(member)
        session.flush()
        assert member.province_id == org.units["P1"]
        move_unit(session, org.unit(session, "D1"), org.unit(session, "P2"))
        session.commit()
        session.refresh(member)
        assert member.province_id == org.units["P2"]
