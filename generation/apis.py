"""/api/v1 endpoints for tasks: submit, inspect, list, cancel/delete, and the model catalogue. Batches are
in batch_apis.py, the queue in queue_apis.py.

One view per action; each validates, calls one service or selector, and serialises (HackSoft style).
"""

from __future__ import annotations

import json
from functools import wraps

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
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import caller
from core.api.clients import client_id
from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.envelope import plain_api_view
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
from core.errors import RateLimited, ValidationFailed

from . import list_selectors, selectors, services, storage, webhooks
from .model_specs import MAX_NUM_IMAGES, MAX_PROMPT_LENGTH, REFERENCE_MAX_BYTES, SEED_MAX, SEED_MIN
from .models import FINISHED, Status
from .offering import offered_default, offered_models
from .openapi import task_id_parameter
from .planning import PlanError, plan_generation
from .task_json import TaskOutput, TaskPage, task_list_bodies
from .trash_apis import purge_parameter, wants_purge
from .webhook_models import EVENTS


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
        group = StrictBooleanField(
            required=False, default=False,
            help_text="Group generation (models whose `group.supported` is true): one request for UP TO `num_images` "
            "related images (a storyboard, a product set), the model deciding how many. An image refused on its own "
            "is listed in the task's error message while the others are kept; only the images made are billed.")
        reference_images = serializers.ListField(
            child=StrictCharField(max_length=36), required=False, max_length=20,
            help_text="Reference images, in order: ids of uploads (POST /api/v1/references, `ref_…`), of another "
            "task's references (a task's `reference_images[].reference_id`, which is how \"reuse\" carries them), "
            "or of gallery images (`img_…`). Each must be yours (else 404). How many, which formats and aspect "
            "ratios a model takes: GET /api/v1/models, `reference_images`. The task keeps its own copy of each.")
        webhook = StrictCharField(
            required=False, allow_blank=True, allow_null=True, max_length=2000,
            help_text="An https URL the task's events are POSTed to, signed to the Standard Webhooks spec with your "
            "webhook secret (create it first: POST /api/v1/webhooks/secret). README, \"Webhooks\".")
        webhook_events_filter = serializers.ListField(
            child=serializers.ChoiceField(choices=EVENTS), required=False, min_length=1, max_length=len(EVENTS),
            help_text="Which events to send; the default is the terminal ones: completed, failed, cancelled.")

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
        examples=[OpenApiExample("The seed design's example", request_only=True, value={
            "prompt": "一只可爱的猫咪", "negative_prompt": "模糊, 低质量", "model": "general_v2.0", "width": 1024,
            "height": 1024, "num_images": 1, "steps": 20, "scale": 7.5, "seed": None,
        })],
        responses={201: OutputSerializer, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        webhook = webhooks.webhook_request(url=data.pop("webhook", None), events=data.pop("webhook_events_filter", None),
                                           owner=request.user, token=getattr(request, "api_token", None))
        if data.get("reference_images"):
            data["reference_images"] = selectors.reference_sources(ids=data["reference_images"], user=request.user)
        try:
            plan = plan_generation(data)
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
            webhook=webhook,
        )
        headers = {"Location": reverse("api:task", args=[task.task_id])}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.OutputSerializer(task).data, status=status.HTTP_201_CREATED, headers=headers)


class ImageBodyParser(BaseParser):
    """A picture sent as the whole body (`Content-Type: image/png`, `curl --data-binary @a.png`): its bytes."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = REFERENCE_MAX_BYTES + 1  # one byte more tells "too large" apart from "exactly the limit"
        return {"file": stream.read(limit) if stream is not None else b""}


class ReferenceUploadApi(APIView):
    throttle_classes = [ApiThrottle]
    parser_classes = [ImageBodyParser, MultiPartParser]

    @extend_schema_serializer(component_name="ReferenceUploaded")
    class OutputSerializer(serializers.Serializer):
        reference_id = serializers.CharField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        format = serializers.CharField()
        file_size = serializers.IntegerField()
        sha256 = serializers.CharField()

    @extend_schema(
        operation_id="reference_upload",
        summary="Upload a reference image",
        description="The picture is the whole body (`Content-Type: image/png`, `image/jpeg` or `image/webp`), or a "
        "multipart form's `file` field. At most 10 MB (this endpoint's own limit, above IMAGEGEN_MAX_BODY_BYTES), each "
        "side 15-6000 px. Name the returned `reference_id` in POST /api/v1/generate's `reference_images`; an upload no "
        "task used is deleted after a day. A model's own limits (count, formats, aspect ratio) are checked then.",
        request={"image/png": {"type": "string", "format": "binary"},
                 "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string",
                                                                                   "format": "binary"}}}},
        responses={201: OutputSerializer, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request):
        upload = request.data.get("file")
        data = upload.read(REFERENCE_MAX_BYTES + 1) if hasattr(upload, "read") else upload
        if not data:
            raise ValidationFailed(_("Send a picture: as the body with Content-Type image/png, image/jpeg or "
                                     "image/webp, or as a multipart form's file field."),
                                   details={"file": [_("No picture was sent.")]})
        reference = services.reference_upload(data=data, owner=request.user, client_id=client_id(request))
        return Response(self.OutputSerializer(reference).data, status=status.HTTP_201_CREATED)


class ReferenceFileApi(APIView):
    throttle_classes = [ReadThrottle]

    @extend_schema(operation_id="reference_get", summary="A reference image's file",
                   responses={(200, "image/*"): {"type": "string", "format": "binary"}, **ERROR_RESPONSES})
    def get(self, request, reference_id: str):
        ref = selectors.reference_get(reference_id=reference_id, user=request.user)
        response = HttpResponse(storage.read(ref.file_path), content_type=ref.mime_type)
        response["Cache-Control"] = "private, max-age=86400"  # a reference's bytes never change
        response["X-Content-Type-Options"] = "nosniff"
        return response


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
        description="An unfinished task is cancelled (202, the task in its new state); a finished one is deleted "
        "(204): moved to the trash with its images (gone from every list and link, restorable with POST "
        "/api/v1/trash/{task_id}/restore until the trash is emptied or IMAGEGEN_TRASH_DAYS pass), or with "
        "`purge=1` deleted with its files for good at once.",
        parameters=[task_id_parameter(), purge_parameter()],
        responses={202: TaskOutput, 204: None, **WRITE_ERROR_RESPONSES},
    )
    def delete(self, request, task_id: str):
        purge = wants_purge(request.query_params)
        task = selectors.task_get(task_id=task_id, user=request.user)
        if task.status not in FINISHED and services.task_cancel(task=task):
            return Response(TaskOutput(selectors.task_get(task_id=task_id, user=request.user)).data,
                            status=status.HTTP_202_ACCEPTED)
        if purge:
            services.task_delete(task=task)
        else:
            services.task_trash(task=task)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _polled_json(body: dict) -> bytes:
    # As DRF's JSONRenderer writes it (compact, UTF-8, U+2028/9 escaped for old JavaScript parsers).
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


_task_detail_api = TaskDetailApi.as_view()


@wraps(_task_detail_api)  # keeps .cls, so the schema still documents TaskDetailApi
@plain_api_view
def task_detail(request, task_id: str):
    """GET /api/v1/task/{id} as JSON — the request every client repeats while it waits — straight from the
    one-query snapshot, skipping DRF's request cycle (BENCHMARKS.md, read path: a quarter of the cost that
    was left). Same authentication, read limit, body, headers and error envelope; anything else (the
    browsable HTML, DELETE, OPTIONS) is TaskDetailApi's. tests/test_task_output.py holds the two equal."""
    if request.method != "GET" or "html" in request.headers.get("Accept", "") or "format" in request.GET:
        return _task_detail_api(request, task_id=task_id)
    user = caller(request)
    if user is not None:
        request.user = user
    throttle = ReadThrottle()
    if not throttle.allow_request(request, None):
        wait = throttle.wait()
        raise RateLimited(Throttled(wait).detail, retry_after=wait)
    task, images = selectors.task_snapshot(task_id=task_id, user=user)
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
    q = TextFilterField(required=False, max_length=200, help_text=(
        "Text the prompt contains, anywhere and in any case, taken literally; the count of a search stops at "
        "1,000 (then `count_capped`)."))
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


# Named once: instantiating the serializer deep-copies its fields, which every list request would pay twice.
_FILTER_NAMES = frozenset(TaskFilterSerializer._declared_fields) | {"format"}


def read_filters(request) -> dict:
    unknown = sorted(set(request.query_params) - _FILTER_NAMES)
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


# A page of tasks chosen by the lists' query parameters (TaskFilterSerializer), newest first. A list calls its
# two selectors in rows and count (looked up when called, not bound at import) and names, with
# extend_schema_view, its operation id and summary. (A comment, not a docstring: drf-spectacular would publish
# a docstring as each list's description.)
class FilteredTaskListApi(APIView):
    throttle_classes = [ApiThrottle]

    def rows(self, *, filters, user):
        raise NotImplementedError

    def count(self, *, filters, user):
        raise NotImplementedError

    @extend_schema(parameters=[TaskFilterSerializer], responses={200: TaskPage, **ERROR_RESPONSES})
    def get(self, request):
        filters = read_filters(request)
        return paginate(
            queryset=self.rows(filters=filters, user=request.user),
            count=self.count(filters=filters, user=request.user),
            render=task_list_bodies,
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
        models = offered_models()  # only models whose engine has credentials here (generation/offering.py)
        default = offered_default().id
        return Response({"default": default, "models": [m.to_dict() for m in models]})


@extend_schema_view(get=extend_schema(operation_id="task_list", summary="List tasks, newest first"))
class TaskListApi(FilteredTaskListApi):
    def rows(self, *, filters, user):
        return list_selectors.task_list_rows(filters=filters, user=user)

    def count(self, *, filters, user):
        return list_selectors.task_count(filters=filters, user=user)
