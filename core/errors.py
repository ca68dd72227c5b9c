"""The one domain exception and its kinds. The API's exception handler (DRF views) and `plain_api_view` (plain
views, core/api/errors.py) render every one as {"error", "message", "details"}; the stream sends the same
envelope in its error message."""

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


class NotSignedIn(ApplicationError):
    """Accounts mode, a request without a usable token or session (401), or a token whose scopes do not
    cover the request (403, code permission_denied)."""

    status = 401
    code = "not_authenticated"
    # The scheme a 401 asks for (RFC 6750).
    WWW_AUTHENTICATE = 'Bearer realm="imagegen"'

    def __init__(self, message, *, code: str | None = None, status: int | None = None):
        super().__init__(message, code=code, status=status)
        if self.status == 401:
            self.headers["WWW-Authenticate"] = self.WWW_AUTHENTICATE


class Forbidden(ApplicationError):
    status = 403
    code = "permission_denied"


class MethodNotAllowed(ApplicationError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message, *, allowed: tuple[str, ...]):
        super().__init__(message, headers={"Allow": ", ".join(allowed)})


class PayloadTooLarge(ApplicationError):
    status = 413
    code = "payload_too_large"


class Unavailable(ApplicationError):
    status = 503
    code = "service_unavailable"


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


class SpendingCapReached(RateLimited):
    """A spending cap (site-wide, or a user's own) would be passed: images billed or money, per day or month."""

    code = "spending_cap_reached"
