"""The one domain exception. The API's exception handler renders it as {"error", "message", "details"}."""

from __future__ import annotations


class ApplicationError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, *, details=None, code: str | None = None, status: int | None = None, headers=None):
        super().__init__(str(message))
        self.message = message
        self.details = details
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extra: dict = {}


class ValidationFailed(ApplicationError):
    status = 400
    code = "validation_error"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limit_exceeded"

    def __init__(self, message, *, retry_after: int, details=None):
        retry_after = max(1, int(retry_after))
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})
        self.extra = {"retry_after": retry_after}


class QuotaExceeded(RateLimited):
    """A user's own limit (accounts mode): images per day or concurrent tasks."""

    code = "quota_exceeded"
