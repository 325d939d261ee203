"""Stage 3a: outside evidence, read by the grader itself from the grading database.

After the child has exited, the grader opens a private copy of the SQLite file
the hidden suite wrote to, read-only, with the standard sqlite3 module (no
Django, no student code), and checks what each passed test claims: that it ran
to its end, and that each user it created exists and has exactly one profile.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.harness._grader_harness.protocol import EVIDENCE_TABLE, MODELS_TABLE, ROLES_TABLE

READ_TIMEOUT_S = 10.0


@dataclass
class Evidence:
    available: bool
    problem: str = ""
    started: list[str] = field(default_factory=list)     # tests in the order they started
    done: set[str] = field(default_factory=set)          # tests that ran to their end
    users: dict[str, list[int]] = field(default_factory=dict)
    profiles: dict[int, int] = field(default_factory=dict)  # user pk -> profile rows
    existing_users: set[int] = field(default_factory=set)
    # The grader cannot find what it needs (the model map, a recorded table): not proof of
    # tampering, so the run is an error rather than `tampered`.
    grader_problem: bool = False
    roles: dict[str, str] = field(default_factory=dict)  # role -> model label, as the child recorded them

    def confirms_connection(self, spec: dict[str, str], events: list[dict]) -> tuple[bool, str]:
        """Did the child stream, as it happened, the connection `spec` asks for (a signal, for
        the sender's role or every sender, made in the ready() of the app of a role)?"""
        sender = self.roles.get(spec["sender"], "")
        app = self.roles.get(spec["ready"], "").partition(".")[0]
        if not sender or not app:
            return False, "the grading database does not say which models the exercise is about"
        for event in events:
            if (event.get("signal") == spec["signal"] and event.get("sender") in (sender, "")
                    and event.get("phase") == "ready" and event.get("app") == app):
                return True, ""
        return False, f"no {spec['signal']} receiver was seen being connected in the ready() of '{app}'"

    def confirms(self, nodeid: str, expected_users: int) -> tuple[bool, str]:
        """Does the database back the claim that `nodeid` passed?"""
        if not self.available:
            return False, self.problem
        if nodeid not in self.done:
            return False, "the test never reached its end in the database"
        pks = sorted(set(self.users.get(nodeid, [])))
        if len(pks) != expected_users:
            return False, f"the test left {len(pks)} users, not {expected_users}"
        for pk in pks:
            if pk not in self.existing_users:
                return False, f"user {pk} is not in the database"
            if self.profiles.get(pk, 0) != 1:
                return False, f"user {pk} has {self.profiles.get(pk, 0)} profiles, not 1"
        return True, ""

    @property
    def unfinished(self) -> str | None:
        """The last test that started but did not end (where a run stopped)."""
        for nodeid in reversed(self.started):
            if nodeid not in self.done:
                return nodeid
        return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _model_map(conn) -> tuple[dict[str, tuple[str, str, dict, dict]], dict[str, str]]:
    """{label: (table, pk column, {field: column}, {field: related label})}, {role: label}:
    the real names the child read from Model._meta."""
    models = {}
    for label, table, pk, columns, related in conn.execute(
            f"SELECT label, db_table, pk_column, columns, related FROM {MODELS_TABLE}"):
        models[str(label)] = (str(table), str(pk), json.loads(columns), json.loads(related))
    roles = {str(role): str(label) for role, label in conn.execute(f"SELECT role, label FROM {ROLES_TABLE}")}
    return models, roles


def read(db: Path | None) -> Evidence:
    if db is None or not db.is_file():
        return Evidence(False, "the test run left no database")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Evidence(False, f"the grading database cannot be opened: {exc}")
    # The submission could make the database pathological (a view that never ends behind a
    # table the grader reads): every query is abandoned past READ_TIMEOUT_S in all.
    give_up = time.monotonic() + READ_TIMEOUT_S
    conn.set_progress_handler(lambda: 1 if time.monotonic() > give_up else 0, 10_000)
    try:
        ev = Evidence(True)
        rows = conn.execute(f"SELECT nodeid, kind, value FROM {EVIDENCE_TABLE} ORDER BY rowid").fetchall()
        for nodeid, kind, value in rows:
            if kind == "start":
                ev.started.append(nodeid)
            elif kind == "done":
                ev.done.add(nodeid)
            elif kind == "user":
                ev.users.setdefault(nodeid, []).append(int(value))
        try:
            models, roles = _model_map(conn)
        except (sqlite3.Error, ValueError, TypeError):
            models, roles = {}, {}
        ev.roles = roles
        wanted = sorted({pk for pks in ev.users.values() for pk in pks})
        if not wanted:
            return ev  # nothing to look up (no test created users)
        if "profile" not in roles:
            return ev  # no Profile model: every claim with users fails (no profiles)
        user, profile = models.get(roles.get("user", "")), models.get(roles["profile"])
        if user is None or profile is None:
            return grader_problem("the grading database does not say where the users and profiles are")
        link = next((profile[2][name] for name, target in profile[3].items()
                     if target == roles["user"] and name in profile[2]), None)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if link is None or user[0] not in tables or profile[0] not in tables:
            return grader_problem(f"the grader cannot find the table {profile[0]!r} or {user[0]!r}, "
                                  "or the profile's link to the user")
        for pk in wanted:
            if conn.execute(f"SELECT 1 FROM {_quote(user[0])} WHERE {_quote(user[1])} = ?",
                            (pk,)).fetchone():
                ev.existing_users.add(pk)
            ev.profiles[pk] = conn.execute(
                f"SELECT COUNT(*) FROM {_quote(profile[0])} WHERE {_quote(link)} = ?", (pk,)).fetchone()[0]
        return ev
    except (sqlite3.Error, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # made unreadable by the submission (nothing of the grader's own goes wrong here)
        return Evidence(False, f"the grading database cannot be read: {type(exc).__name__}: {exc}"[:300])
    finally:
        conn.close()


def grader_problem(text: str) -> Evidence:
    """Evidence the grader cannot check (a table it was told of is missing or is not a table):
    an error, never `tampered`."""
    return Evidence(False, text, grader_problem=True)
