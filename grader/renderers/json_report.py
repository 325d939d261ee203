"""The JSON score: the contract documented in the README and in grader/schema/report.schema.json."""
import json

from grader.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
