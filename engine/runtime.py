"""Wiring: builds the library, store, host and database access from a configuration."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from engine.forms import FormRegistry
from engine.host import WorkflowHost
from engine.library import LoadResult, ProcessLibrary
from engine.roles import known_roles
from engine.sandbox import make_script_engine
from engine.services import ServiceRegistry
from engine.store import WorkflowStore, deploy

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
FORMS_DIR = ROOT / "forms"
UPLOAD_DIR = ROOT / "instance" / "uploads"


@dataclass
class Runtime:
    library: ProcessLibrary
    host: WorkflowHost
    forms: FormRegistry
    services: ServiceRegistry
    upload_dir: Path

    def deploy(self, session: Session) -> LoadResult:
        """Validate the process folder and store every good definition; broken files are only reported."""
        result = self.library.load()
        deploy(session, result)
        return result


def build_runtime(processes_dir: Path = PROCESSES_DIR, forms_dir: Path = FORMS_DIR,
                  script_time_limit_s: float = 2.0, upload_dir: Path = UPLOAD_DIR,
                  services: ServiceRegistry | None = None) -> Runtime:
    forms = FormRegistry(forms_dir)
    services = services if services is not None else default_services()
    store = WorkflowStore(make_script_engine(script_time_limit_s, services))
    library = ProcessLibrary(processes_dir, forms, known_roles(), store.serializer, services.names())
    host = WorkflowHost(store, forms, services, Path(upload_dir))
    return Runtime(library=library, host=host, forms=forms, services=services, upload_dir=Path(upload_dir))


def default_services() -> ServiceRegistry:
    """The registry with every domain operation of the platform."""
    from engine.cards.operations import register as register_cards
    from engine.members.operations import register as register_members
    from engine.members.transfer_ops import register as register_transfers

    registry = ServiceRegistry()
    for register in (register_members, register_transfers, register_cards):
        register(registry)
    return registry
