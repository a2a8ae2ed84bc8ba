"""Demo data: the VGCL 2022 unit list plus demo subtrees (3-level and post-2025 2-level) and accounts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from engine import accounts, orgtree
from engine.orgtree import DATA_DIR, unit_by_code

DEMO_PASSWORD = "demo1234"

# code, name, kind, parent code
DEMO_UNITS = [
    ("102.08.01", "Liên đoàn Lao động thành phố Quy Nhơn", "district_federation", "102.08"),
    ("102.08.01.001", "Công đoàn cơ sở Trường THPT Quốc Học Quy Nhơn", "grassroots", "102.08.01"),
    ("102.08.01.002", "Công đoàn cơ sở Công ty CP Dệt may Phú Tài", "grassroots", "102.08.01"),
    ("102.08.02", "Công đoàn phường Quy Nhơn Nam", "commune_union", "102.08"),
    ("102.08.02.001", "Công đoàn cơ sở Công ty CP Cảng Quy Nhơn", "grassroots", "102.08.02"),
    ("102.08.003", "Công đoàn cơ sở Bệnh viện Đa khoa tỉnh Bình Định", "grassroots", "102.08"),
]

# username, full name, admin?, [(role, unit code)]
DEMO_USERS = [
    ("admin", "Quản trị hệ thống", True, []),
    ("lanhdao", "Nguyễn Văn Hùng", False, [("leader", "102.08"), ("manager", "102.08")]),
    ("chuyenvien", "Trần Thị Thuỷ", False, [("staff", "102.08")]),
    ("chuyenvien2", "Lê Minh Đức", False, [("staff", "102.08")]),
    ("vanthu", "Phạm Thị Lan", False, [("clerk", "102.08")]),
    ("intinh", "Võ Thị Hồng", False, [("province_printer", "102.08")]),
    ("quynhon", "Đặng Văn Bình", False, [("upper_reviewer", "102.08.01"), ("leader", "102.08.01")]),
    ("phuong", "Huỳnh Thị Mai", False, [("upper_reviewer", "102.08.02")]),
    ("cdcs", "Ngô Thị Ánh", False, [("grassroots_officer", "102.08.01.001")]),
    ("cdcscang", "Bùi Văn Tâm", False, [("grassroots_officer", "102.08.02.001")]),
]


# Approved demo members (unit code, how many, random seed); 102.08.01.001 is left for trying registration.
DEMO_MEMBERS = [("102.08.01.002", 25, 11), ("102.08.02.001", 30, 12), ("102.08.003", 20, 13)]


@dataclass
class SeedReport:
    units_added: int
    users_added: list[str]


def seed(session: Session, password: str = DEMO_PASSWORD) -> SeedReport:
    """Idempotent: loads what is missing, leaves what exists."""
    added = orgtree.load_units_csv(session, DATA_DIR / "vgcl_units_2022.csv")
    for code, name, kind, parent in DEMO_UNITS:
        if unit_by_code(session, code) is None:
            orgtree.create_unit(session, code, name, kind, unit_by_code(session, parent), date(2025, 7, 1))
            added += 1
    users = []
    for username, full_name, is_admin, roles in DEMO_USERS:
        user = accounts.user_by_username(session, username)
        if user is None:
            user = accounts.create_user(session, username, full_name, password, is_admin=is_admin)
            users.append(username)
        for role, code in roles:
            accounts.grant_role(session, user, unit_by_code(session, code), role)
    from engine.members.samples import seed_members

    for code, count, seed_no in DEMO_MEMBERS:
        seed_members(session, code, count, seed_no)
    return SeedReport(added, users)
