"""A timer worker for the multi-process test: fire due timers until none are pending.

    python tests/engine/timer_worker.py DATABASE_URL WORKER_ID [MAX_SECONDS]

Prints the number of instances this worker advanced.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select  # noqa: E402

from engine.db import make_engine, make_sessionmaker  # noqa: E402
from engine.models import ProcessInstance  # noqa: E402
from engine.runtime import build_runtime  # noqa: E402
from engine.timers import fire_due  # noqa: E402


def pending(sessions) -> int:  # noqa: ANN001
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status.in_(("running", "waiting")), ProcessInstance.next_due_at.is_not(None)))


def main() -> int:
    url, worker_id = sys.argv[1], sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 90.0
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    host = build_runtime().host
    fired = 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        fired += fire_due(sessions, host, worker_id, batch=10)
        if not pending(sessions):
            break
        time.sleep(0.05)
    engine.dispose()
    print(fired)
    return 0


if __name__ == "__main__":
    sys.exit(main())
