"""project-loads: Django starts with the student's settings, the migrations create
RequestStats as models.py describes it, and its table is usable."""

import _grader_assignment as assignment

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    Stats = assignment.stats_model()
    fields = {f.name: f.get_internal_type() for f in Stats._meta.concrete_fields}
    for name in ("started", "finished"):
        if "IntegerField" not in fields.get(name, ""):
            api.fail(
                f"RequestStats.{name} must stay the counter (an integer field) of the starter.",
                diagnosis="stats-model-changed",
            )
    Stats._default_manager.count()
