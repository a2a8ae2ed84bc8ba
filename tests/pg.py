"""A throwaway PostgreSQL server for tests (no pytest needed).

    server = start_postgres(Path(tmpdir))
    try:
        url = server.url                      # postgresql+psycopg://postgres@127.0.0.1:PORT/test
        other = server.create_database("x")   # another empty database on the same server
    finally:
        server.stop()

The server runs from /usr/lib/postgresql/15/bin (else the newest version there, or
$PG_BIN_DIR), listens on 127.0.0.1 on a free port, keeps its unix socket in its own
temp folder, runs with fsync=off and max_connections=200, and stop() (also run at
exit) kills it with `pg_ctl stop -m immediate` and removes the folder.  PostgreSQL
refuses to run as root, so as root the folder is handed to the `postgres` user and
initdb/pg_ctl run through `runuser -u postgres --`; a base_dir that user cannot
reach (pytest's tmp folders are 0700) is replaced by the system temp folder.

`python tests/pg.py` is a self-check: start, `select 1` through psycopg, stop.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_VERSION = "15"
DEFAULT_DB = "test"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the server would not start."""


@dataclass
class PgServer:
    url: str
    stop: Callable[[], None]
    create_database: Callable[[str], str]
    port: int = 0
    data_dir: Path | None = None
    log_file: Path | None = None
    extra: dict = field(default_factory=dict)


def find_bin_dir() -> Path:
    """The bin folder of PostgreSQL 15, else of the newest version installed."""
    override = os.environ.get("PG_BIN_DIR")
    if override:
        return Path(override)
    preferred = PG_ROOT / PREFERRED_VERSION / "bin"
    if (preferred / "initdb").exists():
        return preferred
    versions = []
    if PG_ROOT.is_dir():
        for child in PG_ROOT.iterdir():
            if re.fullmatch(r"\d+(\.\d+)?", child.name) and (child / "bin" / "initdb").exists():
                versions.append((tuple(int(p) for p in child.name.split(".")), child / "bin"))
    if not versions:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries under {PG_ROOT} (run scripts/install-system.sh)"
        )
    return max(versions)[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], as_postgres: bool, **kwargs) -> subprocess.CompletedProcess:
    if as_postgres:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kwargs)


def _others_can_traverse(path: Path) -> bool:
    """True when every folder from / down to path has the others-execute bit."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        if not folder.stat().st_mode & 0o001:
            return False
    return True


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def start_postgres(base_dir: Path | None = None, dbname: str = DEFAULT_DB) -> PgServer:
    """Start a fresh server in a new temp folder under base_dir and create `dbname`."""
    bin_dir = find_bin_dir()
    as_postgres = os.geteuid() == 0
    if base_dir is not None:
        Path(base_dir).mkdir(parents=True, exist_ok=True)
        if as_postgres and not _others_can_traverse(Path(base_dir)):
            # e.g. pytest's 0700 basetemp: the postgres user could not reach it, and we
            # change no permissions of the caller's folders; use the system temp folder.
            base_dir = None
    tmp = Path(tempfile.mkdtemp(prefix="pg-", dir=str(base_dir) if base_dir else None))
    data = tmp / "data"
    sock = tmp / "sock"
    log = tmp / "server.log"
    sock.mkdir()
    if as_postgres:
        import pwd

        pw = pwd.getpwnam("postgres")
        _chown_tree(tmp, pw.pw_uid, pw.pw_gid)

    def cleanup() -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    def fail(what: str, proc: subprocess.CompletedProcess | None = None) -> PostgresUnavailable:
        detail = ""
        if proc is not None:
            detail += (proc.stdout or "") + (proc.stderr or "")
        if log.exists():
            detail += log.read_text(errors="replace")[-3000:]
        return PostgresUnavailable(f"{what}\n{detail.strip()}")

    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
    proc = _run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        as_postgres, env=env,
    )
    if proc.returncode != 0:
        cleanup()
        raise fail("initdb failed", proc)

    port = 0
    for _attempt in range(5):
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sock} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=64MB -c logging_collector=off "
            "-c timezone=UTC"
        )
        proc = _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
             "-w", "-t", "60", "start"],
            as_postgres, env=env,
        )
        if proc.returncode == 0:
            break
        # A port taken between probing and binding: stop whatever half-started, try another.
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
             as_postgres, env=env)
    else:
        cleanup()
        raise fail("pg_ctl start failed", proc)

    lock = threading.Lock()
    state = {"stopped": False}

    def stop() -> None:
        with lock:
            if state["stopped"]:
                return
            state["stopped"] = True
        try:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "30",
                  "stop"], as_postgres, env=env, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        finally:
            _kill_postmaster(data)
            cleanup()

    atexit.register(stop)

    def create_database(name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"bad database name {name!r}")
        p = subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name],
            check=False, capture_output=True, text=True, env=env,
        )
        if p.returncode != 0:
            raise PostgresUnavailable(f"createdb {name} failed: {p.stderr.strip()}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    try:
        url = create_database(dbname)
    except Exception:
        stop()
        raise
    return PgServer(url=url, stop=stop, create_database=create_database, port=port,
                    data_dir=data, log_file=log)


def _kill_postmaster(data: Path) -> None:
    """Last resort after pg_ctl stop: SIGKILL the postmaster named in postmaster.pid."""
    pidfile = data / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 9)
    except OSError:
        pass


def _self_check() -> int:
    import psycopg

    with tempfile.TemporaryDirectory(prefix="pgcheck-") as base:
        server = start_postgres(Path(base))
        try:
            dsn = server.url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as conn:
                value = conn.execute("select 1").fetchone()[0]
                version = conn.execute("show server_version").fetchone()[0]
                fsync = conn.execute("show fsync").fetchone()[0]
                maxc = conn.execute("show max_connections").fetchone()[0]
            other = server.create_database("second_db")
            with psycopg.connect(other.replace("postgresql+psycopg://", "postgresql://")) as conn:
                conn.execute("select 1")
            print(f"ok: select 1 -> {value}; PostgreSQL {version} at {server.url} "
                  f"(fsync={fsync}, max_connections={maxc}); created {other}")
            data_dir = server.data_dir
        finally:
            server.stop()
        assert data_dir is not None and not data_dir.exists(), "data folder left behind"
        print("ok: stopped, folder removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(_self_check())
