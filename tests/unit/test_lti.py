"""The LTI rules that need no server: the score a platform is sent (never above the line item's
maximum, never negative), the AGS score body, which roles make course staff, and the tool's key
pair (made once, private to its owner, only its public half published)."""

from __future__ import annotations

import math
import stat

import pytest

from grader.service.lti import keys, logic

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@pytest.mark.parametrize(
    ("score", "maximum", "sent"),
    [
        (7.0, 10.0, 7.0),
        (10.0, 10.0, 10.0),
        (12.5, 10.0, 10.0),  # an override or bonus above the maximum
        (-3.0, 10.0, 0.0),  # a penalty larger than the score
        (None, 10.0, 0.0),
        (math.nan, 10.0, 0.0),
        (math.inf, 10.0, 0.0),
        (3.333333333, 10.0, 3.3333),
        (5.0, 0.0, 0.0),  # no maximum: nothing above it
    ],
)
def test_the_score_sent_is_within_zero_and_the_maximum(score, maximum, sent):
    assert logic.clamp_score(score, maximum) == sent


def test_the_ags_score_body():
    body = logic.score_body("user-1", 11.0, 10.0, "2026-01-05T10:00:00.000+00:00")
    assert body == {
        "userId": "user-1",
        "scoreGiven": 10.0,
        "scoreMaximum": 10.0,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-01-05T10:00:00.000+00:00",
    }
    assert logic.score_body("u", 4, 10, "t", comment="late: -1")["comment"] == "late: -1"


@pytest.mark.parametrize(
    ("roles", "staff"),
    [
        ([INSTRUCTOR], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", INSTRUCTOR], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),
        # a teaching assistant, a content developer, a mentor: not staff by their role alone
        (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], False),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"], False),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"], False),
        # an institution's or the system's administrator, outside the course's roles
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], False),
        (["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"], False),
        (["Instructor"], False),  # the deprecated short form
        ([INSTRUCTOR + "x"], False),
        ([], False),
        (None, False),
        ([None, 3], False),
    ],
)
def test_only_the_courses_instructor_role_makes_staff(roles, staff):
    assert logic.is_instructor(roles) is staff


def test_the_tool_key_is_made_once_private_and_only_its_public_half_is_published(tmp_path):
    first = keys.private_pem(tmp_path)
    path = tmp_path / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.private_pem(tmp_path) == first  # kept: platforms keep trusting the same key
    assert "PRIVATE KEY" in first
    (key,) = keys.jwks(str(tmp_path))["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert [p.name for p in tmp_path.iterdir()] == [keys.KEY_FILE]  # no temporary file left


def test_admin_lists_are_read_line_by_line():
    assert logic.lines(" dep-1 \n\n dep-2\r\n") == ["dep-1", "dep-2"]
    assert logic.lines("") == []
