"""Issue and call-next over real HTTP on a device-free `hallctl up`, beside a bare endpoint.

Three servers run side by side on 127.0.0.1, each its own process:

* `hall`: `hallctl up` on the bench hall (26 services, 26 windows; voice off, no printers,
  keypads or LED strips: a device-free hall), durable journal, the embedded satisfaction API
  and its outbox on (the default);
* `hall-no-sat`: the same with `[satisfaction] enabled = false`;
* `bare`: a bare FastAPI endpoint doing one durable SQLite insert (benchmarks/bare_endpoint.py).

Each phase runs the three interleaved, in rounds (the order rotating): issue (`POST
/api/tickets`) and then call-next (`POST /api/windows/N/call-next`, which finishes the window's
current ticket first), each sequential on a new connection per request, sequential on one
keep-alive connection, and from 4 concurrent clients (processes, keep-alive) for a few seconds.
Every request carries an Idempotency-Key, as the kiosk and console pages send. Server CPU is
read from /proc/PID/stat around each server's own turns.

Targets: server CPU per issue and per call <= 1.5 ms; sequential p99 <= 2x the bare endpoint's;
4-client issue throughput >= 600/s and >= 0.7x the bare endpoint's; with the embedded
satisfaction API on, CPU per command and 4-client throughput within 1.2x of it off.

    .venv/bin/python -m benchmarks.bench_http_api [--requests 400] [--seconds 3] [--rounds 4]
        [--profile DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import ROOT, bench_config_text, percentile
from benchmarks.http_clients import (
    WORKLOADS,
    Server,
    Tally,
    client_main,
    read_response,
    request_bytes,
    sequential,
)
from tests.servers import free_port

TOKEN = "bench-http-admin-token-000000001"
CLIENTS = 4
CPU_TARGET_MS = 1.5
P99_RATIO_TARGET = 2.0
THROUGHPUT_TARGET = 600.0
THROUGHPUT_RATIO_TARGET = 0.7
SATISFACTION_RATIO_TARGET = 1.2
SEQUENTIAL = (("new connection", False), ("keep-alive", True))


@dataclass
class Figures:
    """One server's answers, CPU seconds and wall seconds in one phase."""

    tally: Tally = field(default_factory=Tally)
    cpu: float = 0.0
    wall: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.tally.seconds)

    def p(self, share: float) -> float:
        return percentile(sorted(self.tally.seconds), share)

    def cpu_ms(self) -> float:
        return self.cpu / max(1, self.answered) * 1000

    def rate(self) -> float:
        return self.answered / self.wall if self.wall else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_servers(tmp: Path) -> tuple[list[Server], list[subprocess.Popen[bytes]]]:
    """The two halls and the bare endpoint, each answering."""
    # call-next finishes the current ticket first: one needing a case outcome would refuse it.
    text = bench_config_text().replace("outcome_required = true", "outcome_required = false")
    text += "\n[voice]\nenabled = false\n"
    configs = {"hall": text, "hall-no-sat": text + "\n[satisfaction]\nenabled = false\n"}
    servers, processes = [], []
    env = os.environ | {"HALLCTL_ADMIN_TOKEN": TOKEN}
    for name, config in configs.items():
        path = tmp / f"{name}.toml"
        path.write_text(config, encoding="utf-8")
        port = free_port()
        command = [sys.executable, "-m", "controller.cli.main", "up", "--config", str(path)]
        command += ["--data", str(tmp / name), "--port", str(port)]
        command += ["--clock", "2026-11-23T09:00"]
        processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        servers.append(Server(name, port, TOKEN, processes[-1].pid))
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.bare_endpoint", "--port", str(port)]
    command += ["--db", str(tmp / "bare.db")]
    processes.append(subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL))
    servers.append(Server("bare", port, TOKEN, processes[-1].pid))
    for server in servers:
        _wait_answering(server)
    return servers, processes


def _wait_answering(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            sequential(server, WORKLOADS["issue"], 0, 3, keep_alive=True)  # also warms it up
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{server.name} did not answer within 60 s")


def sign_in_everyone(server: Server) -> None:
    """Sign each window's rostered staff in (W01A at window 1, …)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        buffer = bytearray()
        for number in range(1, 27):
            body = f'{{"staff": "W{number:02d}A", "role": "A"}}'.encode()
            sock.sendall(request_bytes(f"/api/windows/{number}/sign-in", server.token, body))
            read_response(sock, buffer)


def run_sequential(
    servers: list[Server], kind: str, requests: int, rounds: int, *, keep_alive: bool
) -> dict[str, Figures]:
    """`requests` requests per server in `rounds` interleaved turns."""
    found = {s.name: Figures() for s in servers}
    per_turn = max(1, requests // rounds)
    for turn in range(rounds):
        for server in _rotated(servers, turn):
            figures = found[server.name]
            cpu, began = cpu_seconds(server.pid), time.perf_counter()
            figures.tally.add(
                sequential(
                    server, WORKLOADS[kind], turn * per_turn, per_turn, keep_alive=keep_alive
                )
            )
            figures.wall += time.perf_counter() - began
            figures.cpu += cpu_seconds(server.pid) - cpu
    return found


def run_concurrent(
    servers: list[Server], kind: str, seconds: float, rounds: int, count: int = 10**9
) -> dict[str, Figures]:
    """`CLIENTS` keep-alive clients (processes) per server per round, interleaved.

    Each client sends for `seconds` or until it has sent `count` requests.
    """
    context = multiprocessing.get_context("spawn")
    found = {s.name: Figures() for s in servers}
    for turn in range(rounds):
        for server in _rotated(servers, turn):
            results = context.Queue()
            go_at = time.time() + 1.0  # every client connected and waiting
            workers = [
                context.Process(
                    target=client_main,
                    args=(server, kind, 1000 * turn + c, seconds, count, go_at, results),
                )
                for c in range(CLIENTS)
            ]
            for worker in workers:
                worker.start()
            time.sleep(max(0.0, go_at - time.time()))
            cpu = cpu_seconds(server.pid)
            tallies = [results.get(timeout=seconds + 60) for _ in workers]
            figures = found[server.name]
            figures.cpu += cpu_seconds(server.pid) - cpu
            figures.wall += max(elapsed for _, _, elapsed in tallies)
            for worker in workers:
                worker.join(timeout=10)
            for took, statuses, _ in tallies:
                figures.tally.add(Tally(took, Counter(statuses)))
    return found


def _successes(phases: dict[tuple[str, str], dict[str, Figures]], name: str) -> int:
    return sum(
        figures[name].tally.statuses[201]
        for (kind, _), figures in phases.items()
        if kind == "issue"
    )


def _rotated(servers: list[Server], turn: int) -> list[Server]:
    shift = turn % len(servers)
    return servers[shift:] + servers[:shift]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.2f}"


def report_phase(title: str, found: dict[str, Figures], *, concurrent: bool) -> None:
    """One line per server: answers, statuses, p50/p99 (or rate) and CPU per command."""
    print(title)
    for name, figures in found.items():
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(figures.tally.statuses.items()))
        speed = f"{figures.rate():7.0f}/s  " if concurrent else ""
        print(
            f"  {name:<12} {speed}p50 {_ms(figures.p(0.5))} ms  p99 {_ms(figures.p(0.99))} ms  "
            f"CPU/command {figures.cpu_ms():5.2f} ms  [{statuses}]"
        )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_targets(phases: dict[tuple[str, str], dict[str, Figures]]) -> None:
    """Each target with its figure and verdict."""
    print("targets")
    for kind in WORKLOADS:
        spent = [phases[(kind, mode)]["hall"] for mode in ("new connection", "keep-alive", "4")]
        per = sum(f.cpu for f in spent) / max(1, sum(f.answered for f in spent)) * 1000
        print(
            f"  server CPU per {kind}: {per:.2f} ms (target <= {CPU_TARGET_MS} ms: "
            f"{_verdict(per <= CPU_TARGET_MS)})"
        )
    for kind in WORKLOADS:
        for mode, _ in SEQUENTIAL:
            found = phases[(kind, mode)]
            ratio = found["hall"].p(0.99) / found["bare"].p(0.99)
            print(
                f"  {kind}, sequential, {mode}: p99 {ratio:.2f}x the bare endpoint's "
                f"(target <= {P99_RATIO_TARGET:.0f}x: {_verdict(ratio <= P99_RATIO_TARGET)})"
            )
    issue = phases[("issue", "4")]
    rate, bare = issue["hall"].rate(), issue["bare"].rate()
    print(
        f"  issue, {CLIENTS} clients: {rate:.0f}/s = {rate / bare:.2f}x the bare endpoint's "
        f"{bare:.0f}/s (target >= {THROUGHPUT_TARGET:.0f}/s and >= {THROUGHPUT_RATIO_TARGET}x: "
        f"{_verdict(rate >= THROUGHPUT_TARGET and rate / bare >= THROUGHPUT_RATIO_TARGET)})"
    )
    for kind in WORKLOADS:
        found = phases[(kind, "4")]
        cpu = found["hall"].cpu_ms() / found["hall-no-sat"].cpu_ms()
        slower = found["hall-no-sat"].rate() / max(found["hall"].rate(), 1e-9)
        ok = cpu <= SATISFACTION_RATIO_TARGET and slower <= SATISFACTION_RATIO_TARGET
        print(
            f"  {kind}, {CLIENTS} clients, satisfaction on vs off: CPU/command {cpu:.2f}x, "
            f"throughput off/on {slower:.2f}x (target <= {SATISFACTION_RATIO_TARGET}x: "
            f"{_verdict(ok)})"
        )


def report_commits(servers: list[Server]) -> None:
    """Each hall's journal batches per commit (the group commit at work), from /metrics."""
    import http.client

    for server in servers[:2]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        found = dict(
            line.split(" ", 1) for line in text.splitlines() if line.startswith("hall_journal_")
        )
        decided = float(found.get("hall_journal_batches_decided", "nan"))
        commits = float(found.get("hall_journal_commits", "nan"))
        print(
            f"  {server.name}: {decided:.0f} journaled batches in {commits:.0f} commits "
            f"({decided / commits if commits else float('nan'):.2f} a commit)"
        )


def _profilers(servers: list[Server], out: Path | None) -> list[subprocess.Popen[bytes]]:
    """py-spy recording each hall for the whole run (raw collapsed stacks), when asked."""
    if out is None:
        return []
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                *(spy, "record", "--pid", str(s.pid), "--format", "raw", "--rate", "250"),
                *("--output", str(out / f"{s.name}.txt"), "--threads", "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in servers
        if s.name.startswith("hall")
    ]


def main() -> None:
    """Command line: --requests, --seconds, --rounds, --profile."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="sequential requests a phase")
    parser.add_argument("--seconds", type=float, default=3.0, help="4-client seconds a round")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved turns a phase")
    parser.add_argument("--profile", type=Path, help="write py-spy stacks of each hall here")
    args = parser.parse_args()
    phases: dict[tuple[str, str], dict[str, Figures]] = {}
    waiting: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers, processes = start_servers(Path(tmp))
        profilers = _profilers(servers, args.profile)
        try:
            for kind in WORKLOADS:
                if kind == "call-next":
                    for server in servers[:2]:
                        sign_in_everyone(server)
                for mode, keep in SEQUENTIAL:
                    found = run_sequential(
                        servers, kind, args.requests, args.rounds, keep_alive=keep
                    )
                    phases[(kind, mode)] = found
                    report_phase(f"{kind}, sequential, {mode}", found, concurrent=False)
                rounds = max(1, args.rounds // 2)
                count = 10**9
                if kind == "call-next":  # no more calls than tickets waiting: 409s cost less
                    left = min(waiting.values())
                    count = int(left * 0.85) // CLIENTS // rounds
                seconds = args.seconds if kind == "issue" else 60.0  # calls: until `count`
                found = run_concurrent(servers, kind, seconds, rounds, count)
                phases[(kind, "4")] = found
                if kind == "issue":
                    waiting = {
                        s.name: _successes(phases, s.name) - 2 * args.requests for s in servers[:2]
                    }
                report_phase(f"{kind}, {CLIENTS} clients", found, concurrent=True)
            print("group commit")
            report_commits(servers)
            report_targets(phases)
        finally:
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=30)
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
