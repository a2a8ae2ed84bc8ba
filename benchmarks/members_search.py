"""Member registry search over a million members on PostgreSQL.

    PYTHONPATH=. .venv/bin/python benchmarks/members_search.py [--quick]

Starts a throwaway PostgreSQL server (tests/pg.py), creates the platform's tables, builds a Bình Định-sized
province (11 districts, 110 communes, ~1,000 grassroots unions) plus a smaller second province, and loads N
synthetic members with scripts/gen_members.py (N = 1,000,000; 50,000 with ``quick``). Then, interleaved:

* platform: ``engine.members.registry.search`` for a province officer (province_printer at the province) in
  a fresh ORM session per request, as the web page does: load the user, work out the scope (role units and
  descendants, the province), count the matches and fetch the first page of 50 with the units, ordered by
  sort_key (registry._search_names chooses per query between the trigram index and a walk in sort order);
* baseline: the straightforward two SQL statements on the same schema (capped count up to 10,001 + first
  page with the unit joined, word-prefix pattern, province equality), sent directly with psycopg and left to
  the PostgreSQL planner.

Queries are realistic accent-free fragments ("nguyen van", "thi hoa", "dang", "tran minh tuan", …).
Reports p95 and p50 of each side; the target is p95 < 100 ms for the platform.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from engine import accounts  # noqa: E402
from engine.db import Base, make_engine, make_sessionmaker  # noqa: E402
from engine.members import models as member_models  # noqa: E402,F401  (registers the member tables)
from engine.members import registry  # noqa: E402
from engine.models import OrgUnit, User  # noqa: E402
from scripts.gen_members import build_province, generate  # noqa: E402
from tests.pg import start_postgres  # noqa: E402

QUERIES = ["nguyen van", "thi hoa", "dang", "tran minh tuan", "le thi thu", "pham van", "hoang anh", "ngoc anh",
           "vo thi", "huong", "bui duc", "nguyen thi thanh huong"]
TARGET_S = 0.100
PER_PAGE = 50
COUNT_SQL = ("SELECT count(*) FROM (SELECT m.id FROM members m WHERE m.province_id = %(province)s AND "
             "m.status = 'active' AND m.name_words LIKE %(like)s LIMIT %(cap)s) AS capped")
PAGE_SQL = ("SELECT m.*, u.* FROM members m LEFT OUTER JOIN org_units u ON u.id = m.unit_id "
            "WHERE m.province_id = %(province)s AND m.status = 'active' AND m.name_words LIKE %(like)s "
            "ORDER BY m.sort_key, m.id LIMIT %(limit)s")


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _load(url: str, n: int) -> tuple[int, float]:
    """Tables, two provinces, n members (≈90% in the first province); returns the province id and load time."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    started = time.perf_counter()
    main = build_province(url)
    other = build_province(url, code="102.37", name="LĐLĐ tỉnh Gia Lai", districts=4, communes=3, per_unit=6,
                           direct=10)
    generate(url, n, main.grassroots_ids + other.grassroots_ids)
    return main.province_id, time.perf_counter() - started


def _officer(sessions: Any, province_id: int) -> int:
    with sessions() as session:
        user = accounts.create_user(session, "tinh_bench", "Cán bộ LĐLĐ tỉnh", "benchmark-password")
        accounts.grant_role(session, user, session.get(OrgUnit, province_id), "province_printer")
        session.commit()
        return user.id


def _measure(url: str, sessions: Any, user_id: int, province_id: int, rounds: int) -> dict[str, Any]:
    with sessions() as session:
        scope = sorted(accounts.scope_unit_ids(session, session.get(User, user_id)) or [])
    platform: list[float] = []
    baseline: list[float] = []
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    hits: dict[str, Any] = {}
    plans: dict[str, str] = {}

    def platform_call(query: str) -> None:
        with sessions() as session:
            page = registry.search(session, session.get(User, user_id), query, per_page=PER_PAGE)
            hits[query] = f">{page.total}" if page.capped else page.total
            plans[query] = session.info.get("member_search_plan", "")

    # prepare_threshold=None: custom plans every time (a generic plan for "LIKE $1" cannot use the trigram index)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), prepare_threshold=None) as conn:
        def baseline_call(query: str) -> None:
            params = {"province": province_id, "like": registry._like_words(query), "cap": registry.COUNT_CAP + 1,
                      "limit": PER_PAGE}
            conn.execute(COUNT_SQL, params).fetchone()
            conn.execute(PAGE_SQL, params).fetchall()
            conn.rollback()

        for query in QUERIES:  # warm-up: caches, plans, connections
            platform_call(query)
            baseline_call(query)
        for round_no in range(rounds):
            for query in QUERIES:
                if round_no % 2:
                    baseline.append(_timed(lambda q=query: baseline_call(q)))
                    spent = _timed(lambda q=query: platform_call(q))
                else:
                    spent = _timed(lambda q=query: platform_call(q))
                    baseline.append(_timed(lambda q=query: baseline_call(q)))
                platform.append(spent)
                per_query[query].append(spent)
    slowest = max(QUERIES, key=lambda q: pct(per_query[q], 50))
    return {"platform": platform, "baseline": baseline, "slowest_query": slowest,
            "slowest_query_p50_s": round(pct(per_query[slowest], 50), 4), "scope_units": len(scope),
            "matches": hits, "plans": plans, "p50_ms": {q: round(pct(per_query[q], 50) * 1000, 1) for q in QUERIES},
            "max_ms": {q: round(max(per_query[q]) * 1000, 1) for q in QUERIES}}


def run(quick: bool = False) -> list[dict[str, Any]]:
    """One result line: accent-free name search, first page, province scope, over N members on PostgreSQL."""
    n = 50_000 if quick else 1_000_000
    rounds = 3 if quick else 5
    base = Path(tempfile.mkdtemp(prefix="bench-members-"))
    base.chmod(0o755)
    server = start_postgres(base)
    engine = None
    try:
        province_id, load_s = _load(server.url, n)
        engine = make_engine(server.url, pool_size=2)
        sessions = make_sessionmaker(engine)
        user_id = _officer(sessions, province_id)
        result = _measure(server.url, sessions, user_id, province_id, rounds)
    finally:
        if engine is not None:
            engine.dispose()
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    p95, base95 = pct(result["platform"], 95), pct(result["baseline"], 95)
    return [{
        "name": "member_search_pg_1m" if n == 1_000_000 else f"member_search_pg_{n // 1000}k",
        "platform_s": round(p95, 4), "baseline_s": round(base95, 4), "ratio": round(p95 / base95, 3),
        "target": "p95 < 0.100 s", "met": p95 < TARGET_S,
        "p50_s": round(pct(result["platform"], 50), 4), "baseline_p50_s": round(pct(result["baseline"], 50), 4),
        "rows": n, "samples": len(result["platform"]), "queries": len(QUERIES),
        "scope_units": result["scope_units"], "slowest_query": result["slowest_query"],
        "slowest_query_p50_s": result["slowest_query_p50_s"], "load_s": round(load_s, 1),
        "matches": result["matches"], "plans": result["plans"], "per_query_p50_ms": result["p50_ms"],
        "per_query_max_ms": result["max_ms"],
    }]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv[1:]):
        print(json.dumps(line, ensure_ascii=False), flush=True)
