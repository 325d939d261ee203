"""The service's grading loop, in the ``grader serve`` process: it takes queued submissions
from the database and grades them, in worker threads here (the default) or on RQ's workers
(``--queue``). Every step is a compare-and-set on the submission's row, so that a result is
stored once, by whoever holds the submission, and a restart loses nothing:

* queued -> grading: claimed (attempts + 1); with a queue, its job is enqueued;
* grading -> graded: a report is stored (the student's result, whatever it says);
* grading -> queued: the grading was lost (the service stopped, the worker died, Redis lost
  the job, the grader failed) and is started again, at most ``attempts`` times in all;
* -> error: the archive cannot be graded (said to the student), or the service lost the
  grading ``attempts`` times (said to the student as the grader's doing, not theirs).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

from grader import warm
from grader.model import RunStatus
from grader.service import grading
from grader.service.config import ServiceConfig
from grader.service.models import Submission

log = logging.getLogger("grader.service")
POLL_S = 0.25
CLEANUP_EVERY_S = 5.0
BATCH = 50  # submissions enqueued per round (with a queue)
QUEUE_OWNER = "queue"
LOST = (
    "The grading service lost this grading {n} times (the grader stopped or its worker failed), "
    "so it stopped trying. This is not your doing: tell your instructor, who can grade it again."
)


def owner_prefix() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def recover(cfg: ServiceConfig) -> int:
    """At start: the gradings the last run of the service held are started again (or end as an
    error after `cfg.attempts`). With a queue, a job RQ still has is left to finish; one claimed
    for the queue whose job id was never stored (stopped in between) has no job to wait for."""
    stale = Submission.objects.filter(status=Submission.GRADING)
    if cfg.queue:
        stale = stale.exclude(Q(claimed_by=QUEUE_OWNER) & ~Q(job_id=""))
    n = 0
    for sub in stale.only("pk", "attempts"):
        n += _retry_or_fail(sub.pk, sub.attempts, cfg, "the service stopped while grading it")
    return n


def _retry_or_fail(pk: int, attempts: int, cfg: ServiceConfig, why: str) -> int:
    log.warning("submission %s: %s (attempt %s of %s)", pk, why, attempts, cfg.attempts)
    if attempts >= cfg.attempts:
        return Submission.objects.filter(pk=pk, status=Submission.GRADING).update(
            status=Submission.ERROR, error=LOST.format(n=attempts) + f" Last: {why}.", finished=timezone.now()
        )
    return Submission.objects.filter(pk=pk, status=Submission.GRADING).update(
        status=Submission.QUEUED, claimed_by="", job_id=""
    )


def claim(owner: str) -> Submission | None:
    """The oldest queued submission, now held by `owner`; None when there is none."""
    for _ in range(5):
        pk = (
            Submission.objects.filter(status=Submission.QUEUED)
            .order_by("created", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        taken = Submission.objects.filter(pk=pk, status=Submission.QUEUED).update(
            status=Submission.GRADING, claimed_by=owner, started=timezone.now(), attempts=F("attempts") + 1
        )
        if taken:
            return Submission.objects.select_related("student").get(pk=pk)
    return None


def store(sub: Submission, owner: str, fields: dict[str, Any]) -> bool:
    """Store a grading's outcome, only while `owner` still holds `sub`."""
    fields.setdefault("finished", timezone.now())
    return bool(Submission.objects.filter(pk=sub.pk, status=Submission.GRADING, claimed_by=owner).update(**fields))


def grade_here(
    sub: Submission,
    owner: str,
    cfg: ServiceConfig,
    stopping: Callable[[], bool] | None = None,
    pool: warm.Pool | None = None,
) -> None:
    """Grade a claimed submission in this process (the sandboxed child does the work). While the
    service is `stopping`, only a complete run's report is stored: the stop signal may be what
    ended the grading (systemd signals every process of the service, the sandboxed child too),
    and that report would blame the student ("killed by signal 15"); the submission stays
    `grading` and recover() grades it again at the next start."""
    try:
        report = grading.grade_local(sub, cfg.sandbox, pool)
    except grading.Unusable as exc:
        store(sub, owner, {"status": Submission.ERROR, "error": str(exc)})
        return
    except Exception as exc:  # the grader's own failure: never the student's result
        log.exception("submission %s: the grader failed", sub.pk)
        _retry_or_fail(sub.pk, sub.attempts, cfg, f"the grader failed ({type(exc).__name__}: {exc})")
        return
    if report.status != RunStatus.GRADED and stopping is not None and stopping():
        log.warning("submission %s: not stored, the service is stopping (graded again at its next start)", sub.pk)
        return
    if report.grader_fault:
        _retry_or_fail(sub.pk, sub.attempts, cfg, f"grader fault: {report.grader_fault}")
        return
    store(sub, owner, grading.finish(sub, report))


class Dispatcher:
    def __init__(self, cfg: ServiceConfig, signalled: int | None = None) -> None:
        self.cfg = cfg
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.signalled = signalled  # a pipe's read end, readable once the process got a stop signal

    def stopping(self) -> bool:
        """close() was called, or the process got its stop signal: `signalled` (the pipe of
        signal.set_wakeup_fd) is written the moment the signal arrives, in whichever thread, when
        the handler in the main thread may not have run yet."""
        if self.stop.is_set():
            return True
        return self.signalled is not None and bool(select.select([self.signalled], [], [], 0)[0])

    def start(self) -> None:
        recovered = recover(self.cfg)
        if recovered:
            log.warning("%s submission(s) the last run was grading are queued again", recovered)
        if self.cfg.queue:
            targets = [("queue", self._queue_loop)]
        else:
            targets = [(f"worker-{n}", self._local_loop) for n in range(max(1, self.cfg.workers))]
        for name, target in targets:
            thread = threading.Thread(target=target, args=(name,), name=f"grader-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)

    # ------------------------------------------------------------------------- in-process workers

    def _local_loop(self, name: str) -> None:
        owner = f"{owner_prefix()}:{name}"
        with warm.pool(self.cfg.sandbox) as pool:  # this worker's zygotes, started on first use
            while not self.stopping():
                try:
                    close_old_connections()
                    sub = claim(owner)
                    if sub is None:
                        self.stop.wait(POLL_S)
                        continue
                    grade_here(sub, owner, self.cfg, self.stopping, pool)
                except Exception:  # the database went away for a moment: try again
                    log.exception("grading worker %s", name)
                    self.stop.wait(1.0)

    # ------------------------------------------------------------------------- RQ workers

    def _queue_loop(self, name: str) -> None:
        from grader.batch.errors import BatchError

        state: dict[str, Any] = {}
        down_since = 0.0
        while not self.stop.is_set():
            try:
                close_old_connections()
                if "queue" not in state:
                    state.update(self._connect())
                    if down_since:
                        log.warning("Redis is back after %.0f s", time.monotonic() - down_since)
                        down_since = 0.0
                self._enqueue(state["queue"])
                self._collect(state)
            except (BatchError, OSError) as exc:
                down_since = self._redis_down(state, down_since, exc)
            except Exception as exc:
                if type(exc).__module__.startswith("redis"):
                    down_since = self._redis_down(state, down_since, exc)
                else:
                    log.exception("the queue's dispatcher")
                    self.stop.wait(1.0)
            self.stop.wait(POLL_S)

    def _redis_down(self, state: dict[str, Any], since: float, exc: BaseException) -> float:
        if not since:
            log.warning("Redis is unreachable (%s): submissions wait in the database", exc)
        state.clear()
        self.stop.wait(1.0)
        return since or time.monotonic()

    def _connect(self) -> dict[str, Any]:
        import rq
        from rq.registry import StartedJobRegistry
        from rq.serializers import JSONSerializer

        from grader.batch import rqueue

        conn = rqueue.connect(self.cfg.queue)
        queue = rq.Queue(rqueue.QUEUE, connection=conn, serializer=JSONSerializer)
        return {"queue": queue, "registry": StartedJobRegistry(queue=queue), "cleaned": 0.0}

    def _enqueue(self, queue) -> None:
        from rq import Retry

        from grader import rubric
        from grader.batch import rqueue
        from grader.batch.workers import WORKER_GRACE_S

        for _ in range(BATCH):
            sub = claim(QUEUE_OWNER)
            if sub is None:
                return
            job_id = f"grader-service-{sub.pk}-{sub.attempts}"
            try:
                payload = grading.job_payload(sub)
            except grading.Unusable as exc:
                store(sub, QUEUE_OWNER, {"status": Submission.ERROR, "error": str(exc)})
                continue
            # The job id is stored first: if Redis fails now, collecting finds no such job and
            # enqueues it again.
            Submission.objects.filter(pk=sub.pk).update(job_id=job_id)
            limits = rubric.find(sub.assignment).limits
            queue.enqueue(
                rqueue.JOB_FUNC,
                payload,
                job_id=job_id,
                job_timeout=int(limits.wall_time_s + WORKER_GRACE_S),
                result_ttl=rqueue.RESULT_TTL_S,
                failure_ttl=rqueue.FAILURE_TTL_S,
                retry=Retry(max=rqueue.RETRIES),
                description=f"grade {sub.assignment} for {sub.student.student_id} (submission {sub.pk})",
            )

    def _collect(self, state: dict[str, Any]) -> None:
        from rq.job import Job, JobStatus

        from grader.batch import rqueue

        queue = state["queue"]
        if time.monotonic() - state["cleaned"] > CLEANUP_EVERY_S:
            state["registry"].cleanup()  # a job whose worker died is retried, or fails for good
            state["cleaned"] = time.monotonic()
        held = list(
            Submission.objects.filter(status=Submission.GRADING, claimed_by=QUEUE_OWNER)
            .exclude(job_id="")
            .select_related("student")[:500]
        )
        if not held:
            return
        jobs = Job.fetch_many([s.job_id for s in held], connection=queue.connection, serializer=queue.serializer)
        for sub, job in zip(held, jobs):
            if job is None:  # Redis lost it (restarted without its data): grade it again
                _retry_or_fail(sub.pk, sub.attempts, self.cfg, "the queue lost its job")
                continue
            status = job.get_status(refresh=False)
            if status == JobStatus.FINISHED:
                try:
                    report = grading.from_job(job.return_value())
                except grading.ReportProblem as exc:
                    _retry_or_fail(sub.pk, sub.attempts, self.cfg, f"the worker's result is not a report ({exc})")
                    continue
                store(sub, QUEUE_OWNER, grading.finish(sub, report))
                job.delete()
            elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED) and not job.retries_left:
                _retry_or_fail(sub.pk, sub.attempts, self.cfg, rqueue.failure(job))
