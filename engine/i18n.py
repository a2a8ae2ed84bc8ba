"""Marking engine labels for translation without importing Flask: ``N_`` returns its argument; the
catalogue extraction (babel.cfg) collects its literal arguments, and web/ translates them when shown."""
from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return text
