"""Signal receivers of the users app.

TODO (exercise): write a receiver for the ``post_save`` signal of the user
model that creates a ``Profile`` when a new user is created.

Rules:
- The receiver must be connected while ``UsersConfig.ready()`` runs
  (see users/apps.py), not as a side effect of importing models.py.
- Listen to the user model only. Use ``settings.AUTH_USER_MODEL`` or
  ``get_user_model()`` so a custom user model works too.
- A new user gets exactly one profile. Saving an existing user again
  (with or without ``update_fields``) must not create a second profile
  and must not raise.
- Do not override ``User.save()`` for this.
"""
