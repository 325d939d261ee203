"""Unit tests of grader/scoring.py with hand-made outcomes, runs and evidence (no subprocess)."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENT, CHECK_IDS

from grader import rubric
from grader.evidence import Evidence
from grader.model import CheckStatus, RunStatus
from grader.model import TestOutcome as Outcome  # not "Test*": pytest would try to collect it
from grader.rubric import Assignment, Check, EvidenceSpec, Limits
from grader.runner import Controls, RunResult
from grader.scoring import decide_checks, parse_outcomes, score

REAL = rubric.load(ASSIGNMENT)
CONTROLS = Controls(file="test_c0ffee.py", must_pass=["test_p1", "test_p2"], must_fail=["test_f1", "test_f2"])


def small_assignment() -> Assignment:
    """a (1) <- b (2) <- c (3); d (4) independent; e (5) depends on a and d."""
    checks = (
        Check("a", "A", 1.0, ("t_a.py::t1",), "hint a"),
        Check("b", "B", 2.0, ("t_b.py::t1", "t_b.py::t2", "t_b.py::t3"), "hint b", ("a",)),
        Check("c", "C", 3.0, ("t_c.py::t1",), "hint c", ("b",)),
        Check("d", "D", 4.0, ("t_d.py::t1", "t_d.py::t2"), "hint d"),
        Check("e", "E", 5.0, ("t_e.py::t1",), "hint e", ("a", "d")),
    )
    evidence = {t: EvidenceSpec() for c in checks for t in c.tests}
    return Assignment("small", "Small", ASSIGNMENT, {"profile": "users.Profile"}, checks, evidence, Limits())


SMALL = small_assignment()


def outcomes(default: str = "passed", **by_test: Outcome | str) -> dict[str, Outcome]:
    """Outcomes for every SMALL test; keyword names use '__' for '::' and '_' for '.'."""
    out = {t: Outcome(t, default) for t in SMALL.test_ids}
    for key, value in by_test.items():
        nodeid = key.replace("__", "::").replace("_py", ".py")
        assert nodeid in out, nodeid
        out[nodeid] = value if isinstance(value, Outcome) else Outcome(nodeid, value)
    return out


def by_id(results):
    return {r.id: r for r in results}


# ---------------------------------------------------------------- decide_checks


def test_all_passed_earns_every_point():
    results = decide_checks(SMALL, outcomes())
    assert [r.id for r in results] == ["a", "b", "c", "d", "e"]
    assert [r.status for r in results] == [CheckStatus.PASSED] * 5
    assert [r.score for r in results] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [r.max_score for r in results] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(r.feedback == "" and r.hint == "" for r in results)  # no hint on a pass


def test_failed_dependency_skips_dependents_transitively():
    results = by_id(
        decide_checks(
            SMALL,
            outcomes(t_a_py__t1=Outcome("t_a.py::t1", "failed", "A is broken", "diag-a", "x.py:1", ["x.py:1 in f"])),
        )
    )
    a = results["a"]
    assert (a.status, a.score, a.feedback, a.hint) == (CheckStatus.FAILED, 0.0, "A is broken", "hint a")
    assert (a.diagnosis, a.location, a.student_traceback) == ("diag-a", "x.py:1", ["x.py:1 in f"])
    for cid, dep in (("b", "a"), ("c", "b"), ("e", "a")):
        r = results[cid]
        assert r.status == CheckStatus.SKIPPED and r.score == 0.0, cid
        assert r.feedback.startswith("not run: ") and dep in r.feedback, r.feedback
        assert r.hint == f"hint {cid}"
    # its own tests passed, but c depends on b, which was skipped
    assert results["c"].feedback.startswith("not run: b ")
    assert results["d"].status == CheckStatus.PASSED and results["d"].score == 4.0
    assert sum(r.score for r in results.values()) == 4.0


def test_skipped_check_names_every_failed_prerequisite():
    results = by_id(decide_checks(SMALL, outcomes(t_a_py__t1="failed", t_d_py__t2="error")))
    assert results["e"].status == CheckStatus.SKIPPED
    assert "a" in results["e"].feedback and "d" in results["e"].feedback
    assert results["d"].status == CheckStatus.ERROR


def test_dependency_passing_lets_the_check_run():
    results = by_id(decide_checks(SMALL, outcomes(t_c_py__t1="failed")))
    assert results["c"].status == CheckStatus.FAILED
    assert results["c"].score == 0.0
    assert results["c"].feedback == "this check did not pass"  # no message given
    assert [results[c].score for c in "abde"] == [1.0, 2.0, 4.0, 5.0]


def test_check_whose_tests_all_skipped_does_not_pass():
    results = by_id(
        decide_checks(
            SMALL,
            outcomes(
                t_d_py__t1=Outcome("t_d.py::t1", "skipped", "skipped: no admin"),
                t_d_py__t2=Outcome("t_d.py::t2", "skipped", "skipped: no add page"),
            ),
        )
    )
    d = results["d"]
    assert d.status == CheckStatus.FAILED
    assert d.score == 0.0
    assert d.feedback == "skipped: no admin (1 more part of this check failed too)"
    assert results["e"].status == CheckStatus.SKIPPED  # and its dependents are skipped


def test_some_skipped_and_some_passed_passes_and_says_why():
    results = by_id(
        decide_checks(
            SMALL, outcomes(t_b_py__t2=Outcome("t_b.py::t2", "skipped", "skipped: the admin is not installed"))
        )
    )
    b = results["b"]
    assert b.status == CheckStatus.PASSED and b.score == 2.0
    assert b.feedback == "skipped: the admin is not installed"


def test_first_bad_test_decides_status_and_message():
    results = by_id(
        decide_checks(
            SMALL,
            outcomes(
                t_b_py__t1="passed",
                t_b_py__t2=Outcome("t_b.py::t2", "failed", "two profiles", "several-receivers", "users/signals.py:9"),
                t_b_py__t3=Outcome("t_b.py::t3", "error", "crashed", "receiver-error"),
            ),
        )
    )
    b = results["b"]
    assert b.status == CheckStatus.FAILED
    assert b.feedback == "two profiles (1 more part of this check failed too)"
    assert (b.diagnosis, b.location) == ("several-receivers", "users/signals.py:9")
    results = by_id(
        decide_checks(
            SMALL,
            outcomes(t_b_py__t1=Outcome("t_b.py::t1", "error", "crashed"), t_b_py__t2="failed", t_b_py__t3="failed"),
        )
    )
    assert results["b"].status == CheckStatus.ERROR
    assert results["b"].feedback == "crashed (2 more parts of this check failed too)"


def test_missing_outcome_is_an_error():
    given = outcomes()
    del given["t_c.py::t1"]
    results = by_id(decide_checks(SMALL, given))
    assert results["c"].status == CheckStatus.ERROR
    assert results["c"].score == 0.0
    assert results["c"].feedback == "this check did not complete"


def test_decide_checks_on_the_real_rubric():
    given = {t: Outcome(t, "passed") for t in REAL.test_ids}
    given["test_resave.py::test_save_again"] = Outcome(
        "test_resave.py::test_save_again", "failed", "second profile", "no-created-check"
    )
    results = decide_checks(REAL, given)
    assert {r.id: r.score for r in results} == {
        "project-loads": 1.0,
        "receiver-registered-in-ready": 3.0,
        "profile-created-once": 3.0,
        "resave-no-duplicate": 0.0,
    }
    given["test_creation.py::test_admin_add_form"] = Outcome("test_creation.py::test_admin_add_form", "failed")
    results = by_id(decide_checks(REAL, given))
    assert results["profile-created-once"].status == CheckStatus.FAILED
    assert results["resave-no-duplicate"].status == CheckStatus.SKIPPED
    assert results["receiver-registered-in-ready"].score == 3.0


# ---------------------------------------------------------------- score(): helpers


def full_evidence(assignment: Assignment = REAL) -> Evidence:
    """What the grading database shows after every hidden test ran and passed."""
    ev = Evidence(True)
    pk = 0
    for t in assignment.test_ids:
        ev.started.append(t)
        ev.done.add(t)
        spec = assignment.evidence[t]
        for role, n in spec.objects.items():
            for _ in range(n):
                pk += 1
                ev.track(t, role, pk)
                ev.existing.add((role, str(pk)))
                for rel, count in spec.related.items():
                    ev.related[(rel, role, str(pk))] = count
    ev.roles = {"user": "auth.User", "profile": "users.Profile"}
    return ev


# The connection a correct submission's child streams while UsersConfig.ready() runs.
READY_CONNECT = {
    "event": "connect",
    "signal": "post_save",
    "sender": "auth.User",
    "phase": "ready",
    "app": "users",
    "receiver": "create_profile",
    "where": "users/signals.py:9",
}


def child_report(
    overrides: dict[str, str] | None = None,
    controls: bool = True,
    feedback: dict | None = None,
    warnings: list | None = None,
    extra_tests: list[dict] | None = None,
) -> dict:
    tests = [{"nodeid": t, "outcome": (overrides or {}).get(t, "passed")} for t in REAL.test_ids]
    if controls:
        tests += [{"nodeid": n, "outcome": o} for n, o in CONTROLS.expected().items()]
    tests += extra_tests or []
    return {
        "phase": "tests",
        "setup_error": None,
        "exitcode": 0,
        "pytest": {"tests": tests, "grader_feedback": feedback or {}, "grader_warnings": warnings or []},
    }


def run_result(
    report: dict | None,
    *,
    timed_out: bool = False,
    returncode: int | None = 0,
    report_problem: str = "",
    warnings: list | None = None,
) -> RunResult:
    """A run whose channel holds what an honest child writes: the report's verdicts."""
    tests = report.get("pytest", {}).get("tests") if isinstance(report, dict) and report.get("pytest") else None
    verdicts = {
        t["nodeid"]: {"nodeid": t["nodeid"], "outcome": t["outcome"]}
        for t in tests or []
        if isinstance(t, dict) and isinstance(t.get("nodeid"), str)
    }
    return RunResult(
        mode="none",
        returncode=returncode,
        timed_out=timed_out,
        duration_s=1.0,
        report=report,
        report_problem=report_problem,
        controls=CONTROLS,
        warnings=list(warnings or []),
        events=[READY_CONNECT],
        verdicts=verdicts,
    )


def assert_all_zero(scored, status: CheckStatus = CheckStatus.ERROR):
    assert scored.score == 0
    assert [c.id for c in scored.checks] == CHECK_IDS
    assert all(c.status == status and c.score == 0.0 for c in scored.checks), scored.checks


# ---------------------------------------------------------------- score(): graded


def test_full_run_is_graded_ten_of_ten():
    scored = score(REAL, run_result(child_report()), full_evidence())
    assert scored.status == RunStatus.GRADED
    assert scored.score == 10.0
    assert scored.message == "10 of 10 points"
    assert [c.status for c in scored.checks] == [CheckStatus.PASSED] * 4
    assert scored.warnings == []


def test_failed_tests_need_no_evidence_and_lose_their_points():
    ev = full_evidence()
    ev.done.discard("test_resave.py::test_save_again")  # a failed test never reaches its end
    report = child_report(
        {"test_resave.py::test_save_again": "failed"},
        feedback={
            "test_resave.py::test_save_again": {
                "message": "saving again raised IntegrityError",
                "diagnosis": "no-created-check",
                "location": "users/signals.py:12",
                "traceback": ["users/signals.py:12 in create_profile: x"],
            }
        },
    )
    scored = score(REAL, run_result(report), ev)
    assert scored.status == RunStatus.GRADED
    assert scored.score == 7.0
    assert scored.message == "7 of 10 points"
    resave = scored.checks[3]
    assert (resave.status, resave.diagnosis, resave.location) == (
        CheckStatus.FAILED,
        "no-created-check",
        "users/signals.py:12",
    )
    assert resave.feedback == "saving again raised IntegrityError"
    assert resave.student_traceback == ["users/signals.py:12 in create_profile: x"]


def test_child_and_runner_warnings_are_kept():
    scored = score(
        REAL,
        run_result(child_report(warnings=["default_app_config is ignored", 42]), warnings=["no sandbox"]),
        full_evidence(),
    )
    assert scored.status == RunStatus.GRADED
    assert scored.warnings == ["no sandbox", "default_app_config is ignored"]


def test_unexplained_failure_shows_the_error_not_the_test():
    report = child_report({"test_project.py::test_project_loads": "failed"})
    report["pytest"]["tests"][0]["call"] = {
        "outcome": "failed",
        "crash": {"message": "ZeroDivisionError: division by zero\nmore"},
    }
    scored = score(REAL, run_result(report), full_evidence())
    assert scored.status == RunStatus.GRADED
    assert scored.score == 9.0  # nothing depends on project-loads: the behaviour checks stand
    assert scored.checks[0].feedback == "an unexpected error stopped this check: ZeroDivisionError: division by zero"
    assert [c.status for c in scored.checks[1:]] == [CheckStatus.PASSED] * 3


# ---------------------------------------------------------------- score(): tampered


def _pk(ev: Evidence, nodeid: str, i: int) -> str:
    return ev.tracked[nodeid]["user"][i]


@pytest.mark.parametrize(
    "spoil,reason,check_id,diagnosis",
    [
        (
            lambda ev: ev.done.discard("test_creation.py::test_create_user"),
            "does not show this check reaching its end",
            "profile-created-once",
            "evidence-missing",
        ),
        (
            lambda ev: ev.related.update({("profile", "user", _pk(ev, "test_creation.py::test_admin_add_form", 1)): 2}),
            "has 2 profile rows, not 1",
            "profile-created-once",
            "evidence-disagrees",
        ),
        (
            lambda ev: ev.related.update({("profile", "user", _pk(ev, "test_resave.py::test_save_again", 0)): 0}),
            "has 0 profile rows",
            "resave-no-duplicate",
            "evidence-disagrees",
        ),
        (
            lambda ev: ev.tracked["test_resave.py::test_save_many_times"]["user"].pop(),
            "left 2 user objects, not 3",
            "resave-no-duplicate",
            "evidence-disagrees",
        ),
        (
            lambda ev: ev.existing.discard(("user", _pk(ev, "test_creation.py::test_objects_create", 0))),
            "is not in the database",
            "profile-created-once",
            "evidence-disagrees",
        ),
        (
            lambda ev: ev.track("test_project.py::test_project_loads", "user", 999),
            "left 1 user objects, not 0",
            "project-loads",
            "evidence-disagrees",
        ),
    ],
)
def test_pass_not_backed_by_evidence_is_graded_on_the_evidence(spoil, reason, check_id, diagnosis):
    """Issue 21: a disagreement is no proof of tampering: the check fails, saying what the
    grader saw; the other checks keep their points."""
    ev = full_evidence()
    spoil(ev)
    scored = score(REAL, run_result(child_report()), ev)
    assert scored.status == RunStatus.GRADED
    spoiled = next(c for c in scored.checks if c.id == check_id)
    assert spoiled.status == CheckStatus.FAILED and spoiled.score == 0
    assert spoiled.diagnosis == diagnosis and reason in spoiled.feedback
    assert "were not counted" in scored.message or "was not counted" in scored.message
    assert all(
        c.status == CheckStatus.PASSED
        for c in scored.checks
        if c.id != check_id and check_id not in {ch.id: ch for ch in REAL.checks}[c.id].depends
    )


def test_passes_without_any_database_are_an_error():
    scored = score(REAL, run_result(child_report()), Evidence(False, "the test run left no database"))
    assert scored.status == RunStatus.ERROR
    assert "the test run left no database" in scored.message
    assert_all_zero(scored)


@pytest.mark.parametrize(
    "nodeid,wrong",
    [
        ("test_c0ffee.py::test_p1", "failed"),
        ("test_c0ffee.py::test_f2", "passed"),
        ("test_c0ffee.py::test_f1", "skipped"),
    ],
)
def test_wrong_control_outcome_is_tampered(nodeid, wrong):
    report = child_report()
    for entry in report["pytest"]["tests"]:
        if entry["nodeid"] == nodeid:
            entry["outcome"] = wrong
    scored = score(REAL, run_result(report), full_evidence())
    assert scored.status == RunStatus.TAMPERED
    assert "control tests" in scored.message
    assert_all_zero(scored)


def test_extra_test_ids_are_tampered():
    report = child_report(extra_tests=[{"nodeid": "test_student.py::test_free_points", "outcome": "passed"}])
    scored = score(REAL, run_result(report), full_evidence())
    assert scored.status == RunStatus.TAMPERED
    assert "the grader did not run: test_student.py::test_free_points" in scored.message
    assert_all_zero(scored)


@pytest.mark.parametrize(
    "mangle,problem",
    [
        (
            lambda r: r["pytest"]["tests"].append(dict(r["pytest"]["tests"][0])),
            "lists test_project.py::test_project_loads twice",
        ),
        (lambda r: r["pytest"]["tests"].append({"nodeid": "x.py::y", "outcome": "xpassed"}), "malformed test entry"),
        (lambda r: r["pytest"]["tests"].append({"outcome": "passed"}), "malformed test entry"),
        (lambda r: r["pytest"]["tests"].append("test_x.py::t"), "malformed test entry"),
        (lambda r: r["pytest"].pop("tests"), "no test results"),
        (lambda r: r["pytest"].update(tests={"a": "passed"}), "no test results"),
    ],
)
def test_unusable_report_is_tampered(mangle, problem):
    report = child_report()
    mangle(report)
    scored = score(REAL, run_result(report), full_evidence())
    assert scored.status == RunStatus.TAMPERED
    assert problem in scored.message
    assert_all_zero(scored)


def test_tests_phase_without_pytest_report_is_an_error():
    """pytest itself crashed (internal error) after Django started: no verdicts to trust."""
    report = {"phase": "tests", "setup_error": None, "exitcode": 3, "pytest": None}
    scored = score(REAL, run_result(report), Evidence(False, "the test run left no database"))
    assert scored.status == RunStatus.ERROR
    assert "the hidden tests could not run" in scored.message
    assert "(exit status 3)" in scored.message
    assert_all_zero(scored)


def test_parse_outcomes_keeps_feedback_short_and_typed():
    report = child_report(
        {"test_project.py::test_project_loads": "failed"},
        feedback={
            "test_project.py::test_project_loads": {
                "message": "m" * 5000,
                "diagnosis": ["not", "text"],
                "location": 12,
                "traceback": ["a.py:1", 3, "b.py:2"] + ["c.py:3"] * 20,
            }
        },
    )
    parsed, problem = parse_outcomes(report)
    assert problem == ""
    outcome = parsed["test_project.py::test_project_loads"]
    assert len(outcome.message) == 1500 and outcome.message.endswith("...")
    assert outcome.diagnosis == "" and outcome.location == ""
    assert outcome.student_traceback[:2] == ["a.py:1", "b.py:2"]
    assert len(outcome.student_traceback) <= 12


# ---------------------------------------------------------------- score(): error and timeout


def test_missing_report_is_an_error_with_score_zero():
    scored = score(
        REAL,
        run_result(None, returncode=1, report_problem="the test run left no report"),
        Evidence(False, "the test run left no database"),
    )
    assert scored.status == RunStatus.ERROR
    assert "exited with status 1" in scored.message
    assert "sys.exit()" in scored.message
    assert_all_zero(scored)
    assert all(c.feedback == scored.message for c in scored.checks)


def test_missing_report_after_a_kill_points_at_the_limits():
    ev = full_evidence()
    ev.done.discard("test_resave.py::test_save_many_times")
    scored = score(REAL, run_result(None, returncode=-9, report_problem="the test run left no report"), ev)
    assert scored.status == RunStatus.ERROR
    assert "killed by signal 9" in scored.message
    assert "a limit on memory, file size or processes" in scored.message
    assert "while checking 'Saving a user again creates no second profile'" in scored.message
    assert_all_zero(scored)  # even tests the database backs earn nothing without a report


def test_malformed_report_file_is_an_error():
    scored = score(
        REAL, run_result(None, returncode=0, report_problem="the test run's report is not valid JSON"), full_evidence()
    )
    assert scored.status == RunStatus.ERROR
    assert scored.message == "the test run's report could not be used: the test run's report is not valid JSON."
    assert_all_zero(scored)


def test_controls_missing_from_report_is_an_error_not_a_grade():
    scored = score(REAL, run_result(child_report(controls=False)), full_evidence())
    assert scored.status == RunStatus.ERROR
    assert "could not run" in scored.message
    # the hidden tests themselves were all reported and backed: the checks keep their points
    assert scored.score == 10.0


def test_hidden_test_missing_from_report_counts_as_failed():
    report = child_report()
    report["pytest"]["tests"] = [
        t for t in report["pytest"]["tests"] if t["nodeid"] != "test_registration.py::test_receiver_registered_in_ready"
    ]
    scored = score(REAL, run_result(report), full_evidence())
    assert scored.status == RunStatus.ERROR
    assert {c.id: c.score for c in scored.checks} == {
        "project-loads": 1.0,
        "receiver-registered-in-ready": 0.0,
        "profile-created-once": 3.0,
        "resave-no-duplicate": 3.0,
    }
    assert scored.checks[1].status == CheckStatus.ERROR
    assert scored.checks[1].feedback == "this check did not complete"


def test_setup_error_fails_first_check_and_skips_the_rest():
    report = {
        "phase": "setup",
        "pytest": None,
        "setup_error": {
            "type": "SyntaxError",
            "message": "SyntaxError: expected ':'",
            "location": "users/signals.py:9",
            "traceback": ["users/apps.py:9 in ready: from . import signals"],
            "diagnosis": "syntax-error",
            "advice": "Fix the syntax on that line.",
        },
    }
    scored = score(REAL, run_result(report), Evidence(False, "the test run left no database"))
    assert scored.status == RunStatus.ERROR
    assert scored.score == 0
    first = scored.checks[0]
    assert first.status == CheckStatus.FAILED
    assert (first.diagnosis, first.location) == ("syntax-error", "users/signals.py:9")
    assert (
        first.feedback
        == scored.message
        == (
            "Django could not start with your project: SyntaxError: expected ':' (users/signals.py:9). "
            "Fix the syntax on that line."
        )
    )
    assert first.student_traceback == ["users/apps.py:9 in ready: from . import signals"]
    assert [c.status for c in scored.checks[1:]] == [CheckStatus.SKIPPED] * 3
    assert all(c.feedback.startswith("not run: project-loads") for c in scored.checks[1:])


def test_setup_error_without_diagnosis_gets_a_default():
    report = {"phase": "setup", "pytest": None, "setup_error": {"message": "", "location": ""}}
    scored = score(REAL, run_result(report), Evidence(False))
    assert scored.status == RunStatus.ERROR
    assert scored.checks[0].diagnosis == "project-does-not-load"
    assert scored.message.startswith("Django could not start with your project: Django could not start")


def stopped_in_first_creation_test() -> Evidence:
    """Evidence of a run that stopped inside the first creation test: nothing after it finished."""
    ev = full_evidence()
    stopped = REAL.test_ids.index("test_creation.py::test_create_user")
    for t in REAL.test_ids[stopped:]:
        ev.done.discard(t)
    ev.started = REAL.test_ids[: stopped + 1]
    return ev


def streamed_until_first_creation_test() -> dict:
    """The verdicts the child streamed before it stopped in the first creation test."""
    stopped = REAL.test_ids.index("test_creation.py::test_create_user")
    return {t: {"nodeid": t, "outcome": "passed"} for t in REAL.test_ids[:stopped]}


def test_timeout_is_its_own_status_and_keeps_backed_passes():
    ev = stopped_in_first_creation_test()
    run = run_result(None, timed_out=True, returncode=-9)
    run.verdicts = streamed_until_first_creation_test()
    scored = score(REAL, run, ev)
    assert scored.status == RunStatus.TIMEOUT
    assert scored.message.startswith("stopped after 60 s while checking 'Every new user gets exactly one profile'")
    assert {c.id: c.score for c in scored.checks} == {
        "project-loads": 1.0,
        "receiver-registered-in-ready": 3.0,
        "profile-created-once": 0.0,
        "resave-no-duplicate": 0.0,
    }
    created = scored.checks[2]
    assert created.status == CheckStatus.ERROR
    assert created.feedback.startswith("did not complete: the run was stopped after 60 s")
    assert scored.checks[3].status == CheckStatus.SKIPPED


def test_timeout_without_database_earns_nothing():
    scored = score(REAL, run_result(None, timed_out=True, returncode=-9), Evidence(False, "no database"))
    assert scored.status == RunStatus.TIMEOUT
    assert scored.score == 0
    assert "stopped after 60 s:" in scored.message
    assert [c.status for c in scored.checks] == [CheckStatus.ERROR] * 3 + [CheckStatus.SKIPPED]


def test_timeout_uses_the_rubric_wall_time():
    import dataclasses

    quick = dataclasses.replace(REAL, limits=Limits(wall_time_s=2.5))
    scored = score(quick, run_result(None, timed_out=True), Evidence(False))
    assert scored.message.startswith("stopped after 2.5 s")


def test_timeout_names_the_student_frame_that_was_running():
    ev = stopped_in_first_creation_test()
    run = run_result(None, timed_out=True, returncode=-9)
    run.verdicts = streamed_until_first_creation_test()
    run.stack = ["users/signals.py:14 in create_profile", "users/signals.py:9 in helper"]
    scored = score(REAL, run, ev)
    assert "your code was running users/signals.py:14 in create_profile" in scored.message
    created = scored.checks[2]
    assert created.location == "users/signals.py:14"
    assert created.diagnosis == "timeout"
    assert created.student_traceback == run.stack
    assert created.feedback.startswith(
        "did not complete: the run was stopped after 60 s while your code was running users/signals.py:14"
    )


def test_running_frames_keeps_the_students_frames_innermost_first(tmp_path):
    from grader.runner import running_frames

    dump = tmp_path / "stack"
    dump.write_text(
        "Thread 0x00007f0000000001 (most recent call first):\n"
        '  File "/usr/lib/python3.11/threading.py", line 320 in wait\n'
        "\n"
        "Current thread 0x00007f0000000002 (most recent call first):\n"
        '  File "/grading/submission/users/signals.py", line 14 in create_profile\n'
        '  File "/venv/django/dispatch/dispatcher.py", line 189 in send\n'
        '  File "/grading/submission/users/models.py", line 30 in save\n'
        '  File "/grading/suite/test_creation.py", line 9 in test_create_user\n'
    )
    assert running_frames(dump, "/grading/submission") == [
        "users/signals.py:14 in create_profile",
        "users/models.py:30 in save",
    ]
    assert running_frames(tmp_path / "missing", "/grading/submission") == []


def test_evidence_reading_gives_up_on_an_endless_query(tmp_path, monkeypatch):
    import sqlite3
    import time

    from grader import evidence

    db = tmp_path / "grading.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE _grader_roles (role TEXT, label TEXT)")
    conn.execute("INSERT INTO _grader_roles VALUES ('user', 'auth.User'), ('profile', 'users.Profile')")
    conn.execute(
        "CREATE VIEW _grader_models AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
        "FROM n) SELECT 'a' AS label, 'b' AS db_table, 'c' AS pk_column, '{}' AS columns, "
        "'{}' AS related FROM n"
    )
    conn.commit()
    conn.close()
    monkeypatch.setattr(evidence, "READ_TIMEOUT_S", 0.5)
    started = time.monotonic()
    ev = evidence.read(db, ledger=[("t", "object:user", 1)])
    assert time.monotonic() - started < 5
    ok, _ = ev.confirms("t", EvidenceSpec(objects={"user": 1}))
    assert not ok  # nothing confirmed from a database the grader could not read


def test_after_a_timeout_a_pass_needs_the_streamed_verdict_and_the_evidence():
    ev = stopped_in_first_creation_test()  # the database backs the first two tests ...
    run = run_result(None, timed_out=True, returncode=-9)
    run.verdicts = {
        "test_project.py::test_project_loads": {"nodeid": "test_project.py::test_project_loads", "outcome": "passed"},
        "test_registration.py::test_receiver_registered_in_ready": {
            "nodeid": "test_registration.py::test_receiver_registered_in_ready",
            "outcome": "failed",
            "message": "no receiver",
            "diagnosis": "receiver-not-connected",
        },
    }
    scored = score(REAL, run, ev)  # ... but the child said the second one failed
    assert {c.id: c.score for c in scored.checks}["receiver-registered-in-ready"] == 0
    reg = scored.checks[1]
    assert reg.feedback == "no receiver" and reg.diagnosis == "receiver-not-connected"
    run.verdicts = {}  # no verdict at all: rows alone earn nothing
    assert score(REAL, run, ev).score == 0


@pytest.mark.parametrize(
    "event, reason",
    [
        (None, "no post_save receiver was seen being connected in the ready() of 'users'"),
        ({**READY_CONNECT, "phase": "models"}, "in the ready() of 'users'"),
        ({**READY_CONNECT, "app": "notes"}, "in the ready() of 'users'"),
        ({**READY_CONNECT, "signal": "pre_save"}, "no post_save receiver"),
        ({**READY_CONNECT, "sender": "users.Profile"}, "no post_save receiver"),
    ],
)
def test_a_registration_pass_needs_the_connection_streamed_as_it_happened(event, reason):
    run = run_result(child_report())
    run.events = [event] if event else []
    scored = score(REAL, run, full_evidence())
    assert scored.status == RunStatus.GRADED  # issue 21: no proof of tampering, graded on the record
    reg = next(c for c in scored.checks if c.id == "receiver-registered-in-ready")
    assert reg.score == 0 and reg.diagnosis == "evidence-disagrees" and reason in reg.feedback


def test_a_connection_for_every_sender_backs_registration_too():
    run = run_result(child_report())
    run.events = [{**READY_CONNECT, "sender": ""}]
    assert score(REAL, run, full_evidence()).score == 10


def test_ledger_entries_the_harness_never_writes_are_not_evidence(tmp_path):
    from grader import evidence

    db = _ledger(tmp_path, [])
    ev = evidence.read(
        db,
        ledger=[
            ("t", "user", 1),
            ("t", "object:user", 1.5),
            ("t", "object:user", True),
            ("t", "object:user", [1]),
            ("t", "done", 0),
        ],
    )
    assert ev.available and ev.tracked == {} and ev.done == {"t"}


def _ledger(tmp_path, rows, models=(), roles=()):
    """A grading database with the child's model map and roles (the ledger itself travels on the
    channel: pass `rows` to evidence.read as its ledger)."""
    import json
    import sqlite3

    db = tmp_path / "grading.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE _grader_models (label TEXT, db_table TEXT, pk_column TEXT, columns TEXT, related TEXT)")
    conn.executemany(
        "INSERT INTO _grader_models VALUES (?, ?, ?, ?, ?)",
        [(label, table, "id", json.dumps(cols), "{}") for label, table, cols in models],
    )
    conn.execute("CREATE TABLE _grader_roles (role TEXT, label TEXT)")
    conn.executemany("INSERT INTO _grader_roles VALUES (?, ?)", roles)
    conn.execute("CREATE TABLE blog_tag (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO blog_tag VALUES (7, 'red')")
    conn.commit()
    conn.close()
    return db


def test_a_query_naming_a_missing_field_matters_only_for_a_test_that_passed(tmp_path):
    """A student who renamed a field fails the tests that need it: their queries are moot; the
    grader cannot vouch for a pass whose query cannot run, so that is an error, not tampered."""
    from grader import evidence
    from grader.rubric import EvidenceSpec

    rows = [("t::a", "start", 0), ("t::a", "done", 0), ("t::a", "object:tag", 7)]
    db = _ledger(
        tmp_path, rows, models=[("blog.Tag", "blog_tag", {"id": "id", "name": "name"})], roles=[("tag", "blog.Tag")]
    )
    spec = EvidenceSpec(objects={"tag": 1}, sql=("SELECT 1 FROM {tag} WHERE {tag.post_count} < 0",))
    ev = evidence.read(db, {"t::a": spec, "t::b": spec}, ledger=rows)
    assert ev.available and not ev.grader_problem
    ok, reason = ev.confirms("t::a", spec)
    assert not ok and ev.grader_problem and "post_count" in reason


def test_notes_and_verify_functions_back_a_pass_or_say_why_not(tmp_path):
    from grader import evidence, verify
    from grader.rubric import EvidenceSpec

    rows = [("t::a", "start", 0), ("t::a", "note:file", "docs/a.txt"), ("t::a", "done", 0)]
    db = _ledger(
        tmp_path, rows, models=[("blog.Tag", "blog_tag", {"id": "id", "name": "name"})], roles=[("tag", "blog.Tag")]
    )
    media = tmp_path / "media"
    (media / "docs").mkdir(parents=True)
    (tmp_path / "verify.py").write_text(
        "def gone(run):\n"
        "    name = run.note('file')\n"
        "    return f'{name} is still there' if run.media.exists(name) else None\n"
        "def tags(run):\n"
        "    return None if run.query('SELECT {tag.name} FROM {tag}') == [('red',)] else 'no red tag'\n"
        "def broken(run):\n"
        "    raise KeyError('oops')\n"
    )
    spec = EvidenceSpec(verify=("gone", "tags"))
    ev = evidence.read(db, {"t::a": spec}, verify.Verifier(tmp_path / "verify.py", db, {"media": media}), rows)
    assert ev.notes == {"t::a": {"file": ["docs/a.txt"]}}
    assert ev.confirms("t::a", spec) == (True, "")
    (media / "docs" / "a.txt").write_text("still here")
    assert ev.confirms("t::a", spec) == (False, "verify.py: docs/a.txt is still there")
    (media / "docs" / "a.txt").unlink()
    (media / "docs" / "a.txt").symlink_to(tmp_path / "verify.py")  # a link is not the file
    assert ev.confirms("t::a", spec) == (True, "")
    ok, reason = ev.confirms("t::a", EvidenceSpec(verify=("broken",)))
    assert not ok and ev.grader_problem and "broken() failed" in reason


def test_a_folder_is_read_without_following_links(tmp_path):
    from grader.verify import Folder, Mailbox

    root = tmp_path / "media"
    root.mkdir()
    (root / "a.txt").write_text("a")
    (root / "out").symlink_to(tmp_path)  # a link out of the folder
    (tmp_path / "secret.txt").write_text("s")
    folder = Folder(root)
    assert folder.files() == {"a.txt": 1}
    assert folder.read("a.txt") == b"a" and folder.read("out/secret.txt") is None
    assert not folder.exists("../secret.txt") and not folder.exists("out/secret.txt")
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "1.log").write_bytes(
        b"Subject: Order 1\nTo: a@localhost\n\nhi\n" + b"-" * 79 + b"\n"
        b"Subject: Order 2\nTo: b@localhost\n\nho\n" + b"-" * 79 + b"\n"
    )
    assert [str(m["subject"]) for m in Mailbox(mail).messages] == ["Order 1", "Order 2"]


@pytest.mark.parametrize(
    "spec, events, ok",
    [
        (
            {"signal": "request_started", "sender": "*", "ready": "stats"},
            [{"event": "connect", "signal": "request_started", "sender": "", "phase": "ready", "app": "stats"}],
            True,
        ),
        (
            {"signal": "request_started", "sender": "*", "ready": "stats"},  # one handler only
            [
                {
                    "event": "connect",
                    "signal": "request_started",
                    "sender": "<class 'WSGIHandler'>",
                    "phase": "ready",
                    "app": "stats",
                }
            ],
            False,
        ),
        (
            {"signal": "shop.signals.order_placed", "sender": "order", "ready": "inventory"},
            [
                {
                    "event": "connect",
                    "signal": "shop.signals.order_placed",
                    "sender": "shop.Order",
                    "phase": "ready",
                    "app": "inventory",
                }
            ],
            True,
        ),
        (
            {"signal": "shop.signals.order_placed", "sender": "order", "ready": "inventory"},
            [
                {
                    "event": "connect",
                    "signal": "shop.signals.order_placed",
                    "sender": "shop.Order",
                    "phase": "ready",
                    "app": "shop",
                }
            ],
            False,
        ),
    ],
)
def test_connections_for_every_sender_custom_signals_and_apps_without_models(spec, events, ok):
    from grader.evidence import Evidence

    ev = Evidence(True, roles={"order": "shop.Order", "user": "auth.User"})
    assert ev.confirms_connection(spec, events)[0] is ok
