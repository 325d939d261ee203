"""The signals the shop publishes.

TODO 1: define ``order_placed`` here, at module level, as a ``django.dispatch.Signal``.

The shop sends it once for every order, after the order is saved for good, with
``sender=Order`` and the order as the keyword argument ``order``. Other apps
(``inventory``, ``notifications``, and any app added later) subscribe to it: the shop
never needs to know who they are.
"""
