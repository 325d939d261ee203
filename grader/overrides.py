"""An instructor's overrides: per-student corrections of one check's points or of the total,
each with its reason, kept in ``overrides.toml`` beside the course's ``course.toml``.

Overrides never change a per-student JSON report (that is the grader's verdict): they are
applied where grades are made, the gradebook, so a regrade (a suite fix, ``--force``) rewrites
the reports and every override still applies to the new ones.

The file::

    [[override]]
    student = "ada"                 # the student id as the gradebook shows it
    assignment = "signals-m2m"
    check = "no-double-counting"    # optional: without it the override is on the total
    points = 2                      # set that check's (or the final total's) points, or
    # adjust = -1                   # add to them (exactly one of points / adjust)
    reason = "receiver correct; the test's fixture was wrong (regraded by hand)"

A per-check override changes the raw score (the check clamped to 0..its max); a total
override changes the final score, after any late penalty (clamped to 0..the maximum).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.classdata import num
from grader.model import Report

FILE_NAME = "overrides.toml"
MAX_BYTES = 1024 * 1024
_KEYS = ("student", "assignment", "check", "points", "adjust", "reason")


class OverridesError(ValueError):
    """overrides.toml cannot be used: its message names the file, the entry and what is wrong."""


@dataclass(frozen=True)
class Override:
    student: str
    assignment: str
    check: str  # "" : the override is on the total
    points: float | None  # set the check's (or the total's) points ...
    adjust: float | None  # ... or add to them (exactly one of the two is set)
    reason: str
    entry: int = 0  # its number in the file (1 for the first [[override]])

    @property
    def on_total(self) -> bool:
        return not self.check

    def value(self, before: float) -> float:
        """The points after this override of points that were `before` (not clamped)."""
        return float(self.points) if self.points is not None else before + float(self.adjust or 0.0)

    def matches(self, report: Report) -> bool:
        """Is this override about `report`? The same assignment, and the student named by the
        report's student id (its submission), or else by its platform id or gradebook login."""
        if report.assignment != self.assignment:
            return False
        ident = report.identity
        names = {report.submission}
        if ident is not None:
            names |= {n for n in (ident.id, ident.login) if n}
        return self.student in names

    def describe(self) -> str:
        what = f"{self.check}" if self.check else "total"
        how = f"= {num(self.points)}" if self.points is not None else f"{_signed(self.adjust or 0.0)}"
        return f"override {self.entry} ({self.student}, {self.assignment}, {what} {how})"


@dataclass
class Applied:
    """A report with its overrides: the checks' points and the raw score after the per-check
    overrides, the total overrides still to apply to the final score (final()), the notes
    for the gradebook, and warnings (an override naming a check the report does not have)."""

    report: Report
    checks: dict[str, float] = field(default_factory=dict)
    score: float = 0.0  # the raw score after the per-check overrides
    totals: list[Override] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    used: list[Override] = field(default_factory=list)

    @property
    def overridden(self) -> bool:
        return bool(self.used)

    def final(self, score_after_penalty: float) -> float:
        """The final score: `score_after_penalty` (the raw score of `score` less any late
        penalty) with the total overrides applied in the file's order (points sets, adjust
        adds), clamped to 0..the report's max_score. Without a total override it is returned
        as it is."""
        if not self.totals:
            return score_after_penalty
        value = float(score_after_penalty)
        for override in self.totals:
            value = override.value(value)
        return round(min(max(value, 0.0), float(self.report.max_score)), 4)


@dataclass
class Overrides:
    """The overrides of one file, in its order."""

    entries: list[Override] = field(default_factory=list)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def for_report(self, report: Report) -> list[Override]:
        """The overrides about `report` (its student and assignment), in the file's order."""
        return [o for o in self.entries if o.matches(report)]

    def apply(self, report: Report) -> Applied:
        """`report` with its overrides (see Applied); the report itself is never changed."""
        applied = Applied(report=report, checks={c.id: float(c.score) for c in report.checks})
        by_id = {c.id: c for c in report.checks}
        for override in self.for_report(report):
            if override.on_total:
                applied.totals.append(override)
                applied.used.append(override)
                how = f"set to {num(override.points)}" if override.points is not None else _signed(override.adjust)
                applied.notes.append(f"total {how}: {override.reason}")
                continue
            check = by_id.get(override.check)
            if check is None:
                applied.warnings.append(
                    f"{self._where()}: {override.describe()}: {report.submission}'s report of "
                    f"{report.assignment} has no check {override.check!r} (checks: "
                    f"{', '.join(by_id) or 'none'}); not applied"
                )
                continue
            before = applied.checks[check.id]
            after = round(min(max(override.value(before), 0.0), float(check.max_score)), 4)
            applied.checks[check.id] = after
            applied.used.append(override)
            applied.notes.append(f"{check.id} {num(before)} → {num(after)}: {override.reason}")
        delta = sum(applied.checks[c.id] - float(c.score) for c in report.checks)
        applied.score = round(min(max(float(report.score) + delta, 0.0), float(report.max_score)), 4)
        return applied

    def warnings(self, reports: Iterable[Report], assignments: Iterable[str] | None = None) -> list[str]:
        """What a batch or gradebook must say about these overrides for `reports` (one
        assignment's class, or a lesson's): an override of one of `assignments` (default: the
        reports' own) for a student who has no report there, and an override naming a check the
        student's report does not have. Overrides of other assignments are another gradebook's."""
        reports = list(reports)
        wanted = set(assignments) if assignments is not None else {r.assignment for r in reports}
        out: list[str] = []
        for override in self.entries:
            if override.assignment not in wanted:
                continue
            matched = [r for r in reports if override.matches(r)]
            if not matched:
                out.append(
                    f"{self._where()}: {override.describe()}: no report of {override.student!r} in "
                    f"{override.assignment}; not applied"
                )
        seen: set[str] = set()
        for report in reports:
            if report.assignment in wanted:
                for warning in self.apply(report).warnings:
                    if warning not in seen:
                        seen.add(warning)
                        out.append(warning)
        return out

    def _where(self) -> str:
        return str(self.path) if self.path is not None else FILE_NAME


def _signed(value: float | None) -> str:
    value = float(value or 0.0)
    return f"+{num(value)}" if value >= 0 else f"-{num(-value)}"


def beside(course_file: Path) -> Path:
    """Where a course's overrides are: overrides.toml in the folder of its course.toml."""
    return Path(course_file).parent / FILE_NAME


def load(path: Path) -> Overrides:
    """The overrides of `path`. A file that does not exist holds none (an empty Overrides);
    one that cannot be read, is not TOML, or has an entry that is wrong raises OverridesError
    naming the file, the entry's number and what is wrong."""
    path = Path(path)
    if not path.exists():
        return Overrides([], path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise OverridesError(f"{path}: larger than {MAX_BYTES // 1024} KB")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OverridesError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise OverridesError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise OverridesError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, path)


def parse(data: dict[str, Any], path: Path | None = None) -> Overrides:
    """The overrides of overrides.toml's data (see load)."""
    where = str(path) if path is not None else FILE_NAME
    unknown = sorted(set(data) - {"override"})
    if unknown:
        raise OverridesError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}: the file holds only [[override]] entries"
        )
    raw = data.get("override", [])
    if not isinstance(raw, list):
        raise OverridesError(f"{where}: 'override' must be a list of tables, written [[override]]")
    entries: list[Override] = []
    seen: dict[tuple[str, str, str], int] = {}
    for n, item in enumerate(raw, 1):
        override = _entry(item, n, where)
        key = (override.student, override.assignment, override.check)
        if key in seen:
            what = f"check {override.check!r}" if override.check else "the total"
            raise OverridesError(
                f"{where}: override {n}: override {seen[key]} is already about {what} of "
                f"{override.student!r} in {override.assignment!r}; keep one (merge their reasons)"
            )
        seen[key] = n
        entries.append(override)
    return Overrides(entries, path)


def _entry(item: Any, n: int, where: str) -> Override:
    def fail(what: str) -> OverridesError:
        return OverridesError(f"{where}: override {n}: {what}")

    if not isinstance(item, dict):
        raise fail("not a table (write it as [[override]] with keys below it)")
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise fail(f"unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(_KEYS)})")
    texts: dict[str, str] = {}
    for key in ("student", "assignment", "reason"):
        value = item.get(key)
        if value is None:
            raise fail(f"no {key!r}")
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{key!r} must be a non-empty text, not {value!r}")
        texts[key] = value.strip() if key == "reason" else value
    check = item.get("check", "")
    if not isinstance(check, str) or ("check" in item and not check.strip()):
        raise fail(f"'check' must be a check id (a non-empty text), not {check!r}; leave it out for the total")
    numbers: dict[str, float] = {}
    for key in ("points", "adjust"):
        if key in item:
            value = item[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise fail(f"{key!r} must be a number, not {value!r}")
            numbers[key] = float(value)
    if len(numbers) != 1:
        raise fail(
            "give exactly one of 'points' (set the points) and 'adjust' (add to them), not "
            + ("both" if numbers else "neither")
        )
    if numbers.get("points", 0.0) < 0:
        raise fail(f"'points' cannot be negative ({num(numbers['points'])})")
    return Override(
        student=texts["student"],
        assignment=texts["assignment"],
        check=check,
        points=numbers.get("points"),
        adjust=numbers.get("adjust"),
        reason=texts["reason"],
        entry=n,
    )
