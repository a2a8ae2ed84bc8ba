"""The append-only audit log and user notifications."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.forms import json_default
from engine.models import AuditEntry, Notification


def record(session: Session, action: str, actor_id: int | None = None, instance_id: int | None = None,
           entity: str | None = None, entity_id: object = None, **details: Any) -> AuditEntry:
    """Append one audit entry; details must be JSON-compatible (dates become ISO strings)."""
    entry = AuditEntry(at=clock.now(), action=action, actor_id=actor_id, instance_id=instance_id, entity=entity,
                       entity_id=None if entity_id is None else str(entity_id),
                       details=json.loads(json.dumps(details, default=json_default)))
    session.add(entry)
    return entry


def data_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Keys added or changed between two task-data snapshots, with old and new values."""
    change = {}
    for key, value in after.items():
        if key not in before or before[key] != value:
            change[key] = {"old": before.get(key), "new": value}
    for key in before.keys() - after.keys():
        change[key] = {"old": before[key], "new": None}
    return json.loads(json.dumps(change, default=json_default))


def instance_history(session: Session, instance_id: int) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.instance_id == instance_id)
                                .order_by(AuditEntry.at, AuditEntry.id)))


def notify(session: Session, user_id: int, message: str, instance_id: int | None = None,
           kind: str = "info", at: datetime | None = None) -> Notification:
    note = Notification(user_id=user_id, message=message, instance_id=instance_id, kind=kind,
                        created_at=at or clock.now())
    session.add(note)
    return note


def unread(session: Session, user_id: int, limit: int = 20) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_(None))
                                .order_by(Notification.created_at.desc()).limit(limit)))
