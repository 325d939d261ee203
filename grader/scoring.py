"""Stage 3b: decide each check from the child's verdicts and the outside evidence.

Rules, in order:
- a run is ``tampered`` (0) only on proof that student code altered the harness, the verdicts
  or the evidence: a channel line the run's key did not sign or out of sequence, the
  submission leaving the grader's evidence itself, wrong control outcomes, unexpected or
  repeated test ids, a pass the channel's own verdict contradicts;
- a reported pass that the grader holds no record of (no verdict on the channel, a note the
  rubric declares missing) counts as not passed, with why: missing evidence is no proof;
- a reported pass that what the grader reads itself afterwards disagrees with (the database,
  verify.py, the connections streamed as they were made) is graded on that reading: the test
  counts as failed (``evidence-disagrees``) and says what the grader saw. A disagreement is no
  proof either: an honest project can leave what the grader's checks do not expect (a welcome
  e-mail beside the order's, a later receiver changing an earlier test's rows);
- a missing or malformed report is ``error``: 0 (after a time-out, a test keeps its
  points when the child's verdict, streamed as the test ended, and the evidence back it);
- a check whose prerequisite did not pass is ``skipped`` and earns 0;
- a check passes when every one of its tests passed (a test may skip itself)
  and at least one passed, each pass confirmed by the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.evidence import VERIFY_PREFIX, Evidence
from grader.model import ENVIRONMENT_DIAGNOSES, CheckResult, CheckStatus, RunStatus, TestOutcome, environment_stopped
from grader.rubric import Assignment
from grader.runner import RunResult

MAX_TEXT = 1500
MAX_FRAMES = 12


@dataclass
class Scored:
    status: RunStatus
    message: str
    checks: list[CheckResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)


def _text(value, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _frames(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return [_text(v, 300) for v in value[:MAX_FRAMES] if isinstance(v, str)]


def parse_outcomes(report: dict) -> tuple[dict[str, TestOutcome] | None, str]:
    """The per-test outcomes of a report, or None and why it is unusable."""
    pytest_part = report.get("pytest")
    if not isinstance(pytest_part, dict) or not isinstance(pytest_part.get("tests"), list):
        return None, "the report has no test results"
    feedback = pytest_part.get("grader_feedback")
    feedback = feedback if isinstance(feedback, dict) else {}
    outcomes: dict[str, TestOutcome] = {}
    for entry in pytest_part["tests"]:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("nodeid"), str)
            or entry.get("outcome") not in ("passed", "failed", "skipped", "error")
        ):
            return None, "the report has a malformed test entry"
        nodeid = entry["nodeid"]
        if nodeid in outcomes:
            return None, f"the report lists {nodeid} twice"
        fb: dict[str, Any] = feedback[nodeid] if isinstance(feedback.get(nodeid), dict) else {}
        message = _text(fb.get("message"))
        if not message and entry["outcome"] != "passed":
            message = _fallback_message(entry)
        outcomes[nodeid] = TestOutcome(
            nodeid=nodeid,
            outcome=entry["outcome"],
            message=message,
            diagnosis=_text(fb.get("diagnosis"), 60),
            location=_text(fb.get("location"), 200),
            student_traceback=_frames(fb.get("traceback")),
        )
    return outcomes, ""


def _fallback_message(entry: dict) -> str:
    """A failure the hidden suite did not explain: show the error, never the test's source."""
    for stage in ("setup", "call", "teardown"):
        part = entry.get(stage)
        if isinstance(part, dict) and part.get("outcome") in ("failed", "error"):
            crash: dict[str, Any] = part["crash"] if isinstance(part.get("crash"), dict) else {}
            detail = _text(crash.get("message"), 300).splitlines()[0:1]
            if detail:
                return f"an unexpected error stopped this check: {detail[0]}"
            return "an unexpected error stopped this check"
        if isinstance(part, dict) and part.get("outcome") == "skipped":
            longrepr = part.get("longrepr")
            if isinstance(longrepr, str) and "Skipped: " in longrepr:
                return "skipped: " + _text(longrepr.split("Skipped: ", 1)[1].rstrip("')\" \n"), 200)
    return ""


def apply_visibility(assignment: Assignment, checks: list[CheckResult]) -> list[CheckResult]:
    """Each check's visibility from the rubric (public, after_due, hidden): what feedback
    handed back to students may show of it (see renderers/visibility.py)."""
    visibility = {c.id: c.visibility for c in assignment.checks}
    for check in checks:
        check.visibility = visibility.get(check.id, "public")
    return checks


def all_checks(assignment: Assignment, status: CheckStatus, feedback: str) -> list[CheckResult]:
    """Every check with the same status and feedback, 0 points: a run that could not be scored."""
    return [CheckResult(c.id, c.title, status, 0.0, c.points, feedback, c.hint) for c in assignment.checks]


def _unscored(
    assignment: Assignment, status: RunStatus, message: str, warnings: list[str], feedback: str | None = None
) -> Scored:
    return Scored(status, message, all_checks(assignment, CheckStatus.ERROR, feedback or message), warnings)


def decide_checks(assignment: Assignment, outcomes: dict[str, TestOutcome]) -> list[CheckResult]:
    results: dict[str, CheckResult] = {}
    for check in assignment.checks:
        failed_deps = [d for d in check.depends if results[d].status != CheckStatus.PASSED]
        if failed_deps:
            why = ", ".join(
                f"{d} {'was not run' if results[d].status == CheckStatus.SKIPPED else 'failed'}" for d in failed_deps
            )
            results[check.id] = CheckResult(
                check.id, check.title, CheckStatus.SKIPPED, 0.0, check.points, f"not run: {why}", check.hint
            )
            continue
        tests = [outcomes.get(t) or TestOutcome(t, "error", "this check did not complete") for t in check.tests]
        bad = [t for t in tests if t.outcome not in ("passed", "skipped")]
        passed = [t for t in tests if t.outcome == "passed"]
        if not bad and passed:
            skipped = [t.message for t in tests if t.outcome == "skipped" and t.message]
            results[check.id] = CheckResult(
                check.id, check.title, CheckStatus.PASSED, check.points, check.points, "; ".join(skipped), ""
            )
            continue
        if not bad:
            bad = tests  # all skipped: nothing was shown to work
        first = bad[0]
        # a test the grading environment stopped (a package it lacks) is not run, never failed
        status = (
            CheckStatus.ERROR
            if first.outcome == "error" or first.diagnosis in ENVIRONMENT_DIAGNOSES
            else CheckStatus.FAILED
        )
        message = first.message or "this check did not pass"
        if len(bad) > 1:
            message += f" ({len(bad) - 1} more part{'s' if len(bad) > 2 else ''} of this check failed too)"
        results[check.id] = CheckResult(
            check.id,
            check.title,
            status,
            0.0,
            check.points,
            message,
            check.hint,
            first.diagnosis,
            first.location,
            first.student_traceback,
        )
    return list(results.values())


def _progress_outcomes(
    assignment: Assignment, ev: Evidence, verdicts: dict[str, dict], events: list[dict], why: str
) -> dict[str, TestOutcome]:
    """Outcomes of a run that stopped before reporting, from the verdicts the child streamed as
    each test ended: a test keeps a pass only when the database backs it too (the same two
    witnesses as a finished run); a test without a verdict did not complete."""
    outcomes = {}
    for t in assignment.test_ids:
        verdict = verdicts.get(t)
        if verdict is None:
            outcomes[t] = TestOutcome(t, "error", why)
        elif verdict["outcome"] == "passed":
            ok = not ev.missing_notes(t, assignment.evidence[t])
            ok = ok and ev.confirms(t, assignment.evidence[t])[0]
            if ok and t in assignment.connections:
                ok, _ = ev.confirms_connection(assignment.connections[t], events)
            outcomes[t] = TestOutcome(t, "passed") if ok else TestOutcome(t, "error", why)
        else:
            outcomes[t] = TestOutcome(
                t,
                verdict["outcome"],
                _text(verdict.get("message")) or "this check did not pass",
                diagnosis=_text(verdict.get("diagnosis"), 60),
                location=_text(verdict.get("location"), 200),
                student_traceback=_frames(verdict.get("traceback")),
            )
    return outcomes


def _where(assignment: Assignment, ev: Evidence) -> str:
    test = ev.unfinished if ev.available else None
    if not test:
        return ""
    for check in assignment.checks:
        if test in check.tests:
            return f" while checking '{check.title}'"
    return ""


UNBACKED = "evidence-missing"  # the diagnosis of a reported pass the grader holds no record of
VERIFY_REFUSED = "verify-refused"  # ... or whose files (mail, media) the grader's checks could not read


DISAGREES = "evidence-disagrees"  # ... or that what the grader read itself afterwards contradicts


def _unbacked(outcome: TestOutcome, why: str) -> TestOutcome:
    return TestOutcome(outcome.nodeid, "failed", f"not counted as passed: {why}", diagnosis=UNBACKED)


def _disagrees(outcome: TestOutcome, reason: str, connection: bool, folders: tuple = ()) -> TestOutcome:
    """A pass the grader's own reading contradicts: graded on that reading, never `tampered`
    (no proof that anything was altered), explained in the student's terms."""
    saw = reason[len(VERIFY_PREFIX) :] if reason.startswith(VERIFY_PREFIX) else reason
    if connection:
        text = (
            f"not counted as passed: the check saw your receiver registered, but the grader's own record "
            f"of every connection, written as each was made, disagrees: {saw}. Connect the receiver "
            "once, in that app's AppConfig.ready(), and do not change Django's or the grader's "
            "records of receivers afterwards."
        )
    else:
        read = (
            ["the grading database"]
            + (["the files in MEDIA_ROOT"] if "media" in folders else [])
            + (["the e-mails Django wrote"] if "mail" in folders else [])
        )
        text = (
            f"not counted as passed: the check passed while it ran, but what the grader read itself "
            f"after the run ({', '.join(read)}) disagrees: {saw}. The grader counts only what it finds "
            "there. Look for code that "
            "changes what your project shows instead of what is stored (an overridden manager, "
            "from_db() or refresh_from_db(), a patched storage or mail backend), or for another "
            "receiver of yours that adds to or changes the same rows, files or e-mails (an extra "
            "e-mail to the same customer, a later change to the same objects)."
        )
    return TestOutcome(outcome.nodeid, "failed", _text(text), diagnosis=DISAGREES)


def score(assignment: Assignment, run: RunResult, ev: Evidence) -> Scored:
    limits = assignment.limits
    warnings = list(run.warnings)
    report = run.report

    if run.channel_problem:
        why = (
            f"the grader's own record of the run was changed: {run.channel_problem} "
            "(instructor: inspect this submission)"
        )
        return _unscored(assignment, RunStatus.TAMPERED, why, warnings, "not scored: " + why)

    if report is None and run.timed_out:
        where = _where(assignment, ev)
        running = f": your code was running {run.stack[0]}" if run.stack else ": the test was still running"
        message = (
            f"stopped after {limits.wall_time_s:g} s{where}{running} - look for an endless "
            "loop or a receiver that saves its own instance."
        )
        stopped = f"did not complete: the run was stopped after {limits.wall_time_s:g} s"
        outcomes = _progress_outcomes(assignment, ev, run.verdicts, run.events, stopped)
        current = ev.unfinished if ev.available else None
        if current in outcomes and outcomes[current].outcome == "error" and run.stack:
            outcomes[current] = TestOutcome(
                current,
                "error",
                f"{stopped} while your code was running {run.stack[0]}: look for an endless loop there",
                diagnosis="timeout",
                location=run.stack[0].split(" in ")[0] if run.stack else "",
                student_traceback=list(run.stack),
            )
        checks = decide_checks(assignment, outcomes)
        return Scored(RunStatus.TIMEOUT, message, checks, warnings)

    if report is None and run.stopped:
        where = _where(assignment, ev)
        message = f"{run.stopped}{where}. Look for code that writes files in a loop."
        return _unscored(assignment, RunStatus.ERROR, message, warnings)

    if report is None:
        where = _where(assignment, ev)
        code = run.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        if code is not None and code < 0 and -code in (9, 24, 25):
            how += " (a limit on memory, file size or processes was probably hit)"
        message = (
            f"the test run ended early{where}: the grading process {how} before it could "
            "report. Does your code call sys.exit() or os._exit(), or use too much memory?"
        )
        if run.report_problem and "no report" not in run.report_problem and "ended before" not in run.report_problem:
            message = f"the test run's report could not be used: {run.report_problem}."
        return _unscored(assignment, RunStatus.ERROR, message, warnings)

    if report.get("phase") == "setup" and isinstance(report.get("setup_error"), dict):
        err = report["setup_error"]
        message = _text(err.get("message"), 400) or "Django could not start"
        location = _text(err.get("location"), 200)
        where = f" ({location})" if location else ""
        advice = _text(err.get("advice"), 600) or "Run `python manage.py check` to see the same error."
        text = f"Django could not start with your project: {message}{where}. {advice}"
        checks = []
        first = assignment.checks[0]
        for check in assignment.checks:
            if check is first:
                checks.append(
                    CheckResult(
                        check.id,
                        check.title,
                        CheckStatus.FAILED,
                        0.0,
                        check.points,
                        text,
                        check.hint,
                        _text(err.get("diagnosis"), 60) or "project-does-not-load",
                        location,
                        _frames(err.get("traceback")),
                    )
                )
            else:
                checks.append(
                    CheckResult(
                        check.id,
                        check.title,
                        CheckStatus.SKIPPED,
                        0.0,
                        check.points,
                        f"not run: {first.id} failed",
                        check.hint,
                    )
                )
        if err.get("diagnosis") in ENVIRONMENT_DIAGNOSES:  # not the student's code: not run, never failed
            checks, text = environment_stopped(checks, err["diagnosis"], text)
        return Scored(RunStatus.ERROR, text, checks, warnings)

    child_warnings = report["pytest"].get("grader_warnings") if isinstance(report.get("pytest"), dict) else None
    if isinstance(child_warnings, list):
        warnings += [_text(w, 600) for w in child_warnings[:10] if isinstance(w, str)]
    if report.get("pytest") is None and report.get("phase") == "tests":
        code = report.get("exitcode")
        message = (
            "the hidden tests could not run: pytest stopped with an internal error"
            f"{f' (exit status {code})' if isinstance(code, int) else ''}. This is usually "
            "code in your project that runs when it is imported and interferes with the "
            "test tools (for example patching pytest or Django's test client)."
        )
        return _unscored(assignment, RunStatus.ERROR, message, warnings)
    parsed, problem = parse_outcomes(report)
    if parsed is None:
        return _unscored(
            assignment,
            RunStatus.TAMPERED,
            f"the test report is not trustworthy: {problem}",
            warnings,
            "not scored: " + problem,
        )

    outcomes = parsed
    assert run.controls is not None  # a run that reached the tests has its controls
    expected = set(assignment.test_ids) | set(run.controls.expected())
    extra = sorted(set(outcomes) - expected)
    if extra:
        why = f"the report contains tests the grader did not run: {', '.join(extra[:3])}"
        return _unscored(assignment, RunStatus.TAMPERED, why, warnings, "not scored: " + why)
    wrong_controls = [
        n for n, want in run.controls.expected().items() if outcomes.get(n) and outcomes[n].outcome != want
    ]
    if wrong_controls:
        why = (
            "control tests with known outcomes were reported wrongly: something in the "
            "submission changed the test results (instructor: inspect this submission)"
        )
        return _unscored(assignment, RunStatus.TAMPERED, why, warnings, "not scored: " + why)
    for nodeid, outcome in list(outcomes.items()):
        if outcome.outcome != "passed":
            continue
        recorded = run.verdicts.get(nodeid)
        if recorded is None:
            outcomes[nodeid] = _unbacked(
                outcome,
                "the grader has no record of this check ending (does your "
                "code close or replace files it did not open?)",
            )
            continue
        if recorded["outcome"] != "passed":
            why = (
                f"the report says {nodeid} passed, but the grader's own record of the test says "
                f"{recorded['outcome']}: the test results were changed (instructor: inspect this submission)"
            )
            return _unscored(assignment, RunStatus.TAMPERED, why, warnings, "not scored: the test results were changed")
        if nodeid in assignment.evidence:
            notes_missing = ev.missing_notes(nodeid, assignment.evidence[nodeid])
            if notes_missing:
                outcomes[nodeid] = _unbacked(outcome, notes_missing)
                continue
            if ev.available and nodeid not in ev.done:
                outcomes[nodeid] = _unbacked(
                    outcome, "the grader's record of the run does not show this check reaching its end"
                )
                continue
            ok, reason = ev.confirms(nodeid, assignment.evidence[nodeid])
            if not ok and nodeid in ev.refused:  # what the submission left defeated the verifier
                outcomes[nodeid] = TestOutcome(
                    nodeid, "failed", f"not counted as passed: {reason}", diagnosis=VERIFY_REFUSED
                )
                continue
            if not ok and not ev.available:
                # The database is gone or unreadable: nothing can be confirmed, and that alone is
                # no proof of tampering (the submission's code or the run itself can lose it).
                why = (
                    f"the grader could not read the grading database after the run ({reason}), so no "
                    "points could be confirmed. Does your code delete, replace or lock the database "
                    "file? If not, tell your instructor: the grader may be at fault."
                )
                return _unscored(assignment, RunStatus.ERROR, why, warnings, "not scored: " + why)
            if not ok and ev.grader_problem:
                # Not proof of tampering (issue 10: never `tampered` for a table the grader cannot
                # find), and not a grader fault either: the submission can drop tables too.
                why = (
                    f"the grader could not check the results against the grading database ({reason}), "
                    "so no points could be confirmed. If your code does not change the database's "
                    "tables, tell your instructor: the grader may be at fault."
                )
                return _unscored(assignment, RunStatus.ERROR, why, warnings, "not scored: " + why)
            if not ok:
                outcomes[nodeid] = _disagrees(outcome, reason, connection=False, folders=assignment.folders)
                continue
            if nodeid in assignment.connections:
                ok, reason = ev.confirms_connection(assignment.connections[nodeid], run.events)
                if not ok:
                    outcomes[nodeid] = _disagrees(outcome, reason, connection=True)
                    continue

    missing = sorted(expected - set(outcomes))
    checks = decide_checks(assignment, outcomes)
    if missing:
        message = (
            "some hidden tests could not run (an error while loading them, probably caused by "
            "code that runs when your project is imported); they count as failed."
        )
        return Scored(RunStatus.ERROR, message, checks, warnings)
    total = sum(c.score for c in checks)
    message = f"{total:g} of {assignment.max_score:g} points"
    unbacked = sum(1 for o in outcomes.values() if o.diagnosis in (UNBACKED, VERIFY_REFUSED, DISAGREES))
    if unbacked:
        message += (
            f" ({unbacked} part{'s' if unbacked > 1 else ''} of the checks that passed while "
            f"{'they' if unbacked > 1 else 'it'} ran {'were' if unbacked > 1 else 'was'} not counted: "
            f"what the grader found itself does not back {'them' if unbacked > 1 else 'it'}; each "
            "check says why)"
        )
    return Scored(RunStatus.GRADED, message, checks, warnings)
