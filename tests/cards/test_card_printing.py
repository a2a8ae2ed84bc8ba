"""The card_printing process on both tree shapes and both databases: request with letter → forward →
batch → print (fees once) → delivered; returns, refusals, reprints; each scenario ends with a round trip."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from sqlalchemy import func, select

from engine import uploads, vntext
from engine.cards.models import CardBatch, CardItem, CardRequest, FeeEntry
from engine.errors import InvalidInput
from engine.membercodes import member_code, vpoint_code
from engine.members.approval import allocate_serials
from engine.members.models import Member
from engine.models import HumanTask, Notification, ProcessInstance
from engine.runtime import FORMS_DIR, PROCESSES_DIR, build_runtime
from tests.conftest import reload_instance

NAMES = ["Nguyễn Thị Thủy", "Đặng Văn Đức", "Trần Thị Ngọc Ánh", "Phạm Thị Hường", "Lê Quang Vũ", "Hoàng Văn Hải",
         "Bùi Thị Thu Hằng", "Võ Minh Khoa", "Đỗ Thị Yến", "Huỳnh Công Phúc"]


@pytest.fixture
def rt(tmp_path: Path):
    return build_runtime(PROCESSES_DIR, FORMS_DIR, upload_dir=tmp_path / "uploads")


def photo_ref(rt, seed: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (240, 360), (150 + seed % 100, 170, 190)).save(out, "JPEG")
    return uploads.store(rt.upload_dir, "photo", f"{seed}.jpg", io.BytesIO(out.getvalue())).reference


def add_members(session, rt, unit_id: int, count: int, with_photo: bool = True) -> list[Member]:
    members = []
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for i, serial in enumerate(allocate_serials(session, count)):
        name = f"{NAMES[i % len(NAMES)]}{'' if i < len(NAMES) else ' ' + str(i)}"
        member = Member(serial=serial, member_code=member_code(serial), vpoint_code=vpoint_code(serial),
                        unit_id=unit_id, full_name=name, name_fold=vntext.fold(name),
                        sort_key=vntext.name_sort_bytes(name), birth_date=date(1980 + i % 20, 1 + i % 12, 1 + i),
                        sex="Nữ" if i % 2 else "Nam", id_number=f"0520{80 + i % 20:02d}{serial:06d}",
                        photo_ref=photo_ref(rt, serial) if with_photo else None, status="active",
                        approved_at=now, updated_at=now)
        session.add(member)
        members.append(member)
    session.flush()
    return members


def open_task(session, instance_id: int, element_id: str) -> HumanTask | None:
    return session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.element_id == element_id, HumanTask.status == "open"))


def messages(session, user_id: int) -> list[str]:
    return list(session.scalars(select(Notification.message).where(Notification.user_id == user_id)))


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def stored(rt, ref: str) -> bytes:
    return (Path(rt.upload_dir) / uploads.parse_reference(ref)[0]).read_bytes()


def start(session, org, rt, officer: str, unit: str, data: dict) -> int:
    assert rt.deploy(session).problems == []
    outcome = rt.host.start(session, "card_printing", org.user(session, officer), org.units[unit], data)
    session.commit()
    return outcome.instance.id


def test_thirty_cards_five_linked_through_the_three_level_chain(sessions, org, rt, frozen_clock):
    with sessions() as session:
        members = add_members(session, rt, org.units["G1"], 30)
        linked = [m.member_code for m in members[:5]]
        payroll = linked[:2]
        session.commit()
        instance_id = start(session, org, rt, "officer_g1", "G1", {
            "title": "In thẻ đợt 1", "scope": "new_members", "linked_codes": "\n".join(linked),
            "vietinbank_codes": ", ".join(payroll), "letter_mode": "generate", "signer_name": "Phạm Thị Cơ",
            "signer_title": "Chủ tịch"})
    with sessions() as session:
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == instance_id))
        assert (request.standard_count, request.linked_count, request.status) == (25, 5, "submitted")
        assert request.letter_number == "01/ĐK-CĐCS" and request.province_id == org.units["P1"]
        letter = " ".join(pdf_text(stored(rt, request.letter_ref)))
        assert "ĐĂNG KÝ IN THẺ ĐOÀN VIÊN" in letter and "Phạm Thị Cơ" in letter and "Nguyễn Thị Thủy" in letter
        review = open_task(session, instance_id, "review")
        assert review.unit_id == org.units["D1"] and review.role == "upper_reviewer"
        # the letter file is gone: forwarding is refused, nothing changes
        letter_path = Path(rt.upload_dir) / uploads.parse_reference(request.letter_ref)[0]
        kept = letter_path.read_bytes()
        letter_path.unlink()
        with pytest.raises(InvalidInput) as refused:
            rt.host.complete(session, review.id, org.user(session, "reviewer_d1"), {"decision": "forward"})
        assert "chưa có công văn" in refused.value.message
        session.rollback()
        letter_path.write_bytes(kept)
    with sessions() as session:
        review = open_task(session, instance_id, "review")
        rt.host.complete(session, review.id, org.user(session, "reviewer_d1"), {"decision": "forward"})
        session.commit()
    with sessions() as session:
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == instance_id))
        batch = session.get(CardBatch, request.batch_id)
        assert batch.status == "ready" and batch.card_count == 30 and batch.sheet_count == 3
        pdf = stored(rt, batch.pdf_ref)
        pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
        assert len(pages) == 6  # 3 front and 3 back A4 sheets
        assert round(float(pages[0].mediabox.width) / 72 * 25.4) == 210
        text = "\n".join(pdf_text(pdf))
        for member in session.scalars(select(Member).where(Member.unit_id == org.units["G1"])):
            assert member.full_name in text, member.full_name
        print_task = open_task(session, instance_id, "print")
        assert print_task.unit_id == org.units["P1"] and print_task.role == "province_printer"
        assert any("sẵn sàng in" in m for m in messages(session, org.users["printer_p1"]))
        rt.host.complete(session, print_task.id, org.user(session, "printer_p1"), {"printed": True})
        session.commit()
    with sessions() as session:
        fees = session.scalars(select(FeeEntry)).all()
        member_fees = sum(f.amount for f in fees if f.payer == "member")
        assert member_fees == 3 * 50_000  # five linked cards, two of them free through VietinBank payroll
        assert sum(1 for f in fees if f.payer == "vietinbank" and f.amount == 0) == 2
        assert sum(1 for f in fees if f.kind == "first_card" and f.payer == "province") == 30
        receive = open_task(session, instance_id, "receive")
        assert receive.unit_id == org.units["G1"]
        rt.host.complete(session, receive.id, org.user(session, "officer_g1"), {"received": True})
        session.commit()
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == instance_id))
        assert request.status == "delivered"
        assert session.scalar(select(func.count()).select_from(CardItem).where(CardItem.status == "delivered")) == 30
        assert session.get(ProcessInstance, instance_id).status == "completed"
    _, workflow = reload_instance(sessions, instance_id)
    assert workflow.is_completed() and workflow.get_tasks(spec_name="end_delivered")


def test_reprint_charges_the_fee_once_and_printing_twice_reuses_the_batch(sessions, org, rt, frozen_clock):
    from engine.cards import requests as card_requests
    from engine.services import ServiceContext

    with sessions() as session:
        members = add_members(session, rt, org.units["G3"], 3)
        session.commit()
        first = start(session, org, rt, "officer_g3", "G3", {
            "title": "Lần đầu", "scope": "new_members", "letter_mode": "generate", "signer_name": "Lý Văn Trường",
            "signer_title": "Chủ tịch"})
        review = open_task(session, first, "review")
        assert review.unit_id == org.units["P2"]  # post-2025: the province directly above the grassroots union
        rt.host.complete(session, review.id, org.user(session, "reviewer_p2"), {"decision": "forward"})
        session.commit()
        rt.host.complete(session, open_task(session, first, "print").id, org.user(session, "printer_p2"),
                         {"printed": True})
        session.commit()
        code = members[1].member_code
        with pytest.raises(InvalidInput):  # a first card for someone who has one is refused
            rt.host.start(session, "card_printing", org.user(session, "officer_g3"), org.units["G3"], {
                "title": "Sai", "scope": "listed", "member_codes": code, "letter_mode": "generate",
                "signer_name": "A", "signer_title": "B"})
        session.rollback()
        second = start(session, org, rt, "officer_g3", "G3", {
            "title": "In lại", "scope": "none", "reprints": [{"member_code": code, "reason": "lost",
                                                             "card_type": "standard"}],
            "letter_mode": "generate", "signer_name": "Lý Văn Trường", "signer_title": "Chủ tịch"})
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == second))
        assert request.letter_number == "02/ĐK-CĐCS" and request.standard_count == 1
        rt.host.complete(session, open_task(session, second, "review").id, org.user(session, "reviewer_p2"),
                         {"decision": "forward"})
        session.commit()
        rt.host.complete(session, open_task(session, second, "print").id, org.user(session, "printer_p2"),
                         {"printed": True})
        session.commit()
        reprint_fees = session.scalars(select(FeeEntry).where(FeeEntry.kind == "reprint")).all()
        assert [(f.amount, f.payer) for f in reprint_fees] == [(10_000, "member")]
        # running the print steps again (a retried service) neither re-renders nor charges twice
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == second))
        ctx = ServiceContext(session, session.get(ProcessInstance, second), Path(rt.upload_dir), None)
        batch = session.get(CardBatch, request.batch_id)
        pdf_ref = batch.pdf_ref
        assert card_requests.render(ctx, batch.id)["reused"] is True
        assert card_requests.mark_printed(ctx, batch.id)["member_fees"] == 0
        session.commit()
        assert session.get(CardBatch, request.batch_id).pdf_ref == pdf_ref
        assert session.scalar(select(func.count()).select_from(FeeEntry).where(FeeEntry.kind == "reprint")) == 1
    _, workflow = reload_instance(sessions, second)
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=__import__("SpiffWorkflow").TaskState.READY,
                                                             manual=True)] == ["receive"]


def test_requests_without_a_letter_or_with_bad_codes_are_refused(sessions, org, rt, frozen_clock):
    with sessions() as session:
        members = add_members(session, rt, org.units["G2"], 2)
        other = add_members(session, rt, org.units["G1"], 1)
        session.commit()
        assert rt.deploy(session).problems == []
        session.commit()
        cases = [
            ({"scope": "new_members", "letter_mode": "scan"}, "letter_scan"),
            ({"scope": "new_members", "letter_mode": "generate", "signer_name": ""}, "signer_name"),
            ({"scope": "listed", "member_codes": other[0].member_code, "letter_mode": "generate",
              "signer_name": "A", "signer_title": "B"}, "member_codes"),
            ({"scope": "new_members", "linked_codes": "999999999999", "letter_mode": "generate",
              "signer_name": "A", "signer_title": "B"}, "linked_codes"),
            ({"scope": "none", "reprints": [{"member_code": members[0].member_code, "reason": "lost"}],
              "letter_mode": "generate", "signer_name": "A", "signer_title": "B"}, "reprints"),
        ]
        for data, field in cases:
            with pytest.raises(InvalidInput) as refused:
                rt.host.start(session, "card_printing", org.user(session, "officer_g2"), org.units["G2"],
                              {"title": "x", **data})
            session.rollback()
            assert field in refused.value.field_errors, (data, refused.value.field_errors)
        assert session.scalar(select(func.count()).select_from(CardRequest)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_return_and_a_member_without_photo_is_listed_with_a_warning(sessions, org, rt, frozen_clock):
    with sessions() as session:
        add_members(session, rt, org.units["G2"], 2)
        add_members(session, rt, org.units["G2"], 1, with_photo=False)
        session.commit()
        returned = start(session, org, rt, "officer_g2", "G2", {
            "title": "Đợt 1", "scope": "new_members", "letter_mode": "generate", "signer_name": "Ngô Văn Phường",
            "signer_title": "Chủ tịch"})
        review = open_task(session, returned, "review")
        assert review.unit_id == org.units["C2"]
        rt.host.complete(session, review.id, org.user(session, "reviewer_c2"),
                         {"decision": "return", "return_reason": "Sai chức vụ người ký"})
        session.commit()
        assert any("Sai chức vụ người ký" in m for m in messages(session, org.users["officer_g2"]))
        assert session.get(ProcessInstance, returned).status == "completed"
        again = start(session, org, rt, "officer_g2", "G2", {
            "title": "Đợt 1 (sửa)", "scope": "new_members", "letter_mode": "generate",
            "signer_name": "Ngô Văn Phường", "signer_title": "Phó Chủ tịch"})
        rt.host.complete(session, open_task(session, again, "review").id, org.user(session, "reviewer_c2"),
                         {"decision": "forward"})
        session.commit()
        request = session.scalar(select(CardRequest).where(CardRequest.instance_id == again))
        batch = session.get(CardBatch, request.batch_id)
        assert batch.card_count == 3 and len(batch.warnings) == 1 and "ảnh" in batch.warnings[0]["reason"].lower()
        assert open_task(session, again, "print").unit_id == org.units["P2"]
    _, workflow = reload_instance(sessions, again)
    assert "print" in [t.task_spec.bpmn_id for t in workflow.get_tasks(
        state=__import__("SpiffWorkflow").TaskState.READY, manual=True)]
