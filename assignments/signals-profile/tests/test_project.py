"""project-loads: Django starts with the student's settings, and the student's migrations
create the models as models.py describes them."""

import _grader_assignment as profiles

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    Profile = profiles.profile_model()
    User = api.user_model()
    field = Profile._meta.get_field("user")
    if not field.one_to_one or field.related_model is not User:
        api.fail(
            "Profile.user must stay a OneToOneField to settings.AUTH_USER_MODEL, as in the template.",
            diagnosis="profile-model-changed",
        )
    # The table really exists and is usable.
    Profile._default_manager.count()
