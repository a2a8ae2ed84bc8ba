"""Member tables: submitted lists and their rows, members, their history, codes, transfers and targets.

Members exist only once approved: a submitted list keeps its rows in ``member_list_entries`` until the
upper level decides; approved rows become ``members`` with codes drawn from ``code_counters`` in the
approval transaction.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (DDL, JSON, BigInteger, Computed, Date, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, event, inspect, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime
from engine.models import OrgUnit, User, utcnow

LIST_STATUSES = ("received", "validating", "invalid", "in_review", "returned", "approved", "cancelled")
MEMBER_STATUSES = ("active", "left", "removed")


class CodeCounter(Base):
    """Nation-wide serial counters ("member"); a block is taken with one UPDATE … RETURNING."""

    __tablename__ = "code_counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class MemberList(Base):
    """A member list submitted by a grassroots union (one registration process instance)."""

    __tablename__ = "member_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instances.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    workbook_ref: Mapped[Optional[str]] = mapped_column(String(300))
    photo_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    problems_json: Mapped[Optional[str]] = mapped_column(Text)
    fatal: Mapped[Optional[str]] = mapped_column(Text)
    error_ref: Mapped[Optional[str]] = mapped_column(String(300))
    approved_ref: Mapped[Optional[str]] = mapped_column(String(300))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_note: Mapped[Optional[str]] = mapped_column(String(200))
    submitted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    validated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    unit: Mapped[OrgUnit] = relationship()
    submitted_by: Mapped[Optional[User]] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[Optional[User]] = relationship(foreign_keys=[reviewed_by_id])


class MemberListEntry(Base):
    """One row of a valid list, waiting for the upper level's decision."""

    __tablename__ = "member_list_entries"
    __table_args__ = (UniqueConstraint("list_id", "id_number", name="uq_member_list_entry"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("member_lists.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    id_number: Mapped[str] = mapped_column(String(12), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[str] = mapped_column(String(20), default="pending")  # pending approved rejected
    reason: Mapped[Optional[str]] = mapped_column(Text)
    member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("members.id"))


class Member(Base):
    """An approved union member. ``name_fold`` is the accent-free lower-case name; ``name_words`` the same with a
    leading space (computed by the database) so that word-prefix search is ``name_words LIKE '% vo% thi%'``;
    ``sort_key`` the ICU key (given name, then full name) so that SQL sorts in Vietnamese order; ``province_id``
    the first-level federation above the member's unit (the top-most ancestor that is not the confederation),
    kept by the ORM hooks below and by ``engine.members.registry.sync_provinces`` after org-tree moves."""

    __tablename__ = "members"
    __table_args__ = (
        Index("ix_members_unit_sort", "unit_id", "sort_key"),
        Index("ix_members_status_unit", "status", "unit_id"),
        # Word-prefix search: a trigram GIN index on PostgreSQL, a plain index on SQLite.
        Index("ix_members_name_words", "name_words", postgresql_using="gin",
              postgresql_ops={"name_words": "gin_trgm_ops"}),
        # A province's members in Vietnamese order; unit and name ride along so that a scoped, filtered walk in
        # that order never reads the table (index-only scan).
        Index("ix_members_province_sort", "province_id", "status", "sort_key", "id",
              postgresql_include=["unit_id", "name_words"]),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    member_code: Mapped[str] = mapped_column(String(12), unique=True)
    vpoint_code: Mapped[str] = mapped_column(String(16), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    full_name: Mapped[str] = mapped_column(String(200))
    name_fold: Mapped[str] = mapped_column(String(200))
    name_words: Mapped[Optional[str]] = mapped_column(String(201), Computed("' ' || name_fold", persisted=True))
    province_id: Mapped[Optional[int]] = mapped_column(Integer)  # org_units.id; no FK: a search hint, no joins
    sort_key: Mapped[bytes] = mapped_column(LargeBinary)
    birth_date: Mapped[Optional[date]] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10), default="")
    id_number: Mapped[str] = mapped_column(String(12), unique=True)
    id_kind: Mapped[str] = mapped_column(String(6), default="CCCD")
    ethnicity: Mapped[str] = mapped_column(String(40), default="")
    religion: Mapped[str] = mapped_column(String(60), default="")
    education: Mapped[str] = mapped_column(String(40), default="")
    qualification: Mapped[str] = mapped_column(String(60), default="")
    politics: Mapped[str] = mapped_column(String(40), default="")
    occupation: Mapped[str] = mapped_column(String(200), default="")
    joined_on: Mapped[Optional[date]] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    photo_ref: Mapped[Optional[str]] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[Optional[str]] = mapped_column(Text)
    status_date: Mapped[Optional[date]] = mapped_column(Date)
    list_id: Mapped[Optional[int]] = mapped_column(ForeignKey("member_lists.id"), index=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])

    @staticmethod
    def province_for(connection: Any, unit_id: int | None) -> int | None:
        """The first-level federation of a unit: its top-most ancestor (itself included) that is not the
        confederation; None for the confederation itself."""
        units = OrgUnit.__table__
        found, node, seen = None, unit_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            row = connection.execute(select(units.c.parent_id, units.c.kind).where(units.c.id == node)).first()
            if row is None:
                break
            if row.kind != "confederation":
                found = node
            node = row.parent_id
        return found

    @classmethod
    def __declare_last__(cls) -> None:
        def fill_province(_mapper: Any, connection: Any, member: "Member") -> None:
            if member.province_id is None or inspect(member).attrs.unit_id.history.has_changes():
                member.province_id = cls.province_for(connection, member.unit_id)

        event.listen(cls, "before_insert", fill_province)
        event.listen(cls, "before_update", fill_province)


event.listen(Member.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
# Finer statistics for the search columns: the name search chooses its plan from the planner's estimate of how
# many names match a pattern, and from where a sort key falls in the order (engine.members.registry).
event.listen(Member.__table__, "after_create",
             DDL("ALTER TABLE members ALTER COLUMN name_words SET STATISTICS 1000, "
                 "ALTER COLUMN sort_key SET STATISTICS 1000").execute_if(dialect="postgresql"))


class MemberEvent(Base):
    """History of a member: registered, transferred, updated, left, removed."""

    __tablename__ = "member_events"
    __table_args__ = (Index("ix_member_events_unit_kind_at", "unit_id", "kind", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    effective: Mapped[Optional[date]] = mapped_column(Date)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instances.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[Optional[User]] = relationship()
    unit: Mapped[OrgUnit] = relationship()


class MemberTransfer(Base):
    """A transfer between grassroots unions (chuyển sinh hoạt), run by the member_transfer process."""

    __tablename__ = "member_transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instances.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")  # requested approved rejected cancelled
    reason: Mapped[str] = mapped_column(Text, default="")
    decision_note: Mapped[Optional[str]] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship()
    from_unit: Mapped[OrgUnit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[OrgUnit] = relationship(foreign_keys=[to_unit_id])


class MemberTarget(Base):
    """A unit's yearly target (chỉ tiêu): members registered or updated, with a deadline."""

    __tablename__ = "member_targets"
    __table_args__ = (UniqueConstraint("unit_id", "year", "kind", name="uq_member_target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # registered | updated
    target: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    set_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit] = relationship()
