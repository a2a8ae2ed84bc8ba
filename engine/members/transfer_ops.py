"""Registers the operations that the ``member_transfer`` process's service tasks call."""
from __future__ import annotations

from typing import Any

from engine.members import transfers
from engine.services import ServiceContext, ServiceRegistry


def register(registry: ServiceRegistry) -> None:
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
