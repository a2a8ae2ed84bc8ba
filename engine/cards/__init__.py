"""Member card rendering (issue 4): CR80 cards on A4 print sheets and one-card previews, with WeasyPrint.

The names below are loaded on first use, so that importing ``engine.cards.<module>`` (models, fees...) does
not load WeasyPrint.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.cards.render import (
        BatchResult,
        CardData,
        CardIssue,
        batch_html,
        render_batch,
        render_batch_parallel,
        render_preview,
    )

__all__ = [
    "BatchResult",
    "CardData",
    "CardIssue",
    "batch_html",
    "render_batch",
    "render_batch_parallel",
    "render_preview",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from engine.cards import render

        return getattr(render, name)
    raise AttributeError(f"module 'engine.cards' has no attribute {name!r}")
