from . import profiles  # noqa: F401
