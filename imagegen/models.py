"""The project app's models: the account pieces (API tokens, quotas) live in imagegen/accounts/."""

from .accounts.models import ApiToken, Quota, UserSession
from .audit.models import AuditEvent

__all__ = ["ApiToken", "AuditEvent", "Quota", "UserSession"]
