from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'documents'

    # TODO (exercise): add a ready() method to this class.
    #
    # Django calls ready() once, after every app and every model is loaded.
    # That is the place to connect signal receivers: import the module that
    # holds your receivers (documents/signals.py) from inside ready(), so the
    # receivers are connected exactly once, when the app starts.
