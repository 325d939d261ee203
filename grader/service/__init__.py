"""The grading service: ``grader serve``.

A Django project inside the package (app label ``grading``): students submit (a web upload, or
``grader submit`` with a token, or a CI job with GitHub Actions' OIDC identity or a repository
token), the service grades each submission in a sandboxed worker and shows the student the
result page their assignment's visibility allows; instructors get Django's admin, a live class
dashboard and exports. The database is the source of truth: every submission with its archive,
job state, report and override. See docs/operators.md.

The service's process configures Django with the service's own settings and never imports a
student's code: grading runs in the sandboxed child (``api.grade``), in a worker thread of
``grader serve`` or on RQ workers (``grader worker``) that never see the database.
"""
