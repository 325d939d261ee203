"""The service's records. The database is the source of truth: a submission keeps its archive,
its state, every grading attempt's outcome and its report; restarting the service or its
workers loses nothing that reached ``Submission``."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from grader.service.lti.logic import lines


class Course(models.Model):
    """A term's course: its rules are course.toml's (``grader serve --course`` loads it)."""

    name = models.CharField(max_length=200, unique=True)
    rules = models.TextField(blank=True, help_text="course.toml, as loaded")
    loaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Student(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="student")
    student_id = models.CharField(
        max_length=150, unique=True, help_text="the id of the gradebooks (a platform's user id or login)"
    )
    name = models.CharField(max_length=200, blank=True)
    github = models.CharField(max_length=100, blank=True, help_text="GitHub login (CI uploads)")
    repository = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="owner/name of the student's repository (CI uploads)"
    )

    def __str__(self) -> str:
        return f"{self.student_id} ({self.name})" if self.name else self.student_id


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (tokens are 256 random bits: no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Token(models.Model):
    """A student's upload token (``grader submit``, CI). Only its digest is kept; the token is
    shown once, when it is made."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="the token's first characters")
    label = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.student})"


class Submission(models.Model):
    QUEUED, GRADING, GRADED, ERROR = "queued", "grading", "graded", "error"
    STATUSES = [(s, s) for s in (QUEUED, GRADING, GRADED, ERROR)]
    SOURCES = [(s, s) for s in ("web", "cli", "ci")]

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="submissions")
    assignment = models.CharField(max_length=100, db_index=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=8, choices=SOURCES, default="web")
    commit = models.CharField(max_length=64, blank=True, help_text="the commit a CI upload graded")
    archive = models.BinaryField(editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="gradings started")
    claimed_by = models.CharField(max_length=100, blank=True, help_text="the worker grading it")
    job_id = models.CharField(max_length=100, blank=True, help_text="its RQ job, with a queue")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True, editable=False)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="why the service could not grade it")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["student", "assignment", "created"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.student.student_id} {self.assignment} ({self.status})"

    @property
    def done(self) -> bool:
        return self.status in (self.GRADED, self.ERROR)


class Extension(models.Model):
    """A student's new due date for one assignment (on top of course.toml's extensions)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="extensions")
    assignment = models.CharField(max_length=100)
    due = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        unique_together = [("student", "assignment")]

    def __str__(self) -> str:
        return f"{self.student.student_id} {self.assignment} until {self.due:%Y-%m-%d %H:%M}"


class Override(models.Model):
    """An instructor's final score for one student's assignment, with the reason (the exports
    show it beside the graded score)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="overrides")
    assignment = models.CharField(max_length=100)
    score = models.FloatField()
    reason = models.CharField(max_length=300)
    by = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        unique_together = [("student", "assignment")]

    def __str__(self) -> str:
        return f"{self.student.student_id} {self.assignment} = {self.score:g}"


# ----------------------------------------------------------------------------- LTI 1.3 (grader.service.lti)


class LtiPlatform(models.Model):
    """A learning platform (Moodle, Canvas) registered to launch the service over LTI 1.3: the
    values its administrator's page shows for this tool (see docs/lti.md)."""

    name = models.CharField(max_length=100, unique=True, help_text="what you call it (shown in the admin)")
    issuer = models.CharField(max_length=300, help_text="the platform's issuer (iss), e.g. https://moodle.example.edu")
    client_id = models.CharField(max_length=300, help_text="the client id the platform gave this tool")
    deployment_ids = models.TextField(help_text="the deployment id(s) of this tool on the platform, one per line")
    auth_login_url = models.URLField(max_length=500, help_text="the platform's authentication request URL")
    auth_token_url = models.URLField(max_length=500, help_text="the platform's access token URL (grade passback)")
    auth_audience = models.CharField(
        max_length=500, blank=True, help_text="the token endpoint's audience, if not its URL (rare)"
    )
    key_set_url = models.URLField(max_length=500, help_text="the platform's public keyset URL")
    contexts = models.TextField(
        blank=True,
        help_text="the platform's course (context) ids whose launches are accepted, one per line. Empty: "
        "students of any course of the platform, and no instructor becomes staff (see docs/lti.md)",
    )
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        unique_together = [("issuer", "client_id")]
        verbose_name = "LTI platform"

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"

    @property
    def deployments(self) -> list[str]:
        return lines(self.deployment_ids)

    @property
    def context_ids(self) -> list[str]:
        return lines(self.contexts)


class LtiIdentity(models.Model):
    """Who a platform's user (its `sub`) is here: a student of the course, or an instructor's
    staff user. Edit `student` to link a platform user to a roster student."""

    platform = models.ForeignKey(LtiPlatform, on_delete=models.CASCADE, related_name="identities")
    sub = models.CharField(max_length=255, help_text="the platform's user id (sub)")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities")
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.CASCADE, related_name="lti_identities")
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    roles = models.JSONField(default=list, blank=True)
    staff = models.BooleanField(default=False, help_text="the last launch made them course staff")
    last_launch = models.DateTimeField(default=timezone.now)

    class Meta:
        unique_together = [("platform", "sub")]
        verbose_name = "LTI identity"
        verbose_name_plural = "LTI identities"

    def __str__(self) -> str:
        return f"{self.name or self.sub} on {self.platform.name}"


class LtiGrade(models.Model):
    """One student's score on one platform line item (the gradebook column of an assignment's
    link): what was sent, when, and why it failed. Made at the student's first launch of the
    link; a grading or an override makes it pending; `grader service lti_sync` retries the
    failed ones."""

    NONE, PENDING, SENDING, SENT, FAILED = "none", "pending", "sending", "sent", "failed"
    STATUSES = [(s, s) for s in (NONE, PENDING, SENDING, SENT, FAILED)]

    identity = models.ForeignKey(LtiIdentity, on_delete=models.CASCADE, related_name="grades")
    assignment = models.CharField(max_length=100, db_index=True)
    context_id = models.CharField(max_length=255, blank=True)
    resource_link_id = models.CharField(max_length=255, blank=True)
    lineitem = models.CharField(max_length=500, blank=True, help_text="the line item's URL (AGS)")
    lineitems = models.CharField(max_length=500, blank=True, help_text="the context's line items URL (AGS)")
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=STATUSES, default=NONE, db_index=True)
    trigger = models.BigIntegerField(null=True, blank=True, help_text="the submission whose grading made it pending")
    score_given = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="sends tried")
    error = models.TextField(blank=True, help_text="why the last send failed")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        unique_together = [("identity", "assignment", "resource_link_id")]
        verbose_name = "LTI grade"

    def __str__(self) -> str:
        return f"{self.identity} {self.assignment} ({self.status})"


class LtiNonce(models.Model):
    """A launch's nonce, kept once it was used: the same id_token posted again is refused."""

    nonce = models.CharField(max_length=255, unique=True)
    issuer = models.CharField(max_length=300)
    used = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.nonce
