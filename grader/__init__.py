"""Automated grader for the Django signals lesson.

The grader process never imports a student's code or configures Django: it
discovers the project (``discover``), runs the hidden suite in a sandboxed
child (``runner`` + ``sandbox``), checks the child's claims against evidence
it reads itself (``evidence``), scores them against the rubric (``scoring``)
and renders reports (``renderers``).  ``api.grade`` ties the stages together.
"""

__version__ = "0.1.0"
