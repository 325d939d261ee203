"""The inventory's receivers.

TODO 3: write a receiver of ``shop.signals.order_placed`` (sender ``Order``) that lowers
the stock of every product of the order by the quantity ordered.

- Lower it in the database, atomically: ``Product.objects.filter(pk=...).update(
  stock=F("stock") - quantity)``. Reading ``product.stock`` and saving ``stock - quantity``
  back loses the orders placed between your read and your write.
- Accept ``**kwargs``: Django passes more keyword arguments (``signal``) and may add others.
- Connect it in ``InventoryConfig.ready()`` (inventory/apps.py), not from models.py.
"""
