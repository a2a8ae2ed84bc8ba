"""Firing due timers: lease due instances atomically, fire each in its own transaction.

Each instance keeps ``next_due_at`` (its earliest waiting timer) in an indexed column. A worker leases a
batch of due rows with one UPDATE … RETURNING (PostgreSQL adds ``FOR UPDATE SKIP LOCKED`` in the
subquery; SQLite serialises writers, which makes the single statement atomic), so two workers never
hold the same instance. The instance's ``lock_version`` guards the save as well: a timer run that races
a user's completion is rolled back and retried on the next tick, never applied twice.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.errors import PlatformError
from engine.host import WorkflowHost
from engine.models import ProcessInstance

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)


def lease_due(session: Session, worker_id: str, batch: int = 50) -> list[int]:
    now = clock.now()
    due = (select(ProcessInstance.id)
           .where(ProcessInstance.next_due_at <= now, ProcessInstance.status.in_(("running", "waiting")),
                  (ProcessInstance.lease_until.is_(None)) | (ProcessInstance.lease_until < now))
           .order_by(ProcessInstance.next_due_at).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(update(ProcessInstance).where(ProcessInstance.id.in_(due.scalar_subquery()))
                           .values(lease_owner=worker_id, lease_until=now + LEASE)
                           .returning(ProcessInstance.id)
                           .execution_options(synchronize_session=False)).scalars().all()
    return list(rows)


def _release(session: Session, instance_id: int, worker_id: str) -> None:
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                  ProcessInstance.lease_owner == worker_id)
                    .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False))


def fire_due(sessions: sessionmaker, host: WorkflowHost, worker_id: str, batch: int = 50) -> int:
    """Fire every due timer once; returns how many instances were advanced."""
    fired = 0
    while True:
        with sessions() as session:
            ids = lease_due(session, worker_id, batch)
            session.commit()
        if not ids:
            return fired
        for instance_id in ids:
            with sessions() as session:
                try:
                    instance = session.get(ProcessInstance, instance_id)
                    if instance is None or instance.lease_owner != worker_id:
                        continue
                    host.fire_timers(session, instance)
                    instance.lease_owner, instance.lease_until = None, None
                    session.commit()
                    fired += 1
                except PlatformError as exc:
                    session.rollback()
                    log.warning("timer for instance %s not fired: %s", instance_id, exc.message)
                    _release(session, instance_id, worker_id)
                    session.commit()
        if len(ids) < batch:
            return fired
