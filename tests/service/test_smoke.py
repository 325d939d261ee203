"""The grading service end to end on its embedded default (SQLite, in-process workers): what
`make examples` does, small enough to run under every supported Python and Django (make compat)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import build_submission
from servers import Service


def test_a_student_submits_with_grader_submit_and_gets_the_score(tmp_path):
    service = Service(tmp_path / "svc").start()
    try:
        token = service.students({"student_id": "ada", "name": "Ada"})["ada"]
        results = {}
        for case, solution in (("solution", True), ("starter", False)):
            project = build_submission(tmp_path / case, solution=solution)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "submit",
                    service.url,
                    str(project),
                    "-a",
                    "signals-profile",
                    "--token",
                    token,
                    "--wait",
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            results[case] = json.loads(done.stdout)
    finally:
        service.stop()
    assert results["solution"]["status"] == "graded"
    assert (results["solution"]["score"], results["solution"]["max_score"]) == (10, 10)
    assert results["starter"]["score"] == 1
    failed = [c for c in results["starter"]["checks"] if c["status"] == "failed"]
    assert failed and all(c["feedback"] for c in failed)  # what to change, for the student
