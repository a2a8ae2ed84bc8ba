"""The card operations that the card_printing process's service tasks call, and its forms' domain checks."""
from __future__ import annotations

from typing import Any

from engine.cards import requests
from engine.services import ServiceContext, ServiceRegistry

START_FORM = "card_printing_start.json"
REVIEW_FORM = "card_printing_review.json"
PRINT_FORM = "card_printing_print.json"


def _check_start(ctx: ServiceContext, task_data: dict[str, Any], clean: dict[str, Any]) -> None:
    requests.plan(ctx.session, int(task_data["subject_unit_id"]), clean)
    requests.check_letter(ctx.upload_dir, clean)


def register(registry: ServiceRegistry) -> None:
    registry.operation("cards.create_request")(requests.create_request)
    registry.operation("cards.return_request")(requests.return_request)
    registry.operation("cards.forward")(requests.forward)
    registry.operation("cards.create_batch")(requests.create_batch)
    registry.operation("cards.render_batch")(requests.render)
    registry.operation("cards.mark_printed")(requests.mark_printed)
    registry.operation("cards.mark_delivered")(requests.mark_delivered)
    registry.form_check(START_FORM)(_check_start)
    registry.form_check(REVIEW_FORM)(requests.check_review)
    registry.form_check(PRINT_FORM)(requests.check_print)
