"""Clauses of a protocol spec, the outcome of checking each against a device, and the printed report.

A clause names the spec page and its section number (`hall-bus.md §7`); its `key` is a stable
short name for tests and scripts. Every clause of a kit's catalogue gets exactly one result:
PASS, FAIL (with the evidence) or SKIP (not checkable in this run, and why).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO


class Outcome(enum.StrEnum):
    """What checking one clause showed."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Clause:
    """One promise of a spec: page, section, a stable key and the promise in one line."""

    doc: str
    section: str
    key: str
    title: str

    @property
    def label(self) -> str:
        """Where the promise is written, e.g. `hall-bus.md §7`."""
        return f"{self.doc} §{self.section}"


@dataclass(frozen=True)
class Result:
    """A clause's outcome and a one-line reason (the evidence for a FAIL)."""

    clause: Clause
    outcome: Outcome
    detail: str = ""


class Report:
    """Results of one run, one per clause of the catalogue, in catalogue order."""

    def __init__(self, device: str, catalogue: Iterable[Clause]) -> None:
        self.device = device
        self.catalogue = list(catalogue)
        keys = [clause.key for clause in self.catalogue]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate clause keys in {keys}")
        self._results: dict[str, Result] = {}
        self.notes: list[str] = []  # facts worth printing that judge nothing (firmware, timings)
        self.stopped = ""  # why the run ended before every clause was tried ("" when it did not)

    def record(self, clause: Clause, ok: bool, failure: str = "", *, evidence: str = "") -> bool:
        """PASS (with `evidence`) or FAIL (with `failure`); a failed clause stays failed, its
        first failure kept; returns ok."""
        self._check_known(clause)
        detail = evidence if ok else failure
        earlier = self._results.get(clause.key)
        if earlier is not None and earlier.outcome is Outcome.FAIL:
            return ok
        if ok and earlier is not None and earlier.outcome is Outcome.PASS:
            return ok
        self._results[clause.key] = Result(clause, Outcome.PASS if ok else Outcome.FAIL, detail)
        return ok

    def skip(self, clause: Clause, why: str) -> None:
        """SKIP, unless the clause already has a result."""
        self._check_known(clause)
        self._results.setdefault(clause.key, Result(clause, Outcome.SKIP, why))

    def finish(self, why: str) -> None:
        """Every clause still without a result is skipped with `why` (e.g. the run stopped)."""
        for clause in self.catalogue:
            self.skip(clause, why)

    def stop(self, why: str) -> None:
        """The run ended early (the device fell silent): what is left is skipped, never passed."""
        if not self.stopped:
            self.stopped = why
            self.notes.append(f"run stopped: {why}")
        self.finish(f"not run: {why}")

    @property
    def results(self) -> list[Result]:
        """One result per clause that has one, in catalogue order."""
        return [self._results[c.key] for c in self.catalogue if c.key in self._results]

    def keys(self, outcome: Outcome) -> set[str]:
        """The keys of the clauses with `outcome`."""
        return {r.clause.key for r in self.results if r.outcome is outcome}

    @property
    def verdict(self) -> str:
        """FAIL when a clause failed, else INCOMPLETE when the run stopped early, else PASS."""
        if self.keys(Outcome.FAIL):
            return "FAIL"
        return "INCOMPLETE" if self.stopped else "PASS"

    @property
    def passed(self) -> bool:
        """True when no clause failed and the run went to its end."""
        return self.verdict == "PASS"

    def _check_known(self, clause: Clause) -> None:
        if clause not in self.catalogue:
            raise ValueError(f"clause {clause.key} is not in this kit's catalogue")


def print_report(report: Report, out: TextIO) -> None:
    """The report for a vendor's engineer: one line per clause, then the totals and the verdict."""
    print(f"Conformance of {report.device}", file=out)
    for note in report.notes:
        print(f"  note: {note}", file=out)
    width = max((len(r.clause.label) for r in report.results), default=0)
    for result in report.results:
        clause = result.clause
        line = f"{result.outcome.value:<4}  {clause.label:<{width}}  {clause.title}"
        if result.detail:
            line += f"\n{'':<6}{'':<{width}}  -> {result.detail}"
        print(line, file=out)
    counts = {outcome: len(report.keys(outcome)) for outcome in Outcome}
    print(
        f"{len(report.results)} clauses: {counts[Outcome.PASS]} passed, "
        f"{counts[Outcome.FAIL]} failed, {counts[Outcome.SKIP]} skipped",
        file=out,
    )
    print(f"RESULT: {report.verdict}", file=out)


def report_json(report: Report) -> str:
    """The report as one JSON object, for a vendor's test rig: verdict, notes, one entry per clause."""
    return json.dumps(
        {
            "device": report.device,
            "passed": report.passed,
            "verdict": report.verdict.lower(),
            "notes": report.notes,
            "clauses": [
                {
                    "doc": r.clause.doc,
                    "section": r.clause.section,
                    "key": r.clause.key,
                    "title": r.clause.title,
                    "outcome": r.outcome.value,
                    "detail": r.detail,
                }
                for r in report.results
            ],
        },
        ensure_ascii=False,
        indent=2,
    )
