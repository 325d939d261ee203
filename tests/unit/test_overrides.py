"""overrides.toml: its schema and errors (file, entry number, what is wrong), and applying the
overrides to typed reports (per check: the raw score, clamped; on the total: the final score,
after the penalty), with the warnings a batch prints. Nothing is graded."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import overrides
from grader.model import CheckResult, CheckStatus, Identity, Report, RunStatus

CHECKS = [
    ("project-loads", 1.0),
    ("receiver-registered-in-ready", 3.0),
    ("profile-created-once", 3.0),
    ("resave-no-duplicate", 3.0),
]


def report(student: str, failed: tuple[str, ...] = (), assignment: str = "signals-profile", **extra) -> Report:
    checks = [
        CheckResult(
            cid,
            cid,
            CheckStatus.FAILED if cid in failed else CheckStatus.PASSED,
            0.0 if cid in failed else points,
            points,
            diagnosis="no-created-check" if cid in failed else "",
        )
        for cid, points in CHECKS
    ]
    return Report(
        assignment=assignment,
        submission=student,
        status=RunStatus.GRADED,
        score=sum(c.score for c in checks),
        max_score=10.0,
        message="",
        checks=checks,
        duration_s=1.0,
        grader_version="0",
        django_version="5.2",
        python_version="3.11",
        graded_at="2026-01-01T00:00:00+00:00",
        **extra,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


ADA_CHECK = """
[[override]]
student = "ada"
assignment = "signals-profile"
check = "resave-no-duplicate"
points = 2
reason = "receiver correct; the test's fixture was wrong (regraded by hand)"
"""


def test_load_reads_the_documented_example(tmp_path):
    loaded = overrides.load(write(tmp_path, ADA_CHECK))
    assert len(loaded) == 1
    (entry,) = loaded.entries
    assert (entry.student, entry.assignment, entry.check, entry.points, entry.adjust, entry.entry) == (
        "ada",
        "signals-profile",
        "resave-no-duplicate",
        2.0,
        None,
        1,
    )
    assert not entry.on_total


def test_a_file_that_does_not_exist_holds_no_overrides(tmp_path):
    loaded = overrides.load(tmp_path / "overrides.toml")
    assert not loaded and loaded.entries == []
    assert overrides.beside(tmp_path / "course" / "course.toml") == tmp_path / "course" / "overrides.toml"


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ('student = "ada"\nassignment = "a"\nreason = "r"', "override 2: give exactly one of 'points'"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = 1\nadjust = 1', "not both"),
        ('assignment = "a"\nreason = "r"\npoints = 1', "override 2: no 'student'"),
        ('student = "ada"\nassignment = "a"\npoints = 1', "override 2: no 'reason'"),
        ('student = "ada"\nassignment = "a"\nreason = "  "\npoints = 1', "'reason' must be a non-empty text"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = "2"', "'points' must be a number"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = true', "'points' must be a number"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = nan', "'points' must be a number"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = -1', "'points' cannot be negative"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = 1\ncheck = ""', "'check' must be a check id"),
        ('student = "ada"\nassignment = "a"\nreason = "r"\npoints = 1\npoint = 1', "unknown key(s) 'point'"),
        ('student = 7\nassignment = "a"\nreason = "r"\npoints = 1', "'student' must be a non-empty text"),
    ],
)
def test_a_wrong_entry_names_the_file_the_entry_and_what_is_wrong(tmp_path, body, wanted):
    path = write(tmp_path, ADA_CHECK + "\n[[override]]\n" + body + "\n")
    with pytest.raises(overrides.OverridesError) as err:
        overrides.load(path)
    assert str(path) in str(err.value)
    assert wanted in str(err.value)


def test_file_level_errors(tmp_path):
    with pytest.raises(overrides.OverridesError, match="not valid TOML"):
        overrides.load(write(tmp_path, "[[override]\n"))
    with pytest.raises(overrides.OverridesError, match="unknown key.*'overide'"):
        overrides.load(write(tmp_path, '[[overide]]\nstudent = "ada"\n'))
    with pytest.raises(overrides.OverridesError, match="list of tables"):
        overrides.load(write(tmp_path, 'override = "ada"\n'))
    with pytest.raises(overrides.OverridesError, match="override 2: override 1 is already about check"):
        overrides.load(write(tmp_path, ADA_CHECK + ADA_CHECK))


def test_a_per_check_override_changes_the_check_and_the_raw_score_not_the_report(tmp_path):
    ada = report("ada", failed=("resave-no-duplicate",))
    applied = overrides.load(write(tmp_path, ADA_CHECK)).apply(ada)
    assert applied.checks["resave-no-duplicate"] == 2.0
    assert applied.score == 9.0
    assert applied.notes == [
        "resave-no-duplicate 0 → 2: receiver correct; the test's fixture was wrong (regraded by hand)"
    ]
    assert applied.final(9.0) == 9.0  # no total override: the score after the penalty as it is
    assert applied.final(7.5) == 7.5
    assert ada.score == 7.0 and ada.checks[3].score == 0.0  # the verdict is untouched
    assert applied.overridden and not applied.warnings


def test_checks_are_clamped_to_their_maximum_and_zero(tmp_path):
    path = write(
        tmp_path,
        """
[[override]]
student = "ada"
assignment = "signals-profile"
check = "resave-no-duplicate"
points = 7
reason = "too many"

[[override]]
student = "ada"
assignment = "signals-profile"
check = "project-loads"
adjust = -5
reason = "copied"
""",
    )
    applied = overrides.load(path).apply(report("ada", failed=("resave-no-duplicate",)))
    assert applied.checks["resave-no-duplicate"] == 3.0
    assert applied.checks["project-loads"] == 0.0
    assert applied.score == 9.0  # 7 + 3 - 1
    assert applied.notes[1] == "project-loads 1 → 0: copied"


def test_total_overrides_apply_to_the_final_score_after_the_penalty(tmp_path):
    path = write(
        tmp_path,
        """
[[override]]
student = "ada"
assignment = "signals-profile"
adjust = 1.5
reason = "presented in class"

[[override]]
student = "bob"
assignment = "signals-profile"
points = 12
reason = "capped at the maximum"

[[override]]
student = "cy"
assignment = "signals-profile"
adjust = -20
reason = "plagiarism"
""",
    )
    loaded = overrides.load(path)
    ada = loaded.apply(report("ada", failed=("resave-no-duplicate",)))
    assert ada.score == 7.0  # the raw score: a total override is not per check
    assert ada.final(5.0) == 6.5  # 7 less a 2-point penalty, then +1.5
    assert ada.notes == ["total +1.5: presented in class"]
    assert loaded.apply(report("bob")).final(10.0) == 10.0
    assert loaded.apply(report("cy")).final(10.0) == 0.0


def test_matching_by_student_id_login_or_platform_id_and_assignment(tmp_path):
    loaded = overrides.load(write(tmp_path, ADA_CHECK))
    assert loaded.for_report(report("ada"))
    assert not loaded.for_report(report("ada", assignment="signals-m2m"))
    assert not loaded.for_report(report("bob"))
    by_login = report("1234", identity=Identity(platform="moodle", id="1234", login="ada"))
    assert loaded.for_report(by_login)


def test_warnings_for_a_student_without_a_report_and_a_check_the_report_lacks(tmp_path):
    path = write(
        tmp_path,
        ADA_CHECK
        + """
[[override]]
student = "ghost"
assignment = "signals-profile"
adjust = 1
reason = "not in the class"

[[override]]
student = "bob"
assignment = "signals-profile"
check = "no-such-check"
points = 1
reason = "typo"

[[override]]
student = "zed"
assignment = "signals-m2m"
adjust = 1
reason = "another assignment's gradebook"
""",
    )
    loaded = overrides.load(path)
    reports = [report("ada"), report("bob")]
    warnings = loaded.warnings(reports)
    assert len(warnings) == 2, warnings
    assert "override 2 (ghost, signals-profile, total +1): no report of 'ghost' in signals-profile" in warnings[0]
    assert "override 3" in warnings[1] and "has no check 'no-such-check'" in warnings[1]
    assert all(str(path) in w for w in warnings)
    bob = loaded.apply(report("bob"))
    assert not bob.overridden and bob.score == 10.0 and bob.warnings
    # a lesson (both assignments) warns about zed too
    assert len(loaded.warnings(reports, assignments=["signals-profile", "signals-m2m"])) == 3
