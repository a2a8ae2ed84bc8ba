"""Member card rendering (issue 4): CR80 cards on A4 print sheets and one-card previews, with WeasyPrint."""
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
