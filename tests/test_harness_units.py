"""Pure pieces of the child's harness, tested in this process (no Django set-up needed)."""
from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "grader" / "harness"))

from _grader_harness import bootstrap  # noqa: E402


def test_a_limit_the_system_refuses_is_reported_not_fatal():
    assert bootstrap._set_limits({"RLIMIT_NOT_ON_THIS_SYSTEM": 1}) == ["RLIMIT_NOT_ON_THIS_SYSTEM"]

