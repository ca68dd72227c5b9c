from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Users' API tokens and sessions, who is asking (auth.py, signing.py), two-factor sign-in, the network
    allowlist and the access audit log. The pages and the account API that show them are the roof's
    (imagegen/people/)."""

    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        # In ready(), Django's way: the receivers connect once the models are loaded.
        from . import schema, signals  # noqa: F401  (OpenAPI auth schemes; the sessions a user signed in with)
        from .audit import signals as audit_signals  # noqa: F401  (sign-ins into the audit log)
