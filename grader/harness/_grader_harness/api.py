"""The harness's public API: everything an assignment's hidden tests, its
``tests/_grader_assignment.py`` and the skeleton of ``grader new-assignment`` may use.

An assignment imports only this module (``from _grader_harness import api``); the architecture
test (tests/unit/test_architecture.py) fails on any other import of the harness from an
assignment. Every name below is the harness's own function, class or constant re-exported
(the same object: a helper called through ``api`` leaves evidence exactly as before).

Declaring an assignment's feedback: ``tests/_grader_assignment.py`` may define, at module level,
``EXPLAINERS`` (a sequence of functions ``(exc, when) -> (diagnosis, advice) | None``, tried
before the core's explanations of an exception, for mistakes only the exercise can name) and
``ADVICE`` (``{diagnosis: advice}``, the exercise's words in place of the core's for a diagnosis
the core names). The plugin reads both once the hidden tests have imported the module
(`plugin.read_assignment_declarations`); nothing of the core is changed by importing it.

The run
    run_state()          the run's `RunState` (state.py): ``.models`` (role -> "app.Model",
                         rubric [models]), ``.connections`` (rubric [connections]),
                         ``.token`` (a random token of the run, for unique names),
                         ``.submission`` (the project's folder), ``.nodeid`` (the running
                         test), and the probe's records ``.connects`` (`Connect`),
                         ``.disconnects`` (`Disconnect`), ``.created`` (`Created`) and
                         ``.sends`` (`Send`)
    RunState             its class

Outcomes and feedback (the running test)
    fail(message, diagnosis="", **extra)   fail with feedback (location=, traceback=)
    skip(reason)                           skip, with the suite's own reason (shown)
    student_code(action, when="")          context manager: an exception of the student's
                                           code becomes a failure that names the mistake
    explain(exc, when)                     (diagnosis, advice) for an exception: the
                                           assignment's EXPLAINERS, then the core's, in the
                                           assignment's ADVICE words
    failure_cause()                        inside ``except pytest.fail.Exception``: what
                                           student_code() turned into the failure
    in_receiver(exc)                       was a signal receiver running when it was raised
    receiver_named_in(text)                file:line of the student's receiver an error names
    registration_problem(spec=None, advice=None)  (diagnosis, message, location) when the
                                           rubric's connection was not made in ready()

Evidence for the grader
    track(obj, role="user")   this test made `obj` (rubric [evidence] checks it afterwards)
    note(name, value)         a fact for the assignment's verify.py (``run.notes[name]``)
    witness(sql, params=())   rows read now by the grader's own read-only connection
    stored_value(obj, field)  a field's value as its row holds it now (through witness)

The database and models
    require_database()        fail unless the grading database was made from the models
    require_migrations()      fail unless the migrations describe the models
    user_model()              the user model in use
    role_model(role, missing="", diagnosis="models-changed")   the model of a role of
                              [models]; with `missing`, a project without it fails the test
                              ("there is no model <app.Model>: <missing>"), else LookupError
    fields_for(tag, as_text=False)   valid values for a new user of any user model
    create_tracked(tag, how, make, as_text=False, role="user", then=None)   make and track one
    PASSWORD                  the password of every user the grader makes
    INTEGER_TYPES             the internal types of Django's integer fields

Signals (the probe)
    live_receivers(signal, sender)      receivers Django would call for `sender`
    live_receiver_keys(signal, sender)  their dispatcher keys (compare with Connect.receiver_key)
    receiver_key(receiver)              the key Django's dispatcher files a receiver under
    signal_name(signal)                 "post_save", or a custom signal's "module.name"
    where_defined(receiver)             file:line of a receiver's definition in the project
    student_line(frame)                 the first file:line of the student's code from `frame` out
    relpath(filename)                   a path relative to the project, None when not the student's
    Connect, Disconnect, Created, Send  the probe's records

Errors of the student's code
    describe(exc)          {message, location, traceback, diagnosis, advice}
    one_line(exc, limit=400)   the exception as one line, without the grader's paths
    location(exc)          the innermost file:line of the student's code
    student_frames(exc)    the student's frames of the traceback, as text

Forms
    browser_form(html, form_id="")   what a browser posts for a form left unchanged
    form_errors(html, limit=300)     the error messages a Django form page shows
"""

from __future__ import annotations

from _grader_harness.diagnose import registration_problem
from _grader_harness.errors import describe, location, one_line, student_frames
from _grader_harness.probe import (
    Connect,
    Created,
    Disconnect,
    Send,
    live_receiver_keys,
    live_receivers,
    receiver_key,
    relpath,
    signal_name,
    student_line,
    where_defined,
)
from _grader_harness.state import RunState
from _grader_harness.state import current as run_state
from _grader_harness.support import (
    INTEGER_TYPES,
    PASSWORD,
    browser_form,
    create_tracked,
    explain,
    fail,
    failure_cause,
    fields_for,
    form_errors,
    in_receiver,
    note,
    receiver_named_in,
    require_database,
    require_migrations,
    role_model,
    skip,
    stored_value,
    student_code,
    track,
    user_model,
    witness,
)

__all__ = [  # the docstring above groups them
    "INTEGER_TYPES",
    "PASSWORD",
    "Connect",
    "Created",
    "Disconnect",
    "RunState",
    "Send",
    "browser_form",
    "create_tracked",
    "describe",
    "explain",
    "fail",
    "failure_cause",
    "fields_for",
    "form_errors",
    "in_receiver",
    "live_receiver_keys",
    "live_receivers",
    "location",
    "note",
    "one_line",
    "receiver_key",
    "receiver_named_in",
    "registration_problem",
    "relpath",
    "require_database",
    "require_migrations",
    "role_model",
    "run_state",
    "signal_name",
    "skip",
    "stored_value",
    "student_code",
    "student_frames",
    "student_line",
    "track",
    "user_model",
    "where_defined",
    "witness",
]
