"""User-facing messages for task failures, by our stable error code.

The task row keeps the code plus the raw upstream code and text for staff; the message a user reads is
chosen here at read time, so it follows the language of whoever is reading.
"""

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "content_rejected": _("The image service rejected the prompt or the result on content grounds. Rephrase the prompt and try again."),
    "quota_exceeded": _("The image service's rate or concurrency quota was exceeded. The task was retried and still could not run; try again later."),
    "not_activated": _("The image service refused access: the model is not activated for this account, or the model id is wrong."),
    "auth_failed": _("The image service did not accept the configured credentials. Ask the operator to check the access keys."),
    "account_limit": _("The image service account reached its usage quota or spending limit, or has an overdue balance. Ask the operator to check the account."),
    "invalid_request": _("The image service rejected the request parameters."),
    "upstream_error": _("The image service had an internal error."),
    "upstream_timeout": _("The image service did not answer in time."),
    "upstream_unreachable": _("The image service could not be reached."),
    "upstream_expired": _("The image service no longer knows this job (it expired)."),
    "bad_upstream_data": _("The image service returned data that is not a valid image."),
    "storage_error": _("The image could not be saved (storage error)."),
    "interrupted": _("The task was interrupted too many times (its worker stopped) and was given up."),
    "internal_error": _("An unexpected error occurred while generating."),
    "cancelled": _("The task was cancelled."),
    "worker_lost": _("The worker running this task stopped; the task will be retried."),
}


# While a task is still going, its error is the last attempt's, and another attempt is coming: saying it
# "still could not run" would read as final (and in red) seconds before the task succeeds.
WHILE_RETRYING = {
    "quota_exceeded": _("The image service is busy (its rate or concurrency quota was reached); the task will be retried shortly."),
    "worker_lost": MESSAGES["worker_lost"],
}
WHILE_RETRYING_DEFAULT = _("The last attempt did not succeed; the task will be retried shortly.")

# Failures that the same request sent again cannot fix: the studio offers no "Try again" for them (the
# settings can still be reused and changed).
RETRY_CANNOT_HELP = ("content_rejected", "not_activated", "auth_failed", "invalid_request")

_UNFINISHED = ("pending", "processing", "retrying")


def user_message(code: str, status: str | None = None):
    """The message for a task's error code; `status` an unfinished one gives the "will be retried" wording."""
    if not code:
        return ""
    if status in _UNFINISHED:
        return WHILE_RETRYING.get(code, WHILE_RETRYING_DEFAULT)
    return MESSAGES.get(code, MESSAGES["internal_error"])
