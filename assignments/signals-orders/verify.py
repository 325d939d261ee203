"""signals-orders: what the grading database cannot say, read by the grader after the child
has exited. The e-mail is read from the mail folder the grader owns (Django's file backend
wrote it there), never from what the child reported."""

from __future__ import annotations

import re
from email.utils import getaddresses


def _recipients(message) -> list[str]:
    headers = [str(v) for name in ("to", "cc") for v in (message.get_all(name) or [])]
    return [address.strip().lower() for _, address in getaddresses(headers) if address]


def one_mail_per_order(run):
    """Every order the hidden test saw mailed ("mailed" notes) has exactly one e-mail in the
    mail folder to its customer's address (read from the database) naming the order's id in
    its subject. Other e-mails to the customer (a welcome on sign-up) are not this contract's."""
    mailed = run.notes.get("mailed", [])
    if not mailed:
        return "the test noted no order whose e-mail it saw"
    address = {
        str(pk): (email or "").strip().lower()
        for pk, email in run.query(
            "SELECT {order}.{order.pk}, {user}.{user.email} FROM {order} JOIN {user} "
            "ON {user}.{user.pk} = {order}.{order.customer} WHERE {order}.{order.pk} IN {tracked.order}"
        )
    }
    messages = run.mail.messages
    for pk in mailed:
        to = address.get(str(pk))
        if not to or not str(pk).isdigit():
            return f"order {pk} or its customer's address is not in the database"
        to_customer = [m for m in messages if to in _recipients(m)]
        naming = [
            m for m in to_customer if int(pk) in {int(n) for n in re.findall(r"\d+", str(m.get("subject") or ""))}
        ]
        if len(naming) != 1:
            subjects = ", ".join(repr(str(m.get("subject") or "")) for m in to_customer) or "none"
            return (
                f"the mail folder holds {len(naming)} e-mails to the customer of order {pk} naming "
                f"the order in the subject, not 1 (subjects of the e-mails to that customer: {subjects})"
            )
    return None


def sent_once_per_order(run):
    """The grader's own subscriber noted, when it heard order_placed (a note written in the
    database at that moment: a send inside a transaction that was rolled back leaves none),
    every order the test tracked, exactly once."""
    heard = run.notes.get("sent", [])
    for pk in run.tracked.get("order", []):
        times = heard.count(str(pk))
        if times != 1:
            return f"order_placed was heard {times} times for order {pk}, not once"
    return None
