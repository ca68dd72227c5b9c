"""Webhooks: a task's events POSTed to the URL its request named, signed, at least once (README,
"Webhooks"). An event makes a delivery row in the same transaction as the state change that caused it,
and a queue message; a worker sends it (webhook_sender.py) under a lease, and retries what failed for a
reason that may pass (5xx, 408, 429, no answer) with backoff and jitter until IMAGEGEN_WEBHOOK_RETRY_HOURS
after the event. 410 stops it; other answers are final. Every attempt of one delivery carries the same
webhook-id, so a receiver can drop repeats. Nothing here runs in a request or in a task's generation step.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbound
from core.errors import Conflict, ValidationFailed

from . import broker, clock, selectors, webhook_sender
from .models import GenerationTask, WebhookAttempt, WebhookDelivery, WebhookSecret
from .processes import new_lease_holder, holder_is_dead
from .task_json import TaskOutput
from .webhook_models import DEFAULT_EVENTS, EVENTS

log = logging.getLogger(__name__)
State = WebhookDelivery.State
RETRYABLE_STATUSES = frozenset({408, 429})


# --- The signing secret ------------------------------------------------------------------------------------


def secret_rotate(*, owner) -> str:
    """A new signing secret for the owner (None: the app's, in open mode), replacing the old one at once.
    Returned to be shown once."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    with transaction.atomic():
        WebhookSecret.objects.filter(owner=owner).delete()
        WebhookSecret.objects.create(owner=owner, secret=secret)
    log.info("webhook secret rotated for %s", f"user {owner.pk}" if owner is not None else "the app")
    return secret


def secret_of(owner) -> WebhookSecret | None:
    return WebhookSecret.objects.filter(owner=owner).first()


# --- Asking for webhooks -------------------------------------------------------------------------------------


def webhook_request(*, url: str | None, events: list[str] | None, owner, token=None) -> tuple[str, list[str]]:
    """The (url, events) a task records, from a request's `webhook` and `webhook_events_filter`, or the API
    token's default webhook when the request names none (None; "" asks for none); ("", []) without a URL.
    ValidationFailed for a URL the policy refuses; Conflict when the owner has no signing secret yet
    (deliveries nobody could verify are not made)."""
    if url is None and token is not None:
        url = token.webhook_url
    url = (url or "").strip()
    if not url:
        return "", []
    try:
        outbound.check_url(url)
    except outbound.RefusedURL as err:
        message = _("This webhook URL is not allowed: %(reason)s") % {"reason": str(err)}
        raise ValidationFailed(message, details={"webhook": [message]}) from None
    if secret_of(owner) is None:
        raise Conflict(_("Create a webhook signing secret first (POST /api/v1/webhooks/secret, or the account "
                         "page): deliveries are signed with it."), code="webhook_secret_missing")
    chosen = list(dict.fromkeys(events)) if events else list(DEFAULT_EVENTS)
    return url, [event for event in EVENTS if event in chosen]


# --- Events ---------------------------------------------------------------------------------------------------


def task_event(task: GenerationTask, event: str) -> WebhookDelivery | None:
    """Record `event` of the task for delivery, if its request asked for it. Call it in the transaction
    that changed the task, after the change: the body is the task's JSON as it is now."""
    if not task.webhook_url or event not in (task.webhook_events or DEFAULT_EVENTS):
        return None
    snapshot, images = selectors.task_snapshot(task_id=task.task_id)
    now = clock.now()
    payload = {"type": f"task.{event}", "timestamp": _iso(now), "data": TaskOutput().body(snapshot, images)}
    delivery = WebhookDelivery.objects.create(task_id=task.pk, owner_id=task.owner_id, url=task.webhook_url,
                                              event=event, payload=payload, next_attempt_at=now, enqueued_at=now)
    _enqueue(delivery)
    return delivery


def _enqueue(delivery: WebhookDelivery) -> None:
    def send():
        broker.webhook_enqueue(delivery_id=delivery.delivery_id)

    if settings.IMAGEGEN_BROKER == "orm":
        send()  # a row in the same database: it commits or rolls back with the event
    else:
        transaction.on_commit(send)


# --- Delivering ----------------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: IMAGEGEN_WEBHOOK_RETRY_BASE, 4x more each
    time, capped at IMAGEGEN_WEBHOOK_RETRY_MAX, +/-20% so that deliveries failed together spread out."""
    base = settings.IMAGEGEN_WEBHOOK_RETRY_BASE * (4 ** min(max(attempts - 1, 0), 12))
    return min(base, settings.IMAGEGEN_WEBHOOK_RETRY_MAX) * random.uniform(0.8, 1.2)


def deliver(*, delivery_id: str, resolver=None) -> str | None:
    """One try of the delivery, if it is due and no other worker holds it. Returns its state after, or None
    when there was nothing to do. `resolver` stands in for DNS (tests)."""
    holder = new_lease_holder()
    lease = settings.IMAGEGEN_WEBHOOK_CONNECT_TIMEOUT + settings.IMAGEGEN_WEBHOOK_READ_TIMEOUT + 30
    now = clock.now()
    claimed = (WebhookDelivery.objects.filter(delivery_id=delivery_id, state=State.PENDING)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
               .update(state=State.SENDING, lease_holder=holder, lease_expires_at=now + timedelta(seconds=lease)))
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.get(delivery_id=delivery_id)
    secret = secret_of(delivery.owner)
    if secret is None:  # rotated away or erased with its user: nothing could verify it
        return _finish(delivery, holder, State.FAILED, status=None, error="no signing secret", latency_ms=0)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = webhook_sender.sign(secret=secret.secret, delivery_id=delivery.delivery_id, timestamp=clock.now(),
                                  body=body)
    answer = webhook_sender.send(url=delivery.url, body=body, headers=headers, resolver=resolver)
    status = answer.status
    if status is not None and 200 <= status < 300:
        state = State.DELIVERED
    elif status == 410:
        state = State.STOPPED
    elif answer.refused or (status is not None and status < 500 and status not in RETRYABLE_STATUSES):
        state = State.FAILED
    else:
        state = State.PENDING
    return _finish(delivery, holder, state, status=status, error=answer.error, latency_ms=answer.latency_ms)


def _finish(delivery: WebhookDelivery, holder: str, state: str, *, status, error: str, latency_ms: int) -> str:
    now = clock.now()
    attempts = delivery.attempts + 1
    fields = {"state": state, "attempts": attempts, "last_status": status, "last_error": error[:300],
              "lease_holder": "", "lease_expires_at": None}
    if state == State.PENDING:
        next_at = now + timedelta(seconds=retry_delay(attempts))
        if next_at > delivery.created_at + timedelta(hours=settings.IMAGEGEN_WEBHOOK_RETRY_HOURS):
            state = fields["state"] = State.FAILED
            fields["last_error"] = (error or f"HTTP {status}")[:240] + "; gave up: retries ran out"
        else:
            fields["next_attempt_at"] = next_at
    if state != State.PENDING:
        fields.update(next_attempt_at=None, finished_at=now)
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery=delivery, started_at=now - timedelta(milliseconds=latency_ms),
                                      status=status, error=error[:300], latency_ms=latency_ms)
        WebhookDelivery.objects.filter(pk=delivery.pk, lease_holder=holder, state=State.SENDING).update(**fields)
    log.info("webhook %s (%s of task %s) attempt %d: %s -> %s", delivery.delivery_id, delivery.event,
             delivery.payload.get("data", {}).get("task_id", "?"), attempts, status if status is not None else (error or "no answer"), state)
    return state


def deliveries_recover() -> int:
    """Send a message for every delivery that is due and has none (its retry time came, or its message was
    lost), and hand back those whose worker died while sending (same id). Run by the workers' periodic
    sweep. Returns how many were enqueued."""
    now = clock.now()
    released = 0
    for held in WebhookDelivery.objects.filter(state=State.SENDING).only("pk", "lease_holder", "lease_expires_at"):
        if held.lease_expires_at is None or held.lease_expires_at < now or holder_is_dead(held.lease_holder):
            released += WebhookDelivery.objects.filter(pk=held.pk, state=State.SENDING, lease_holder=held.lease_holder)\
                .update(state=State.PENDING, lease_holder="", lease_expires_at=None, next_attempt_at=now)
    if released:
        log.warning("%d webhook deliveries were held by a worker that is gone; sending them again", released)
    stale = now - timedelta(seconds=settings.IMAGEGEN_REQUEUE_AFTER)
    due = (WebhookDelivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
           .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at")) | Q(enqueued_at__lt=stale)))
    enqueued = 0
    for delivery in due.only("pk", "delivery_id")[:1000]:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(enqueued_at=now)
            _enqueue(delivery)
        enqueued += 1
    return enqueued


def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (same id and body), from its log. Retries of a failed resend stop, as all
    do, IMAGEGEN_WEBHOOK_RETRY_HOURS after the event."""
    now = clock.now()
    with transaction.atomic():
        changed = WebhookDelivery.objects.filter(pk=delivery.pk).exclude(state__in=[State.SENDING]).update(
            state=State.PENDING, next_attempt_at=now, enqueued_at=now, finished_at=None)
        if changed:
            _enqueue(delivery)
    delivery.refresh_from_db()
    return delivery


def deliveries_prune(*, days: int | None = None) -> int:
    """Remove finished deliveries (and their attempts) older than IMAGEGEN_WEBHOOK_LOG_DAYS."""
    days = settings.IMAGEGEN_WEBHOOK_LOG_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    removed, _detail = WebhookDelivery.objects.filter(
        state__in=[State.DELIVERED, State.FAILED, State.STOPPED], created_at__lt=cutoff).delete()
    return removed


def _iso(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
