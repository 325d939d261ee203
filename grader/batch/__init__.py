"""Grade a whole class: ``grader batch SOURCE``.

SOURCE is a folder whose sub-folders are the submissions (the sub-folder's name
is the student id), or a .zip of such folders. Each submission is graded by
:func:`grader.api.grade` in its own worker process (forked from a
single-threaded fork server with the grader preloaded: a crash or a hang of
one grading cannot take the batch with it), several at a time. Each report is
written atomically to ``DIR/<student>.json`` as soon as it is done, so an
interrupted batch loses nothing it finished; the next run skips every report
that is up to date (made from the same submission content by the same grader
and rubric). At the end the gradebook is (re)written from the reports
(:mod:`grader.gradebook`).

A worker that crashes, hangs past its deadline or cannot write its report
gets an error report for its student (marked as a grader fault, so the next
run grades it again); the batch carries on.

One module per concern, each importing only those before it:

- :mod:`~grader.batch.errors`: :class:`BatchError`, the batch's usage error;
- :mod:`~grader.batch.names`: student ids, report file names, printable text;
- :mod:`~grader.batch.sources`: SOURCE read (a .zip extracted by :mod:`grader.archives`, the
  grader's one extractor; the platform layout), one :class:`Submission` per student, each
  prepared (its archives unpacked) or rejected;
- :mod:`~grader.batch.freshness`: is a report up to date (:func:`decide`)?
- :mod:`~grader.batch.reports`: the reports the batch writes itself, reading a report's outcome
  (a usable report as :mod:`grader.reportfile` defines it, for all of the grader), and the check
  that stops a batch whose download has the wrong shape;
- :mod:`~grader.batch.timing`: with ``--course``, what is graded for each student and when it
  was submitted (a clone's last commit before the due date, a Moodle worksheet's time, the
  files' times) and the report's timing;
- :mod:`~grader.batch.workers`: the worker processes, their deadlines and their stopping;
- :mod:`~grader.batch.display`: progress on a terminal or in a log;
- :mod:`~grader.batch.command`: :func:`run` (``grader batch``, its options a
  :class:`BatchOptions`) and :func:`report_command` (``grader report``).

Everything the rest of the grader and the tests use is importable from here (``batch.run``,
``batch.Submission``, ...). The fork server preloads this package, so a worker starts with
all of it imported.
"""

from __future__ import annotations

from grader import __version__
from grader.batch.command import (
    LOCK_NAME,
    BatchOptions,
    BatchResult,
    _interrupt_on_signals,
    _lock,
    report_command,
    run,
)
from grader.batch.display import PlainDisplay, RichDisplay, make_display
from grader.batch.errors import BatchError
from grader.batch.freshness import Decision, decide, refresh_identity, submission_digest
from grader.batch.names import MAX_NAME_BYTES, RESERVED_STEMS, printable, report_names, student_id
from grader.batch.reports import (
    PROBLEMS,
    check_common_problem,
    fault_report,
    read_outcome,
    rejected_report,
    write_report,
)
from grader.batch.sources import (
    SKIP_NAMES,
    ZIP_MAX_MEMBERS,
    ZIP_MAX_SUBMISSION_BYTES,
    ZIP_MAX_SUBMISSION_FILES,
    ZIP_MAX_TOTAL_BYTES,
    Source,
    Submission,
    Unprepared,
    extract_zip,
    open_source,
    prepare,
)
from grader.batch.workers import (
    STOP_WAIT_S,
    WORKER_GRACE_S,
    Finish,
    become_worker,
    default_jobs,
    execute,
    grade_worker,
    mp_context,
)

__all__ = [
    "__version__",
    # errors, names
    "BatchError",
    "MAX_NAME_BYTES",
    "RESERVED_STEMS",
    "printable",
    "report_names",
    "student_id",
    # sources
    "SKIP_NAMES",
    "ZIP_MAX_MEMBERS",
    "ZIP_MAX_SUBMISSION_BYTES",
    "ZIP_MAX_SUBMISSION_FILES",
    "ZIP_MAX_TOTAL_BYTES",
    "Source",
    "Submission",
    "Unprepared",
    "extract_zip",
    "open_source",
    "prepare",
    # freshness
    "Decision",
    "decide",
    "refresh_identity",
    "submission_digest",
    # reports
    "PROBLEMS",
    "check_common_problem",
    "fault_report",
    "read_outcome",
    "rejected_report",
    "write_report",
    # workers
    "STOP_WAIT_S",
    "WORKER_GRACE_S",
    "Finish",
    "become_worker",
    "default_jobs",
    "execute",
    "grade_worker",
    "mp_context",
    # display
    "PlainDisplay",
    "RichDisplay",
    "make_display",
    # command
    "LOCK_NAME",
    "BatchOptions",
    "BatchResult",
    "_interrupt_on_signals",
    "_lock",
    "report_command",
    "run",
]
