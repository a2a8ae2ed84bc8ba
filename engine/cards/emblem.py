"""Original artwork for the card, drawn here as SVG (no third-party or official logo is reproduced).

* ``EMBLEM_SVG``: a round badge: red disc with a gold rim, a gold cogwheel (work), a white field with
  a gold five-pointed star above an open blue book (learning), and gold laurel leaves along the lower rim.
* ``SILHOUETTE_SVG``: the 2x3 photo placeholder (grey head and shoulders).
* ``data_uri(svg)``: an SVG as a ``data:`` URI for an <img> (WeasyPrint parses one URI once per render).
"""
from __future__ import annotations

import math
from urllib.parse import quote

RED = "#c8102e"
GOLD = "#f2c230"
BLUE = "#1f4e9e"


def _star(cx: float, cy: float, outer: float, inner: float) -> str:
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append(f"{cx + radius * math.cos(angle):.2f},{cy + radius * math.sin(angle):.2f}")
    return " ".join(points)


def _cog(cx: float, cy: float, outer: float, inner: float, teeth: int) -> str:
    """A closed polygon: ``teeth`` square-ish teeth between radii ``inner`` and ``outer``."""
    points = []
    step = 2 * math.pi / teeth
    for k in range(teeth):
        base = k * step
        for angle, radius in (
            (base - step * 0.25, inner), (base - step * 0.17, outer),
            (base + step * 0.17, outer), (base + step * 0.25, inner),
        ):
            points.append(f"{cx + radius * math.cos(angle):.2f},{cy + radius * math.sin(angle):.2f}")
    return " ".join(points)


def _laurels() -> str:
    """Ten leaves along the lower rim, five a side, as one path (one SVG node to draw per card)."""
    leaves = []
    for side in (-1, 1):
        for k in range(5):
            angle = math.radians(100 + k * 16) if side < 0 else math.radians(80 - k * 16)
            x, y = 50 + 44 * math.cos(angle), 50 + 44 * math.sin(angle)
            tilt = angle + math.radians(60 if side < 0 else -60)
            dx, dy = 4.2 * math.cos(tilt), 4.2 * math.sin(tilt)  # half the leaf's length
            nx, ny = -1.8 * math.sin(tilt) * 2, 1.8 * math.cos(tilt) * 2  # control points across it
            leaves.append(
                f"M{x - dx:.2f} {y - dy:.2f}Q{x + nx:.2f} {y + ny:.2f} {x + dx:.2f} {y + dy:.2f}"
                f"Q{x - nx:.2f} {y - ny:.2f} {x - dx:.2f} {y - dy:.2f}Z"
            )
    return "".join(leaves)


EMBLEM_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">'
    f'<circle cx="50" cy="50" r="48" fill="{RED}" stroke="{GOLD}" stroke-width="3"/>'
    f'<path d="{_laurels()}" fill="{GOLD}"/>'
    f'<polygon points="{_cog(50, 46, 33, 27, 14)}" fill="{GOLD}"/>'
    '<circle cx="50" cy="46" r="23" fill="#fff"/>'
    f'<polygon points="{_star(50, 37, 11, 4.4)}" fill="{RED}"/>'
    f'<path d="M29 52Q39 47 49.4 52L49.4 64Q39 59 29 64ZM50.6 52Q61 47 71 52L71 64Q61 59 50.6 64Z" fill="{BLUE}"/>'
    "</svg>"
)

SILHOUETTE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 300" width="200" height="300" '
    'preserveAspectRatio="none">'
    '<rect width="200" height="300" fill="#e6e8ec"/>'
    '<circle cx="100" cy="112" r="52" fill="#a9afb9"/>'
    '<path d="M18 300 C22 210 60 182 100 182 C140 182 178 210 182 300 Z" fill="#a9afb9"/>'
    "</svg>"
)


def data_uri(svg: str) -> str:
    return "data:image/svg+xml," + quote(svg, safe="")
