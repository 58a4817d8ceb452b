"""A streaming replica (hot standby) of a test PostgreSQL, made with pg_basebackup -R."""

from __future__ import annotations

import shutil
import time

import psycopg

from tests.integration.satisfaction.pg_server import PostgresServer


class ReplicaServer(PostgresServer):
    """A hot standby of `primary`: base backup, standby.signal and primary_conninfo, started."""

    def __init__(self, primary: PostgresServer) -> None:
        super().__init__(primary.bin_dir)
        self.primary = primary

    def start(self) -> ReplicaServer:
        """Copy the primary with pg_basebackup (WAL streamed) and start it as a standby."""
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.data),
            "-R",  # standby.signal + primary_conninfo
            "-X",
            "stream",
            "--no-sync",
            "-c",
            "fast",
        )
        options = [
            f"-p {self.port}",
            f"-k {self.root}",
            "-c listen_addresses=127.0.0.1",
            "-c hot_standby=on",
            "-c fsync=off",
        ]
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
            "60",
            "start",
        )
        return self

    def caught_up(self, timeout_s: float = 30) -> None:
        """Wait until the replica has replayed everything the primary had written when called."""
        with _connect(self.primary.port) as primary:
            # The insert position, not the write one: the test primary commits asynchronously
            # (synchronous_commit=off), so a commit just answered may still sit in WAL buffers.
            target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert target is not None
        deadline = time.monotonic() + timeout_s
        with _connect(self.port) as replica:
            while time.monotonic() < deadline:
                row = replica.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target[0]),)
                ).fetchone()
                if row is not None and row[0]:
                    return
                time.sleep(0.05)
        raise AssertionError(f"replica did not replay up to {target[0]} within {timeout_s} s")

    def replay(self, *, paused: bool) -> None:
        """Pause or resume applying the primary's changes."""
        call = "pg_wal_replay_pause()" if paused else "pg_wal_replay_resume()"
        with _connect(self.port) as replica:
            replica.execute(f"SELECT {call}")


def _connect(port: int) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
    )
