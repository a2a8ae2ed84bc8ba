"""The scheduler worker: its own process (APScheduler 3.x) that fires due timers.

Run: ``python -m engine.worker --db sqlite:///instance/platform.db``. Several workers may run at once:
leases (see engine.timers) make each timer fire exactly once.
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
import socket

from apscheduler.schedulers.blocking import BlockingScheduler

from engine.db import make_engine, make_sessionmaker
from engine.runtime import UPLOAD_DIR, build_runtime
from engine.timers import fire_due

log = logging.getLogger("engine.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def tick(sessions, host, wid: str) -> int:  # noqa: ANN001
    fired = fire_due(sessions, host, wid)
    if fired:
        log.info("fired timers of %d instance(s)", fired)
    return fired


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fire due BPMN timers")
    parser.add_argument("--db", default=os.environ.get("DATABASE_URL", "sqlite:///instance/platform.db"))
    parser.add_argument("--interval", type=float, default=float(os.environ.get("TIMER_INTERVAL_S", "5")))
    parser.add_argument("--uploads", default=os.environ.get("UPLOAD_DIR", str(UPLOAD_DIR)),
                        help="the web app's upload folder (member lists are read from it)")
    parser.add_argument("--once", action="store_true", help="fire what is due now and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    sessions = make_sessionmaker(make_engine(args.db))
    host = build_runtime(upload_dir=Path(args.uploads)).host
    wid = worker_id()
    if args.once:
        print(tick(sessions, host, wid))
        return
    scheduler = BlockingScheduler(timezone="Asia/Ho_Chi_Minh")
    scheduler.add_job(tick, "interval", seconds=args.interval, args=(sessions, host, wid), max_instances=1,
                      coalesce=True, id="fire_due_timers")
    log.info("worker %s started, every %.1fs on %s", wid, args.interval, args.db.split("@")[-1])
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
