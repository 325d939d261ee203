"""inventory-registered, notifications-registered: each subscriber app connects a live
receiver of shop.signals.order_placed (for sender Order) while its own AppConfig.ready()
runs: not while models.py is imported, not in another app's ready()."""

import _grader_assignment as orders

from _grader_harness import api


def _registered(label: str):
    orders.signal()  # a Signal at module level, else that mistake is named first
    problem = orders.registration_problem(label)
    if problem:
        diagnosis, message, location = problem
        api.fail(message, diagnosis=diagnosis, location=location)


def test_inventory_receiver_in_ready():
    _registered("inventory")


def test_notifications_receiver_in_ready():
    _registered("notifications")
