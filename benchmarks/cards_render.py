"""Member card rendering benchmark (issue 4): 1,000 cards = 100 A4 sheets, fronts and backs (200 pages).

*Platform:* ``engine.cards.render_batch_parallel(cards, workers=2)``: validating and preparing each card
(photo decoded whole with Pillow, barcode built), building the HTML per chunk of sheets, rendering the chunks
in a 2-process pool and merging the PDFs (with pypdf; without it the platform renders in one process).
*Baseline:* the very same HTML the platform lays out for the whole batch (``engine.cards.batch_html``, built
once before timing) rendered with ``weasyprint.HTML(string=...).write_pdf()`` in this process.
Every card has its own photo (a small generated JPEG), as in a real batch. Platform and baseline run
interleaved, best round of each counts. Target: ratio <= 1.3.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/cards_render.py [--quick]`` (one JSON line per result).
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from engine.cards import CardData, batch_html, render_batch_parallel  # noqa: E402
from engine.cards.render import merge_available  # noqa: E402
from engine.membercodes import member_code  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Thị", "Văn", "Hữu", "Ngọc", "Thanh", "Minh", "Quang", "Thị Ngọc", "Đức"]
GIVEN = ["Thủy", "Đức", "Ánh", "Hường", "Vũ", "Hạnh", "Phương", "Dũng", "Trường", "Yến", "Lộc", "Nguyệt"]
UNITS = [
    "Công đoàn cơ sở Công ty Cổ phần Dệt may Quy Nhơn",
    "CĐCS Trường THCS Lê Lợi",
    "Công đoàn cơ sở Bệnh viện Đa khoa tỉnh Bình Định",
    "CĐCS Công ty TNHH Một thành viên Cấp nước Bình Định",
]


def _photo(k: int) -> bytes:
    img = Image.new("RGB", (240, 360), (150 + k % 100, 140 + k * 7 % 100, 130 + k * 13 % 100))
    draw = ImageDraw.Draw(img)
    draw.ellipse((70, 60, 170, 180), fill=(110, 80 + k % 40, 60))
    draw.rectangle((30, 210, 210, 360), fill=(20 + k % 60, 50, 110))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def make_cards(n: int) -> list[CardData]:
    return [
        CardData(
            full_name=f"{FAMILY[k % 12]} {MIDDLE[k % 9]} {GIVEN[k * 5 % 12]}",
            birth_date=date(1965 + k % 38, 1 + k % 12, 1 + k % 28),
            unit_name=UNITS[k // 40 % len(UNITS)],
            member_code=member_code(5_000_000 + k),
            vpoint_code=f"VP{5_000_000 + k:011d}",
            photo=_photo(k),
            issue_date=date(2026, 11, 23),
            linked=k % 6 == 0,
        )
        for k in range(n)
    ]


def run(quick: bool = False, rounds: int | None = None) -> list[dict[str, Any]]:
    n = 100 if quick else 1000
    rounds = rounds or 2
    cards = make_cards(n)
    html = batch_html(cards)  # the baseline's static HTML, built once, outside the timing
    platform: list[float] = []
    baseline: list[float] = []
    pages = 0
    workers = 1
    size = 0
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        result = render_batch_parallel(cards, workers=2)
        platform.append(time.perf_counter() - start)
        pages, workers, size = result.pages, result.workers, len(result.pdf)
        del result
        gc.collect()
        start = time.perf_counter()
        weasyprint.HTML(string=html).write_pdf()
        baseline.append(time.perf_counter() - start)
    best_platform, best_baseline = min(platform), min(baseline)
    ratio = best_platform / best_baseline
    return [{
        "name": "cards_render_1000" if not quick else "cards_render_100",
        "platform_s": round(best_platform, 3),
        "baseline_s": round(best_baseline, 3),
        "ratio": round(ratio, 3),
        "target": "ratio <= 1.3",
        "met": ratio <= 1.3,
        "cards_per_s": round(n / best_platform, 1),
        "baseline_cards_per_s": round(n / best_baseline, 1),
        "cards": n,
        "pages": pages,
        "workers": workers,
        "pdf_mb": round(size / 1e6, 2),
        "merger": "pypdf" if merge_available() else "none (one process)",
        "rounds": rounds,
        # the first platform round also starts the fork server (WeasyPrint loaded once per process)
        "platform_rounds_s": [round(t, 3) for t in platform],
        "baseline_rounds_s": [round(t, 3) for t in baseline],
    }]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 cards instead of 1,000")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    for line in run(quick=args.quick, rounds=args.rounds):
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
