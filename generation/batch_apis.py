"""/api/v1/batches: many tasks made in one request (variations, several prompts, a sweep), and their
progress."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.clients import client_id
from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.fields import StrictCharField, StrictIntegerField, UtcDateTimeField
from core.api.throttling import ApiThrottle
from core.errors import ValidationFailed

from . import selectors, services, webhooks
from .apis import GenerateApi
from .batches import SWEEP_PARAMS, plan_batch
from .model_specs import MAX_PROMPT_LENGTH
from .planning import PlanError
from .task_json import BatchCostOutput, TaskSummaryOutput, batch_costs, utc_text


class BatchOutput(serializers.Serializer):
    """A batch: its progress and its tasks (as list rows, in the order they were made)."""

    batch_id = serializers.CharField()
    kind = serializers.CharField(help_text="What varies: prompts, variations, seed, size or model, joined by +.")
    created_at = UtcDateTimeField()
    url = serializers.CharField()
    total = serializers.IntegerField(help_text="Tasks the batch has now (deleted ones leave it).")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Tasks per status.")
    progress = serializers.IntegerField(help_text="0-100 over all its tasks; a finished task counts whole.")
    finished = serializers.BooleanField()
    costs = BatchCostOutput(many=True, help_text="Per currency, over its tasks with a price (empty: none).")
    tasks = TaskSummaryOutput(many=True)

    def to_representation(self, pair):
        batch, tasks = pair
        tasks = list(tasks)
        return {
            "batch_id": batch.batch_id,
            "kind": batch.kind,
            "created_at": utc_text(batch.created_at),
            "url": reverse("api:batch", args=[batch.batch_id]),
            **selectors.batch_progress(tasks),
            "costs": batch_costs(tasks),
            "tasks": TaskSummaryOutput(tasks, many=True).data,
        }


class BatchApi(APIView):
    throttle_classes = [ApiThrottle]
    write_budget = "generation"  # one request of the generation budget, however many tasks it makes

    @extend_schema_serializer(component_name="BatchSweep")
    class SweepSerializer(serializers.Serializer):
        param = serializers.ChoiceField(choices=SWEEP_PARAMS)
        values = serializers.ListField(
            child=serializers.JSONField(), min_length=1, max_length=100,
            help_text="seed: whole numbers; size: \"WIDTHxHEIGHT\" strings; model: model ids.",
        )

    @extend_schema_serializer(component_name="BatchCreate")
    class InputSerializer(GenerateApi.InputSerializer):
        prompt = StrictCharField(max_length=MAX_PROMPT_LENGTH, required=False)
        prompts = serializers.ListField(
            child=StrictCharField(max_length=MAX_PROMPT_LENGTH), required=False, min_length=1, max_length=100,
            help_text="One task per prompt (instead of prompt).",
        )
        variations = StrictIntegerField(required=False, default=1, min_value=1, max_value=100,
                                        help_text="Tasks per prompt, each with its own seed.")
        sweep = serializers.DictField(required=False, help_text="One task per value of one parameter.")

        def validate_sweep(self, value):
            sweep = BatchApi.SweepSerializer(data=value)
            sweep.is_valid(raise_exception=True)
            return dict(sweep.validated_data)

    @extend_schema(
        operation_id="batch_create",
        summary="Create a batch of generation tasks",
        description="N variations of a prompt (different seeds), several prompts at once, or a sweep over one "
        "parameter (seed, size or model); the three multiply. All the tasks are made, or none: a batch beyond "
        "the batch size, the client's queued-task limit or the daily quota is refused whole. Each task is an "
        "ordinary task with this batch's `batch_id`, with its own copy of the `reference_images` and, with "
        "`group`, a group request of its own. The Idempotency-Key header works as for /generate.",
        request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", {"type": "string", "maxLength": 200}, OpenApiParameter.HEADER)],
        examples=[OpenApiExample("Four variations", request_only=True, value={"prompt": "a red kite", "variations": 4}),
                  OpenApiExample("A size sweep", request_only=True, value={
                      "prompt": "a harbour at dawn", "sweep": {"param": "size", "values": ["1024x1024", "1280x720"]}})],
        responses={201: BatchOutput, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        webhook = webhooks.webhook_request(url=data.pop("webhook", None), events=data.pop("webhook_events_filter", None),
                                           owner=request.user, token=getattr(request, "api_token", None))
        if data.get("reference_images"):  # every task of the batch gets its own copy of each
            data["reference_images"] = selectors.reference_sources(ids=data["reference_images"], user=request.user)
        try:
            planned = plan_batch(data)
        except PlanError as err:
            field, messages = next(iter(err.errors.items()))
            said = messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
            raise ValidationFailed(said, details=err.errors) from None
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 200:
            raise ValidationFailed(
                _("The Idempotency-Key header is too long (at most 200 characters)."),
                details={"Idempotency-Key": [_("At most 200 characters.")]},
            )
        batch, created = services.batch_create(
            plans=planned.plans, kind=planned.kind, client_id=client_id(request), idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data), owner=request.user, webhook=webhook,
        )
        headers = {"Location": reverse("api:batch", args=[batch.batch_id])}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        tasks = selectors.batch_tasks(batch.batch_id)
        return Response(BatchOutput((batch, tasks)).data, status=status.HTTP_201_CREATED, headers=headers)


def batch_id_parameter() -> OpenApiParameter:
    return OpenApiParameter("batch_id", str, OpenApiParameter.PATH, pattern=r"^batch_[0-9a-f]{32}$")


class BatchDetailApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="batch_get", summary="A batch's progress and tasks",
                   parameters=[batch_id_parameter()], responses={200: BatchOutput, **ERROR_RESPONSES})
    def get(self, request, batch_id: str):
        batch = selectors.batch_get(batch_id=batch_id, user=request.user)
        tasks = selectors.batch_tasks(batch.batch_id, user=request.user)
        return Response(BatchOutput((batch, tasks)).data)

    @extend_schema(operation_id="batch_cancel", summary="Cancel a batch's unfinished tasks",
                   description="Finished tasks stay as they are. Answers the batch in its new state.",
                   parameters=[batch_id_parameter()], responses={202: BatchOutput, **WRITE_ERROR_RESPONSES})
    def delete(self, request, batch_id: str):
        batch = selectors.batch_get(batch_id=batch_id, user=request.user)
        services.batch_cancel(batch_id=batch.batch_id)
        tasks = selectors.batch_tasks(batch.batch_id, user=request.user)
        return Response(BatchOutput((batch, tasks)).data, status=status.HTTP_202_ACCEPTED)
