"""Card printing tables: requests from grassroots unions, their items, print batches and the fee ledger.

One ``card_printing`` process instance handles one request: the CĐCS asks for cards (with the request
letter), the level above forwards it, the province/city renders a batch, prints it and hands it down.
A fee is recorded once per item (unique), so printing a batch twice never charges twice.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime
from engine.models import OrgUnit, User, utcnow

REQUEST_STATUSES = ("submitted", "returned", "forwarded", "rendering", "ready", "printed", "delivered")
CARD_TYPES = ("standard", "linked")
REASONS = ("first", "lost", "damaged", "changed")


class CardRequest(Base):
    """A grassroots union's request for cards (đăng ký in thẻ), with its letter."""

    __tablename__ = "card_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    province_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    standard_count: Mapped[int] = mapped_column(Integer, default=0)
    linked_count: Mapped[int] = mapped_column(Integer, default=0)
    letter_ref: Mapped[Optional[str]] = mapped_column(String(300))
    letter_kind: Mapped[str] = mapped_column(String(10), default="generated")  # generated | scan
    letter_number: Mapped[Optional[str]] = mapped_column(String(40))
    signer_name: Mapped[str] = mapped_column(String(200), default="")
    signer_title: Mapped[str] = mapped_column(String(200), default="")
    request_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    forwarded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    forwarded_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    return_reason: Mapped[Optional[str]] = mapped_column(Text)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("card_batches.id"))
    delivered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    province: Mapped[Optional[OrgUnit]] = relationship(foreign_keys=[province_id])
    requested_by: Mapped[Optional[User]] = relationship(foreign_keys=[requested_by_id])
    items: Mapped[list["CardItem"]] = relationship(back_populates="request", order_by="CardItem.id")


class CardItem(Base):
    """One card asked for: a member, standard or linked, first card or a reprint with its reason."""

    __tablename__ = "card_items"
    __table_args__ = (Index("ix_card_items_member_status", "member_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("card_requests.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    card_type: Mapped[str] = mapped_column(String(10), default="standard")
    reason: Mapped[str] = mapped_column(String(10), default="first")
    vietinbank_payroll: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="requested")  # requested printed delivered skipped
    skip_reason: Mapped[Optional[str]] = mapped_column(Text)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("card_batches.id"), index=True)
    printed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    request: Mapped[CardRequest] = relationship(back_populates="items")
    member: Mapped["Member"] = relationship()  # noqa: F821 - engine.members.models


class CardBatch(Base):
    """A print batch of the province/city: the print-ready PDF of A4 sheets (fronts and backs)."""

    __tablename__ = "card_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued rendering ready printed
    pdf_ref: Mapped[Optional[str]] = mapped_column(String(300))
    card_count: Mapped[int] = mapped_column(Integer, default=0)
    sheet_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    render_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    printed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    printed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    province: Mapped[OrgUnit] = relationship()


class FeeEntry(Base):
    """The fee ledger: one row per charged card item (reprint fee, linked-card fee); amounts in VND."""

    __tablename__ = "fee_entries"
    __table_args__ = (UniqueConstraint("item_id", "kind", name="uq_fee_entry_item_kind"),
                      Index("ix_fee_entries_unit_at", "unit_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("card_items.id"))
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("card_batches.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(20))  # first_card | reprint | linked
    amount: Mapped[int] = mapped_column(Integer)  # VND; 0 when waived
    payer: Mapped[str] = mapped_column(String(20))  # province | member | vietinbank
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit] = relationship()
