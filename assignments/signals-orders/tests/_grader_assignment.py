"""signals-orders' own helpers for its hidden tests: the shop's models (roles "order",
"product", "line"), its custom signal ``shop.signals.order_placed``, and what the grader
watches while ``place_order`` runs (what its own subscriber hears, the sends, the signals
created, calls from the shop into its subscribers, errors send_robust() swallowed, the e-mail
handed to the mail backend). Imported by the hidden tests as ``_grader_assignment`` (the
core's helpers are ``_grader_harness.api``)."""

from __future__ import annotations

import ast
import contextlib
import importlib
import logging
import os
import re
import sys

import pytest

from _grader_harness import api
from _grader_harness.api import fail

SIGNAL = "shop.signals.order_placed"
START_STOCK = 100  # every product a hidden test makes starts with this stock ([evidence] sql)
SUBSCRIBERS = ("inventory", "notifications")
PUBLISHER = "shop"


# --------------------------------------------------------------------------- the project


def model(role: str):
    """The model of a role of the rubric's [models] (order, product, line)."""
    return api.role_model(
        role,
        missing="keep the models of the starter in shop/models.py and 'shop' in INSTALLED_APPS.",
        diagnosis="models-changed",
    )


def app_folder(label: str) -> str:
    """The app's folder, as an absolute path ending with a separator ('' when not installed)."""
    from django.apps import apps

    try:
        return os.path.join(apps.get_app_config(label).path, "")
    except LookupError:
        return ""


def _definition_line(module, attr: str) -> str:
    """file:line where `module` assigns or defines `attr` (read from its source)."""
    path = getattr(module, "__file__", None) or ""
    rel = api.relpath(path)
    if not rel:
        return ""
    try:
        tree = ast.parse(open(path, "rb").read())
    except (OSError, SyntaxError, ValueError):
        return rel
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [getattr(t, "id", "") for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            names = [getattr(node.target, "id", "")]
        if attr in names:
            return f"{rel}:{node.lineno}"
    return rel


def signal():
    """The project's order_placed: a django.dispatch.Signal defined at module level in
    shop/signals.py (else the test fails, naming the mistake)."""
    from django.dispatch import Signal

    module_name, _, attr = SIGNAL.rpartition(".")
    try:
        with api.student_code(f"importing {module_name}"):
            module = importlib.import_module(module_name)
    except pytest.fail.Exception:
        cause = api.failure_cause()
        if isinstance(cause, ModuleNotFoundError) and cause.name in (module_name, PUBLISHER):
            fail(
                f"there is no {module_name.replace('.', '/')}.py: create it and define the shop's "
                f"signal there, at module level: `{attr} = Signal()` (from django.dispatch import "
                "Signal).",
                diagnosis="signal-not-defined",
            )
        raise
    found = getattr(module, attr, None)
    if found is None:
        fail(
            f"{module_name.replace('.', '/')}.py defines no {attr}: define the shop's signal there, at "
            f"module level: `{attr} = Signal()` (from django.dispatch import Signal).",
            diagnosis="signal-not-defined",
        )
    if not isinstance(found, Signal):
        where = _definition_line(module, attr)
        kind = (
            "a function"
            if callable(found) and hasattr(found, "__code__")
            else "a class"
            if isinstance(found, type)
            else f"a {type(found).__name__}"
        )
        made = [c.call_site for c in api.run_state().created if c.call_site.startswith(f"{PUBLISHER}/")]
        extra = (
            f" Calling it creates a new Signal each time ({made[0]}): receivers connected to one "
            "of them never hear what is sent on another."
            if made and kind == "a function"
            else ""
        )
        fail(
            f"{SIGNAL} is {kind} ({where}), not a Signal. Subscribers connect to one object and the "
            f"shop sends that same object, so it must be a Signal made once, at module level: "
            f"`{attr} = Signal()` (from django.dispatch import Signal).{extra}",
            diagnosis="signal-not-a-signal",
            location=where,
        )
    return found


def place_order_function():
    """shop.services.place_order, as the starter has it."""
    try:
        with api.student_code("importing shop.services"):
            module = importlib.import_module("shop.services")
    except pytest.fail.Exception:
        cause = api.failure_cause()
        if isinstance(cause, ModuleNotFoundError) and cause.name in ("shop.services", PUBLISHER):
            fail(
                "there is no shop/services.py: keep the starter's place_order(customer, lines) there.",
                diagnosis="models-changed",
            )
        raise
    function = getattr(module, "place_order", None)
    if not callable(function):
        fail(
            "shop/services.py has no place_order(customer, lines): keep the starter's function and "
            "send the signal from it.",
            diagnosis="models-changed",
        )
    return function


def customer(tag: str):
    """A new customer (a user with an e-mail address of its own), tracked as "user"."""
    User = api.user_model()
    fields = api.fields_for(tag)
    email = f"{api.run_state().token}-{tag}@localhost"
    with api.student_code("creating a customer (User.objects.create_user)"):
        user = User._default_manager.create_user(**fields, password=api.PASSWORD)
        if getattr(user, "email", email) != email and hasattr(user, "email"):
            User._default_manager.filter(pk=user.pk).update(email=email)
            user.refresh_from_db()
    api.track(user, "user")
    return user


def products(tag: str, *names: str) -> list:
    """New products with START_STOCK each, tracked as "product"."""
    Product = model("product")
    made = []
    for name in names:
        with api.student_code("Product.objects.create(...)"):
            product = Product._default_manager.create(name=f"{name} {api.run_state().token}-{tag}", stock=START_STOCK)
        api.track(product, "product")
        made.append(product)
    return made


def describe_lines(lines) -> str:
    return "[" + ", ".join(f"({p.name.split()[0]}, {q})" for p, q in lines) + "]"


# --------------------------------------------------------------------------- watching place_order


class SubscriberFailed(Exception):
    """What the grader's failing subscriber raises."""


class _Witness:
    """The grader's own subscriber: what it heard, and whether a transaction was open."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, sender, **kwargs):
        from django.db import connection, transaction

        caller = sys._getframe(1).f_code.co_filename.replace("\\", "/")
        if "/django/dispatch/" not in caller and "/asgiref/" not in caller:
            return  # only what the signal delivers counts (sync or async), never a call of the project's own
        order = kwargs.get("order")
        self.calls.append(
            {
                "sender": sender,
                "keywords": sorted(k for k in kwargs if k != "signal"),
                "order": order,
                "in_atomic": connection.in_atomic_block,
            }
        )
        pk = getattr(order, "pk", None)
        if pk is not None:
            # noted once the send is final: heard inside a transaction, when (and if) it commits;
            # a rolled back send leaves no note
            transaction.on_commit(lambda: api.note("sent", pk))


class _Errors(logging.Handler):
    """Exceptions that send_robust() swallowed (Django logs them on "django.dispatch")."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.found: list[BaseException] = []

    def emit(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and not isinstance(exc, SubscriberFailed):
            self.found.append(exc)


class Watch:
    """What happened while the project's code ran under `watch()`."""

    def __init__(self):
        self.witness = _Witness()
        self.sends: list = []  # api.Send of the project's code
        self.created: list = []  # api.Created: signals the project made meanwhile
        self.subscriber_calls: list[tuple[str, str]] = []  # (shop file:line, subscriber function)
        self.swallowed: list[BaseException] = []
        self.mails: list = []  # EmailMessage objects handed to the mail backend

    @property
    def calls(self) -> list[dict]:
        return self.witness.calls


def _subscriber_profiler(found: list):
    shop = app_folder(PUBLISHER)
    subs = [f for f in (app_folder(label) for label in SUBSCRIBERS) if f]

    def profile(frame, event, arg):
        if event != "call" or len(found) >= 20:
            return
        callee = frame.f_code.co_filename
        if not any(callee.startswith(f) for f in subs):
            return
        caller = frame.f_back
        if caller is not None and shop and caller.f_code.co_filename.startswith(shop):
            where = f"{api.relpath(caller.f_code.co_filename)}:{caller.f_lineno}"
            name = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}"
            found.append((where, name))

    return profile


@contextlib.contextmanager
def watch(sig=None, mail: bool = True):
    """Watch the project while the block runs: the grader's subscriber listens to `sig`
    (connected last, for every sender), and everything Watch holds is recorded."""
    from django.core.mail.backends import filebased

    seen = Watch()
    sends_from, created_from = len(api.run_state().sends), len(api.run_state().created)
    dispatch_log = logging.getLogger("django.dispatch")
    handler, propagate = _Errors(), dispatch_log.propagate
    backend = filebased.EmailBackend
    own, original = "send_messages" in vars(backend), backend.send_messages
    previous = sys.getprofile()

    def send_messages(self, messages):
        seen.mails.extend(list(messages or []))
        return original(self, messages)

    with contextlib.ExitStack() as undo:
        if sig is not None:
            sig.connect(seen.witness, weak=False, dispatch_uid="_grader_witness")
            undo.callback(sig.disconnect, dispatch_uid="_grader_witness")
        dispatch_log.addHandler(handler)
        dispatch_log.propagate = False  # the grader reports these itself, without hidden-test frames
        undo.callback(setattr, dispatch_log, "propagate", propagate)
        undo.callback(dispatch_log.removeHandler, handler)
        if mail:
            backend.send_messages = send_messages
            if own:
                undo.callback(setattr, backend, "send_messages", original)
            else:  # inherited: remove the wrapper again
                undo.callback(delattr, backend, "send_messages")
        sys.setprofile(_subscriber_profiler(seen.subscriber_calls))
        undo.callback(sys.setprofile, previous)
        try:
            yield seen
        finally:
            sys.setprofile(previous)
            seen.sends = [s for s in api.run_state().sends[sends_from:] if s.call_site]
            seen.created = api.run_state().created[created_from:]
            seen.swallowed = handler.found


@contextlib.contextmanager
def failing_subscriber_first(sig):
    """A subscriber of the grader's that raises, run before every other receiver: connected,
    then moved to the front of the signal's receivers (Django calls them in that order)."""
    calls = []

    def fails(sender, **kwargs):
        calls.append(sender)
        raise SubscriberFailed("a subscriber failed (the grader's, on purpose)")

    sig.connect(fails, weak=False, dispatch_uid="_grader_failing_subscriber")
    with sig.lock:
        entry = sig.receivers.pop()
        sig.receivers.insert(0, entry)
        sig.sender_receivers_cache.clear()
    try:
        yield calls
    finally:
        sig.disconnect(dispatch_uid="_grader_failing_subscriber")


def place(place_order, customer, lines, how: str):
    """Run the student's place_order; an exception becomes feedback."""
    with api.student_code(how):
        order = place_order(customer, lines)
    Order = model("order")
    if not isinstance(order, Order) or order.pk is None:
        fail(
            f"{how} returned {order!r}, not the saved Order: keep `return order` at the end of place_order.",
            diagnosis="models-changed",
        )
    return order


# --------------------------------------------------------------------------- the signal is sent


def send_sites(sends, sig) -> str:
    sites = sorted({s.call_site for s in sends if s.signal is sig and s.call_site})
    return ", ".join(sites)


def explain_silence(seen: Watch, sig, how: str) -> None:
    """place_order sent nothing the grader's subscriber heard: say why."""
    made = [c for c in seen.created if c.call_site]
    sent_on_new = [s for s in seen.sends if any(s.signal is c.signal for c in made)]
    if made:
        where = (sent_on_new or made)[0].call_site
        fail(
            f"{how} creates a new Signal while it runs ({made[0].call_site}) and sends that one "
            f"({where}). Nobody is connected to a Signal made a moment ago: the subscribers "
            f"connected to {SIGNAL} when they started. Make the signal once, at module level in "
            "shop/signals.py, and send that object: `from .signals import order_placed`.",
            diagnosis="signal-created-per-call",
            location=made[0].call_site,
        )
    if seen.subscriber_calls:
        where, name = seen.subscriber_calls[0]
        fail(
            f"{how} sent no order_placed signal; the shop calls its subscribers directly instead "
            f"({name}, called at {where}). That is what the signal is for: the shop sends "
            "order_placed and knows nothing of who listens. Send the signal from place_order and "
            "let inventory and notifications connect receivers to it.",
            diagnosis="shop-calls-subscribers",
            location=where,
        )
    custom = {id(c.signal) for c in api.run_state().created}
    other = [s for s in seen.sends if s.signal is not sig and id(s.signal) in custom]
    if other:
        name = api.signal_name(other[0].signal) or "another signal"
        fail(
            f"{how} sent {name} ({other[0].call_site}), not {SIGNAL}: send the module-level "
            "order_placed of shop/signals.py.",
            diagnosis="not-sent",
            location=other[0].call_site,
        )
    fail(
        f"{how} returned without sending {SIGNAL}. Send it from place_order, once the order is "
        "committed: `transaction.on_commit(lambda: order_placed.send_robust(sender=Order, "
        "order=order))`.",
        diagnosis="not-sent",
    )


def expect_sent_once(seen: Watch, sig, order, how: str, heard=None, committed: bool = True) -> None:
    """The grader's subscriber heard order_placed exactly once for `order`, with sender=Order
    and order=<the order>, with no transaction open."""
    Order = model("order")
    calls = seen.calls if heard is None else heard
    if not calls:
        explain_silence(seen, sig, how)
    sites = send_sites(seen.sends, sig)
    at = f" ({sites})" if sites else ""
    location = sites.split(", ")[0] if sites else ""
    if len(calls) > 1:
        inside = sum(1 for c in calls if c["in_atomic"])
        why = f" ({inside} of them while a transaction was still open)" if inside else ""
        fail(
            f"{how} sent order_placed {len(calls)} times for one order{why}{at}. Subscribers act "
            "on every send: the stock would be lowered, and the customer e-mailed, more than once. "
            "Send it exactly once per order (not once per line, not both directly and from "
            "on_commit).",
            diagnosis="sent-twice",
            location=location,
        )
    call = calls[0]
    if call["sender"] is not Order:
        fail(
            f"{how} sent order_placed with sender={call['sender']!r}{at}, not sender=Order. "
            "Receivers connected with sender=Order hear only sends whose sender is the Order "
            "class itself (not an order, not a string): `order_placed.send_robust(sender=Order, "
            "order=order)`.",
            diagnosis="sent-with-wrong-sender",
            location=location,
        )
    sent = call["order"]
    if "order" not in call["keywords"] or getattr(sent, "pk", None) != order.pk:
        what = (
            f"the keyword arguments {', '.join(call['keywords'])}"
            if call["keywords"]
            else "no keyword argument besides the sender"
        )
        fail(
            f"{how} sent order_placed with {what}{at}; the subscribers expect the order as "
            "the keyword argument `order`: `order_placed.send_robust(sender=Order, order=order)`.",
            diagnosis="order-not-passed",
            location=location,
        )
    if committed and call["in_atomic"]:
        fail(
            f"{how} sent order_placed while a transaction was still open{at}. If that transaction "
            "is rolled back, the subscribers have lowered stock and e-mailed a customer about an "
            "order that does not exist. Send it only once the outermost transaction commits: "
            "`transaction.on_commit(lambda: order_placed.send_robust(sender=Order, order=order))`.",
            diagnosis="sent-before-commit",
            location=location,
        )


def lines_of(order) -> list[tuple[int, int]]:
    """(product pk, quantity) of every line of the order, read from the database."""
    Line = model("line")
    return list(Line._default_manager.filter(order_id=order.pk).values_list("product_id", "quantity"))


def expect_saved(order, lines, how: str) -> None:
    saved = sorted(lines_of(order))
    want = sorted((p.pk, q) for p, q in lines)
    if saved != want:
        fail(
            f"after {how} the order's lines in the database are {saved}, not {want}: keep the "
            "starter's saving of the order and its lines in place_order.",
            diagnosis="models-changed",
        )


# --------------------------------------------------------------------------- the subscribers


def _student_receivers(sig, label: str) -> list:
    Order = model("order")
    folder = f"{label}/"
    try:
        live = api.live_receivers(sig, Order)
    except Exception:
        return []
    return [r for r in live if api.where_defined(r).startswith(folder)]


def swallowed_error(seen: Watch, label: str, what: str) -> None:
    """A receiver of the app `label` raised inside send_robust(): say so, with its line."""
    folder = f"{label}/"
    for exc in seen.swallowed:
        frames = api.student_frames(exc)
        named = api.receiver_named_in(str(exc)) if isinstance(exc, TypeError) else ""
        if not (any(f.startswith(folder) for f in frames) or named.startswith(folder)):
            continue
        info = api.describe(exc)
        diagnosis, advice = api.explain(exc, "")
        if diagnosis == "receiver-kwargs" and not info["location"]:
            info["location"] = named
        where = f" ({info['location']})" if info["location"] else ""
        fail(
            f"{what}: your receiver in {folder} raised {info['message']}{where}; send_robust() kept it "
            f"from stopping the order, so nothing else showed it. {advice}",
            diagnosis=diagnosis,
            location=info["location"],
            traceback=info["traceback"],
        )


def why_no_effect(seen: Watch, sig, label: str, what: str, diagnosis: str) -> None:
    """The subscriber `label` did nothing: the send, its receiver, or its error."""
    swallowed_error(seen, label, what)
    folder = f"{label}/"
    if not seen.calls:
        fail(
            f"{what}: order_placed was never sent, so no subscriber heard of the order (see the "
            "check that order_placed is sent).",
            diagnosis=diagnosis,
        )
    if not _student_receivers(sig, label):
        fail(
            f"{what}: no receiver of {folder} is connected to order_placed for sender Order (see "
            f"the check that the {label} receiver is connected in ready()).",
            diagnosis=diagnosis,
        )
    fail(f"{what}, although your {folder} receiver ran.", diagnosis=diagnosis)


def expect_stock(seen: Watch, sig, want: dict, how: str, rival: dict | None = None) -> None:
    """Each product's stock, read back from the database by the grader's own connection (a stock
    faked in memory, or put right only at the end of the run, is not there), is `want[product]`."""
    wrong = []
    for product, stock in want.items():
        product.stock = api.stored_value(product, "stock")
        if product.stock != stock:
            wrong.append((product, stock))
    if not wrong:
        return
    product, stock = wrong[0]
    name = product.name.split()[0]
    lost = product.stock - stock
    if rival and rival.get("done") and 0 < lost <= rival["quantity"]:
        where = rival.get("where", "")
        fail(
            f"another customer ordered {rival['quantity']} of each product while your receiver was "
            f"lowering the stock: the grader placed that order just before your receiver wrote the "
            f"stock{f' ({where})' if where else ''}, as a second server would. Your receiver wrote "
            f"back a stock it had read before, so {lost} unit(s) of that order were lost: the "
            f"{name}'s stock is {product.stock}, not {stock}. Lower the stock in the database "
            "itself, in one UPDATE: `Product.objects.filter(pk=line.product_id).update("
            'stock=F("stock") - line.quantity)`.',
            diagnosis="stock-lost-update",
            location=where,
        )
    unchanged = all(p.stock == START_STOCK for p, _ in wrong)
    what = (
        f"after {how} the {name}'s stock is {product.stock}, not {stock}"
        if not unchanged
        else f"after {how} the stock did not change (the {name}'s is still {START_STOCK}, not {stock})"
    )
    if unchanged:
        why_no_effect(seen, sig, "inventory", what, "stock-not-lowered")
    swallowed_error(seen, "inventory", what)
    fail(
        f"{what}. The inventory receiver must lower each product's stock by the quantity of its "
        'line, once per order: `update(stock=F("stock") - line.quantity)` for every line of '
        "`order.lines.all()`.",
        diagnosis="stock-wrong",
    )


RENAMED = " (renamed)"


def expect_names_kept(products: list, rival: dict, how: str) -> None:
    """The rename made with the other customer's order (rival_order) is still there: the
    inventory receiver wrote only the stock."""
    for product in products:
        name = api.stored_value(product, "name")
        if name is None or str(name).endswith(RENAMED):
            continue
        where = rival.get("where", "")
        short = product.name.split()[0]
        fail(
            f"after {how}, the stock is right, but another change to the {short} was lost: while your "
            f"receiver was lowering the stock, the shop's staff renamed the product (an UPDATE of its "
            f"own, made just before your receiver wrote the row{f', {where}' if where else ''}), and your "
            f'receiver wrote the old name back (its name is {name!r}). `product.stock = F("stock") - '
            "line.quantity; product.save()` lowers the stock in SQL, but save() writes every field of "
            'the product as it was read. Write only the stock: `product.save(update_fields=["stock"])`, '
            'or `Product.objects.filter(pk=line.product_id).update(stock=F("stock") - line.quantity)`.',
            diagnosis="stale-fields-saved",
            location=where,
        )


@contextlib.contextmanager
def rival_order(products: list, quantity: int, rival_customer):
    """Another customer's order of `quantity` of each product, placed by the grader (as another
    server would) just before the project's first write to the product table while the block
    runs; its stock is lowered in one UPDATE with F(). When the project locked the product rows
    first (select_for_update() inside a transaction), the other server waits for that lock, as
    it would on PostgreSQL or MySQL: its order comes in once the transaction commits (SQLite,
    the grading database, ignores FOR UPDATE, so the grader plays the lock itself)."""
    from django.db import connection, transaction
    from django.db.models import F, QuerySet, Value
    from django.db.models.functions import Concat

    Product, Order, Line = model("product"), model("order"), model("line")
    # the project's UPDATE of the product table, however it is written (ORM, raw SQL)
    update = re.compile(rf"\s*UPDATE\s+[\"`\[]?{re.escape(Product._meta.db_table)}[\"`\]]?\s", re.I)
    state = {"done": False, "busy": False, "locked": False, "where": "", "quantity": quantity, "order": None}

    def place_rival():
        state["busy"] = True
        try:
            order = Order._default_manager.create(customer=rival_customer)
            Line._default_manager.bulk_create([Line(order=order, product=p, quantity=quantity) for p in products])
            Product._default_manager.filter(pk__in=[p.pk for p in products]).update(stock=F("stock") - quantity)
            # ... and meanwhile the shop's staff rename the products (another field of the rows
            # the receiver writes): a receiver that saves the whole product writes the old names back
            Product._default_manager.filter(pk__in=[p.pk for p in products]).update(
                name=Concat(F("name"), Value(RENAMED))
            )
            state["order"] = order
        finally:
            state["busy"] = False

    def wrapper(execute, sql, params, many, context):
        if not state["done"] and not state["busy"] and isinstance(sql, str) and update.match(sql):
            state["done"], state["where"] = True, api.student_line(sys._getframe(1))
            if state["locked"] and connection.in_atomic_block:
                transaction.on_commit(place_rival)  # blocked by the row lock until the commit
            else:
                place_rival()
        return execute(sql, params, many, context)

    original = QuerySet.select_for_update

    def select_for_update(self, *args, **kwargs):
        if issubclass(self.model, Product) and connection.in_atomic_block:
            state["locked"] = True
        return original(self, *args, **kwargs)

    QuerySet.select_for_update = select_for_update
    try:
        with connection.execute_wrapper(wrapper):
            yield state
    finally:
        QuerySet.select_for_update = original


def recipients(message) -> list[str]:
    return [str(a).strip().lower() for a in [*(message.to or []), *(getattr(message, "cc", None) or [])]]


def _has_id(subject: str, pk) -> bool:
    """The subject holds the id as a number ("Order #42", "order 0042"; not "Order 142")."""
    return str(pk).isdigit() and int(pk) in {int(n) for n in re.findall(r"\d+", subject or "")}


def expect_one_mail(seen: Watch, sig, order, customer, how: str) -> None:
    """Exactly one e-mail to the customer's address, whose subject holds the order's id."""
    address = customer.email.lower()
    mine = [m for m in seen.mails if address in recipients(m)]
    what = f"after {how} no e-mail was sent to the customer ({customer.email})"
    if not mine:
        others = [m for m in seen.mails]
        if others:
            to = ", ".join(recipients(others[0])) or "nobody in To"
            fail(
                f"{how}: an e-mail was sent, but to {to}, not to the customer. Send it to `[order.customer.email]`.",
                diagnosis="mail-not-to-customer",
            )
        why_no_effect(seen, sig, "notifications", what, "no-mail")
    if len(mine) > 1:
        subjects = "; ".join(repr(str(m.subject)) for m in mine[:3])
        fail(
            f"{how}: the customer got {len(mine)} e-mails about one order ({subjects}); send exactly "
            "one per order (one receiver, connected once, and order_placed sent once).",
            diagnosis="several-mails",
        )
    subject = str(mine[0].subject or "")
    if not _has_id(subject, order.pk):
        fail(
            f"{how}: the customer's e-mail has the subject {subject!r}, which does not name the "
            f'order\'s id ({order.pk}). Put the id in the subject: f"Your order #{{order.pk}}".',
            diagnosis="subject-without-order-id",
        )
    api.note("mailed", order.pk)


# --------------------------------------------------------------------------- the shop knows no subscriber


def _imports_in(path: str, names: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, what) of every import of a module of `names` in a Python file: import and
    from-import statements, and import_module()/__import__()/import_string() of such a name."""
    try:
        tree = ast.parse(open(path, "rb").read())
    except (OSError, SyntaxError, ValueError):
        return []

    def ours(name: str) -> bool:
        return any(name == n or name.startswith(n + ".") for n in names)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if ours(a.name)]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module and ours(node.module):
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args:
            func = getattr(node.func, "attr", getattr(node.func, "id", ""))
            arg = node.args[0]
            if (
                func in ("import_module", "__import__", "import_string")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and ours(arg.value)
            ):
                found.append((node.lineno, f"{func}({arg.value!r})"))
    return found


def shop_imports() -> list[str]:
    """'file:line (what)' of every place the shop app's code imports a subscriber app."""
    from django.apps import apps

    names = tuple(apps.get_app_config(label).name for label in SUBSCRIBERS if app_folder(label))
    shop = app_folder(PUBLISHER)
    found = []
    for dirpath, dirnames, filenames in os.walk(shop):
        dirnames[:] = sorted(d for d in dirnames if d not in ("migrations", "__pycache__", "tests"))
        for name in sorted(filenames):
            if name.endswith(".py") and not (name == "tests.py" or name.startswith("test_")):
                path = os.path.join(dirpath, name)
                found += [f"{api.relpath(path)}:{line} ({what})" for line, what in _imports_in(path, names)]
    # what the shop's modules hold at run time (an import made some other way)
    subs = [f for f in (app_folder(label) for label in SUBSCRIBERS) if f]
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if not file.startswith(shop) or "/migrations/" in file:
            continue
        for attr, value in list(vars(module).items()):
            held = getattr(value, "__file__", None) or getattr(getattr(value, "__code__", None), "co_filename", "")
            if isinstance(held, str) and any(held.startswith(f) for f in subs):
                found.append(f"{api.relpath(file)} ({attr} is {getattr(value, '__name__', attr)} of a subscriber app)")
    return found


def expect_heard(seen: Watch, sig, how: str) -> None:
    """The grader's subscriber heard order_placed at least once while `how` ran."""
    if not seen.calls:
        explain_silence(seen, sig, how)


def expect_decoupled(seen: Watch) -> None:
    if seen.subscriber_calls:
        where, name = seen.subscriber_calls[0]
        fail(
            f"the shop calls a subscriber directly: {name} is called at {where}. The publisher must "
            "not know its subscribers: it sends order_placed, and inventory and notifications "
            "connect their receivers to it in their own ready(). Remove the call (and the import).",
            diagnosis="shop-calls-subscribers",
            location=where,
        )
    found = shop_imports()
    if found:
        where = found[0].split(" ")[0]
        fail(
            f"the shop imports a subscriber app: {found[0]}. The publisher must not know its "
            "subscribers (a new subscriber must not need a change in the shop): the shop only "
            "sends order_placed; inventory and notifications import shop.signals and connect their "
            "receivers in their own AppConfig.ready().",
            diagnosis="shop-imports-subscribers",
            location=where,
        )


def registration_problem(label: str):
    """api.registration_problem for the subscriber app `label`, judged on the connections of
    that app's own receivers (defined in its folder, or connected in its ready()): with two
    subscribers of one signal, the other app's receiver must not make this one look connected
    in the wrong app's ready()."""
    folder = f"{label}/"
    everything = list(api.run_state().connects)
    api.run_state().connects[:] = [
        c for c in everything if not c.student or c.app_label == label or c.receiver_where.startswith(folder)
    ]
    try:
        return api.registration_problem(advice=REGISTRATION_ADVICE)
    finally:
        api.run_state().connects[:] = everything


# The core's words for a receiver without **kwargs name post_save's arguments: this signal's.
ADVICE = {
    "receiver-kwargs": (
        "Django calls every receiver with keyword arguments: signal=..., and whatever the sender "
        "passes (here order=...); Django may add more. Give your receiver a **kwargs parameter: "
        "`def lower_stock(sender, order, **kwargs):`."
    )
}

# Words for what the registration check finds (api.registration_problem's advice).
REGISTRATION_ADVICE = {
    "wrong-app-ready": "Each subscriber connects its own receivers, in its own AppConfig.ready(): the "
    "shop's ready() must not know the subscribers.",
    "connected-outside-ready": "Orders placed before that are not seen by the subscriber.",
    "wrong-sender": "The shop sends order_placed with sender=Order.",
}
