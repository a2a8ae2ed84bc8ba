"""Roles that BPMN lanes name, and how the unit holding a role is found from the subject unit.

A lane names a role. The host finds the unit that holds it by walking the org tree from the
instance's subject unit by unit *kind*, never by a hard-coded level, so the same process runs on a
3-level tree (grassroots → district → province) and on the post-2025 2-level ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Unit kinds, from the top. Any kind may hold grassroots units below it.
UNIT_KINDS: dict[str, tuple[str, str]] = {
    "confederation": ("Tổng Liên đoàn", "Confederation"),
    "provincial_federation": ("LĐLĐ tỉnh/thành phố", "Provincial federation"),
    "sector_union": ("Công đoàn ngành Trung ương", "National sector union"),
    "corporation_union": ("Công đoàn Tổng Công ty", "Corporation union"),
    "direct_unit": ("Đơn vị trực thuộc", "Unit directly under VGCL"),
    "district_federation": ("LĐLĐ quận/huyện", "District federation"),
    "commune_union": ("Công đoàn xã/phường/đặc khu", "Commune/ward union"),
    "zone_union": ("Công đoàn khu công nghiệp", "Industrial zone union"),
    "upper_grassroots": ("Công đoàn cấp trên trực tiếp cơ sở", "Upper-level union"),
    "grassroots": ("Công đoàn cơ sở", "Grassroots union"),
}
PRINTING_KINDS = frozenset({"provincial_federation", "sector_union", "confederation"})


@dataclass(frozen=True)
class Role:
    label_vi: str
    label_en: str
    # "self": the subject unit; "parent": the unit directly above it; "nearest": the nearest unit at or
    # above the subject unit whose kind is in ``kinds``.
    resolve: str = "self"
    kinds: frozenset[str] = field(default_factory=frozenset)
    manager: bool = False  # may reassign tasks of its unit


ROLES: dict[str, Role] = {
    "grassroots_officer": Role("Cán bộ công đoàn cơ sở", "Grassroots union officer", "self"),
    "upper_reviewer": Role("Cán bộ công đoàn cấp trên trực tiếp", "Upper-level reviewer", "parent"),
    "province_printer": Role("Cán bộ in thẻ LĐLĐ tỉnh/TP", "Provincial card printer", "nearest", PRINTING_KINDS),
    "leader": Role("Lãnh đạo", "Leader", "self", manager=True),
    "clerk": Role("Văn thư", "Clerk", "self"),
    "staff": Role("Chuyên viên", "Staff member", "self"),
    "manager": Role("Quản lý", "Manager", "self", manager=True),
}


def known_roles() -> frozenset[str]:
    return frozenset(ROLES)


def role_label(role: str | None, locale: str = "vi") -> str:
    if role is None or role not in ROLES:
        return role or ""
    return ROLES[role].label_vi if locale == "vi" else ROLES[role].label_en


def kind_label(kind: str, locale: str = "vi") -> str:
    vi, en = UNIT_KINDS.get(kind, (kind, kind))
    return vi if locale == "vi" else en
