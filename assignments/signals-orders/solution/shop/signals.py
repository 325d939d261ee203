"""The signals the shop publishes."""
from django.dispatch import Signal

# Sent once per order, after the order is committed: sender=Order, order=<the order>.
order_placed = Signal()
