"""Stage 3a: outside evidence, read by the grader itself from the grading database.

After the child has exited, the grader opens a private copy of the SQLite file
the hidden suite wrote to, read-only, with the standard sqlite3 module (no
Django, no student code), and checks what each passed test claims: that it ran
to its end, and that each user it created exists and has exactly one profile.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

EVIDENCE_TABLE = "_grader_evidence"


@dataclass
class Evidence:
    available: bool
    problem: str = ""
    started: list[str] = field(default_factory=list)     # tests in the order they started
    done: set[str] = field(default_factory=set)          # tests that ran to their end
    users: dict[str, list[int]] = field(default_factory=dict)
    profiles: dict[int, int] = field(default_factory=dict)  # user pk -> profile rows
    existing_users: set[int] = field(default_factory=set)

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


def read(db: Path | None, profile_model: str) -> Evidence:
    if db is None or not db.is_file():
        return Evidence(False, "the test run left no database")
    app_label, _, model = profile_model.partition(".")
    profile_table = f"{app_label}_{model}".lower()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Evidence(False, f"the grading database cannot be opened: {exc}")
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
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if profile_table not in tables:
            return ev  # no profiles at all: every claim with users fails
        fks = conn.execute(f"PRAGMA foreign_key_list({_quote(profile_table)})").fetchall()
        link = next((fk for fk in fks if fk[3] == "user_id"), None)
        if link is None:
            return Evidence(False, f"{profile_table} has no user_id foreign key")
        user_table, user_pk = link[2], link[4] or "id"
        wanted = sorted({pk for pks in ev.users.values() for pk in pks})
        for pk in wanted:
            if conn.execute(f"SELECT 1 FROM {_quote(user_table)} WHERE {_quote(user_pk)} = ?",
                            (pk,)).fetchone():
                ev.existing_users.add(pk)
            ev.profiles[pk] = conn.execute(
                f"SELECT COUNT(*) FROM {_quote(profile_table)} WHERE user_id = ?", (pk,)).fetchone()[0]
        return ev
    except (sqlite3.Error, ValueError, TypeError) as exc:
        return Evidence(False, f"the grading database cannot be read: {exc}")
    finally:
        conn.close()
