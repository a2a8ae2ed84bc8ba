"""Member codes and Vpoint codes.

Member code format (documented for card printers and partner systems): 12 digits ``SSSSSSSSSSSC``
where ``S`` is an 11-digit, zero-padded serial drawn from one nation-wide counter (never reused, so a code
survives unit mergers and transfers between grassroots unions) and ``C`` is a Damm check digit over the
serial. The Damm algorithm detects every single-digit error and every swap of two adjacent digits.
Vpoint code: ``VP`` + the same serial (unique per member, one per member code).
"""
from __future__ import annotations

import re

# Damm's weakly totally anti-symmetric quasigroup of order 10.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
SERIAL_DIGITS = 11
_MEMBER_CODE = re.compile(rf"^\d{{{SERIAL_DIGITS + 1}}}$")


def damm(digits: str) -> int:
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return interim


def member_code(serial: int) -> str:
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise ValueError("serial out of range")
    body = f"{serial:0{SERIAL_DIGITS}d}"
    return body + str(damm(body))


def vpoint_code(serial: int) -> str:
    return f"VP{serial:0{SERIAL_DIGITS}d}"


def is_valid_member_code(code: str) -> bool:
    """Format and check digit; spaces are ignored."""
    code = code.replace(" ", "")
    return bool(_MEMBER_CODE.match(code)) and damm(code) == 0
