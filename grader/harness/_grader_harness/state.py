"""The mutable state of one grading run, in one object.

Everything the child learns or gathers while it runs lives in a `RunState`: the run settings
the grader hands over on stdin (filled in by bootstrap before any code of the submission
runs), what was found while the grading settings were made, the plugin's per-run facts (the
running test, its feedback, the warnings, a database that could not be made), the probe's
records of signals (connections, disconnections, signals created, sends) and what the
assignment declares in its ``tests/_grader_assignment.py`` (EXPLAINERS, ADVICE).

bootstrap creates it with `start()`; the modules of the harness reach it with `current()`.
Passing it explicitly is not practical: pytest calls the plugin's hooks and fixtures and the
hidden tests call the helpers with arguments pytest and the tests choose, and the probe's
wrappers are called by Django with Signal's own arguments. So one accessor, and one object.

This is not a security boundary (student code runs in the same interpreter and could change
any of it): what the grader believes travels on the signed channel (channel.py), whose
writer binds its functions and its key before the submission runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunState:
    # --- the run settings handed over by the grader on stdin (protocol.RunSettings)
    submission: str = ""  # the submission's folder (absolute)
    student_settings: str = ""  # the dotted name of the student's settings module
    db_path: str = ""  # the grading database file
    token: str = ""  # a random token of the run (unique names: users, tags)
    suite: str = ""  # the hidden suite's folder (channel.py: what may leave evidence)
    models: dict = field(default_factory=dict)  # role -> "app_label.Model" (rubric [models])
    connections: dict = field(default_factory=dict)  # hidden test -> {signal, sender, ready} (rubric [connections])
    allowed_packages: list = field(default_factory=list)  # canonical names of the [runtime] packages
    runtime_ok: bool = True  # False: the grader could not install them (its problem, not the student's)
    disk_cap_mb: int = 512  # what a run may write (the grader's disk_cap)
    folders: dict = field(default_factory=dict)  # "media" / "mail" -> a folder the grader reads after the run

    # --- found while the grading settings were made (settings.py)
    student_db_engine: str = ""  # DATABASES["default"]["ENGINE"] of the student's settings
    notes: list = field(default_factory=list)  # warnings found then (no points)

    # --- the plugin's facts about the run (plugin.py)
    db_error: dict | None = None  # the grading database could not be made (no test can run)
    migration_problem: dict | None = None  # the migrations do not match the models
    nodeid: str = ""  # the running hidden test
    feedback: dict = field(default_factory=dict)  # nodeid -> {message, diagnosis, location, ...}
    warnings: list = field(default_factory=list)  # for the report (no points)

    # --- the probe's records (probe.py: Connect, Disconnect, Created, Send)
    connects: list = field(default_factory=list)
    disconnects: list = field(default_factory=list)
    created: list = field(default_factory=list)
    sends: list = field(default_factory=list)

    # --- what the assignment declares in tests/_grader_assignment.py (read by the plugin)
    explainers: tuple = ()  # functions (exc, when) -> (diagnosis, advice) or None
    advice: dict = field(default_factory=dict)  # diagnosis -> advice in the exercise's terms

    def exercise_app(self) -> str:
        """The label of the app the exercise is about: the app whose ready() a connection must be
        made in (rubric [connections]), else the app of the first model of [models]."""
        for spec in self.connections.values():
            ready = spec.get("ready", "")
            if ready and ready != "user":  # a role of [models], or an app label itself
                return self.models.get(ready, ready).partition(".")[0]
        return next(iter(self.models.values()), "").partition(".")[0]


_CURRENT = RunState()


def start(**settings) -> RunState:
    """A fresh state for the run (bootstrap, once, before any code of the submission runs)."""
    global _CURRENT
    _CURRENT = RunState(**settings)
    return _CURRENT


def current() -> RunState:
    """The state of the running run."""
    return _CURRENT
