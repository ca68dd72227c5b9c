from django.apps import AppConfig


class ImagegenConfig(AppConfig):
    """The project package as an app: its templates, management commands and API plumbing."""

    name = "imagegen"
    verbose_name = "imagegen"

    def ready(self):
        # In ready(), Django's way: the receivers connect once the models are loaded.
        from .accounts import schema, signals  # noqa: F401  (OpenAPI auth schemes; a quota row for every new user)
        from .audit import signals as audit_signals  # noqa: F401  (sign-ins into the audit log)
