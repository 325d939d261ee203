"""project-loads: Django starts with the student's settings, the migrations create the shop's
models as models.py describes them, and the models keep the contract's fields."""

import _grader_assignment as orders

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    Product, Order, Line = orders.model("product"), orders.model("order"), orders.model("line")
    User = api.user_model()
    expected = [
        (Product, "stock", lambda f: not f.is_relation),
        (Order, "customer", lambda f: f.many_to_one and f.related_model is User),
        (Line, "order", lambda f: f.many_to_one and f.related_model is Order),
        (Line, "product", lambda f: f.many_to_one and f.related_model is Product),
        (Line, "quantity", lambda f: not f.is_relation),
    ]
    for model, name, right in expected:
        try:
            field = model._meta.get_field(name)
        except Exception:
            field = None
        if field is None or not right(field):
            api.fail(
                f"{model.__name__}.{name} is not as the starter has it: keep the models of "
                "shop/models.py as given (the grader and the other apps rely on them).",
                diagnosis="models-changed",
            )
    # The tables really exist and are usable.
    for model in (Product, Order, Line):
        model._default_manager.count()
