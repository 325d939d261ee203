"""Stage 3a: outside evidence, read by the grader itself from the grading database.

What each test did comes from the ledger the child wrote on the grader's authenticated
channel as the test ran (runner.read_channel_file): its start and end, the objects it
tracked, the notes it left. After the child has exited, the grader opens a private copy of
the SQLite file the hidden suite wrote to, read-only, with the standard sqlite3 module (no
Django, no student code), and checks what each passed test claims, as the assignment's
[evidence] says: that it ran to its end and left the notes it must, that the objects it
tracked (by role) exist, that the rows of other roles pointing at them are as many as
expected, and that the assignment's queries over the real tables return nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from grader import gradingdb
from grader.gradingdb import MissingName, model_map, quote, render_sql
from grader.harness._grader_harness.protocol import ANY_SENDER, NOTE_KIND, OBJECT_KIND
from grader.rubric import EvidenceSpec
from grader.verify import Verifier, VerifyError, VerifyRefused

READ_TIMEOUT_S = gradingdb.READ_TIMEOUT_S  # what reading the evidence may take in all
VERIFY_PREFIX = "verify.py: "  # a reason that comes from the assignment's verify.py


@dataclass
class Evidence:
    available: bool
    problem: str = ""
    started: list[str] = field(default_factory=list)  # tests in the order they started
    done: set[str] = field(default_factory=set)  # tests that ran to their end
    # nodeid -> role -> primary keys (as text) of the objects the test tracked
    tracked: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    existing: set[tuple[str, str]] = field(default_factory=set)  # (role, pk) still there
    related: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (rel role, role, pk) -> rows
    sql_failures: dict[str, str] = field(default_factory=dict)  # nodeid -> why
    notes: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # nodeid -> name -> values
    # nodeid -> why its queries cannot run (a table or field they name is missing): the
    # grader's problem only for a test whose pass it must check (a failed test's are moot)
    unreadable: dict[str, str] = field(default_factory=dict)
    # The grader cannot find what it needs (the model map, a recorded table): not proof of
    # tampering, so the run is an error rather than `tampered`.
    grader_problem: bool = False
    roles: dict[str, str] = field(default_factory=dict)  # role -> model label, as the child recorded them
    # the assignment's verify.py, for the tests whose [evidence] names its functions
    verifier: Verifier | None = None
    # nodeid -> why verify.py could not check what the submission left (over a cap, unparseable,
    # out of the time budget): the submission's failure, said to the student, never a grader fault
    refused: dict[str, str] = field(default_factory=dict)

    def track(self, nodeid: str, role: str, pk) -> None:
        self.tracked.setdefault(nodeid, {}).setdefault(role, []).append(str(pk))

    def confirms_connection(self, spec: dict[str, str], events: list[dict]) -> tuple[bool, str]:
        """Did the child stream, as it happened, the connection `spec` asks for (a signal, for
        the sender's role or every sender, made in the ready() of the app of a role)?"""
        any_sender = spec["sender"] == ANY_SENDER
        sender = "" if any_sender else self.roles.get(spec["sender"], "")
        # a role's app, or an app label itself (a role the child did not record names no app
        # that a connection could have been made in, so nothing passes by it)
        app = self.roles[spec["ready"]].partition(".")[0] if spec["ready"] in self.roles else spec["ready"]
        if not (sender or any_sender) or not app:
            return False, "the grading database does not say which models the exercise is about"
        for event in events:
            if (
                event.get("signal") == spec["signal"]
                and event.get("sender") in (sender, "")
                and event.get("phase") == "ready"
                and event.get("app") == app
            ):
                return True, ""
        return False, f"no {spec['signal']} receiver was seen being connected in the ready() of '{app}'"

    def missing_notes(self, nodeid: str, spec: EvidenceSpec) -> str:
        """Why a claimed pass is not backed because the test left fewer notes than its
        [evidence] `notes` declare ('' when every declared note is there): no note is no
        proof of anything, so the test counts as not passed (it is no proof of tampering)."""
        left = self.notes.get(nodeid, {})
        missing = [name for name in spec.notes if not left.get(name)]
        if not missing:
            return ""
        return (
            f"the grader holds no '{missing[0]}' note from this check, which it writes while the check "
            "runs, so the pass cannot be confirmed (does your code stop or replace the grader's helpers, "
            "or close files it did not open?)"
        )

    def confirms(self, nodeid: str, spec: EvidenceSpec) -> tuple[bool, str]:
        """Does the database back the claim that `nodeid` passed?"""
        if not self.available:
            return False, self.problem
        if nodeid not in self.done:
            return False, "the test never reached its end in the grader's record"
        tracked = self.tracked.get(nodeid, {})
        for role in sorted({*spec.objects, *tracked}):
            pks = sorted(set(tracked.get(role, [])))
            want = spec.objects.get(role, 0)
            if len(pks) != want:
                return False, f"the test left {len(pks)} {role} objects, not {want}"
            for pk in pks:
                if (role, pk) not in self.existing:
                    return False, f"the {role} {pk} this check made is not in the database"
                for rel, n in spec.related.items():
                    count = self.related.get((rel, role, pk), 0)
                    if count != n:
                        return False, f"{role} {pk} has {count} {rel} rows, not {n}"
        if nodeid in self.unreadable:
            self.grader_problem = True
            return False, self.unreadable[nodeid]
        if nodeid in self.sql_failures:
            return False, self.sql_failures[nodeid]
        if spec.verify:
            if self.verifier is None:
                self.grader_problem = True
                return False, "the grader was given no verify.py to check this test with"
            try:
                reason = self.verifier(nodeid, spec.verify, tracked, self.notes.get(nodeid, {}))
            except VerifyRefused as exc:
                self.refused[nodeid] = str(exc)[:600]
                return False, self.refused[nodeid]
            except VerifyError as exc:
                self.grader_problem = True
                return False, str(exc)
            if reason:
                return False, VERIFY_PREFIX + reason
        return True, ""

    @property
    def unfinished(self) -> str | None:
        """The last test that started but did not end (where a run stopped)."""
        for nodeid in reversed(self.started):
            if nodeid not in self.done:
                return nodeid
        return None


def read(
    db: Path | None,
    specs: dict[str, EvidenceSpec] | None = None,
    verifier: Verifier | None = None,
    ledger: list[tuple[str, str, object]] | tuple = (),
) -> Evidence:
    """The evidence of a run: what its tests recorded (the channel's `ledger`: (nodeid, entry,
    value) in the order written), checked against the tables they name. `specs` (the rubric's
    [evidence]) say which related rows to count and which queries to run; `verifier` runs the
    assignment's verify.py for the tests whose pass is claimed."""
    ev = _read(db, specs or {}, ledger)
    ev.verifier = verifier
    return ev


def open_readonly(db: Path) -> sqlite3.Connection:
    """The grading database, read-only, every query abandoned past READ_TIMEOUT_S in all."""
    return gradingdb.open_readonly(db, READ_TIMEOUT_S)


def _ledger(ev: Evidence, ledger) -> None:
    """What the tests recorded, in the order the child wrote it on the channel."""
    for nodeid, entry, value in ledger:
        if entry == "start":
            ev.started.append(nodeid)
        elif entry == "done":
            ev.done.add(nodeid)
        elif entry.startswith(NOTE_KIND):
            ev.notes.setdefault(nodeid, {}).setdefault(entry[len(NOTE_KIND) :], []).append(str(value)[:1000])
        elif entry.startswith(OBJECT_KIND) and isinstance(value, (int, str)) and not isinstance(value, bool):
            ev.track(nodeid, entry[len(OBJECT_KIND) :], value)


def _read(db: Path | None, specs: dict[str, EvidenceSpec], ledger) -> Evidence:
    if db is None or not db.is_file():
        return Evidence(False, "the test run left no database")
    try:
        conn = open_readonly(db)
    except sqlite3.Error as exc:
        return Evidence(False, f"the grading database cannot be opened: {exc}")
    try:
        ev = Evidence(True)
        _ledger(ev, ledger)
        try:
            models, roles = model_map(conn)
        except (sqlite3.Error, ValueError, TypeError):
            models, roles = {}, {}
        ev.roles = roles
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        wanted = sorted({(role, pk) for per in ev.tracked.values() for role, pks in per.items() for pk in pks})
        related_roles = sorted({rel for spec in specs.values() for rel in spec.related})
        for role, pk in wanted:
            model = models.get(roles.get(role, ""))
            if model is None or model[0] not in tables:
                return grader_problem(f"the grading database does not say where the {role} objects are")
            if conn.execute(f"SELECT 1 FROM {quote(model[0])} WHERE {quote(model[1])} = ?", (pk,)).fetchone():
                ev.existing.add((role, pk))
            for rel in related_roles:
                if rel not in roles:
                    continue  # the project has no such model: no rows point anywhere (claims fail)
                other = models.get(roles[rel])
                link = other and next(
                    (other[2][name] for name, target in other[3].items() if target == roles[role] and name in other[2]),
                    None,
                )
                if other is None or link is None or other[0] not in tables:
                    return grader_problem(f"the grader cannot find the table of {rel} or its link to {role}")
                ev.related[(rel, role, pk)] = conn.execute(
                    f"SELECT COUNT(*) FROM {quote(other[0])} WHERE {quote(link)} = ?", (pk,)
                ).fetchone()[0]
        for nodeid, spec in specs.items():
            for i, query in enumerate(spec.sql, 1):
                try:
                    text, params = render_sql(query, models, roles, ev.tracked.get(nodeid, {}))
                except MissingName as exc:
                    ev.unreadable[nodeid] = f"evidence query {i} of {nodeid}: {exc}"
                    break
                found = conn.execute(text, params).fetchmany(3)
                if found:
                    ev.sql_failures[nodeid] = (
                        f"the grading database holds rows that contradict this check "
                        f"(the grader's query {i} of it found {found!r})"[:300]
                    )
                    break
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
