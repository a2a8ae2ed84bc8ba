"""The state of a long step (a list being checked, a batch being laid out) as a progress bar reads it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Progress:
    status: str
    label: str
    done: int
    total: int
    note: str
    finished: bool

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "label": self.label, "done": self.done, "total": self.total,
                "note": self.note, "finished": self.finished,
                "percent": round(100 * self.done / self.total) if self.total else (100 if self.finished else 0)}
