"""Registers the member operations that BPMN service tasks call and the domain checks of member forms."""
from __future__ import annotations

from engine.services import ServiceRegistry


def register(registry: ServiceRegistry) -> None:
    """Member registration operations (filled in by engine.members.lists / approval)."""
