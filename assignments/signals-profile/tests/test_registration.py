"""receiver-registered-in-ready: a live post_save receiver for the user model was
connected while the users app's AppConfig.ready() ran."""
from django.db.models import signals as model_signals
from django.dispatch.dispatcher import _make_id

from _grader_harness import probe, support


def _signal_name(signal) -> str:
    for module_name, module in (("django.db.models.signals", model_signals),):
        for name, value in vars(module).items():
            if value is signal:
                return name
    try:
        from django.contrib.auth import signals as auth_signals
        for name, value in vars(auth_signals).items():
            if value is signal:
                return name
    except Exception:
        pass
    return "a custom signal"


def test_receiver_registered_in_ready():
    Profile = support.profile_model()
    User = support.user_model()
    app_label = Profile._meta.app_label
    live = {_make_id(r) for r in probe.live_receivers(model_signals.post_save, User)}
    ours = [c for c in probe.CONNECTS if c.student]
    post_save = [c for c in ours if c.signal is model_signals.post_save]
    for_user = [c for c in post_save if c.sender in (User, None)]
    good = [c for c in for_user if c.phase == "ready" and c.app_label == app_label
            and c.receiver_key in live]
    if good:
        return

    def at(c):
        return f"{c.receiver_name} ({c.receiver_where or c.call_site})"

    in_models = [c for c in for_user if c.phase == "models"]
    if in_models:
        c = in_models[0]
        support.fail(
            f"your receiver {at(c)} is connected while models.py is imported "
            f"(connected from {c.call_site or 'an import in models.py'}), not in "
            "AppConfig.ready(). Remove that import from models.py and import your receiver "
            "module inside UsersConfig.ready().",
            diagnosis="connected-in-models", location=c.call_site)
    dead = [c for c in for_user if c.receiver_key not in live]
    if dead:
        c = dead[0]
        support.fail(
            f"your receiver {at(c)} was connected but was gone before the first user was "
            "saved: Django keeps only a weak reference to receivers, so a function defined "
            "inside ready() (or a lambda) is garbage-collected. Define the receiver at module "
            "level in users/signals.py, or connect it with weak=False.",
            diagnosis="receiver-garbage-collected", location=c.call_site)
    elsewhere = [c for c in for_user if c.phase == "ready" and c.app_label != app_label]
    if elsewhere:
        c = elsewhere[0]
        support.fail(
            f"your receiver {at(c)} is connected in the ready() of {c.app_class}, not in the "
            f"ready() of the '{app_label}' app. Connect it in users/apps.py.",
            diagnosis="wrong-app-ready", location=c.call_site)
    if for_user:
        c = for_user[0]
        support.fail(
            f"your receiver {at(c)} is connected outside AppConfig.ready() "
            f"(from {c.call_site or 'an import'}). Import the receiver module in "
            "UsersConfig.ready().", diagnosis="connected-outside-ready", location=c.call_site)
    other_sender = [c for c in post_save if c.sender not in (User, None)]
    if other_sender:
        c = other_sender[0]
        sender = getattr(c.sender, "__name__", str(c.sender))
        support.fail(
            f"your post_save receiver {at(c)} listens to {sender}, not to the user model "
            f"({User._meta.label}). Use sender=settings.AUTH_USER_MODEL or get_user_model().",
            diagnosis="wrong-sender", location=c.call_site)
    other_signal = [c for c in ours if c.signal is not model_signals.post_save]
    if other_signal:
        c = other_signal[0]
        support.fail(
            f"your receiver {at(c)} is connected to {_signal_name(c.signal)}, not to "
            "post_save. A profile must be created after a new user is saved: use post_save "
            "and its `created` argument.", diagnosis="wrong-signal", location=c.call_site)
    support.fail(
        "no post_save receiver for the user model is connected when the app starts. Write the "
        "receiver in users/signals.py and import that module in UsersConfig.ready() "
        "(users/apps.py). Check that Django loads that AppConfig: 'users' (or "
        "'users.apps.UsersConfig') must be in INSTALLED_APPS.", diagnosis="receiver-not-connected")
