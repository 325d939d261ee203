"""The rubric's roles ([models]: "post" -> "blog.Post") as the project's model classes."""

from __future__ import annotations

from _grader_harness import state


def role_model(role: str):
    """The model class of `role`: "user" is the user model in use, any other role the model
    the rubric's [models] names. Raises what Django raises for a model the project does not
    have (LookupError, ValueError), KeyError for a role the rubric does not name."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    return get_user_model() if role == "user" else apps.get_model(state.current().models[role])
