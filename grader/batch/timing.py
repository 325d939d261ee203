"""When was it submitted? A batch with ``--course``: for every submission, what to grade and
when it was made, against the student's due date (:mod:`grader.course`).

Sources, in order:

- a git clone (GitHub Classroom): the commits reachable from HEAD and their committer dates.
  With counts = "last-before-due" the last commit made by the student's due date is graded (a
  copy of it, exported with ``git archive``: the submission itself is never changed), or HEAD
  when none was; "last" grades HEAD; "best" grades both and keeps the better final score;
- a Moodle grading worksheet given as ``--roster``: its "Last modified (submission)" column;
- otherwise the newest file time in the submission (what a download's files say).

Git runs with no system or global configuration, no hooks and no signature checks, on the
clone's own ``.git`` (never a repository found above it), with a time-out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import archives, course, fstree
from grader.batch.sources import Submission
from grader.model import Timing
from grader.renderers import write_atomic
from grader.reportfile import ReportProblem, parse_report, read_json
from grader.runner import SUBMISSION_LIMITS

GIT_TIMEOUT_S = 60.0
SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".pytest_cache"})
MOODLE_TIME_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M", "%d %B %Y, %I:%M %p", "%d/%m/%Y, %H:%M")


@dataclass(frozen=True)
class Candidate:
    """One thing to grade for a student: the folder, and when it was submitted."""

    sub: Submission  # its path is what is graded, its report where the report goes
    submitted: dt.datetime | None  # None: unknown
    source: str  # "git commit 1a2b3c4", "moodle worksheet", "file times (newest file)"
    commit: str = ""


@dataclass(frozen=True)
class Plan:
    """What a batch grades for one student under the course's rules."""

    student: str
    report: Path  # the student's report
    due: dt.datetime
    policy: course.LatePolicy
    candidates: list[Candidate]  # one, or two with counts = "best"
    notes: tuple[str, ...] = ()

    @property
    def best(self) -> bool:
        return len(self.candidates) > 1


# ----------------------------------------------------------------------------- git


def _git(repo: Path, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_DIR": str(repo / ".git"),
    }
    safe = ["-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
    safe += ["-c", "log.showSignature=false", "-c", "gpg.program=false", "-c", "core.pager=cat"]
    return subprocess.run(
        ["git", *safe, *args],
        cwd=repo,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        timeout=GIT_TIMEOUT_S,
        check=True,
    )


@dataclass(frozen=True)
class Commit:
    sha: str
    committed: dt.datetime  # the committer date, aware


def commits(repo: Path) -> list[Commit]:
    """The commits reachable from HEAD of the clone `repo`, HEAD first (git log's order), with
    their committer dates. Empty when `repo` is not a git clone git can read."""
    if not (repo / ".git").is_dir():
        return []
    try:
        out = _git(repo, "log", "--no-show-signature", "-z", "--format=%H %cI", "HEAD").stdout.decode(
            "ascii", "replace"
        )
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for record in out.split("\0"):
        parts = record.strip().split(" ")
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{40,64}", parts[0]):
            try:
                found.append(Commit(parts[0], dt.datetime.fromisoformat(parts[1])))
            except ValueError:
                continue
    return found


def last_before(found: list[Commit], policy: course.LatePolicy, due: dt.datetime) -> Commit | None:
    """The last commit made by `due` (its grace included): the latest committer date among
    those on time; git log's order decides between equal dates."""
    on_time = [c for c in found if course.is_on_time(policy, due, c.committed)]
    return max(on_time, key=lambda c: c.committed, default=None)


def export(repo: Path, sha: str, dest: Path) -> Path:
    """A copy of commit `sha`'s files in the folder `dest` (git archive, unpacked by the
    grader's own extractor with a submission's limits). Raises OSError or
    archives.ArchiveError when it cannot be made."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tar = dest.parent / f"{dest.name}.tar"
    try:
        with tar.open("wb") as fh:
            _git(repo, "archive", "--format=tar", sha, stdout=fh)
    except subprocess.SubprocessError as exc:
        raise OSError(f"git archive {sha[:12]} failed ({exc})") from None
    try:
        archives.unpack(tar, dest, fstree.Limits(**SUBMISSION_LIMITS))
    finally:
        tar.unlink(missing_ok=True)
    return dest


# ----------------------------------------------------------------------------- other sources


def newest_file_time(folder: Path, zone: dt.tzinfo) -> dt.datetime | None:
    """The newest modification time of a file in `folder` (tool folders left out), or None."""
    newest = None
    seen = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            seen += 1
            if seen > SUBMISSION_LIMITS["max_entries"]:
                break
            try:
                mtime = os.lstat(os.path.join(root, name)).st_mtime
            except OSError:
                continue
            newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else dt.datetime.fromtimestamp(newest, zone)


def moodle_time(text: str, zone: dt.tzinfo) -> dt.datetime | None:
    """A time of Moodle's grading worksheet ("Monday, 2 November 2026, 10:00 AM", in the
    course's zone), or None ("-", empty, a format it does not know)."""
    text = text.strip()
    if not text or text == "-":
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    except ValueError:
        pass
    for fmt in MOODLE_TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


# ----------------------------------------------------------------------------- the plan


def plan(
    sub: Submission,
    rules: course.Course,
    assignment: str,
    work: Path,
    candidates_dir: Path,
    worksheet: dict[str, str] | None = None,
) -> Plan:
    """What to grade for `sub` under the course's rules (`work`: where commit copies go;
    `candidates_dir`: where counts = "best" keeps each candidate's report)."""
    info = rules.assignment(assignment)
    due = course.due_for(rules, assignment, sub.student)
    policy = info.late
    history = commits(sub.path)
    notes: list[str] = []
    if history:
        head = history[0]
        chosen = head if info.counts == "last" else last_before(history, policy, due)
        heads = Candidate(sub, head.committed, f"git commit {head.sha[:12]} (HEAD, committer date)", head.sha)
        if chosen is None or chosen.sha == head.sha:
            if chosen is None and info.counts != "last":
                notes.append("no commit was made before the due date: HEAD is graded, late")
            return Plan(sub.student, sub.report, due, policy, [heads], tuple(notes))
        try:
            copy = export(sub.path, chosen.sha, work / f"{chosen.sha[:12]}")
        except (OSError, archives.ArchiveError) as exc:
            notes.append(f"commit {chosen.sha[:12]} could not be copied ({exc}): HEAD is graded")
            return Plan(sub.student, sub.report, due, policy, [heads], tuple(notes))
        before = Candidate(
            dataclasses.replace(sub, path=copy),
            chosen.committed,
            f"git commit {chosen.sha[:12]} (last before the due date, committer date)",
            chosen.sha,
        )
        if info.counts != "best":
            return Plan(sub.student, sub.report, due, policy, [before], tuple(notes))
        stem = sub.report.stem
        both = [
            dataclasses.replace(
                c, sub=dataclasses.replace(c.sub, report=candidates_dir / f"{stem}@{c.commit[:12]}.json")
            )
            for c in (before, heads)
        ]
        return Plan(sub.student, sub.report, due, policy, both, tuple(notes))
    if worksheet is not None and sub.student in worksheet:
        when = moodle_time(worksheet[sub.student], rules.timezone)
        if when is not None:
            return Plan(sub.student, sub.report, due, policy, [Candidate(sub, when, "moodle worksheet")])
        notes.append(f"the worksheet's time {worksheet[sub.student]!r} cannot be read: file times are used")
    when = newest_file_time(sub.path, rules.timezone)
    return Plan(sub.student, sub.report, due, policy, [Candidate(sub, when, "file times (newest file)")], tuple(notes))


def timing_of(plan_: Plan, cand: Candidate, max_score: float) -> Timing:
    """The report's Timing of a candidate graded under `plan_`."""
    if cand.submitted is None:
        return Timing(
            due=plan_.due.isoformat(),
            source=cand.source,
            commit=cand.commit,
            note="the submission time is unknown: counted as on time",
        )
    late = course.lateness(plan_.policy, plan_.due, cand.submitted)
    penalty = float(max_score) if not late.accepted else late.points(float(max_score))
    return Timing(
        submitted_at=cand.submitted.isoformat(),
        due=plan_.due.isoformat(),
        late_s=late.late_s,
        source=cand.source,
        commit=cand.commit,
        penalty=penalty,
        accepted=late.accepted,
        note=late.note(),
    )


def stamp(plan_: Plan, cand: Candidate) -> dict[str, Any] | None:
    """Put the candidate's timing in its report (written where it lies); the report's data, or
    None when there is no usable report."""
    path = cand.sub.report
    try:
        data = read_json(path)
        parse_report(data)
    except (OSError, ReportProblem):
        return None
    timing = dataclasses.asdict(timing_of(plan_, cand, float(data.get("max_score") or 0)))
    if data.get("timing") != timing:
        data["timing"] = timing
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return data


# ----------------------------------------------------------------------------- after grading

CANDIDATES_DIR = ".candidates"  # counts = "best": each candidate's report (the gradebook reads none)
REMEMBERED = ".grader-course.json"  # the course and overrides a batch used, for grader report DIR


def clean_candidates(folder: Path, keep: set[Path]) -> None:
    """Remove the candidate reports of earlier runs that no plan of this run has."""
    if not folder.is_dir():
        return
    for stale in folder.glob("*.json"):
        if stale not in keep:
            stale.unlink(missing_ok=True)


def settle(plan_: Plan, fixes: Any = None) -> None:
    """After grading: each candidate's report gets its timing; with two candidates (counts =
    "best") the one with the better final score (classdata.marks, with the overrides `fixes`)
    becomes the student's report, its timing saying so (the earlier one wins a tie)."""
    from grader.classdata import marks, num

    datas = [stamp(plan_, cand) for cand in plan_.candidates]
    if not plan_.best:
        return
    scored = []
    for cand, data in zip(plan_.candidates, datas):
        if data is None:
            continue
        scored.append((marks(parse_report(data), fixes).final, cand, data))
    if not scored:
        return
    final, cand, data = max(scored, key=lambda item: item[0])  # max keeps the first of equals
    others = ", ".join(f"commit {c.commit[:12]}: {num(f)}" for f, c, _ in scored if c is not cand)
    chosen = dict(data)
    chosen["timing"] = dict(data["timing"], note=f"{data['timing']['note']} (best of {len(scored)}; {others})")
    write_atomic(plan_.report, json.dumps(chosen, indent=2, ensure_ascii=False) + "\n")


def remember(folder: Path, course_file: Path | None, fixes: Any = None) -> None:
    """Note in the output folder which course and overrides its batch used."""
    data = {
        "course": str(Path(course_file).resolve()) if course_file is not None else None,
        "overrides": str(Path(fixes.path).resolve()) if fixes is not None and fixes.path is not None else None,
    }
    write_atomic(Path(folder) / REMEMBERED, json.dumps(data, indent=2) + "\n")


def remembered(folder: Path) -> Path | None:
    """The overrides file the batch of `folder` used (when it still exists), or None."""
    try:
        data = json.loads((Path(folder) / REMEMBERED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = data.get("overrides") if isinstance(data, dict) else None
    return Path(path) if isinstance(path, str) and Path(path).is_file() else None
