"""Synthetic union members for benchmarks: a realistic province tree and Vietnamese names, loaded with COPY.

    python scripts/gen_members.py postgresql://postgres@127.0.0.1:5432/bench -n 1000000

builds the tables if missing, adds a province (districts, communes, grassroots unions) and loads ``n`` members
into it. As a library: ``build_province(conn)`` then ``generate(conn_or_url, n, units)``.

Names follow the real distribution closely enough for search benchmarks: Nguyễn is ~38% of surnames, Trần
~11%, Lê ~9.5%…; men mostly have "Văn"/"Đức"/"Minh"… as a middle name, women "Thị"/"Ngọc"/"Thu"….
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from engine.idnumbers import PROVINCE_CODES  # noqa: E402
from engine.membercodes import member_code, vpoint_code  # noqa: E402
from engine.vntext import fold, name_sort_bytes  # noqa: E402

SURNAMES = [("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 30), ("Huỳnh", 20), ("Phan", 45),
            ("Vũ", 20), ("Võ", 19), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10),
            ("Lý", 5), ("Đinh", 6), ("Trương", 6), ("Lâm", 4), ("Mai", 4), ("Tạ", 3), ("Lương", 3), ("Cao", 3),
            ("Đoàn", 3), ("Hà", 3), ("Trịnh", 3), ("Tô", 2), ("La", 1), ("Quách", 1), ("Châu", 1), ("Thái", 2),
            ("Kiều", 1), ("Văn", 1), ("Lục", 1), ("Nông", 2), ("Triệu", 1), ("Vương", 1), ("Từ", 1), ("Tăng", 1)]
MALE_MIDDLE = [("Văn", 40), ("Minh", 10), ("Đức", 8), ("Hữu", 7), ("Quốc", 6), ("Thanh", 6), ("Công", 5),
               ("Xuân", 4), ("Hoàng", 4), ("Ngọc", 3), ("Anh", 3), ("Trung", 3), ("Đình", 5), ("Tiến", 2),
               ("Quang", 4), ("Thành", 3), ("Tuấn", 2), ("Bá", 2), ("Duy", 3), ("Hải", 2), ("Gia", 2)]
FEMALE_MIDDLE = [("Thị", 55), ("Ngọc", 8), ("Thanh", 6), ("Thu", 5), ("Hồng", 4), ("Kim", 4), ("Mai", 2),
                 ("Phương", 3), ("Bích", 2), ("Thùy", 3), ("Thuỳ", 1), ("Minh", 3), ("Khánh", 2), ("Bảo", 2),
                 ("Diệu", 1), ("Hoài", 1), ("Mỹ", 2), ("Lan", 1), ("Như", 2), ("Quỳnh", 1)]
MALE_GIVEN = ["An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Huy", "Khang", "Khoa", "Long", "Minh", "Nam",
              "Phong", "Phúc", "Quang", "Sơn", "Tài", "Thành", "Thắng", "Toàn", "Trung", "Tuấn", "Việt", "Vinh",
              "Hiếu", "Hoàng", "Kiên", "Lâm", "Lợi", "Tâm", "Thịnh", "Tú", "Đạt", "Duy", "Hậu", "Hưng", "Khải",
              "Lộc", "Mạnh", "Nghĩa", "Nhân", "Phát", "Quân", "Quý", "Tân", "Thái", "Thiện", "Tiến", "Trí", "Trọng",
              "Tùng", "Vũ", "Bảo", "Chiến", "Công", "Dương", "Hào", "Hiển", "Hòa", "Hoà", "Khánh", "Luân", "Tín"]
FEMALE_GIVEN = ["Anh", "Ánh", "Châu", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hồng",
                "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Ngọc", "Nhung", "Oanh",
                "Phương", "Quỳnh", "Thảo", "Thu", "Thủy", "Thuỷ", "Trang", "Trâm", "Vân", "Yến", "Đào", "Diệp",
                "Hảo", "Hậu", "Lệ", "Lợi", "Lý", "Nhi", "Nhàn", "Như", "Nương", "Phượng", "Quyên", "Sen", "Tâm",
                "Thanh", "Thoa", "Thúy", "Tiên", "Trinh", "Tuyết", "Uyên", "Vy", "Xuân", "Hoài", "Khuê", "Ngân"]
ETHNICITIES = [("Kinh", 92), ("Chăm", 2), ("Ba Na", 2), ("Hrê", 2), ("Tày", 1), ("Mường", 1)]
RELIGIONS = [("Không", 80), ("Phật giáo", 12), ("Công giáo", 6), ("Tin lành", 1), ("Cao Đài", 1)]
OCCUPATIONS = ["Công nhân", "Giáo viên", "Bác sĩ", "Điều dưỡng", "Kỹ sư", "Nhân viên văn phòng", "Kế toán",
               "Lái xe", "Cán bộ", "Công chức", "Viên chức", "Thủ kho", "Bảo vệ"]
COLUMNS = ("serial", "member_code", "vpoint_code", "unit_id", "province_id", "full_name", "name_fold", "sort_key",
           "birth_date", "sex", "id_number", "id_kind", "ethnicity", "religion", "education", "qualification",
           "politics", "occupation", "joined_on", "phone", "email", "note", "status", "status_reason", "status_date",
           "approved_at", "updated_at")


@dataclass
class ProvinceTree:
    province_id: int
    unit_ids: list[int]        # every unit of the province, itself included
    grassroots_ids: list[int]  # where members are


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _connect(conn_or_url: Any) -> tuple[psycopg.Connection, bool]:
    if isinstance(conn_or_url, psycopg.Connection):
        return conn_or_url, False
    return psycopg.connect(_dsn(str(conn_or_url))), True


def _picker(rng: random.Random, weighted: Sequence[tuple[str, int]]):  # noqa: ANN202
    values = [v for v, _ in weighted]
    cumulative = []
    total = 0
    for _, w in weighted:
        total += w
        cumulative.append(total)

    def pick() -> str:
        return rng.choices(values, cum_weights=cumulative, k=1)[0]

    return pick


def build_province(conn_or_url: Any, code: str = "102.08", name: str = "LĐLĐ tỉnh Bình Định", districts: int = 11,
                   communes: int = 10, per_unit: int = 8, direct: int = 40) -> ProvinceTree:
    """A province federation with ``districts`` district federations (each with ``per_unit`` grassroots unions
    and ``communes`` commune unions of ``per_unit`` grassroots unions each) and ``direct`` grassroots unions
    directly under the province (post-2025 style). Bình Định-sized by default: ~1,000 grassroots unions."""
    conn, owned = _connect(conn_or_url)
    start = date(2022, 11, 2)

    def add(unit_code: str, unit_name: str, kind: str, parent: int | None) -> int:
        return conn.execute("INSERT INTO org_units (code, name, kind, parent_id, valid_from) VALUES (%s, %s, %s, %s,"
                            " %s) RETURNING id", (unit_code, unit_name, kind, parent, start)).fetchone()[0]

    rng = random.Random(code)
    kinds = ["Công ty CP", "Công ty TNHH", "Trường Tiểu học", "Trường THCS", "Trường THPT", "Bệnh viện",
             "Trạm Y tế", "UBND", "Hợp tác xã", "Chi cục Thuế"]
    places = ["An Nhơn", "Tây Sơn", "Phù Cát", "Phù Mỹ", "Hoài Nhơn", "Hoài Ân", "Vân Canh", "Vĩnh Thạnh",
              "An Lão", "Tuy Phước", "Quy Nhơn", "Nhơn Bình", "Ghềnh Ráng", "Đống Đa", "Bình Định"]
    units: list[int] = []
    grassroots: list[int] = []

    def grassroots_under(parent: int, parent_code: str, count: int) -> None:
        for i in range(1, count + 1):
            label = f"Công đoàn cơ sở {rng.choice(kinds)} {rng.choice(places)} {parent_code}.{i:03d}"
            unit = add(f"{parent_code}.{i:03d}", label, "grassroots", parent)
            units.append(unit)
            grassroots.append(unit)

    try:
        province = add(code, name, "provincial_federation", None)
        units.append(province)
        for d in range(1, districts + 1):
            d_code = f"{code}.{d:02d}"
            district = add(d_code, f"LĐLĐ huyện {places[(d - 1) % len(places)]}", "district_federation", province)
            units.append(district)
            grassroots_under(district, d_code, per_unit)
            for c in range(1, communes + 1):
                c_code = f"{d_code}.X{c:02d}"
                commune = add(c_code, f"Công đoàn xã {rng.choice(places)} {c}", "commune_union", district)
                units.append(commune)
                grassroots_under(commune, c_code, per_unit)
        grassroots_under(province, f"{code}.T", direct)
        conn.commit()
    finally:
        if owned:
            conn.close()
    return ProvinceTree(province, units, grassroots)


def _name(rng: random.Random, surname, male_mid, female_mid) -> tuple[str, str]:  # noqa: ANN001
    male = rng.random() < 0.5
    parts = [surname()]
    parts.append(male_mid() if male else female_mid())
    if rng.random() < 0.15:  # a second middle name: "Nguyễn Thị Thanh Hương"
        parts.append(male_mid() if male else female_mid())
    parts.append(rng.choice(MALE_GIVEN if male else FEMALE_GIVEN))
    if parts[-1] == parts[-2]:
        parts.pop(-2)
    return " ".join(parts), "Nam" if male else "Nữ"


def _secondary_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the members indexes that do not back a constraint."""
    return conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'members' AND i.indexname NOT IN "
        "(SELECT c.conindid::regclass::text FROM pg_constraint c WHERE c.conrelid = 'members'::regclass)").fetchall()


def _provinces(conn: psycopg.Connection, units: Sequence[int]) -> dict[int, int | None]:
    """unit id → its first-level federation (top-most ancestor that is not the confederation), as
    ``Member.province_id`` holds it."""
    tree = {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, parent_id, kind FROM org_units")}
    found: dict[int, int | None] = {}
    for unit in set(units):
        top, node, seen = None, unit, set()
        while node is not None and node in tree and node not in seen:
            seen.add(node)
            if tree[node][1] != "confederation":
                top = node
            node = tree[node][0]
        found[unit] = top
    return found


def generate(conn_or_url: Any, n: int, units: Sequence[int], seed: int = 2025, start_serial: int = 1) -> int:
    """Bulk-load ``n`` members spread over ``units`` with COPY; secondary indexes are dropped during the load
    and rebuilt after (then ANALYZE). Serials ``start_serial…`` must be free. Returns the number of rows."""
    if not units:
        raise ValueError("no units to put members in")
    conn, owned = _connect(conn_or_url)
    rng = random.Random(seed)
    surname, male_mid, female_mid = _picker(rng, SURNAMES), _picker(rng, MALE_MIDDLE), _picker(rng, FEMALE_MIDDLE)
    ethnicity, religion = _picker(rng, ETHNICITIES), _picker(rng, RELIGIONS)
    provinces = sorted(PROVINCE_CODES)
    keys: dict[str, tuple[str, bytes]] = {}
    now = datetime(2025, 10, 1, 3, 0)
    try:
        province = _provinces(conn, units)
        indexes = _secondary_indexes(conn)
        for index_name, _ in indexes:
            conn.execute(f'DROP INDEX "{index_name}"')
        with conn.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '512MB'")
            with cur.copy(f"COPY members ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for serial in range(start_serial, start_serial + n):
                    full_name, sex = _name(rng, surname, male_mid, female_mid)
                    key = keys.get(full_name)
                    if key is None:
                        key = keys[full_name] = (fold(full_name), name_sort_bytes(full_name))
                    born = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 40))
                    century = (0 if born.year < 2000 else 2) + (0 if sex == "Nam" else 1)
                    id_number = (f"{provinces[(serial // 1_000_000) % len(provinces)]}{century}{born.year % 100:02d}"
                                 f"{serial % 1_000_000:06d}")
                    roll = rng.random()
                    status, reason, since = ("active", None, None) if roll < 0.97 else (
                        ("left", "Nghỉ việc", date(2025, 3, 1)) if roll < 0.99
                        else ("removed", "Không sinh hoạt", date(2025, 5, 1)))
                    unit = units[rng.randrange(len(units))]
                    copy.write_row((
                        serial, member_code(serial), vpoint_code(serial), unit, province[unit], full_name, key[0],
                        key[1], born, sex, id_number, "CCCD", ethnicity(), religion(), "12/12",
                        "Đại học", "Không", rng.choice(OCCUPATIONS), born.replace(year=born.year + 22, day=1),
                        f"09{serial % 100_000_000:08d}", "", "", status, reason, since, now, now))
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        try:
            conn.execute("VACUUM ANALYZE members")
        finally:
            conn.autocommit = False
    finally:
        if owned:
            conn.close()
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="PostgreSQL URL (the platform's tables are created when missing)")
    parser.add_argument("-n", type=int, default=100_000, help="members to load (default 100000)")
    parser.add_argument("--code", default="102.08", help="code of the new province unit")
    args = parser.parse_args(argv)
    from engine.db import Base, make_engine
    from engine.members import models  # noqa: F401  (registers the member tables)

    engine = make_engine(args.url if "+psycopg" in args.url else args.url.replace("postgresql://",
                                                                                    "postgresql+psycopg://"))
    Base.metadata.create_all(engine)
    engine.dispose()
    started = time.perf_counter()
    tree = build_province(args.url, args.code)
    with psycopg.connect(_dsn(args.url)) as conn:
        first = (conn.execute("SELECT coalesce(max(serial), 0) FROM members").fetchone()[0] or 0) + 1
    generate(args.url, args.n, tree.grassroots_ids, start_serial=first)
    print(f"loaded {args.n} members into {len(tree.grassroots_ids)} grassroots unions of {args.code} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
