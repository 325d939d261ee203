"""The JSON score: the contract documented in the README and in grader/schema/report.schema.json."""

import json

from grader.model import Report
from grader.renderers import safe


def render(report: Report) -> str:
    """The report as JSON (UTF-8 text: an undecodable byte of a folder or file name, a lone
    surrogate, shows as U+FFFD)."""
    return json.dumps(safe.valid_unicode(report.to_dict()), indent=2, ensure_ascii=False) + "\n"
