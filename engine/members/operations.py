"""The member operations that BPMN service tasks call, and the domain checks of the member forms."""
from __future__ import annotations

from typing import Any

from engine.members import approval, lists
from engine.services import ServiceContext, ServiceRegistry

START_FORM = "member_registration_start.json"
FIX_FORM = "member_registration_fix.json"
REVIEW_FORM = "member_registration_review.json"


def _check_start(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    lists.check_files(ctx.upload_dir, clean.get("workbook"), clean.get("photos"))


def _check_fix(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    if clean.get("next_step") == "resubmit":
        lists.check_files(ctx.upload_dir, clean.get("workbook"), clean.get("photos"))


def register(registry: ServiceRegistry) -> None:
    registry.operation("members.receive_list")(lists.receive)
    registry.operation("members.validate_list")(lists.validate)
    registry.operation("members.return_list")(lists.record_return)
    registry.operation("members.cancel_list")(lists.cancel)
    registry.operation("members.approve_list")(approval.approve)
    registry.form_check(START_FORM)(_check_start)
    registry.form_check(FIX_FORM)(_check_fix)
    registry.form_check(REVIEW_FORM)(lists.check_review)
