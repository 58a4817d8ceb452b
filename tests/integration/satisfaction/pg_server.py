"""A throwaway PostgreSQL server on a temporary directory and a free loopback port.

Uses the Debian `postgresql` package's binaries (/usr/lib/postgresql/N/bin). PostgreSQL refuses
to run as root, so as root every server command runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

INSTALL_HINT = "apt-get install -y postgresql (scripts/install.sh installs the Debian package)"


def find_postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl, or one on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """initdb + pg_ctl start on a temp dir; `url(db)` for SQLAlchemy; `stop()` removes it all."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hall-pg-"))
        self.data = self.root / "data"
        self.durable = durable
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0

    def start(self) -> PostgresServer:
        """Create the cluster and start the server (trust auth, loopback only)."""
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = [f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1"]
        if not self.durable:  # tests: a crash loses nothing we keep
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "30",
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop the server at once and delete its directory."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, schema: str | None = None) -> str:
        """The SQLAlchemy URL of a database on this server (tables in `schema` if given)."""
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url

    def create_schema(self, database: str = "postgres") -> tuple[str, str]:
        """A new empty schema (a fresh database for one test, in milliseconds): name and URL."""
        name = f"s{next(self._names)}"
        with self._admin(database) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name, self.url(database, name)

    def drop_schema(self, name: str, database: str = "postgres") -> None:
        """Drop a schema and everything in it, ending sessions that still hold its tables.

        A test's app may leave a thread behind (an export job's open cursor) whose next statement
        would queue behind this DROP while the DROP waits for it: after 5 s such sessions end.
        """
        with self._admin(database) as conn:
            conn.execute("SET lock_timeout = '5s'")
            try:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                return
            except psycopg.errors.LockNotAvailable:
                conn.execute(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                    "JOIN pg_class c ON c.oid = l.relation "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND l.pid <> pg_backend_pid()",
                    (name,),
                )
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = f"t{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection left on it."""
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}\n{tail}")
