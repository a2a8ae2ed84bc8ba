"""Card fees: amounts are configuration (config/card_fees.json or the file named by CARD_FEES_FILE),
never code. ``charges(item)`` says what a card item costs and who pays."""
from __future__ import annotations

from engine.i18n import N_

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent.parent.parent / "config" / "card_fees.json"


@dataclass(frozen=True)
class FeeSchedule:
    first_card: int
    reprint: int
    linked: int
    linked_free_for_vietinbank_payroll: bool


@dataclass(frozen=True)
class Charge:
    kind: str  # first_card | reprint | linked
    amount: int  # VND
    payer: str  # province | member | vietinbank
    note: str


def _amount(raw: dict, key: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"card fee '{key}' must be a whole number of VND ≥ 0, got {value!r}")
    return value


@lru_cache(maxsize=4)
def load(path: str | None = None) -> FeeSchedule:
    """The fee schedule from ``path``, else $CARD_FEES_FILE, else config/card_fees.json."""
    source = Path(path or os.environ.get("CARD_FEES_FILE") or DEFAULT_FILE)
    raw = json.loads(source.read_text(encoding="utf-8"))
    return FeeSchedule(_amount(raw, "first_card"), _amount(raw, "reprint"), _amount(raw, "linked"),
                       bool(raw.get("linked_free_for_vietinbank_payroll", True)))


def charges(card_type: str, reason: str, vietinbank_payroll: bool, schedule: FeeSchedule | None = None) -> list[Charge]:
    """What printing one card costs: the first card is funded by the province, a reprint is charged to the
    member, a linked card costs the linked fee unless the member is paid through VietinBank."""
    fees = schedule or load()
    result = [Charge("first_card", fees.first_card, "province", "Thẻ lần đầu do LĐLĐ tỉnh/TP chi trả")
              if reason == "first" else
              Charge("reprint", fees.reprint, "member", f"In lại thẻ ({REASON_LABELS.get(reason, reason)})")]
    if card_type == "linked":
        if vietinbank_payroll and fees.linked_free_for_vietinbank_payroll:
            result.append(Charge("linked", 0, "vietinbank", "Thẻ liên kết miễn phí: nhận lương qua VietinBank"))
        else:
            result.append(Charge("linked", fees.linked, "member", "Phí thẻ liên kết"))
    return result


REASON_LABELS = {
    "first": N_("cấp lần đầu"),
    "lost": N_("mất thẻ"),
    "damaged": N_("hỏng thẻ"),
    "changed": N_("thay đổi thông tin"),
}
CARD_TYPE_LABELS = {"standard": N_("Thẻ thường"), "linked": N_("Thẻ liên kết VietinBank")}
PAYER_LABELS = {
    "province": N_("LĐLĐ tỉnh/TP"),
    "member": N_("Đoàn viên"),
    "vietinbank": N_("Miễn (lương qua VietinBank)"),
}
