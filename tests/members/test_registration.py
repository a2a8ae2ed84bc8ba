"""The member_registration process on both tree shapes and both databases: submit → validate →
fix → review → approve (codes) / return, SLA timers, bad files; each scenario ends with a round trip."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import uploads
from engine.errors import Forbidden, InvalidInput
from engine.membercodes import is_valid_member_code
from engine.members.models import Member, MemberEvent, MemberList, MemberListEntry
from engine.models import HumanTask, Notification, ProcessInstance
from engine.runtime import FORMS_DIR, PROCESSES_DIR, build_runtime
from tests.conftest import reload_instance
from tests.members.member_helpers import good_rows, make_image, make_workbook


@pytest.fixture
def rt(tmp_path: Path):
    return build_runtime(PROCESSES_DIR, FORMS_DIR, upload_dir=tmp_path / "uploads")


def store(rt, name: str, content: bytes) -> str:
    return uploads.store(rt.upload_dir, "f", name, io.BytesIO(content)).reference


def photo_zip(numbers: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in numbers:
            archive.writestr(f"anh/{number}.jpg", make_image())
    return out.getvalue()


def submission(rt, rows: list[dict], photos: list[str] | None = None) -> dict:
    numbers = [r["so_dinh_danh"] for r in rows] if photos is None else photos
    return {"title": "Danh sách đợt 1", "workbook": store(rt, "danh_sach.xlsx", make_workbook(rows)),
            "photos": [store(rt, "anh.zip", photo_zip(numbers))]}


def open_task(session, instance_id: int, element_id: str) -> HumanTask | None:
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.element_id == element_id, HumanTask.status == "open"))


def messages(session, user_id: int) -> list[str]:
    return list(session.scalars(select(Notification.message).where(Notification.user_id == user_id)))


def start(sessions, org, rt, username: str, unit: str, data: dict) -> int:
    with sessions() as session:
        assert rt.deploy(session).problems == []
        outcome = rt.host.start(session, "member_registration", org.user(session, username), org.units[unit], data)
        session.commit()
        return outcome.instance.id


def test_three_level_tree_errors_fixed_then_partly_approved(sessions, org, rt, frozen_clock):
    rows = good_rows()
    bad = [dict(r) for r in rows]
    bad[1]["so_dinh_danh"] = "12345"  # not a CCCD
    instance_id = start(sessions, org, rt, "officer_g1", "G1", submission(rt, bad))
    with sessions() as session:
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert member_list.status == "invalid" and member_list.error_count >= 1 and member_list.error_ref
        assert session.scalar(select(func.count()).select_from(MemberListEntry)) == 0  # all or nothing
        fix = open_task(session, instance_id, "fix")
        assert fix.role == "grassroots_officer" and fix.unit_id == org.units["G1"]
        assert any("lỗi" in m for m in messages(session, org.users["officer_g1"]))
        error_file = Path(rt.upload_dir) / uploads.parse_reference(member_list.error_ref)[0]
        errors = load_workbook(io.BytesIO(error_file.read_bytes()))["Lỗi"]
        assert any("12345" in str(c.value) or "CCCD" in str(c.value) for r in errors.iter_rows() for c in r)
        fixed = submission(rt, rows)
        rt.host.complete(session, fix.id, org.user(session, "officer_g1"),
                         {"next_step": "resubmit", "workbook": fixed["workbook"], "photos": fixed["photos"]})
        session.commit()
    with sessions() as session:
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert member_list.status == "in_review" and member_list.round_no == 2 and member_list.row_count == 5
        review = open_task(session, instance_id, "review")
        assert review.role == "upper_reviewer" and review.unit_id == org.units["D1"]
        assert review.due_at.date().isoformat() == "2026-03-09"  # 5 working days after Monday 02/03
        with pytest.raises(Forbidden):  # the CĐCS cannot approve its own list
            rt.host.complete(session, review.id, org.user(session, "officer_g1"), {"decision": "approve_all"})
        session.rollback()
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        reviewer = org.user(session, "reviewer_d1")
        with pytest.raises(InvalidInput) as refused:  # a rejected member must be on the list
            rt.host.complete(session, review.id, reviewer, {"decision": "approve_some", "rejections": [
                {"so_dinh_danh": "999999999999", "ly_do": "Không có"}]})
        assert "không có trong danh sách" in refused.value.message
        session.rollback()
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        rejected = rows[2]["so_dinh_danh"]
        rt.host.complete(session, review.id, org.user(session, "reviewer_d1"), {
            "decision": "approve_some",
            "rejections": [{"so_dinh_danh": rejected, "ly_do": "Chưa đủ 6 tháng làm việc"}]})
        session.commit()
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.status == "completed"
        members = session.scalars(select(Member).order_by(Member.serial)).all()
        assert len(members) == 4 and rejected not in {m.id_number for m in members}
        assert all(is_valid_member_code(m.member_code) and m.vpoint_code.startswith("VP") for m in members)
        assert len({m.member_code for m in members}) == 4 and all(m.unit_id == org.units["G1"] for m in members)
        assert all(m.status == "active" and m.photo_ref for m in members)
        assert members[0].full_name == "Nguyễn Văn An" and members[0].name_fold == "nguyen van an"
        events = session.scalars(select(MemberEvent)).all()
        assert len(events) == 4 and {e.kind for e in events} == {"registered"}
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert member_list.status == "approved" and member_list.reviewed_by_id == org.users["reviewer_d1"]
        entry = session.scalar(select(MemberListEntry).where(MemberListEntry.id_number == rejected))
        assert entry.decision == "rejected" and entry.reason == "Chưa đủ 6 tháng làm việc"
        approved_path = Path(rt.upload_dir) / uploads.parse_reference(member_list.approved_ref)[0]
        approved = load_workbook(io.BytesIO(approved_path.read_bytes())).active
        values = [[c.value for c in r] for r in approved.iter_rows(min_row=4)]
        assert [v[5] for v in values if v[8] == "Đã duyệt"] == [m.member_code for m in members]
        assert [v[9] for v in values if v[8] == "Không duyệt"] == ["Chưa đủ 6 tháng làm việc"]
        assert any("đã được duyệt: 4" in m for m in messages(session, org.users["officer_g1"]))
        assert any("4 đoàn viên mới" in m for m in messages(session, org.users["printer_p1"]))
    instance, workflow = reload_instance(sessions, instance_id)
    assert workflow.is_completed() and workflow.data.get("approval", {}).get("approved") in (4, None)
    end = workflow.get_tasks(spec_name="end_approved")[0]
    assert end.data["approval"]["approved"] == 4 and end.data["approval"]["rejected"] == 1


@pytest.mark.parametrize("unit,officer,reviewer", [("G3", "officer_g3", "reviewer_p2"),
                                                   ("G2", "officer_g2", "reviewer_c2")])
def test_two_level_tree_return_then_approve_all(sessions, org, rt, frozen_clock, unit, officer, reviewer):
    instance_id = start(sessions, org, rt, officer, unit, submission(rt, good_rows()))
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        assert review.unit_id == session.get(type(org.unit(session, unit)), org.units[unit]).parent_id
        with pytest.raises(InvalidInput):  # returning needs a reason
            rt.host.complete(session, review.id, org.user(session, reviewer), {"decision": "return"})
        session.rollback()
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        rt.host.complete(session, review.id, org.user(session, reviewer),
                         {"decision": "return", "return_reason": "Thiếu ảnh rõ mặt"})
        session.commit()
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert member_list.status == "returned" and member_list.return_reason == "Thiếu ảnh rõ mặt"
        assert any("Thiếu ảnh rõ mặt" in m for m in messages(session, org.users[officer]))
        fix = open_task(session, instance_id, "fix")
        again = submission(rt, good_rows())
        rt.host.complete(session, fix.id, org.user(session, officer), {"next_step": "resubmit", **{
            k: again[k] for k in ("workbook", "photos")}})
        session.commit()
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        rt.host.complete(session, review.id, org.user(session, reviewer), {"decision": "approve_all"})
        session.commit()
        assert session.scalar(select(func.count()).select_from(Member)) == 5
        assert session.get(ProcessInstance, instance_id).status == "completed"
    _, workflow = reload_instance(sessions, instance_id)
    assert workflow.is_completed()


def test_duplicates_against_the_registry_and_withdrawal(sessions, org, rt, frozen_clock):
    first = start(sessions, org, rt, "officer_g1", "G1", submission(rt, good_rows()[:2]))
    with sessions() as session:
        review = open_task(session, first, "review")
        rt.host.complete(session, review.id, org.user(session, "reviewer_d1"), {"decision": "approve_all"})
        session.commit()
    rows = good_rows()[1:3]  # the first of these is already a member
    second = start(sessions, org, rt, "officer_g2", "G2", submission(rt, rows))
    with sessions() as session:
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == second))
        assert member_list.status == "invalid"
        assert any("đã là đoàn viên" in p["message_vi"] for p in __import__("json").loads(member_list.problems_json))
        fix = open_task(session, second, "fix")
        rt.host.complete(session, fix.id, org.user(session, "officer_g2"), {"next_step": "withdraw"})
        session.commit()
        assert session.get(ProcessInstance, second).status == "completed"
        member_list = session.get(MemberList, member_list.id)
        assert member_list.status == "cancelled"
    _, workflow = reload_instance(sessions, second)
    assert workflow.is_completed() and workflow.get_tasks(spec_name="end_withdrawn")


def test_bad_files_are_refused_and_nothing_is_written(sessions, org, rt, frozen_clock):
    cases = {
        "not excel": {"workbook": store(rt, "danh_sach.xlsx", b"just some text, not a workbook")},
        "wrong type": {"workbook": store(rt, "danh_sach.csv", b"a,b,c\n")},
        "corrupt": {"workbook": store(rt, "danh_sach.xlsx", make_workbook(good_rows())[:400])},
        "password": {"workbook": store(rt, "danh_sach.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64
                                       + "EncryptedPackage".encode("utf-16-le"))},
    }
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("../../etc/079090012345.jpg", make_image())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("079090012345.jpg", b"\0" * (50 * 1024 * 1024))
    absolute = io.BytesIO()
    with zipfile.ZipFile(absolute, "w") as archive:
        archive.writestr("/tmp/079090012345.jpg", make_image())
    good = store(rt, "danh_sach.xlsx", make_workbook(good_rows()))
    for name, content in (("traversal", traversal), ("bomb", bomb), ("absolute", absolute)):
        cases[name] = {"workbook": good, "photos": [store(rt, "anh.zip", content.getvalue())]}
    cases["photo type"] = {"workbook": good, "photos": [store(rt, "anh.pdf", b"%PDF-1.4")]}
    with sessions() as session:
        assert rt.deploy(session).problems == []
        session.commit()
    for name, data in cases.items():
        with sessions() as session:
            with pytest.raises(InvalidInput) as refused:
                rt.host.start(session, "member_registration", org.user(session, "officer_g1"), org.units["G1"],
                              {"title": name, **data})
            session.rollback()
            assert refused.value.field_errors, name
            assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0, name
            assert session.scalar(select(func.count()).select_from(MemberList)) == 0, name
    assert not (Path(rt.upload_dir).parent / "etc").exists()


def test_large_list_runs_in_the_background_and_sla_timers_escalate(sessions, org, rt, frozen_clock):
    rows = []
    for i in range(320):
        rows.append({**good_rows()[0], "ho_ten": f"Nguyễn Văn Số {i}", "so_dinh_danh": f"0790900{i:05d}"})
    instance_id = start(sessions, org, rt, "officer_g2", "G2", submission(rt, rows))
    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert instance.status == "waiting" and member_list.status == "received"  # handed to the worker
        assert instance.next_due_at is not None
    frozen_clock.advance(timedelta(seconds=2))
    with sessions() as session:
        rt.host.fire_timers(session, session.get(ProcessInstance, instance_id))
        session.commit()
        member_list = session.scalar(select(MemberList).where(MemberList.instance_id == instance_id))
        assert member_list.status == "in_review" and member_list.row_count == 320
        assert member_list.progress_done == member_list.progress_total == 320
        assert open_task(session, instance_id, "review").unit_id == org.units["C2"]
    frozen_clock.advance(timedelta(days=8))  # past the reminder (4 working days) and the due date (5)
    with sessions() as session:
        rt.host.fire_timers(session, session.get(ProcessInstance, instance_id))
        session.commit()
        assert any("Nhắc" in m for m in messages(session, org.users["reviewer_c2"]))
        assert any("Quá hạn duyệt" in m for m in messages(session, org.users["reviewer_p2"]))
        assert open_task(session, instance_id, "review") is not None  # still waiting for the reviewer
    _, workflow = reload_instance(sessions, instance_id)
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=__import__("SpiffWorkflow").TaskState.READY,
                                                             manual=True)] == ["review"]
