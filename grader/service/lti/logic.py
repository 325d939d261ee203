"""The LTI rules that need no Django: which platform roles make someone course staff, the
score a platform is sent (never above its maximum, never negative) and the AGS score body."""

from __future__ import annotations

import math
from collections.abc import Iterable

# Context roles (LTI 1.3 core, "lis/v2/membership"). Only an Instructor of the course is made
# staff: a teaching assistant (membership/Instructor#TeachingAssistant), a content developer,
# a mentor or an institution/system administrator role alone is not (grant them staff in the
# admin). The short form "Instructor" the spec deprecates is not accepted either.
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
STAFF_ROLES = frozenset({INSTRUCTOR})

# The AGS scopes the tool asks for: post scores, and find or make a link's line item when the
# platform gave the link none (a link made by hand rather than by deep linking).
AGS_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
)

ACTIVITY_COMPLETED = "Completed"
FULLY_GRADED = "FullyGraded"


def is_instructor(roles: Iterable[str] | None) -> bool:
    """Whether a launch's roles claim names the course's Instructor (context) role."""
    return any(isinstance(r, str) and r.strip() in STAFF_ROLES for r in roles or ())


def clamp_score(score: float | None, maximum: float) -> float:
    """The score sent: within 0..maximum (a bonus, an override above the maximum or a rounding
    never sends more than the line item's maximum; a penalty never sends less than 0)."""
    top = float(maximum) if maximum is not None and math.isfinite(float(maximum)) and maximum > 0 else 0.0
    if score is None or not math.isfinite(float(score)):
        return 0.0
    return round(min(max(float(score), 0.0), top), 4)


def score_body(user_id: str, score: float | None, maximum: float, timestamp: str, comment: str = "") -> dict:
    """The AGS score (application/vnd.ims.lis.v1.score+json) of a graded submission."""
    body = {
        "userId": user_id,
        "scoreGiven": clamp_score(score, maximum),
        "scoreMaximum": float(maximum),
        "activityProgress": ACTIVITY_COMPLETED,
        "gradingProgress": FULLY_GRADED,
        "timestamp": timestamp,
    }
    if comment:
        body["comment"] = comment
    return body


def lines(text: str) -> list[str]:
    """The non-empty lines of an admin text field (deployment ids, context ids)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
