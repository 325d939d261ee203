"""LTI 1.3 for the grading service: Moodle or Canvas launch it (OIDC login initiation, then the
signed launch), an instructor's deep link points a course's activity at an assignment, and each
LTI-launched student's score goes back to the platform's gradebook (Assignment and Grade
Services). Built on pylti1p3's Django contrib; see docs/lti.md.

A Django app of its own (label ``lti``) whose ready() connects the grade passback's receivers;
its records are the grading app's models (LtiPlatform, LtiIdentity, LtiGrade, LtiNonce)."""
