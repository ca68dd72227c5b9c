"""/api/v1/webhooks: the signing secret (made or rotated, shown once) and the delivery log with resend."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.fields import NO_NUL, UtcDateTimeField
from core.api.throttling import ApiThrottle
from core.errors import NotFound, ValidationFailed

from . import selectors, webhooks
from .models import WebhookDelivery

utc_text = UtcDateTimeField.text


class WebhookAttemptOutput(serializers.Serializer):
    started_at = UtcDateTimeField()
    status = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status; null: no answer.")
    error = serializers.CharField()
    latency_ms = serializers.IntegerField()


class WebhookDeliveryOutput(serializers.Serializer):
    delivery_id = serializers.CharField(help_text="The webhook-id header: the same on every attempt.")
    task_id = serializers.CharField()
    event = serializers.CharField()
    url = serializers.CharField()
    state = serializers.ChoiceField(choices=WebhookDelivery.State.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = UtcDateTimeField(allow_null=True)
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = UtcDateTimeField()
    finished_at = UtcDateTimeField(allow_null=True)
    log = WebhookAttemptOutput(many=True)

    def to_representation(self, delivery):
        return {
            "delivery_id": delivery.delivery_id, "task_id": delivery.task.task_id, "event": delivery.event,
            "url": delivery.url, "state": delivery.state, "attempts": delivery.attempts,
            "next_attempt_at": utc_text(delivery.next_attempt_at), "last_status": delivery.last_status,
            "last_error": delivery.last_error, "created_at": utc_text(delivery.created_at),
            "finished_at": utc_text(delivery.finished_at),
            "log": [{"started_at": utc_text(a.started_at), "status": a.status, "error": a.error,
                     "latency_ms": a.latency_ms} for a in delivery.attempt_log.all()],
        }


def deliveries_of(user):
    qs = WebhookDelivery.objects.select_related("task").prefetch_related("attempt_log")
    return qs.filter(owner=user) if user is not None else qs


class WebhookSecretApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="webhook_secret_get", summary="Whether you have a webhook signing secret",
                   description="The secret itself is only shown when it is made (POST).",
                   responses={200: inline_serializer("WebhookSecretState", {
                       "exists": serializers.BooleanField(), "created_at": UtcDateTimeField(allow_null=True)}),
                       **ERROR_RESPONSES})
    def get(self, request):
        secret = webhooks.secret_of(request.user)
        return Response({"exists": secret is not None, "created_at": utc_text(secret.created_at) if secret else None})

    @extend_schema(operation_id="webhook_secret_rotate", summary="Make a new webhook signing secret",
                   description="Replaces the old one at once (deliveries after this are signed with the new one). "
                   "Shown once: keep it where your receiver can read it.", request=None,
                   responses={201: inline_serializer("WebhookSecretCreated", {
                       "secret": serializers.CharField(help_text="whsec_…, for standardwebhooks.Webhook(secret)."),
                       "created_at": UtcDateTimeField()}), **WRITE_ERROR_RESPONSES})
    def post(self, request):
        raw = webhooks.secret_rotate(owner=request.user)
        secret = webhooks.secret_of(request.user)
        return Response({"secret": raw, "created_at": utc_text(secret.created_at)}, status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})


class WebhookDeliveryListApi(APIView):
    throttle_classes = [ApiThrottle]

    class FilterSerializer(serializers.Serializer):
        task = serializers.CharField(required=False, max_length=36, validators=[NO_NUL],
                                     help_text="Only this task's deliveries.")

    @extend_schema(operation_id="webhook_delivery_list", summary="Your webhook deliveries, newest first",
                   description="At most 100, each with its attempts (status, error, latency) and the next try.",
                   parameters=[FilterSerializer], responses={200: WebhookDeliveryOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        unknown = sorted(set(request.query_params) - {"task", "format"})
        if unknown:
            raise ValidationFailed(_("Unknown query parameter: %(names)s") % {"names": ", ".join(unknown)},
                                   details={name: [_("Unknown query parameter.")] for name in unknown})
        wanted = self.FilterSerializer(data=request.query_params.dict())
        wanted.is_valid(raise_exception=True)
        deliveries = deliveries_of(request.user)
        if wanted.validated_data.get("task"):
            task = selectors.task_get(task_id=wanted.validated_data["task"], user=request.user)
            deliveries = deliveries.filter(task=task)
        return Response(WebhookDeliveryOutput(deliveries[:100], many=True).data)


class WebhookResendApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="webhook_delivery_resend", summary="Send a webhook delivery again",
                   description="Same webhook-id and body; the next attempt is now.", request=None,
                   parameters=[OpenApiParameter("delivery_id", str, OpenApiParameter.PATH, pattern=r"^msg_[0-9a-f]{32}$")],
                   responses={202: WebhookDeliveryOutput, **WRITE_ERROR_RESPONSES})
    def post(self, request, delivery_id: str):
        delivery = deliveries_of(request.user).filter(delivery_id=delivery_id).first()
        if delivery is None:
            raise NotFound(_("No such webhook delivery."), code="not_found")
        delivery = webhooks.delivery_resend(delivery=delivery)
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
