"""Original artwork for the card, drawn here as SVG (no third-party or official logo is reproduced).

* ``EMBLEM_SVG``: a round badge: red disc with a gold rim, a gold cogwheel (work), a white field with
  a gold five-pointed star above an open blue book (learning), and two gold laurel arcs.
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


def _laurel(side: int) -> str:
    """Leaves along an arc on the left (side=-1) or right (side=1) of the lower half."""
    leaves = []
    for k in range(5):
        angle = math.radians(100 + k * 16) if side < 0 else math.radians(80 - k * 16)
        x, y = 50 + 44 * math.cos(angle), 50 + 44 * math.sin(angle)
        tilt = math.degrees(angle) + (60 if side < 0 else -60)
        leaves.append(
            f'<ellipse cx="{x:.2f}" cy="{y:.2f}" rx="4.2" ry="1.8" transform="rotate({tilt:.1f} {x:.2f} {y:.2f})"/>'
        )
    return "".join(leaves)


EMBLEM_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">'
    f'<circle cx="50" cy="50" r="48" fill="{RED}" stroke="{GOLD}" stroke-width="3"/>'
    f'<g fill="{GOLD}">{_laurel(-1)}{_laurel(1)}</g>'
    f'<polygon points="{_cog(50, 46, 33, 27, 14)}" fill="{GOLD}"/>'
    '<circle cx="50" cy="46" r="23" fill="#fff"/>'
    f'<polygon points="{_star(50, 37, 11, 4.4)}" fill="{RED}"/>'
    f'<path d="M29 52 Q39 47 49 52 L49 64 Q39 59 29 64 Z" fill="{BLUE}"/>'
    f'<path d="M51 52 Q61 47 71 52 L71 64 Q61 59 51 64 Z" fill="{BLUE}"/>'
    '<path d="M50 52 L50 65" stroke="#fff" stroke-width="1.2"/>'
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
