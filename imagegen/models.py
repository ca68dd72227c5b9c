"""The project app's models: the account pieces (API tokens, quotas) live in imagegen/accounts/."""

from .accounts.models import ApiToken, Quota

__all__ = ["ApiToken", "Quota"]
