"""JUnit XML that CI test tabs understand: one testcase per check, failures carry the feedback."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.model import CheckStatus, Report
from grader.renderers.safe import xml


def _details(check) -> str:
    parts = [check.feedback]
    if check.location:
        parts.append(f"where: {check.location}")
    parts += check.student_traceback
    if check.hint:
        parts.append(f"hint: {check.hint}")
    return xml("\n".join(p for p in parts if p))


def render(report: Report) -> str:
    checks = report.checks
    suite = ET.Element(
        "testsuite",
        {
            "name": f"grader.{report.assignment}",
            "tests": str(len(checks)),
            "failures": str(sum(c.status == CheckStatus.FAILED for c in checks)),
            "errors": str(sum(c.status == CheckStatus.ERROR for c in checks)),
            "skipped": str(sum(c.status == CheckStatus.SKIPPED for c in checks)),
            "time": f"{report.duration_s:.3f}",
            "timestamp": report.graded_at,
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("submission", report.submission),
        ("status", report.status.value),
        ("score", f"{report.score:g}"),
        ("max_score", f"{report.max_score:g}"),
        ("sandbox", report.sandbox),
        ("grader_version", report.grader_version),
    ):
        ET.SubElement(props, "property", {"name": key, "value": xml(value)})
    for c in checks:
        case = ET.SubElement(suite, "testcase", {"classname": report.assignment, "name": c.id, "time": "0"})
        if c.status == CheckStatus.FAILED:
            ET.SubElement(
                case, "failure", {"message": xml(c.feedback[:300]), "type": xml(c.diagnosis) or "failed"}
            ).text = _details(c)
        elif c.status == CheckStatus.ERROR:
            ET.SubElement(
                case, "error", {"message": xml(c.feedback[:300]), "type": xml(c.diagnosis) or "error"}
            ).text = _details(c)
        elif c.status == CheckStatus.SKIPPED:
            ET.SubElement(
                case,
                "skipped",
                {"message": xml(c.feedback[:300]), **({"type": xml(c.diagnosis)} if c.diagnosis else {})},
            )
    if report.status.value != "graded" or report.warnings:
        ET.SubElement(suite, "system-out").text = xml("\n".join([report.message, *report.warnings]))
    suites = ET.Element(
        "testsuites",
        {
            "name": "grader",
            "tests": suite.get("tests", "0"),
            "failures": suite.get("failures", "0"),
            "errors": suite.get("errors", "0"),
        },
    )
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
