"""resave-no-duplicate: saving an existing user again leaves one profile and raises nothing."""

import _grader_assignment as profiles
from django.utils import timezone

from _grader_harness import api


def _fresh_user(tag):
    User = api.user_model()
    user = profiles.create_tracked(
        tag, "User.objects.create_user(...)", lambda f: User._default_manager.create_user(password=api.PASSWORD, **f)
    )
    marked = profiles.mark_profile(user)
    user = User._default_manager.get(pk=user.pk)  # as a later request would load it
    user._grader_profile = marked
    return user


def _resave(user, how, **kwargs):
    with api.student_code(how, when="resave"):
        user.save(**kwargs)
    profiles.expect_one_profile(user, how, when="resave")
    profiles.expect_same_profile(user, user._grader_profile, how)


def test_save_again():
    user = _fresh_user("r1")
    _resave(user, "saving an existing user again (user.save())")
    User = api.user_model()
    reloaded = User._default_manager.get(pk=user.pk)
    reloaded._grader_profile = user._grader_profile
    _resave(reloaded, "saving a user loaded from the database (user.save())")


def test_save_again_with_update_fields():
    user = _fresh_user("r2")
    user.last_login = timezone.now()
    _resave(user, "user.save(update_fields=['last_login'])", update_fields=["last_login"])
    _resave(user, "user.save(update_fields=[])", update_fields=[])


def test_save_many_times():
    users = [_fresh_user(f"r3{i}") for i in range(3)]
    for round_ in range(5):
        for user in users:
            user.last_login = timezone.now()
            _resave(user, f"saving a user for the {round_ + 2}th time")
