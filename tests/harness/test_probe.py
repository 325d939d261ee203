"""The signal probe on its own: a small Django project in a subprocess (no sandbox), with the
probe installed before django.setup() as the child does. It must record, for any signal,
connections (dispatch_uid, weak), disconnections, custom signals created (module and name)
and sends (method, sender, keyword names, transaction depth, the student's line)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from conftest import ROOT

SCRIPT = r"""
import asyncio, json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from _grader_harness import probe, state
run = state.start(submission=sys.argv[2])
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "shop"],
                   DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
                   DEFAULT_AUTO_FIELD="django.db.models.AutoField")
probe.install()
django.setup()
from shop import events
events.run()
asyncio.run(events.arun())
out = {
    "created": [[c.name, c.call_site] for c in run.created],
    "connects": [[probe.signal_name(c.signal), c.receiver_name, str(c.dispatch_uid), c.weak, c.phase]
                 for c in run.connects if c.student],
    "disconnects": [[probe.signal_name(d.signal), d.receiver_name, str(d.dispatch_uid), d.call_site, d.removed]
                    for d in run.disconnects],
    "sends": [[probe.signal_name(s.signal), s.method, getattr(s.sender, "__name__", str(s.sender)),
               list(s.keywords), s.atomic_depth, s.call_site] for s in run.sends if s.call_site],
}
print(json.dumps(out))
"""

EVENTS = """
from django.db import transaction
from django.dispatch import Signal, receiver

order_placed = Signal()


def on_order(sender, **kwargs):
    return "ok"


@receiver(order_placed, dispatch_uid="audit")
def audit(sender, **kwargs):
    return "audited"


class Shop:
    pass


def run():
    order_placed.connect(on_order, weak=False)
    order_placed.send(sender=Shop, order=1, total=5)
    with transaction.atomic():
        order_placed.send_robust(sender=Shop, order=2)
    order_placed.disconnect(dispatch_uid="audit")
    order_placed.disconnect(on_order)


async def arun():
    if hasattr(order_placed, "asend"):
        await order_placed.asend(sender=Shop, order=3)
"""


def test_the_probe_records_creation_connections_disconnections_and_sends(tmp_path):
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "events.py").write_text(textwrap.dedent(EVENTS).lstrip())
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "grader" / "harness"), str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts["created"] == [["shop.events.order_placed", "shop/events.py:4"]]
    assert ["shop.events.order_placed", "audit", "audit", True, "other"] in facts["connects"]
    assert ["shop.events.order_placed", "on_order", "None", False, "other"] in facts["connects"]
    assert facts["disconnects"] == [
        ["shop.events.order_placed", "", "audit", "shop/events.py:25", True],
        ["shop.events.order_placed", "on_order", "None", "shop/events.py:26", True],
    ]
    sends = [s for s in facts["sends"] if s[0] == "shop.events.order_placed"]  # not connection_created
    assert sends[0] == ["shop.events.order_placed", "send", "Shop", ["order", "total"], 0, "shop/events.py:22"]
    assert sends[1][:4] == ["shop.events.order_placed", "send_robust", "Shop", ["order"]]
    assert sends[1][4] == 1 and sends[1][5] == "shop/events.py:24"  # inside transaction.atomic()
    import django

    if django.VERSION >= (5, 0):
        assert sends[2][:2] == ["shop.events.order_placed", "asend"] and sends[2][5] == "shop/events.py:31"
