"""The union org tree: loading, walking, renaming, moving, merging (with history)."""
from __future__ import annotations

import csv
import unicodedata
from datetime import date
from pathlib import Path
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.models import OrgUnit, OrgUnitEvent
from engine.roles import ROLES, UNIT_KINDS

DATA_DIR = Path(__file__).parent / "data"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def get_unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("Không tìm thấy đơn vị", unit_id=unit_id)
    return unit


def unit_by_code(session: Session, code: str) -> OrgUnit | None:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def current(session: Session, unit: OrgUnit) -> OrgUnit:
    """Follow merges: a unit merged into another is represented by the one it merged into."""
    seen = set()
    while unit.merged_into_id is not None and unit.id not in seen:
        seen.add(unit.id)
        unit = get_unit(session, unit.merged_into_id)
    return unit


def ancestors(session: Session, unit: OrgUnit, include_self: bool = False) -> list[OrgUnit]:
    chain = [unit] if include_self else []
    node = unit
    for _ in range(50):  # the tree is shallow; this guards against a cycle in bad data
        if node.parent_id is None:
            break
        node = current(session, get_unit(session, node.parent_id))
        chain.append(node)
    return chain


def descendant_ids(session: Session, root_ids: Iterable[int]) -> set[int]:
    """All unit ids at or below the given units (breadth-first over parent links)."""
    found = set(root_ids)
    frontier = set(found)
    while frontier:
        children = session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.in_(frontier))).all()
        frontier = set(children) - found
        found |= frontier
    return found


def resolve_role_unit(session: Session, role: str, subject: OrgUnit, levels_up: int = 0) -> OrgUnit | None:
    """The unit that holds ``role`` for a process about ``subject``; ``levels_up`` walks further up
    (escalation to the level above)."""
    spec = ROLES.get(role)
    if spec is None:
        return None
    subject = current(session, subject)
    chain = ancestors(session, subject, include_self=True)
    if spec.resolve == "self":
        index = 0
    elif spec.resolve == "parent":
        index = 1
    else:
        index = next((i for i, u in enumerate(chain) if u.kind in spec.kinds), -1)
        if index < 0:
            return None
    index += levels_up
    return chain[index] if index < len(chain) else None


def create_unit(session: Session, code: str, name: str, kind: str, parent: OrgUnit | None,
                effective: date | None = None, actor_id: int | None = None) -> OrgUnit:
    if kind not in UNIT_KINDS:
        raise InvalidInput("Loại đơn vị không hợp lệ", field_errors={"kind": "Loại đơn vị không hợp lệ"})
    code = code.strip()
    if not code or unit_by_code(session, code) is not None:
        raise InvalidInput("Mã định danh đã tồn tại hoặc trống", field_errors={"code": "Mã định danh đã tồn tại"})
    unit = OrgUnit(code=code, name=nfc(name), kind=kind, parent_id=parent.id if parent else None,
                   valid_from=effective or date.today())
    session.add(unit)
    session.flush()
    _record(session, unit, "created", None, unit.name, effective, actor_id)
    return unit


def rename_unit(session: Session, unit: OrgUnit, new_name: str, effective: date | None = None,
                actor_id: int | None = None) -> None:
    new_name = nfc(new_name)
    if not new_name:
        raise InvalidInput("Tên đơn vị không được để trống", field_errors={"name": "Bắt buộc"})
    _record(session, unit, "renamed", unit.name, new_name, effective, actor_id)
    unit.name = new_name


def move_unit(session: Session, unit: OrgUnit, new_parent: OrgUnit, effective: date | None = None,
              actor_id: int | None = None) -> None:
    if new_parent.id == unit.id or unit.id in {a.id for a in ancestors(session, new_parent)}:
        raise InvalidInput("Không thể chuyển đơn vị vào chính đơn vị cấp dưới của nó")
    old = unit.parent.code if unit.parent else None
    _record(session, unit, "moved", old, new_parent.code, effective, actor_id)
    unit.parent_id = new_parent.id
    session.flush()
    from engine.members.registry import sync_provinces  # members' province follows the tree (search scope)

    sync_provinces(session, [unit.id])


def merge_units(session: Session, source: OrgUnit, target: OrgUnit, effective: date | None = None,
                actor_id: int | None = None) -> None:
    """Close ``source``; its children move under ``target``; its data stays addressable through it."""
    if source.id == target.id:
        raise InvalidInput("Không thể hợp nhất đơn vị với chính nó")
    for child in session.scalars(select(OrgUnit).where(OrgUnit.parent_id == source.id)).all():
        move_unit(session, child, target, effective, actor_id)
    source.merged_into_id = target.id
    source.valid_to = effective or date.today()
    _record(session, source, "merged", source.code, target.code, effective, actor_id)


def _record(session: Session, unit: OrgUnit, change: str, old: str | None, new: str | None,
            effective: date | None, actor_id: int | None) -> None:
    session.info.pop("accounts_cache", None)  # scopes derived from the tree are stale now
    session.add(OrgUnitEvent(unit_id=unit.id, change=change, old_value=old, new_value=new,
                             effective=effective or date.today(), actor_id=actor_id))


def load_units_csv(session: Session, path: Path, effective: date = date(2022, 11, 2)) -> int:
    """Load ``code,name,kind,parent_code`` rows; existing codes are left as they are."""
    count = 0
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if unit_by_code(session, row["code"]) is not None:
                continue
            parent = unit_by_code(session, row["parent_code"]) if row.get("parent_code") else None
            create_unit(session, row["code"], row["name"], row["kind"], parent, effective)
            count += 1
    return count


def history(session: Session, unit: OrgUnit) -> list[OrgUnitEvent]:
    return list(session.scalars(select(OrgUnitEvent).where(OrgUnitEvent.unit_id == unit.id)
                                .order_by(OrgUnitEvent.at)))
