from django.apps import AppConfig

from . import startup


class ImagegenConfig(AppConfig):
    """The project package as an app: its templates, management commands and pages. Its models moved to the apps
    that own them (accounts, generation); its migrations record the move."""

    name = "imagegen"
    verbose_name = "imagegen"

    def ready(self):
        # Before anything is written (the database, logs, images): see imagegen/startup.py.
        startup.prepare()
