from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    """The project package as an app: its templates, management commands and API plumbing."""

    name = "imagegen"
    verbose_name = "imagegen"

    def ready(self):
        from .accounts import schema, signals  # noqa: F401  (OpenAPI auth schemes; a quota row for every new user)
