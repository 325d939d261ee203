"""The grading database as the grader reads it, after the child has exited: read-only, with the
standard sqlite3 module (no Django, no student code), through the real table and column names
the child recorded (its model map and the rubric's roles). Shared by the evidence (evidence.py)
and the assignment's verify.py (verify.py), which both read it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

from grader.harness._grader_harness.protocol import MODELS_TABLE, ROLES_TABLE

READ_TIMEOUT_S = 10.0


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def model_map(conn) -> tuple[dict[str, tuple[str, str, dict, dict]], dict[str, str]]:
    """{label: (table, pk column, {field: column}, {field: related label})}, {role: label}:
    the real names the child read from Model._meta."""
    models = {}
    for label, table, pk, columns, related in conn.execute(
        f"SELECT label, db_table, pk_column, columns, related FROM {MODELS_TABLE}"
    ):
        models[str(label)] = (str(table), str(pk), json.loads(columns), json.loads(related))
    roles = {str(role): str(label) for role, label in conn.execute(f"SELECT role, label FROM {ROLES_TABLE}")}
    return models, roles


class MissingName(Exception):
    """A table or column the evidence needs is not where the child said (a grader problem)."""


def render_sql(query: str, models: dict, roles: dict[str, str], tracked: dict[str, list[str]]) -> tuple[str, list]:
    """An [evidence] query with {role}, {role.field} and {tracked.role} filled in: real,
    quoted table and column names; tracked primary keys as parameters."""
    params: list = []

    def fill(match) -> str:
        name = match.group(1)
        head, _, tail = name.partition(".")
        if head == "tracked":
            pks = tracked.get(tail, [])
            params.extend(pks)
            return "(" + ", ".join("?" for _ in pks) + ")" if pks else "(NULL)"
        model = models.get(roles.get(head, ""))
        if model is None:
            raise MissingName(f"no model for the role {head!r}")
        if not tail:
            return quote(model[0])
        if tail == "pk":
            return quote(model[1])
        if tail not in model[2]:
            raise MissingName(f"the {head} model has no field {tail!r}")
        return quote(model[2][tail])

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}", fill, query), params


def open_readonly(db: Path, timeout_s: float = READ_TIMEOUT_S) -> sqlite3.Connection:
    """The grading database, read-only. The submission could make it pathological (a view that
    never ends behind a table the grader reads): every query on this connection is abandoned
    past `timeout_s` in all."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    give_up = time.monotonic() + timeout_s
    conn.set_progress_handler(lambda: 1 if time.monotonic() > give_up else 0, 10_000)
    return conn
