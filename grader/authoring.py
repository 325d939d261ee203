"""The instructor's loop: ``grader check-assignment PATH``.

An assignment proves its hidden suite right with known submissions: the reference solution
(full marks), the starter students receive (its documented ``starter_score``), and
``variants/<case>/``, each a small overlay with the result every check must give::

    variants/no-created-check/
        expect.toml        # description, base, delete, status, score, [checks.<id>]
        files/blog/signals.py

``expect.toml``::

    description = "the receiver ignores `created`: a second save raises IntegrityError"
    base = "solution"            # or "starter": what the overlay goes on (default: solution)
    delete = ["blog/signals.py"]   # files of the base to remove (optional)

    [[edits]]                    # a change to one file of the base (after files/ and delete)
    file = "config/settings.py"
    replace = "DEBUG = True"     # must be found exactly once
    with = "DEBUG = False"
    status = "graded"            # the run's status (default: graded)
    score = 7                    # the total (optional)

    [checks.resave-no-duplicate]
    status = "failed"            # passed | failed | error | skipped
    diagnosis = "no-created-check"   # optional: compared when given
    score = 0                    # optional: default full points when passed, else 0

Every check of the rubric must be listed (a variant says what each check gives). The command
grades them all (in parallel, each in the sandbox, as a batch does), compares, prints a matrix
of cases x checks (which wrong solution each check catches), lists the diagnoses the rubric
names that no variant shows, and fails on any mismatch.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import rubric

CHECK_STATUSES = ("passed", "failed", "error", "skipped")
RUN_STATUSES = ("graded", "error", "timeout", "tampered")
MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-"}
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "db.sqlite3", "*.pyc")


class AuthoringError(Exception):
    """The assignment folder cannot be checked (no solution, a malformed expect.toml, ...)."""


@dataclass
class Case:
    name: str
    description: str
    base: str = "solution"  # starter | solution
    files: Path | None = None  # the overlay
    delete: list[str] = field(default_factory=list)
    edits: list[dict[str, str]] = field(default_factory=list)  # file, replace, with
    status: str = "graded"
    score: float | None = None
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> status, score, diagnosis
    changes: dict[str, str] = field(default_factory=dict)  # file -> source written last (a mutant's)
    mutant: Any = None  # the mutants.Mutant it grades, if any


@dataclass
class Outcome:
    case: Case
    report: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)


@dataclass
class MutantOutcome:
    mutant: Any  # mutants.Mutant
    verdict: str  # killed | survived | equivalent | problem
    score: float | None
    detail: str = ""  # the equivalence reason, the checks that failed, the problem


@dataclass
class Checked:
    assignment: rubric.Assignment
    outcomes: list[Outcome]
    problems: list[str] = field(default_factory=list)  # not tied to one case
    uncovered: list[str] = field(default_factory=list)  # diagnoses no variant shows
    mutants: list[MutantOutcome] | None = None  # with --mutants

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and not self.uncovered
            and not any(o.problems for o in self.outcomes)
            and not any(m.verdict in ("survived", "problem") for m in self.mutants or [])
        )


def _expectation(path: Path, assignment: rubric.Assignment) -> Case:
    where = f"{path.parent.name}/expect.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AuthoringError(f"{where}: cannot be read ({exc})") from None
    unknown = set(data) - {"description", "base", "delete", "edits", "status", "score", "checks"}
    if unknown:
        raise AuthoringError(f"{where}: unknown keys {sorted(unknown)}")
    case = Case(
        path.parent.name,
        str(data.get("description", "")),
        str(data.get("base", "solution")),
        files=path.parent / "files" if (path.parent / "files").is_dir() else None,
        delete=list(data.get("delete", [])),
        status=str(data.get("status", "graded")),
        score=data.get("score"),
    )
    edits = data.get("edits", [])
    if not isinstance(edits, list) or not all(
        isinstance(e, dict)
        and set(e) == {"file", "replace", "with"}
        and all(isinstance(v, str) for v in e.values())
        and e["replace"]
        for e in edits
    ):
        stray = sorted({k for e in edits if isinstance(e, dict) for k in e} - {"file", "replace", "with"})
        raise AuthoringError(
            f"{where}: each [[edits]] has file, replace and with (texts)"
            + (
                f"; {', '.join(stray)} belong before the first [[edits]] (TOML puts "
                "the keys after a table header into that table)"
                if stray
                else ""
            )
        )
    case.edits = edits
    if not case.description:
        raise AuthoringError(f"{where}: say in `description` what this submission does wrong")
    if case.base not in ("starter", "solution"):
        raise AuthoringError(f'{where}: base is "starter" or "solution", not {case.base!r}')
    if case.status not in RUN_STATUSES:
        raise AuthoringError(f"{where}: status is one of {', '.join(RUN_STATUSES)}")
    checks = data.get("checks", {})
    ids = [c.id for c in assignment.checks]
    if set(checks) != set(ids):
        missing, extra = sorted(set(ids) - set(checks)), sorted(set(checks) - set(ids))
        raise AuthoringError(
            f"{where}: [checks.<id>] must list every check of the rubric"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    for cid, spec in checks.items():
        if (
            not isinstance(spec, dict)
            or spec.get("status") not in CHECK_STATUSES
            or set(spec) - {"status", "score", "diagnosis"}
        ):
            raise AuthoringError(
                f"{where}: [checks.{cid}] takes status (one of "
                f"{', '.join(CHECK_STATUSES)}), and optionally score and diagnosis"
            )
    case.checks = {cid: dict(checks[cid]) for cid in ids}
    return case


def folders(assignment: rubric.Assignment) -> tuple[Path, Path]:
    """(the starter, the solution) of `assignment`: what every case is built from."""
    if assignment.solution_dir is None:
        raise AuthoringError(
            f"{assignment.root}: no solution/ folder (the reference solution, an overlay on the starter)"
        )
    if assignment.starter_dir is None:
        raise AuthoringError(
            f"{assignment.root}: no starter (a Django project with manage.py, in "
            "starter/ or where [authoring] starter says)"
        )
    return assignment.starter_dir, assignment.solution_dir


def cases(assignment: rubric.Assignment) -> list[Case]:
    """The solution, the starter and every variant of `assignment`, with what each must give."""
    folders(assignment)
    full = {c.id: {"status": "passed"} for c in assignment.checks}
    found = [
        Case("solution", "the reference solution: full marks", "solution", score=assignment.max_score, checks=full)
    ]
    starter = Case("starter", "the starter as students receive it", "starter", score=assignment.starter_score)
    found.append(starter)
    folder = assignment.variants_dir
    if folder.is_dir():
        for path in sorted(folder.glob("*/expect.toml")):
            if path.parent.name in ("solution", "starter"):  # the cases above have these names
                raise AuthoringError(
                    f"variants/{path.parent.name}: that name is the {path.parent.name}'s "
                    "own case; give the variant another name"
                )
            found.append(_expectation(path, assignment))
    return found


def build(assignment: rubric.Assignment, case: Case, dest: Path) -> Path:
    """The submission of a case: the starter, the solution over it (base solution), the
    variant's files over that, its deletions."""
    starter, solution = folders(assignment)
    shutil.copytree(starter, dest, ignore=COPY_IGNORE)
    if case.base == "solution":
        shutil.copytree(solution, dest, dirs_exist_ok=True, ignore=COPY_IGNORE)
    if case.files is not None:
        shutil.copytree(case.files, dest, dirs_exist_ok=True, ignore=COPY_IGNORE)
    for rel in case.delete:
        target = dest / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    for rel, text in case.changes.items():
        (dest / rel).write_text(text, encoding="utf-8")
    for edit in case.edits:
        target = dest / edit["file"]
        text = target.read_text(encoding="utf-8") if target.is_file() else ""
        found = text.count(edit["replace"])
        if found != 1:
            raise AuthoringError(
                f"variants/{case.name}: the edit of {edit['file']} finds the text to "
                f"replace {found} times, not once: {edit['replace'][:80]!r}"
            )
        target.write_text(text.replace(edit["replace"], edit["with"]), encoding="utf-8")
    return dest


def compare(assignment: rubric.Assignment, case: Case, report: dict[str, Any]) -> list[str]:
    """What differs between a case's expectation and its report."""
    problems = []
    if report["status"] != case.status:
        problems.append(f"status {report['status']}, expected {case.status} ({report.get('message', '')})")
    if case.score is not None and abs(float(report["score"]) - float(case.score)) > 1e-9:
        problems.append(f"score {report['score']:g}, expected {float(case.score):g}")
    got = {c["id"]: c for c in report["checks"]}
    points = {c.id: c.points for c in assignment.checks}
    for cid, want in case.checks.items():
        have = got.get(cid)
        if have is None:
            problems.append(f"{cid}: not in the report")
            continue
        if have["status"] != want["status"]:
            problems.append(
                f"{cid}: {have['status']}, expected {want['status']} "
                f"({have.get('diagnosis') or '-'}: {have.get('feedback', '')[:160]})"
            )
            continue
        score = want.get("score", points[cid] if want["status"] == "passed" else 0)
        if abs(float(have["score"]) - float(score)) > 1e-9:
            problems.append(f"{cid}: {have['score']:g} points, expected {float(score):g}")
        if "diagnosis" in want and (have.get("diagnosis") or "") != want["diagnosis"]:
            problems.append(f"{cid}: diagnosis {have.get('diagnosis') or '(none)'}, expected {want['diagnosis']}")
    return problems


def mutant_cases(assignment: rubric.Assignment) -> tuple[list[Case], dict[str, str]]:
    """A case per mutant of the solution (grader.mutants), and mutants.toml's equivalents."""
    from grader import mutants

    starter, solution = folders(assignment)
    files: dict[str, str] = {}
    for base in (starter, solution):
        for p in sorted(base.rglob("*.py")):
            if "__pycache__" not in p.parts:
                files[p.relative_to(base).as_posix()] = p.read_text(encoding="utf-8")
    mutable = sorted(p.relative_to(solution).as_posix() for p in solution.rglob("*.py") if "__pycache__" not in p.parts)
    try:
        made = mutants.make(files, mutable)
        equivalent = mutants.equivalents(assignment.root)
    except mutants.MutantsError as exc:
        raise AuthoringError(str(exc)) from None
    return [Case(m.id, m.description, "solution", changes=m.changes, mutant=m) for m in made], equivalent


def _judge_mutant(
    assignment: rubric.Assignment, case: Case, report: dict[str, Any] | None, equivalent: dict[str, str]
) -> MutantOutcome:
    m = case.mutant
    if report is None or report.get("grader_fault"):
        return MutantOutcome(
            m,
            "problem",
            None,
            "no report: the grader failed on it" if report is None else f"grader fault: {report['grader_fault']}",
        )
    if report["status"] == "tampered":
        return MutantOutcome(
            m,
            "problem",
            report["score"],
            "an honest mistake was called tampered: " + str(report.get("message", ""))[:200],
        )
    full = report["status"] == "graded" and float(report["score"]) >= assignment.max_score - 1e-9
    failed = [c["id"] for c in report["checks"] if c["status"] != "passed"]
    if m.id in equivalent:
        if full:
            return MutantOutcome(m, "equivalent", report["score"], equivalent[m.id])
        return MutantOutcome(
            m,
            "problem",
            report["score"],
            "listed as equivalent in mutants.toml, but the "
            f"suite marks it below full ({', '.join(failed) or report['status']}): "
            "remove it from mutants.toml",
        )
    if full:
        return MutantOutcome(
            m,
            "survived",
            report["score"],
            "full marks: add a check that catches it, or list it in mutants.toml as equivalent with a reason",
        )
    return MutantOutcome(m, "killed", report["score"], ", ".join(failed) or report["status"])


def check_assignment(
    path: Path | str,
    *,
    jobs: int | None = None,
    mode: str = "auto",
    display: Any = None,
    mutants: bool = False,
    variants: bool = True,
) -> Checked:
    """Grade every case of the assignment at `path` (a folder, or a name) and compare; with
    `mutants`, grade every mutant of its solution too (`variants=False`: only those)."""
    from grader import batch, fstree, sandbox, warm

    root = Path(path)
    assignment = rubric.load(root) if (root / "rubric.toml").is_file() else rubric.find(str(path))
    all_cases = cases(assignment) if variants else []
    mutant_list, equivalent = mutant_cases(assignment) if mutants else ([], {})
    all_cases += mutant_list
    scratch = Path(tempfile.mkdtemp(prefix="grader-check-"))
    try:
        subs = []
        for i, case in enumerate(all_cases):
            folder = f"{i:03d}-mutant" if case.mutant is not None else f"{i:03d}-{case.name}"
            project = build(assignment, case, scratch / "cases" / folder)
            subs.append(batch.Submission(case.name, project, scratch / "reports" / f"{i:03d}.json"))
        (scratch / "reports").mkdir()
        display = display or batch.PlainDisplay()
        reports: dict[str, dict[str, Any] | None] = {}

        def on_finish(sub: batch.Submission, exitcode: int | None) -> None:
            try:
                reports[sub.student] = json.loads(sub.report.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                reports[sub.student] = None
            display.finished(sub, batch.read_outcome(sub.report), False)

        resolved, _ = sandbox.resolve(mode)
        display.start(len(subs))
        jobs = jobs or batch.default_jobs()
        with warm.slots(resolved, assignment, jobs) as handles:
            batch.execute(
                subs,
                batch.grade_worker,
                (assignment, resolved, str(scratch)),
                jobs,
                assignment.limits.wall_time_s + batch.WORKER_GRACE_S,
                on_finish,
                slots=handles,
            )
        display.close()
    finally:
        fstree.remove(scratch)
    outcomes, judged = [], []
    for case in all_cases:
        report = reports.get(case.name)
        if case.mutant is not None:
            judged.append(_judge_mutant(assignment, case, report, equivalent))
            continue
        if report is None:
            outcomes.append(Outcome(case, None, ["no report: the grader failed on this case"]))
            continue
        if case.name == "starter" and not case.checks:
            case.checks = {c["id"]: {"status": c["status"]} for c in report["checks"]}
            problems = [] if case.score is None else compare(assignment, case, report)
            if case.score is None:
                problems.append(
                    f"the starter earns {report['score']:g}: write it in the rubric "
                    f"([authoring] starter_score = {report['score']:g})"
                )
        else:
            problems = compare(assignment, case, report)
        if report.get("grader_fault"):
            problems.append(f"grader fault: {report['grader_fault']}")
        outcomes.append(Outcome(case, report, problems))
    named = list(dict.fromkeys(d for c in assignment.checks for d in c.diagnoses))  # each once
    shown = {c.get("diagnosis") for o in outcomes if o.report for c in o.report["checks"]}
    checked = Checked(assignment, outcomes, uncovered=[d for d in named if d not in shown] if variants else [])
    if mutants:
        checked.mutants = judged
        made = {m.mutant.id for m in judged}
        checked.problems += [
            f"mutants.toml lists {ident}, which is no mutant of the solution (any more): remove it"
            for ident in equivalent
            if ident not in made
        ]
    return checked


@dataclass(frozen=True)
class MutantCounts:
    """How a set of mutants fared: how many, killed, equivalent (mutants.toml), and survivors
    (full marks, or a problem: both need the author's attention)."""

    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: int = 0

    @classmethod
    def of(cls, outcomes: list[MutantOutcome]) -> MutantCounts:
        return cls(
            mutants=len(outcomes),
            killed=sum(o.verdict == "killed" for o in outcomes),
            equivalent=sum(o.verdict == "equivalent" for o in outcomes),
            survivors=sum(o.verdict in ("survived", "problem") for o in outcomes),
        )


def mutant_counts(checked: Checked) -> dict[str, MutantCounts]:
    """Per operator of grader.mutants, in its order (every operator, none left out): how its
    mutants fared. The total is ``MutantCounts.of(checked.mutants)``."""
    from grader import mutants as ops

    rows = checked.mutants or []
    return {op: MutantCounts.of([r for r in rows if r.mutant.operator == op]) for op in ops.OPERATORS}


def mutant_table(checked: Checked) -> str:
    """Per operator: mutants, killed, equivalent, survivors; then every survivor and problem."""
    rows = checked.mutants or []
    per = mutant_counts(checked)
    width = max([len(o) for o in per] + [8])
    lines = [
        f"{checked.assignment.name}: {len(rows)} mutants of the solution",
        f"{'operator':<{width}}  mutants  killed  equivalent  survivors",
    ]
    for name, count in [*((op, c) for op, c in per.items() if c.mutants), ("total", MutantCounts.of(rows))]:
        lines.append(
            f"{name:<{width}}  {count.mutants:>7}  {count.killed:>6}  {count.equivalent:>10}  {count.survivors:>9}"
        )
    for r in rows:
        if r.verdict in ("survived", "problem"):
            lines.append(
                f"{'SURVIVOR' if r.verdict == 'survived' else 'PROBLEM'} {r.mutant.id}: "
                f"{r.mutant.description} ({r.detail})"
            )
    if not checked.outcomes:  # else the matrix said them
        lines += [f"PROBLEM {p}" for p in checked.problems]
    return "\n".join(lines) + "\n"


def mutant_json(checked: Checked) -> dict[str, Any]:
    """The mutants' results as data (``--json``)."""
    rows = checked.mutants or []
    per = {op: asdict(count) for op, count in mutant_counts(checked).items()}
    return {
        "assignment": checked.assignment.name,
        "ok": checked.ok,
        "operators": per,
        "mutants": [
            {
                "id": r.mutant.id,
                "operator": r.mutant.operator,
                "file": r.mutant.file,
                "line": r.mutant.line,
                "description": r.mutant.description,
                "verdict": r.verdict,
                "score": r.score,
                "max_score": checked.assignment.max_score,
                "detail": r.detail,
            }
            for r in rows
        ],
    }


def matrix(checked: Checked) -> str:
    """Cases x checks: the mark each check gave each case; a case that did not give what it
    expects is marked MISMATCH and its differences follow."""
    ids = [c.id for c in checked.assignment.checks]
    width = max(len(o.case.name) for o in checked.outcomes)
    head = " " * (width + 2) + "  ".join(f"c{i + 1}" for i in range(len(ids))) + "  score  result"
    lines = [f"{checked.assignment.name}: {len(checked.outcomes)} cases x {len(ids)} checks", head]
    for o in checked.outcomes:
        marks = []
        for cid in ids:
            got = next((c for c in (o.report or {}).get("checks", []) if c["id"] == cid), None)
            marks.append(f"{MARK.get(got['status'], '?') if got else '?':<2}")
        score = f"{o.report['score']:g}" if o.report else "-"
        lines.append(
            f"{o.case.name:<{width}}  "
            + "  ".join(marks)
            + f"  {score:>5}  "
            + ("ok" if not o.problems else "MISMATCH")
        )
    lines.append("")
    lines += [f"c{i + 1} = {cid}" for i, cid in enumerate(ids)]
    caught = {
        cid: [
            o.case.name
            for o in checked.outcomes
            if o.report and any(c["id"] == cid and c["status"] != "passed" for c in o.report["checks"])
        ]
        for cid in ids
    }
    lines.append("")
    for cid in ids:
        lines.append(f"{cid} catches {len(caught[cid])} case(s)" + (": NONE" if not caught[cid] else ""))
    for o in checked.outcomes:
        for problem in o.problems:
            lines.append(f"MISMATCH {o.case.name}: {problem}")
    for d in checked.uncovered:
        lines.append(f"UNCOVERED diagnosis {d}: the rubric names it, no variant shows it")
    for p in checked.problems:
        lines.append(f"PROBLEM {p}")
    if checked.mutants is None:
        lines.append("OK: every case gives what it expects" if checked.ok else "FAILED")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- starter


def write_starter(assignment: rubric.Assignment, dest: Path) -> Path:
    """`grader starter`: the project students receive, at `dest` (missing or empty), with the
    marker naming the assignment; nothing of the solution, the variants or the suite."""
    if assignment.starter_dir is None:
        raise AuthoringError(
            f"{assignment.name} has no starter project (a folder with manage.py in "
            "starter/ or where its [authoring] starter says)"
        )
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise AuthoringError(f"{dest} exists and is not an empty folder: choose a new one")
    if dest.exists():
        dest.rmdir()
    shutil.copytree(assignment.starter_dir, dest, ignore=COPY_IGNORE)
    marker = dest / rubric.MARKER
    if not marker.is_file():
        marker.write_text(assignment.name + "\n", encoding="utf-8")
    return dest


# --------------------------------------------------------------------------- new-assignment

SKELETON = Path(__file__).parent / "skeleton"
PLACEHOLDER = "__ASSIGNMENT__"


def new_assignment(name: str, *, parent: Path) -> Path:
    """A working assignment folder `parent/name`, made from the grader's example (an
    m2m_changed receiver that keeps a count right): rubric, starter, solution, hidden tests
    and two variants, which `check-assignment` passes as it is."""
    if not rubric._NAME.match(name):
        raise AuthoringError(f"{name!r} is not an assignment name (letters, digits, '.', '_', '-')")
    dest = Path(parent) / name
    if dest.exists():
        raise AuthoringError(f"{dest} exists already: choose another name or folder")
    shutil.copytree(SKELETON, dest, ignore=COPY_IGNORE)
    for rel in ("rubric.toml", "starter/" + rubric.MARKER):
        target = dest / rel
        target.write_text(target.read_text(encoding="utf-8").replace(PLACEHOLDER, name), encoding="utf-8")
    return dest
