"""Registers the operations that the ``member_transfer`` process's service tasks call."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.errors import InvalidInput
from engine.members import transfers
from engine.services import ServiceContext, ServiceRegistry


START_FORM = "member_transfer_start.json"


def check_start(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    """Refuse a request that the process would refuse, before any instance is created: the same checks as
    ``request_transfer``, run inside a savepoint that is rolled back."""
    probe = SimpleNamespace(id=None, subject_unit_id=int(task_data["subject_unit_id"]))
    savepoint = ctx.session.begin_nested()
    try:
        result = transfers.request_transfer(ctx.session, probe, ctx.actor_id, clean.get("member_code") or "",
                                            clean.get("to_unit_code") or "", clean.get("reason") or "",
                                            clean.get("effective_date"))
    finally:
        savepoint.rollback()
    if not result.get("ok"):
        message = result.get("message") or "Không thể chuyển sinh hoạt"
        field = "to_unit_code" if "đơn vị nhận" in message.lower() else "member_code"
        raise InvalidInput(message, field_errors={field: message})


def register(registry: ServiceRegistry) -> None:
    registry.form_check(START_FORM)(check_start)

    @registry.operation("members.transfer_request")
    def transfer_request(ctx: ServiceContext, member_code: str = "", to_unit_code: str = "", reason: str = "",
                         effective_date: Any = None) -> dict[str, Any]:
        return transfers.request_transfer(ctx.session, ctx.instance, ctx.actor_id, member_code, to_unit_code,
                                          reason, effective_date)

    @registry.operation("members.transfer_reject")
    def transfer_reject(ctx: ServiceContext, transfer_id: int, stage: str = "", note: str = "") -> dict[str, Any]:
        return transfers.reject_transfer(ctx.session, ctx.instance, ctx.actor_id, transfer_id, stage, note)

    @registry.operation("members.transfer_complete")
    def transfer_complete(ctx: ServiceContext, transfer_id: int, effective_date: Any = None) -> dict[str, Any]:
        return transfers.complete_transfer(ctx.session, ctx.instance, ctx.actor_id, transfer_id, effective_date)
