"""Text from a report made safe for where it is shown.

Everything a submission can influence (its folder name, what it raised or printed, its
file names) reaches terminals, XML and Markdown. None of it may act there: no escape
sequence reaches a terminal (window titles, clipboard writes, screen clears), no rich
markup is interpreted, the XML stays well-formed, and no raw HTML or comment passes into
Markdown that CI pages render.
"""
from __future__ import annotations

import re

# C0 and C1 controls but newline and tab, DEL, lone surrogates, and the Unicode bidi
# controls that make a line read differently from what it is (Trojan Source).
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 does not allow at all (tab, newline, carriage return are fine).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MARKDOWN_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def terminal(text: str, keep_newlines: bool = True) -> str:
    """No control characters: each becomes '?' (newlines and tabs stay when asked)."""
    text = _TERMINAL.sub("?", text or "")
    return text if keep_newlines else text.replace("\n", " ").replace("\t", " ")


def xml(text: str) -> str:
    """Characters XML 1.0 cannot hold become '?'."""
    return _NOT_XML.sub("?", text or "")


def markdown(text: str) -> str:
    """Inline Markdown: HTML characters as entities, table pipes and backslashes escaped."""
    text = terminal(text).translate(_MARKDOWN_HTML)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def fence(lines: list[str]) -> list[str]:
    """A fenced code block that its content cannot close (a fence longer than any run of
    backticks inside), content made terminal-safe."""
    body = [terminal(line) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    marker = "`" * max(3, longest + 1)
    return [marker + "text", *body, marker]


def unicode_text(text: str) -> str:
    """Encodable as UTF-8: lone surrogates (from a child's JSON) become '?'."""
    return (text or "").encode("utf-8", "replace").decode("utf-8")
