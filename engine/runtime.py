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
from engine.store import WorkflowStore, deploy

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
FORMS_DIR = ROOT / "forms"


@dataclass
class Runtime:
    library: ProcessLibrary
    host: WorkflowHost
    forms: FormRegistry

    def deploy(self, session: Session) -> LoadResult:
        """Validate the process folder and store every good definition; broken files are only reported."""
        result = self.library.load()
        deploy(session, result)
        return result


def build_runtime(processes_dir: Path = PROCESSES_DIR, forms_dir: Path = FORMS_DIR,
                  script_time_limit_s: float = 2.0) -> Runtime:
    forms = FormRegistry(forms_dir)
    store = WorkflowStore(make_script_engine(script_time_limit_s))
    library = ProcessLibrary(processes_dir, forms, known_roles(), store.serializer)
    return Runtime(library=library, host=WorkflowHost(store, forms), forms=forms)
