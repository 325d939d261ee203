# The notifications app has no models of its own: it subscribes to the shop's order_placed signal.
