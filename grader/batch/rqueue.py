"""Batches beyond one machine: submissions graded by RQ workers through a Redis queue.

``grader batch SOURCE --queue REDIS_URL`` enqueues one job per submission and waits for the
results, showing the same progress and writing each student's report as its result arrives;
``grader worker REDIS_URL`` (one per core, on any number of machines) grades them, each job
in its own sandbox with the assignment's limits, exactly as a local batch does.

A job carries the submission as a .tar.gz (at most MAX_ARCHIVE_BYTES) and its SHA-256, the
assignment's name and digest and the grader version: the worker checks the hash and refuses a
job whose assignment digest or grader version it does not have (an infrastructure error, never
the student's). Its id is a hash of (assignment digest, submission content, grader version), so
enqueueing the same work twice does nothing and a finished result (kept RESULT_TTL_S) is
reused by the next run. Only infrastructure failures are retried (RETRIES times): a job that
raised (a worker without bubblewrap, a refusal, a grader fault), that ran past its job timeout
(JobOvertime, which no `except Exception` in the grading can turn into a result) or whose
worker died (found by the batch through RQ's registry of started jobs once the worker's
heartbeat has lapsed); a student's failure, time-out or tampering is a result, never retried,
and so is a check refused because of what the student's code left (verify.VerifyRefused).

Jobs are JSON (RQ's JSONSerializer: nothing is unpickled), and a grader worker runs no job but
``grade_job``, so whoever can write to the queue cannot make a worker run anything else.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import signal
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from grader import __version__, api, archives, fstree, rubric, sandbox, warm
from grader.batch.errors import BatchError
from grader.batch.freshness import submission_digest
from grader.batch.reports import write_report
from grader.batch.sources import Submission
from grader.batch.workers import WORKER_GRACE_S
from grader.reportfile import ReportProblem, parse_report
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

QUEUE = "grader"
JOB_FUNC = "grader.batch.rqueue.grade_job"
MAX_ARCHIVE_BYTES = 128 * 1024 * 1024
RESULT_TTL_S = 7 * 24 * 3600  # how long a finished result stays in Redis for a re-run
FAILURE_TTL_S = 24 * 3600
RETRIES = 2  # infrastructure failures only
HEARTBEAT_S = 5  # a worker's heartbeat while it grades
HEARTBEAT_SLACK_S = 10  # a job is abandoned this long after its worker's last heartbeat
CLEANUP_EVERY_S = 5.0  # how often the batch looks for abandoned jobs
POLL_S = 0.5
IDLE_NOTE_S = 15.0  # nothing taken this long: say that workers are needed


class Refused(Exception):
    """The worker cannot grade this job as asked: not its assignment digest or grader version,
    a damaged archive, a job that is not a grading job. An infrastructure error."""


class JobOvertime(BaseException):
    """The job ran past its RQ job timeout: an infrastructure failure (RQ fails the job and
    retries it). A BaseException, unlike RQ's own JobTimeoutException, so that no `except
    Exception` on the way (in the grader, in an assignment's verify.py) can catch it and turn
    a grading cut short into the student's result."""


_OVERTIME: list[str] = []  # set in the work horse when its job's time limit struck


def _rq():
    try:
        import redis
        import rq
        from rq.serializers import JSONSerializer
    except ImportError:
        raise BatchError(
            "grading on a queue needs the packages rq and redis: pip install 'django-signals-grader[queue]'"
        ) from None
    return redis, rq, JSONSerializer


def safe_url(url: str) -> str:
    """The Redis URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str):
    redis, _, _ = _rq()
    try:
        conn = redis.Redis.from_url(url)
        conn.ping()
    except (redis.RedisError, ValueError) as exc:
        raise BatchError(f"cannot reach Redis at {safe_url(url)}: {exc}") from None
    return conn


def job_id(assignment_digest: str, content: str, version: str = __version__) -> str:
    """The same work (assignment, submission content, grader) has the same id."""
    return "grader-" + hashlib.sha256(f"{assignment_digest}\0{content}\0{version}".encode()).hexdigest()[:40]


def pack(folder: Path) -> bytes:
    """The submission folder as a .tar.gz of what grading copies (no links, no caches), within
    a submission's limits. Raises fstree.TreeLimit past them or past MAX_ARCHIVE_BYTES."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for entry in fstree.walk(Path(folder), COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS)):
            if entry.kind in ("dir", "file"):  # links and the rest are not graded anyway
                tar.add(entry.path, entry.rel, recursive=False)
            if buffer.tell() > MAX_ARCHIVE_BYTES:
                raise fstree.TreeLimit(f"larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB packed")
    return buffer.getvalue()


def payload(student: str, assignment: rubric.Assignment, archive: bytes) -> dict:
    """The job of one submission (grade_job's argument; the grading service sends the same)."""
    return {
        "student": student,
        "assignment": assignment.name,
        "digest": assignment.digest,
        "version": __version__,
        "sha256": hashlib.sha256(archive).hexdigest(),
        "archive": base64.b64encode(archive).decode("ascii"),
    }


# ----------------------------------------------------------------------------- the worker side

_WORKER_SANDBOX = "auto"  # set by `grader worker --sandbox`
# The worker's warm zygotes (grader.warm), kept by its main process, which makes sure before
# it forks each work horse that the job's zygote is alive; the horse inherits the pool.
_WORKER_POOL: list[warm.Pool] = []


def grade_job(job: dict) -> dict:
    """Grade one submission (runs in RQ's work horse): the report as a dict. Raises Refused or
    another exception only for what is not the student's doing (RQ then retries the job)."""
    _die_with_worker()
    try:
        archive = base64.b64decode(job["archive"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise Refused("the job holds no readable submission archive") from None
    if hashlib.sha256(archive).hexdigest() != job.get("sha256"):
        raise Refused("the submission archive does not match its hash (damaged on the way)")
    try:
        assignment = rubric.find(job.get("assignment"))
    except rubric.RubricError as exc:
        raise Refused(f"this worker does not have the assignment {job.get('assignment')!r}: {exc}") from None
    if assignment.digest != job.get("digest"):
        raise Refused(
            f"this worker has {assignment.name} with digest {assignment.digest}, the job wants "
            f"{job.get('digest')}: install the same assignment on every worker"
        )
    if job.get("version") != __version__:
        raise Refused(
            f"this worker runs grader {__version__}, the job wants {job.get('version')}: "
            "install the same grader version on every worker"
        )
    with tempfile.TemporaryDirectory(prefix="grader-job-") as tmp:
        tarball = Path(tmp) / "submission.tar.gz"
        tarball.write_bytes(archive)
        folder = Path(tmp) / "submission"
        try:
            archives.unpack(tarball, folder, fstree.Limits(**SUBMISSION_LIMITS))
        except archives.ArchiveError as exc:
            raise Refused(f"the submission archive cannot be unpacked: {exc}") from None
        tarball.unlink()
        handle = _WORKER_POOL[0].running(assignment) if _WORKER_POOL else None
        report = api.grade(folder, assignment, sandbox=_WORKER_SANDBOX, name=str(job.get("student", "")), warm=handle)
    if _OVERTIME:  # the time limit struck and something swallowed it: not a result
        raise JobOvertime(_OVERTIME[0])
    if report.grader_fault:  # the worker's own trouble (its disk, ...): another worker may do better
        raise RuntimeError(f"grader fault on this worker: {report.grader_fault}")
    return report.to_dict()


def _die_with_worker() -> None:
    """RQ's work horse has a process group of its own and outlives a worker that is killed;
    grading on is pointless then (the job is retried elsewhere), so it dies with the worker."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)


def _install_runtimes() -> None:
    """The packages every assignment allows, installed before the first job (once; cached), so
    that no job spends its time limit on an install."""
    import sys

    from grader import runtime

    for name in rubric.available():
        with contextlib.suppress(rubric.RubricError):
            found = rubric.find(name)
            if not runtime.installed(found.runtime):
                print(f"grader: installing the packages {name} allows (once)", file=sys.stderr, flush=True)
                env = runtime.ensure(found.runtime)
                if not env.usable:
                    print(f"grader: {name}: {env.problem}", file=sys.stderr, flush=True)


def worker_classes():
    """RQ's Worker and Job, made to run grading jobs only, with a short heartbeat, and a job
    timeout that raises JobOvertime (never caught by the grading's `except Exception`); a job
    whose time limit struck fails even if something swallowed it."""
    _, rq, JSONSerializer = _rq()
    from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

    class GraderDeathPenalty(UnixSignalDeathPenalty):
        # RQ uses this class for the job's own time limit (JobTimeoutException) and, in the
        # worker's main process, for the alarms that wake it to watch the work horse
        # (HorseMonitorTimeoutException): only the first is the job running over.
        def _job_limit(self) -> bool:
            return self._exception is JobTimeoutException

        def setup_death_penalty(self):
            if self._job_limit():
                _OVERTIME.clear()
            super().setup_death_penalty()

        def handle_death_penalty(self, signum, frame):
            if not self._job_limit():
                return super().handle_death_penalty(signum, frame)
            why = f"the job ran past its time limit of {self._timeout} s on this worker"
            if not _OVERTIME:
                _OVERTIME.append(why)
            raise JobOvertime(why)

    class GraderJob(rq.job.Job):
        def perform(self):
            if self.func_name != JOB_FUNC:
                raise Refused(f"a grader worker runs grading jobs only, not {self.func_name}")
            result = super().perform()
            if _OVERTIME:  # the time limit struck and something swallowed it: not a result
                raise JobOvertime(_OVERTIME[0])
            return result

    class GraderWorker(rq.Worker):
        job_class = GraderJob
        death_penalty_class = GraderDeathPenalty

        def fork_work_horse(self, job, queue):
            # once the job is registered as started (a worker killed now loses nothing), before
            # the work horse is forked: the job's zygote, started again if it died
            if _WORKER_POOL:
                with contextlib.suppress(Exception):  # the job's own checks refuse a bad job
                    _WORKER_POOL[0].handle(rubric.find(job.args[0].get("assignment")))
            return super().fork_work_horse(job, queue)

        def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
            return HEARTBEAT_S + HEARTBEAT_SLACK_S

    return GraderWorker, GraderJob, JSONSerializer


def work(url: str, queue: str = QUEUE, burst: bool = False, mode: str = "auto") -> bool:
    """`grader worker`: grade jobs from `queue` until stopped (or, with `burst`, until it is
    empty). A worker without bubblewrap refuses to start unless `mode` is "none"."""
    global _WORKER_SANDBOX
    resolved, _ = sandbox.resolve(mode)
    if resolved == "none" and mode != "none":
        raise BatchError(
            f"{sandbox.bwrap_problem()}: a worker grades submissions of whole classes, so "
            "it needs the sandbox. Install the Debian package 'bubblewrap', or pass "
            "--sandbox none to grade without isolation anyway."
        )
    _WORKER_SANDBOX = resolved
    conn = connect(url)
    _install_runtimes()
    if warm.usable(resolved) and not _WORKER_POOL:
        _WORKER_POOL.append(warm.Pool())
        for name in rubric.available():  # the zygotes, before the first job is taken
            with contextlib.suppress(rubric.RubricError):
                _WORKER_POOL[0].handle(rubric.find(name))
    GraderWorker, GraderJob, JSONSerializer = worker_classes()
    _, rq, _ = _rq()
    q = rq.Queue(queue, connection=conn, serializer=JSONSerializer, job_class=GraderJob)
    worker = GraderWorker(
        [q], connection=conn, serializer=JSONSerializer, job_class=GraderJob, job_monitoring_interval=HEARTBEAT_S
    )
    try:
        return worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        while _WORKER_POOL:
            _WORKER_POOL.pop().close()


# ----------------------------------------------------------------------------- the batch side

Finish = Callable[[Submission, int, str], None]  # (submission, 0 or 1, why it is a grader fault)


def execute(
    subs: list[Submission],
    assignment: rubric.Assignment,
    url: str,
    queue: str,
    finish: Finish,
    display,
    force: bool = False,
    poll_s: float = POLL_S,
) -> None:
    """Grade `subs` on the queue: enqueue what is not there yet, then write each report as its
    result arrives and call `finish(sub, 0, "")`, or `finish(sub, 1, why)` for a job that failed
    for good (the caller writes a grader-fault report). Interrupted (KeyboardInterrupt), the
    jobs stay queued: the same command carries on. `force`: a finished result kept in Redis is
    not reused (--force grades again)."""
    _, rq, JSONSerializer = _rq()
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    conn = connect(url)
    q = rq.Queue(queue, connection=conn, serializer=JSONSerializer)
    waiting: dict[str, list[tuple[Submission, str]]] = {}  # job id -> the students it grades
    for sub in subs:
        try:
            content = submission_digest(sub.path)
        except (fstree.TreeLimit, OSError) as exc:
            finish(sub, 1, f"the submission cannot be read for the queue ({exc})")
            continue
        jid = job_id(assignment.digest, content, __version__)
        if jid not in waiting:
            why = _ensure_enqueued(q, jid, sub, assignment, force)
            if why:
                finish(sub, 1, why)
                continue
        waiting.setdefault(jid, []).append((sub, content))
    registry = StartedJobRegistry(queue=q)
    last_cleanup, since, total, told = 0.0, time.monotonic(), len(waiting), False
    while waiting:
        if time.monotonic() - last_cleanup > CLEANUP_EVERY_S:
            registry.cleanup()  # a job whose worker died is retried (or failed, when out of retries)
            last_cleanup = time.monotonic()
        ids = list(waiting)
        for jid, job in zip(ids, Job.fetch_many(ids, connection=conn, serializer=JSONSerializer)):
            if job is None:  # expired or deleted under us: enqueue it again
                sub, _ = waiting[jid][0]
                why = _ensure_enqueued(q, jid, sub, assignment)
                if why:
                    for sub, _ in waiting.pop(jid):
                        finish(sub, 1, why)
                continue
            status = job.get_status(refresh=False)
            if status == JobStatus.FINISHED:
                data = job.return_value()
                for sub, content in waiting.pop(jid):
                    why = _write(sub, data, content)
                    finish(sub, 1 if why else 0, why)
            elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED) and not job.retries_left:
                why = failure(job)
                for sub, _ in waiting.pop(jid):
                    finish(sub, 1, why)
        if (
            waiting
            and not told
            and len(waiting) == total
            and time.monotonic() - since > IDLE_NOTE_S
            and not registry.count
        ):
            display.note(
                f"{total} job(s) wait on the queue '{queue}' at {safe_url(url)} and no worker has "
                f"taken one yet: start workers with `grader worker {safe_url(url)}`"
            )
            told = True
        if waiting:
            time.sleep(poll_s)


def _ensure_enqueued(q, jid: str, sub: Submission, assignment: rubric.Assignment, force: bool = False) -> str:
    """Enqueue the job `jid` unless it is there already (queued, running or finished); a job
    that failed for good (or, with `force`, that finished) is enqueued afresh. Returns why it
    cannot be, or "".
    """
    from rq import Retry
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(jid, connection=q.connection, serializer=q.serializer)
    except NoSuchJobError:
        job = None
    if job is not None:
        status = job.get_status(refresh=False)
        if (status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED) and not job.retries_left) or (
            force and status == JobStatus.FINISHED
        ):
            job.delete()
        elif status is not None:
            return ""
    try:
        archive = pack(sub.path)
    except fstree.TreeLimit as exc:
        return f"the submission cannot be sent to the queue: {exc}"
    q.enqueue(
        JOB_FUNC,
        payload(sub.student, assignment, archive),
        job_id=jid,
        job_timeout=int(assignment.limits.wall_time_s + WORKER_GRACE_S),
        result_ttl=RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S,
        retry=Retry(max=RETRIES),
        description=f"grade {assignment.name} for {sub.student}",
    )
    return ""


def _write(sub: Submission, data, content: str) -> str:
    """Write the student's report from a job's result; why it cannot be, or ""."""
    try:
        report = parse_report(data)  # the one definition of a usable report (reportfile)
    except ReportProblem as exc:
        return f"the worker's result is not a report ({exc})"[:300]
    report.submission = sub.student  # identical submissions share one job
    report.identity = sub.identity
    report.submission_digest = content
    write_report(sub.report, report)
    return ""


def failure(job) -> str:
    """Why a job failed for good, in one line (the last line of the worker's traceback)."""
    text = ""
    with contextlib.suppress(Exception):
        result = job.latest_result()
        text = (result.exc_string or "") if result is not None else ""
    last = [line for line in text.strip().splitlines() if line.strip()][-1:] or ["the worker died"]
    return f"the queue's workers could not grade it ({last[0].strip()[:240]})"
