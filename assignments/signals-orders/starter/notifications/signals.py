"""The notifications' receivers.

TODO 4: write a receiver of ``shop.signals.order_placed`` (sender ``Order``) that sends the
customer one e-mail about the order: to ``order.customer.email``, with the order's id in
the subject (for example "Your order #42"). ``django.core.mail.send_mail`` does it;
``DEFAULT_FROM_EMAIL`` in the settings is the sender.

- Accept ``**kwargs``.
- Connect it in ``NotificationsConfig.ready()`` (notifications/apps.py), not from models.py.
"""
