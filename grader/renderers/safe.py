"""Text from a report made safe for where it is shown.

Everything a submission can influence (its folder name, what it raised or printed, its
file names) reaches terminals, XML, HTML, CSV and Markdown. None of it may act there: no escape
sequence reaches a terminal (window titles, clipboard writes, screen clears), no rich
markup is interpreted, the XML stays well-formed, no raw HTML or comment passes into
Markdown that CI pages render, and no bidirectional control makes a name or a line read
differently from what it is (:func:`text`, for every page, CSV cell and Markdown file).
"""

from __future__ import annotations

import re
from typing import Any

# The Unicode bidirectional controls, which make a line read differently from what it is
# (Trojan Source): the embeddings and overrides, the isolates, and the marks (LRM, RLM, ALM).
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 and C1 controls but newline and tab, DEL, lone surrogates, and the bidi controls.
_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{BIDI}]")
# What text() removes: the bidi controls, and the C0 and C1 controls but tab, newline and CR.
_REMOVED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = re.compile(f"[{BIDI}]")
# What XML 1.0 does not allow at all (tab, newline, carriage return are fine).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MARKDOWN_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def text(value: str) -> str:
    """Text for an HTML page, a CSV cell or a Markdown file: the bidi controls and the control
    characters (but tab, newline and carriage return) removed, and each lone surrogate (an
    undecodable byte of a file name, read with surrogateescape) shown as U+FFFD, the
    replacement character, so that the text is valid UTF-8."""
    return _SURROGATE.sub("\ufffd", _REMOVED.sub("", value or ""))


def without_bidi(value: str) -> str:
    """`value` without its bidi controls (a whole page or file, as a last guard)."""
    return _BIDI.sub("", value)


def terminal(text: str, keep_newlines: bool = True) -> str:
    """No control characters: each becomes '?' (newlines and tabs stay when asked)."""
    text = _TERMINAL.sub("?", text or "")
    return text if keep_newlines else text.replace("\n", " ").replace("\t", " ")


def xml(text: str) -> str:
    """Characters XML 1.0 cannot hold become '?'."""
    return _NOT_XML.sub("?", text or "")


def markdown(value: str) -> str:
    """Inline Markdown: HTML characters as entities, table pipes and backslashes escaped."""
    value = terminal(text(value)).translate(_MARKDOWN_HTML)
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def fence(lines: list[str]) -> list[str]:
    """A fenced code block that its content cannot close (a fence longer than any run of
    backticks inside), content made terminal-safe."""
    body = [terminal(text(line)) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    marker = "`" * max(3, longest + 1)
    return [marker + "text", *body, marker]


def valid_unicode(value: Any) -> Any:
    """`value` (JSON data: texts, lists, dicts) with each lone surrogate (an undecodable byte of
    a file name, a bad JSON escape) as U+FFFD, so that every text can be written as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [valid_unicode(v) for v in value]
    if isinstance(value, dict):
        return {valid_unicode(k): valid_unicode(v) for k, v in value.items()}
    return value


def unicode_text(text: str) -> str:
    """Encodable as UTF-8: lone surrogates (from a child's JSON) become '?'."""
    return (text or "").encode("utf-8", "replace").decode("utf-8")
