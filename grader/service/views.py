"""The service's pages and API. A student sees only their own submissions (anything else is a
404, never a 403 that would confirm it exists); a result shows what the assignment's
visibility allows (renderers.visibility), never a hidden check's text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from grader import handback
from grader.renderers import html as html_renderer
from grader.renderers.visibility import student_view
from grader.service import exports, grading, rules
from grader.service.auth import AuthError, api_caller
from grader.service.models import Student, Submission


class Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------- accepting work


def accept(student: Student, assignment: str, archive: bytes, source: str, commit: str = "") -> Submission:
    """Store a new submission (queued), or raise Refused saying why not."""
    cfg = settings.CONFIG
    if assignment not in rules.offered():
        offered = ", ".join(rules.offered())
        raise Refused(f"there is no assignment {assignment!r} here (this course has: {offered})", 404)
    if len(archive) > cfg.upload_mb * 1024 * 1024:
        raise Refused(f"the archive is {len(archive) / 1e6:.1f} MB; at most {cfg.upload_mb:g} MB is accepted", 413)
    why = grading.check_archive(archive)
    if why:
        raise Refused(why, 400)
    import hashlib

    digest = hashlib.sha256(archive).hexdigest()
    with transaction.atomic():
        # One student's uploads are counted and stored one at a time, or parallel uploads would
        # all pass the rate and max_submissions. The lock is an UPDATE of the student's row, as
        # the first statement: PostgreSQL locks the row, SQLite takes its write lock before it
        # reads (a read first could not become a write once another upload committed).
        Student.objects.filter(pk=student.pk).update(student_id=F("student_id"))
        since = timezone.now() - dt.timedelta(seconds=cfg.rate_window_s)
        if Submission.objects.filter(student=student, created__gte=since).count() >= cfg.rate:
            raise Refused(
                f"at most {cfg.rate} submissions in {cfg.rate_window_s} s: wait a minute and submit again", 429
            )
        limit = rules.max_submissions(assignment)
        if limit is not None and Submission.objects.filter(student=student, assignment=assignment).count() >= limit:
            raise Refused(f"you have used all {limit} submissions of {assignment}", 403)
        return Submission.objects.create(
            student=student,
            assignment=assignment,
            archive=archive,
            sha256=digest,
            size=len(archive),
            source=source,
            commit=commit[:64],
        )


def _read_upload(upload) -> bytes:
    limit = int(settings.CONFIG.upload_mb * 1024 * 1024)
    if upload.size is not None and upload.size > limit:
        raise Refused(
            f"the archive is {upload.size / 1e6:.1f} MB; at most {settings.CONFIG.upload_mb:g} MB is accepted", 413
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"the archive is larger than {settings.CONFIG.upload_mb:g} MB", 413)
    return data


def _student(request: HttpRequest) -> Student | None:
    return Student.objects.filter(user=request.user).first() if request.user.is_authenticated else None


def _own(request: HttpRequest, pk: int) -> Submission:
    """The submission `pk` if the user may see it (its student, or staff); 404 otherwise."""
    sub = Submission.objects.select_related("student").filter(pk=pk).first()
    if sub is None:
        raise Http404("no such submission")
    if request.user.is_staff or sub.student.user_id == request.user.pk:
        return sub
    raise Http404("no such submission")


# ----------------------------------------------------------------------------- what a student sees


def released(sub: Submission) -> bool:
    report = grading.report_of(sub)
    return report is not None and handback.released(report)


def public_result(sub: Submission) -> dict[str, Any]:
    """A submission as its student may see it (the API's answer and the status poll)."""
    out: dict[str, Any] = {
        "id": sub.pk,
        "assignment": sub.assignment,
        "status": sub.status,
        "submitted_at": sub.created.isoformat(),
        "url": reverse("submission", args=[sub.pk]),
    }
    if sub.status == Submission.ERROR:
        out["error"] = sub.error
    report = grading.report_of(sub)
    if report is not None:
        view = student_view(report, handback.released(report))
        shown = view.report
        out.update(
            score=shown.score,
            max_score=shown.max_score,
            message=shown.message,
            notes=view.notes(),
            checks=[
                {
                    "id": c.id,
                    "title": c.title,
                    "status": c.status.value,
                    "score": c.score,
                    "max_score": c.max_score,
                    "feedback": c.feedback,
                    "hint": c.hint,
                    "location": c.location,
                }
                for c in shown.checks
            ],
            timing=(report.timing.note if report.timing else ""),
        )
    return out


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    student = _student(request)
    if student is None:
        if request.user.is_staff:
            return redirect("dashboard")
        return render(request, "grading/no_student.html", status=403)
    subs = list(Submission.objects.filter(student=student).order_by("-created", "-pk")[:200])
    assignments = []
    for name in rules.offered():
        mine = [s for s in subs if s.assignment == name]
        assignments.append(
            {
                "name": name,
                "due": rules.due(student, name),
                "used": len(mine),
                "limit": rules.max_submissions(name),
                "latest": mine[0] if mine else None,
            }
        )
    return render(request, "grading/home.html", {"student": student, "assignments": assignments, "submissions": subs})


@login_required
@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    student = _student(request)
    if student is None:
        raise Http404("only students submit")
    upload = request.FILES.get("archive")
    assignment = request.POST.get("assignment", "")
    try:
        if upload is None:
            raise Refused("choose the .zip of your project first", 400)
        sub = accept(student, assignment, _read_upload(upload), "web")
    except Refused as exc:
        return render(request, "grading/refused.html", {"message": str(exc)}, status=exc.status)
    return redirect("submission", pk=sub.pk)


@login_required
@require_GET
def submission(request: HttpRequest, pk: int) -> HttpResponse:
    sub = _own(request, pk)
    return render(request, "grading/submission.html", {"sub": sub, "result": public_result(sub)})


@login_required
@require_GET
def submission_status(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(public_result(_own(request, pk)))


@login_required
@require_GET
def feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """The feedback page of a graded submission: renderers.html, following visibility (it
    carries its own Content-Security-Policy: no script, nothing fetched)."""
    sub = _own(request, pk)
    report = grading.report_of(sub)
    if report is None:
        raise Http404("not graded yet")
    is_released = handback.released(report)
    if request.user.is_staff and request.GET.get("all") == "1":
        page = html_renderer.render(report)  # an instructor's full view
    else:
        page = html_renderer.render(report, released=is_released)
    response = HttpResponse(page)
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return response


# ----------------------------------------------------------------------------- the API (grader submit, CI)


def _api_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # a bearer token, never a cookie: nothing for a forged cross-site request to ride on
@require_POST
def api_submit(request: HttpRequest) -> JsonResponse:
    try:
        caller = api_caller(request)
    except AuthError as exc:
        return _api_error(str(exc), exc.status)
    upload = request.FILES.get("archive")
    if upload is None:
        return _api_error("send the project as the multipart field 'archive' (a .zip)", 400)
    try:
        sub = accept(
            caller.student,
            request.POST.get("assignment", ""),
            _read_upload(upload),
            caller.source,
            request.POST.get("commit", "") or caller.commit,
        )
    except Refused as exc:
        return _api_error(str(exc), exc.status)
    body = public_result(sub)
    body["status_url"] = reverse("api-submission", args=[sub.pk])
    return JsonResponse(body, status=201)


@csrf_exempt
@require_GET
def api_submission(request: HttpRequest, pk: int) -> JsonResponse:
    try:
        caller = api_caller(request)
    except AuthError as exc:
        return _api_error(str(exc), exc.status)
    sub = Submission.objects.select_related("student").filter(pk=pk, student=caller.student).first()
    if sub is None:
        return _api_error("no such submission", 404)
    return JsonResponse(public_result(sub))


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


# ----------------------------------------------------------------------------- instructors


def _dashboard_data() -> dict[str, Any]:
    counts = {s: Submission.objects.filter(status=s).count() for s, _ in Submission.STATUSES}
    offered = rules.offered()
    rows = []
    latest: dict[tuple[int, str], Submission] = {}
    for sub in Submission.objects.select_related("student").defer("archive", "report").order_by("created", "pk"):
        latest[(sub.student_id, sub.assignment)] = sub
    for student in Student.objects.order_by("student_id"):
        cells = []
        for name in offered:
            sub = latest.get((student.pk, name))
            cells.append(
                {
                    "status": sub.status if sub else "",
                    "score": sub.score if sub else None,
                    "max_score": sub.max_score if sub else None,
                    "id": sub.pk if sub else None,
                }
            )
        rows.append({"student": student.student_id, "name": student.name, "cells": cells})
    return {"counts": counts, "assignments": offered, "rows": rows, "at": timezone.now().isoformat()}


@staff_member_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "grading/dashboard.html", {"data": _dashboard_data()})


@staff_member_required
@require_GET
def dashboard_data(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_dashboard_data())


@staff_member_required
@require_http_methods(["GET"])
def export(request: HttpRequest, assignment: str, kind: str) -> HttpResponse:
    if assignment not in rules.offered():
        raise Http404("no such assignment")
    try:
        text, filename = exports.build(assignment, kind)
    except exports.UnknownKind:
        raise Http404("no such export") from None
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
