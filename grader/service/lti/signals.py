"""The service's own signal for the grade passback: ``submission_graded`` is sent by
grading.finish (the report is about to be stored) with ``submission`` and ``fields`` (what is
stored). Its receivers must never make grading wait or fail: grading sends it with send_robust."""

from __future__ import annotations

from django.dispatch import Signal

submission_graded = Signal()
