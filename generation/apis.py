"""/api/v1 endpoints for generation: submit, inspect, list, cancel/delete tasks, and the model catalogue.

One view per action; each validates, calls one service or selector, and serialises (HackSoft style).
"""

from __future__ import annotations

import json
from functools import lru_cache, wraps

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.clients import client_id
from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES, paginated
from core.api.errors import error_response
from core.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    TextFilterField,
    UtcDateTimeField,
)
from core.api.pagination import paginate
from core.api.throttling import ApiThrottle, ReadThrottle
from core.errors import Conflict, NotFound, ValidationFailed
from imagegen.accounts.auth import WWW_AUTHENTICATE, NotSignedIn, caller

from . import selectors, services
from .batches import SWEEP_PARAMS, max_batch_tasks, plan_batch
from .catalogue import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH, SEED_MAX, SEED_MIN, PlanError, all_models, plan_generation
from .error_messages import user_message
from .models import FINISHED, Status
from .openapi import task_id_parameter


utc_text = UtcDateTimeField.text


@lru_cache(maxsize=1)
def _image_url_prefixes() -> tuple[str, str, str]:
    # reverse() once with a marker instead of on every image of every list row.
    marker = "img_" + "0" * 32
    url, thumbnail = reverse("api:image", args=[marker]), reverse("api:image-thumbnail", args=[marker])
    prefix = url[: url.index(marker)]
    return prefix, thumbnail[len(prefix) + len(marker):], url[len(prefix) + len(marker):]


class ImageOutput(serializers.Serializer):
    """An image of a task. Rendered by hand (see TaskOutput); the fields declare the documented shape."""

    image_id = serializers.CharField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    file_size = serializers.IntegerField()
    format = serializers.CharField()
    sha256 = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)
    tags = serializers.SerializerMethodField()

    def get_url(self, image) -> str:
        return reverse("api:image", args=[image.image_id])

    def get_thumbnail_url(self, image) -> str:
        return reverse("api:image-thumbnail", args=[image.image_id])

    def get_tags(self, image) -> list[str]:
        return sorted(tag.tag_name for tag in image.tags.all())

    def to_representation(self, image):
        return image_body(image, self.get_tags(image))


def image_body(image, tags: list[str]) -> dict:
    prefix, thumbnail_suffix, suffix = _image_url_prefixes()
    return {
        "image_id": image.image_id,
        "url": f"{prefix}{image.image_id}{suffix}",
        "thumbnail_url": f"{prefix}{image.image_id}{thumbnail_suffix}",
        "width": image.width,
        "height": image.height,
        "file_size": image.file_size,
        "format": image.format,
        "sha256": image.sha256,
        "seed": image.seed,
        "tags": tags,
    }


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TaskOutput(serializers.Serializer):
    """The full state of a task (GET /api/v1/task/{task_id})."""

    task_id = serializers.CharField()
    status = serializers.CharField()
    stage = serializers.CharField()
    progress = serializers.IntegerField()
    prompt = serializers.CharField()
    negative_prompt = serializers.CharField()
    model = serializers.CharField()
    engine = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    num_images = serializers.IntegerField()
    steps = serializers.IntegerField(allow_null=True)
    scale = serializers.FloatField(allow_null=True)
    seed = serializers.IntegerField(allow_null=True)
    enhance_prompt = serializers.BooleanField(allow_null=True)
    use_sr = serializers.BooleanField()
    ignored_params = serializers.ListField(child=serializers.CharField())
    images = ImageOutput(many=True)
    error = serializers.SerializerMethodField()
    retry_count = serializers.IntegerField()
    batch_id = serializers.SerializerMethodField(help_text="The batch it was made in, if any.")
    next_attempt_at = UtcDateTimeField(allow_null=True)
    queue_position = serializers.SerializerMethodField()
    estimated_time = serializers.SerializerMethodField()
    revised_prompt = serializers.CharField()
    upstream_request_id = serializers.CharField()
    created_at = UtcDateTimeField()
    started_at = UtcDateTimeField(allow_null=True)
    completed_at = UtcDateTimeField(allow_null=True)

    @extend_schema_field(ErrorOutput(allow_null=True))
    def get_error(self, task):
        if not task.error_code or task.status == Status.COMPLETED:
            return None
        return {"code": task.error_code, "message": str(user_message(task.error_code, task.status))}

    def get_batch_id(self, task) -> str | None:
        return task.batch_id or None

    def get_queue_position(self, task) -> int | None:
        if task.status != Status.PENDING or task.lease_owner:
            return None
        return selectors.queue_position(task)

    def get_estimated_time(self, task, ahead: int | None = None) -> int | None:
        return selectors.estimated_time(task, ahead=ahead)

    # Every poll renders this body: by hand it costs a tenth of DRF's walk over the declared fields, which
    # stay the documented shape (tests/test_task_output.py holds the two equal).
    def to_representation(self, task):
        images = [(image, sorted(tag.tag_name for tag in image.tags.all())) for image in task.images.all()]
        return self.body(task, images)

    def body(self, task, images: list[tuple]) -> dict:
        position = self.get_queue_position(task)
        return {
            "task_id": task.task_id,
            "status": task.status,
            "stage": task.stage,
            "progress": task.progress,
            "prompt": task.prompt,
            "negative_prompt": task.negative_prompt,
            "model": task.model,
            "engine": task.engine,
            "width": task.width,
            "height": task.height,
            "num_images": task.num_images,
            "steps": task.steps,
            "scale": None if task.scale is None else float(task.scale),
            "seed": task.seed,
            "enhance_prompt": task.enhance_prompt,
            "use_sr": task.use_sr,
            "ignored_params": [str(name) for name in task.ignored_params],
            "images": [image_body(image, tags) for image, tags in images],
            "error": self.get_error(task),
            "retry_count": task.retry_count,
            "batch_id": self.get_batch_id(task),
            "next_attempt_at": utc_text(task.next_attempt_at),
            "queue_position": position,
            "estimated_time": self.get_estimated_time(task, position),
            "revised_prompt": task.revised_prompt,
            "upstream_request_id": task.upstream_request_id,
            "created_at": utc_text(task.created_at),
            "started_at": utc_text(task.started_at),
            "completed_at": utc_text(task.completed_at),
        }


class TaskSummaryOutput(TaskOutput):
    """List rows: the same fields, without the per-row queue queries."""

    queue_position = None
    estimated_time = None

    def body(self, task, images: list[tuple]) -> dict:
        body = super().body(task, images)
        del body["queue_position"], body["estimated_time"]
        return body

    def get_queue_position(self, task):
        return None

    def get_estimated_time(self, task, ahead=None):
        return None


TaskPage = paginated("TaskPage", TaskSummaryOutput)


class GenerateApi(APIView):
    throttle_classes = [ApiThrottle]
    write_budget = "generation"

    @extend_schema_serializer(component_name="Generate")
    class InputSerializer(serializers.Serializer):
        prompt = StrictCharField(
            max_length=MAX_PROMPT_LENGTH,
            error_messages={
                "blank": gettext_lazy("The prompt must not be empty."),
                "required": gettext_lazy("The prompt must not be empty."),
                "null": gettext_lazy("The prompt must not be empty."),
            },
        )
        negative_prompt = StrictCharField(
            required=False, allow_blank=True, allow_null=True, max_length=MAX_PROMPT_LENGTH
        )
        model = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100)
        width = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=100_000)
        height = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=100_000)
        num_images = StrictIntegerField(required=False, default=1, min_value=1, max_value=MAX_NUM_IMAGES)
        steps = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=1000)
        scale = StrictFloatField(required=False, allow_null=True)
        seed = StrictIntegerField(required=False, allow_null=True, min_value=SEED_MIN, max_value=SEED_MAX)
        enhance_prompt = StrictBooleanField(required=False, allow_null=True)

        def to_internal_value(self, data):
            if not isinstance(data, dict):
                raise serializers.ValidationError(
                    {"non_field_errors": [_("The request body must be a JSON object.")]}
                )
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field.")] for name in unknown}
                )
            return super().to_internal_value(data)

    @extend_schema_serializer(component_name="TaskCreated")
    class OutputSerializer(serializers.Serializer):
        task_id = serializers.CharField()
        status = serializers.CharField()
        created_at = UtcDateTimeField()
        estimated_time = serializers.SerializerMethodField()
        model = serializers.CharField()
        seed = serializers.IntegerField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        ignored_params = serializers.ListField(child=serializers.CharField())
        url = serializers.SerializerMethodField()

        def get_estimated_time(self, task) -> int | None:
            return selectors.estimated_time(task)

        def get_url(self, task) -> str:
            return reverse("api:task", args=[task.task_id])

    @extend_schema(
        operation_id="generate",
        summary="Create a generation task",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "maxLength": 200},
                OpenApiParameter.HEADER,
                description="Same key and body return the same task; a different body with the key is a 409.",
            )
        ],
        examples=[OpenApiExample("The seed's example", request_only=True, value={
            "prompt": "一只可爱的猫咪", "negative_prompt": "模糊, 低质量", "model": "general_v2.0", "width": 1024,
            "height": 1024, "num_images": 1, "steps": 20, "scale": 7.5, "seed": None,
        })],
        responses={201: OutputSerializer, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            plan = plan_generation(dict(data))
        except PlanError as err:
            first = next(iter(err.errors.items()))
            raise ValidationFailed(f"{first[0]}: {first[1][0]}", details=err.errors) from None
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 200:
            raise ValidationFailed(
                _("The Idempotency-Key header is too long (at most 200 characters)."),
                details={"Idempotency-Key": [_("At most 200 characters.")]},
            )
        task, created = services.task_create(
            plan=plan,
            client_id=client_id(request),
            idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data),
            owner=request.user,
        )
        headers = {"Location": reverse("api:task", args=[task.task_id])}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.OutputSerializer(task).data, status=status.HTTP_201_CREATED, headers=headers)


class TaskDetailApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="task_get", summary="Get a task's state", parameters=[task_id_parameter()],
                   responses={200: TaskOutput, **ERROR_RESPONSES})
    def get(self, request, task_id: str):
        task, images = selectors.task_snapshot(task_id=task_id, user=request.user)
        return Response(TaskOutput().body(task, images))

    @extend_schema(
        operation_id="task_delete",
        summary="Cancel an unfinished task, or delete a finished one with its images",
        description="An unfinished task is cancelled (202, the task in its new state); "
        "a finished one is deleted with its files (204).",
        parameters=[task_id_parameter()],
        responses={202: TaskOutput, 204: None, **WRITE_ERROR_RESPONSES},
    )
    def delete(self, request, task_id: str):
        task = selectors.task_get(task_id=task_id, user=request.user)
        if task.status not in FINISHED and services.task_cancel(task=task):
            return Response(TaskOutput(selectors.task_get(task_id=task_id, user=request.user)).data,
                            status=status.HTTP_202_ACCEPTED)
        services.task_delete(task=task)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _polled_json(body: dict) -> bytes:
    # As DRF's JSONRenderer writes it (compact, UTF-8, U+2028/9 escaped for old JavaScript parsers).
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


_task_detail_api = TaskDetailApi.as_view()


@wraps(_task_detail_api)  # keeps .cls, so the schema still documents TaskDetailApi
def task_detail(request, task_id: str):
    """GET /api/v1/task/{id} as JSON — the request every client repeats while it waits — straight from the
    one-query snapshot, skipping DRF's request cycle (BENCHMARKS.md, read path: a quarter of the cost that
    was left). Same authentication, read limit, body, headers and error envelope; anything else (the
    browsable HTML, DELETE, OPTIONS) is TaskDetailApi's. tests/test_task_output.py holds the two equal."""
    if request.method != "GET" or "html" in request.headers.get("Accept", "") or "format" in request.GET:
        return _task_detail_api(request, task_id=task_id)
    try:
        user = caller(request)
    except NotSignedIn as err:
        return error_response(err.code, err.message, err.status,
                              headers={"WWW-Authenticate": WWW_AUTHENTICATE} if err.status == 401 else {})
    if user is not None:
        request.user = user
    throttle = ReadThrottle()
    if not throttle.allow_request(request, None):
        wait = throttle.wait()
        return error_response("rate_limit_exceeded", Throttled(wait).detail, 429,
                              headers={"Retry-After": str(wait)}, retry_after=wait)
    try:
        task, images = selectors.task_snapshot(task_id=task_id, user=user)
    except NotFound as err:
        return error_response(err.code, err.message, err.status)
    response = HttpResponse(_polled_json(TaskOutput().body(task, images)), content_type="application/json")
    response["Allow"] = "GET, DELETE, HEAD, OPTIONS"
    response["Vary"] = "Accept"
    return response


_STATUS = "(?:" + "|".join(Status.values) + ")"


@extend_schema_field({"type": "string", "pattern": f"^{_STATUS}(?:,{_STATUS})*$"})
class StatusListField(serializers.CharField):
    """Comma-separated statuses, exactly as documented (no blanks, no empty items)."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)


class TaskFilterSerializer(serializers.Serializer):
    status = StatusListField(required=False, help_text="Comma-separated statuses.")
    model = TextFilterField(required=False, max_length=100)
    tag = TextFilterField(required=False, max_length=50)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    q = TextFilterField(required=False, max_length=200, help_text="Text the prompt contains.")
    batch = TextFilterField(required=False, max_length=38, help_text="A batch id: that batch's tasks.")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    def validate_status(self, value):
        wanted = value.split(",")
        bad = [part if part.strip() else repr(part) for part in wanted if part not in Status.values]
        if bad:
            raise serializers.ValidationError(
                _("Unknown status %(bad)s; use %(valid)s.") % {"bad": ", ".join(bad), "valid": ", ".join(Status.values)}
            )
        return wanted


def read_filters(request) -> dict:
    unknown = sorted(set(request.query_params) - set(TaskFilterSerializer().fields) - {"format"})
    if unknown:
        raise ValidationFailed(
            _("Unknown query parameter: %(names)s") % {"names": ", ".join(unknown)},
            details={name: [_("Unknown query parameter.")] for name in unknown},
        )
    # A plain dict, not the QueryDict: DRF would take "?tag=" for an absent parameter, and the schema
    # says a given parameter has a value.
    serializer = TaskFilterSerializer(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TaskListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="task_list",
        summary="List tasks, newest first",
        parameters=[TaskFilterSerializer],
        responses={200: TaskPage, **ERROR_RESPONSES},
    )
    def get(self, request):
        filters = read_filters(request)
        return paginate(
            queryset=selectors.task_list(filters=filters, user=request.user),
            serializer_class=TaskSummaryOutput,
            request=request,
            view=self,
        )


class ModelListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="model_list",
        summary="The model catalogue",
        responses={200: inline_serializer("ModelList", {"default": serializers.CharField(), "models": serializers.ListField()})},
    )
    def get(self, request):
        models = all_models()
        default = next(m.id for m in models if m.is_default)
        return Response({"default": default, "models": [m.to_dict() for m in models]})


# --- Batches ----------------------------------------------------------------------------------------------


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
        "ordinary task with this batch's `batch_id`. The Idempotency-Key header works as for /generate.",
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
        try:
            planned = plan_batch(dict(serializer.validated_data))
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
        batch, tasks, created = services.batch_create(
            plans=planned.plans, kind=planned.kind, client_id=client_id(request), idempotency_key=key,
            fingerprint=services.request_fingerprint(request.data), owner=request.user,
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
        services.batch_cancel(batch_id=batch.batch_id, user=request.user)
        tasks = selectors.batch_tasks(batch.batch_id, user=request.user)
        return Response(BatchOutput((batch, tasks)).data, status=status.HTTP_202_ACCEPTED)


# --- The queue --------------------------------------------------------------------------------------------


class QueueApi(APIView):
    throttle_classes = [ApiThrottle]

    class FilterSerializer(serializers.Serializer):
        everyone = StrictBooleanField(required=False, default=False,
                                      help_text="Staff, in accounts mode: every user's tasks, not only yours.")

    @extend_schema(
        operation_id="queue",
        summary="Unfinished tasks in the order they will run",
        description="Running tasks first, then the waiting ones by `queue_position` (the fair rule's estimate), "
        "each with `estimated_time`; at most 200. Yours in accounts mode (`everyone=true`: everyone's, for staff).",
        parameters=[FilterSerializer],
        responses={200: inline_serializer("Queue", {"tasks": TaskOutput(many=True)}), **ERROR_RESPONSES},
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - {"everyone", "format"})
        if unknown:
            raise ValidationFailed(_("Unknown query parameter: %(names)s") % {"names": ", ".join(unknown)},
                                   details={name: [_("Unknown query parameter.")] for name in unknown})
        wanted = self.FilterSerializer(data={k: v == "true" if v in ("true", "false") else v
                                             for k, v in request.query_params.dict().items() if k != "format"})
        wanted.is_valid(raise_exception=True)
        everyone = wanted.validated_data["everyone"]
        if everyone and request.user is not None and not request.user.is_staff:
            raise PermissionDenied(_("Only staff can see everyone's queue."))
        output = TaskOutput()
        bodies = [output.body(task, [(image, sorted(tag.tag_name for tag in image.tags.all()))
                                     for image in task.images.all()])
                  for task in selectors.queue_list(user=request.user, everyone=everyone)]
        # Running first (in the order they started), then the waiting by their place in the queue.
        bodies.sort(key=lambda b: (b["queue_position"] if b["queue_position"] is not None else -1, b["created_at"]))
        return Response({"tasks": bodies})


class TaskFrontApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="task_front",
        summary="Move your waiting task ahead of your other waiting tasks",
        description="It goes before your own other waiting tasks, not before anyone else's: the fair rule "
        "between clients stands. 409 `task_not_waiting` once a worker has it or it has finished.",
        request=None, parameters=[task_id_parameter()], responses={200: TaskOutput, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request, task_id: str):
        task = selectors.task_get(task_id=task_id, user=request.user)
        if not services.task_move_ahead_of_own(task=task):
            raise Conflict(_("Only a task that is waiting for a worker can be moved."), code="task_not_waiting")
        task, images = selectors.task_snapshot(task_id=task_id, user=request.user)
        return Response(TaskOutput().body(task, images))
