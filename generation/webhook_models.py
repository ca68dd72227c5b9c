"""Webhook tables: the signing secret of each user (one for the whole app in open mode), and every delivery of
a task event with the log of its attempts. Imported by models.py, so Django finds them in the app."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The events a client may ask for (webhook_events_filter); the terminal three are the default.
EVENTS = ("started", "progress", "completed", "failed", "cancelled")
DEFAULT_EVENTS = ("completed", "failed", "cancelled")


def new_delivery_id() -> str:
    # Standard Webhooks' webhook-id: the same for every attempt of one delivery, so receivers drop repeats.
    return "msg_" + uuid.uuid4().hex


class WebhookSecret(models.Model):
    """The key a user's deliveries are signed with (Standard Webhooks, `whsec_…`). Shown once when made or
    rotated; kept here because signing needs it. NULL owner: the app's one secret in open mode."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="webhook_secret", verbose_name=_("owner"))
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "webhook_secrets"
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")
        constraints = [
            models.UniqueConstraint(fields=["owner"], condition=models.Q(owner__isnull=True),
                                    name="uniq_webhook_secret_open_mode"),
        ]

    def __str__(self) -> str:
        return f"whsec_… ({self.owner or 'open mode'})"


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("pending")  # waiting for its first or next attempt
        SENDING = "sending", _("sending")  # a worker holds it (lease)
        DELIVERED = "delivered", _("delivered")  # the receiver answered 2xx
        FAILED = "failed", _("failed")  # a final answer (4xx but 410), or retries ran out
        STOPPED = "stopped", _("stopped")  # the receiver answered 410 Gone

    delivery_id = models.CharField(max_length=40, unique=True, default=new_delivery_id, editable=False)
    task = models.ForeignKey("generation.GenerationTask", on_delete=models.CASCADE, related_name="webhook_deliveries")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="webhook_deliveries", db_index=False, verbose_name=_("owner"))
    url = models.CharField(_("URL"), max_length=2000)
    event = models.CharField(_("event"), max_length=20)
    payload = models.JSONField()  # the body, as built when the event happened: every attempt sends the same
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    # A worker holds it while it sends (a dead worker's delivery goes back to pending, with the same id).
    lease_holder = models.CharField(max_length=120, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)  # when its latest queue message was sent
    last_status = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["owner", "-created_at"], name="webhook_owner_recent"),
            models.Index(fields=["created_at"], name="webhook_created"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.event} ({self.state})"


class WebhookAttempt(models.Model):
    """One try of a delivery, as the receiver answered it (or why it did not)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # the HTTP status; None: no answer
    error = models.CharField(max_length=300, blank=True, default="")
    latency_ms = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "webhook_attempts"
        ordering = ["started_at", "id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
