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
    mail folder to its customer's address (read from the database), naming the order's id."""
    mailed = run.notes.get("mailed", [])
    if not mailed:
        return "the test noted no order whose e-mail it saw"
    address = {str(pk): (email or "").strip().lower() for pk, email in run.query(
        "SELECT {order}.{order.pk}, {user}.{user.email} FROM {order} JOIN {user} "
        "ON {user}.{user.pk} = {order}.{order.customer} WHERE {order}.{order.pk} IN {tracked.order}")}
    messages = run.mail.messages
    for pk in mailed:
        to = address.get(str(pk))
        if not to:
            return f"order {pk} or its customer's address is not in the database"
        mine = [m for m in messages if to in _recipients(m)]
        if len(mine) != 1:
            return f"the mail folder holds {len(mine)} e-mails to the customer of order {pk}, not 1"
        subject = str(mine[0].get("subject") or "")
        if not str(pk).isdigit() or int(pk) not in {int(n) for n in re.findall(r"\d+", subject)}:
            return f"the e-mail to the customer of order {pk} has the subject {subject!r}, without the id"
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
