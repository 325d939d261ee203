"""profile-created-once: every way of creating a user leaves exactly one profile."""

import _grader_assignment as profiles
import pytest

from _grader_harness import api


def test_create_user():
    User = api.user_model()
    profiles.create_tracked(
        "cu", "User.objects.create_user(...)", lambda f: User._default_manager.create_user(password=api.PASSWORD, **f)
    )


def test_create_superuser():
    User = api.user_model()
    profiles.create_tracked(
        "cs",
        "User.objects.create_superuser(...)",
        lambda f: User._default_manager.create_superuser(password=api.PASSWORD, **f),
    )


def test_objects_create():
    User = api.user_model()
    profiles.create_tracked("oc", "User.objects.create(...)", lambda f: User._default_manager.create(**f))


def test_instance_save():
    User = api.user_model()

    def make(fields):
        user = User(**fields)
        user.set_password(api.PASSWORD)
        user.save()
        return user

    profiles.create_tracked("is", "User(...).save()", make)


def test_createsuperuser_command():
    from django.core.management import call_command

    User = api.user_model()

    def make(fields):
        call_command("createsuperuser", interactive=False, verbosity=0, **fields)
        key = User.USERNAME_FIELD
        return User._default_manager.get(**{key: fields[key]})

    profiles.create_tracked("cc", "the createsuperuser command", make, as_text=True)


def _log_in_without_saving(client, user):
    """Like client.force_login(), without the user_logged_in signal: logging in saves the
    user (last_login), which would test re-saving here instead of the add form."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = client.session
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def test_admin_add_form():
    from django.apps import apps
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    User = api.user_model()
    if not apps.is_installed("django.contrib.admin"):
        api.skip("django.contrib.admin is not in INSTALLED_APPS")
    try:
        url = reverse(f"admin:{User._meta.app_label}_{User._meta.model_name}_add")
    except NoReverseMatch:
        api.skip("your user model has no add page in the admin")
    admin = profiles.create_tracked(
        "aa",
        "User.objects.create_superuser(...)",
        lambda f: User._default_manager.create_superuser(password=api.PASSWORD, **f),
    )
    client = Client()
    _log_in_without_saving(client, admin)
    fields = api.fields_for("af", as_text=True)
    how = "adding a user with the admin's add-user form"
    with api.student_code(f"opening the admin's add-user page ({url})"):
        page = client.get(url, secure=True)  # secure: also behind SECURE_SSL_REDIRECT
    if page.status_code != 200:
        api.fail(f"the admin's add-user page ({url}) answered HTTP {page.status_code}.", diagnosis="admin-form")
    # Post what a browser posts: every field as the page shows it (inlines such as the
    # Django docs' ProfileInline and their management forms included), with the new
    # user's name and password filled in.
    form, controls = api.browser_form(page.content.decode(page.charset or "utf-8"), f"{User._meta.model_name}_form")
    form.update({k: [str(v)] for k, v in fields.items()})
    form.update({"password1": [api.PASSWORD], "password2": [api.PASSWORD], "_save": ["Save"]})
    if "usable_password" in controls:
        form["usable_password"] = ["true"]
    form.pop("csrfmiddlewaretoken", None)  # the test client does not check CSRF
    try:
        with api.student_code(how):
            response = client.post(url, form, secure=True)
    except pytest.fail.Exception:
        cause = api.failure_cause()
        if (
            User is not apps.get_model("auth", "User")
            and type(cause).__name__ == "IntegrityError"
            and not api.in_receiver(cause)
            and User._meta.db_table in str(cause)
        ):
            api.skip(
                "the admin's add-user form of your custom user model cannot create a user "
                f"({api.one_line(cause, 200)}): it does not ask for every required "
                "field, so this way of creating users was not checked"
            )
        raise
    key = User.USERNAME_FIELD
    user = User._default_manager.filter(**{key: fields[key]}).first()
    if user is None:
        if User is not apps.get_model("auth", "User"):
            api.skip("the admin's add form of your custom user model needs other fields")
        errors = api.form_errors(response.content.decode(response.charset or "utf-8"))
        api.fail(
            f"the admin's add-user form did not create the user (HTTP {response.status_code})"
            + (f"; the page says: {errors}" if errors else "")
            + ".",
            diagnosis="admin-form",
        )
    api.track(user)
    profiles.expect_one_profile(user, how)
