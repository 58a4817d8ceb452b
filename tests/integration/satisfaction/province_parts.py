"""Real parts of a province deployment for tests: PgBouncer (transaction mode) and nginx in front.

Both from Debian (scripts/install.sh installs pgbouncer and nginx-light), each on a free
loopback port, its files in a temporary directory, stopped and removed by `stop()`. PgBouncer
refuses to run as root, so as root it runs as the `postgres` user (-u), like the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import free_port

PGBOUNCER_HINT = "apt-get install -y pgbouncer (scripts/install.sh installs the Debian package)"
NGINX_HINT = "apt-get install -y nginx-light (scripts/install.sh installs the Debian package)"


def pgbouncer_path() -> str | None:
    """The pgbouncer binary, if installed."""
    return shutil.which("pgbouncer") or _sbin("pgbouncer")


def nginx_path() -> str | None:
    """The nginx binary, if installed."""
    return shutil.which("nginx") or _sbin("nginx")


class _Daemon:
    """A foreground process with its files in a temporary directory."""

    def __init__(self, name: str) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"hall-{name}-"))
        self.process: subprocess.Popen[bytes] | None = None

    def _start(self, argv: list[str], log: Path) -> None:
        with (self.root / "stdout.log").open("wb") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"{argv[0]} did not start: {text[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and delete its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


class PgBouncer(_Daemon):
    """PgBouncer in transaction mode in front of the PostgreSQL at 127.0.0.1:`pg_port`."""

    def __init__(self, binary: str, pg_port: int, *, pool_size: int = 4) -> None:
        super().__init__("pgbouncer")
        self.binary = binary
        self.pg_port = pg_port
        self.pool_size = pool_size

    def start(self) -> PgBouncer:
        """Write the config and run pgbouncer until it listens."""
        users = self.root / "userlist.txt"
        users.write_text('"postgres" ""\n', encoding="utf-8")
        log = self.root / "pgbouncer.log"
        (self.root / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host=127.0.0.1 port={self.pg_port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {users}",
                    "pool_mode = transaction",
                    f"default_pool_size = {self.pool_size}",
                    "max_client_conn = 200",
                    "ignore_startup_parameters = extra_float_digits",
                    f"logfile = {log}",
                    f"pidfile = {self.root / 'pgbouncer.pid'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        argv = [self.binary, str(self.root / "pgbouncer.ini")]
        if os.geteuid() == 0:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, user="postgres")
            argv.insert(1, "-u")
            argv.insert(2, "postgres")
        self._start(argv, log)
        return self

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` through this PgBouncer."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        """PgBouncer's log so far."""
        path = self.root / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Nginx(_Daemon):
    """nginx balancing HTTP round-robin over `backends` (ports on 127.0.0.1)."""

    def __init__(self, binary: str, backends: list[int]) -> None:
        super().__init__("nginx")
        self.binary = binary
        self.backends = backends

    def start(self) -> Nginx:
        """Write the config and run nginx in the foreground until it listens."""
        self.root.chmod(0o755)  # workers run as nobody when the master is root
        servers = "".join(f"    server 127.0.0.1:{port};\n" for port in self.backends)
        temp = {
            kind: self.root / kind for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        }
        paths = "".join(f"  {kind}_temp_path {path};\n" for kind, path in temp.items())
        log = self.root / "error.log"
        (self.root / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {self.root / 'nginx.pid'};\n"
            f"error_log {log} warn;\nevents {{ worker_connections 256; }}\n"
            "http {\n  access_log off;\n" + paths + "  client_max_body_size 4m;\n"
            "  client_body_buffer_size 4m;\n"
            "  upstream satisfaction {\n" + servers + "  }\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            "    location / {\n"
            "      proxy_pass http://satisfaction;\n"
            "      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n'
            "      proxy_set_header Host $host;\n"
            "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "      proxy_buffering off;\n"
            "      proxy_next_upstream error timeout;\n"
            "    }\n  }\n}\n",
            encoding="utf-8",
        )
        argv = [
            self.binary,
            "-p",
            str(self.root),
            "-c",
            str(self.root / "nginx.conf"),
            "-e",
            str(log),
        ]
        self._start(argv, log)
        return self

    @property
    def base(self) -> str:
        """The balanced base URL."""
        return f"http://127.0.0.1:{self.port}"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None
