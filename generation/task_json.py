"""The JSON of tasks and images, as the API, the stream and the gallery all serve it. The serializers
declare the documented shape (OpenAPI); the bodies are rendered by hand, which tests hold equal to them."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.docs import paginated
from core.api.fields import UtcDateTimeField

from . import list_selectors, selectors
from .error_messages import user_message
from .models import Status

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


def money_text(amount) -> str | None:
    """A Decimal amount as text, exact, with at least two decimals ("0.30", "0.1234"): money in JSON is a
    string, so no reader rounds it through a float."""
    if amount is None:
        return None
    whole, _dot, fraction = f"{amount:f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


class CostOutput(serializers.Serializer):
    """What a task costs, at its model's price when it was created."""

    price_per_image = serializers.CharField(help_text="The price per image, as exact decimal text.")
    currency = serializers.CharField(help_text="Three-letter currency code.")
    amount = serializers.CharField(allow_null=True, help_text="images_billed × price; null until billed.")
    estimated = serializers.CharField(help_text="num_images × price: what the task may cost at most.")


def cost_body(task) -> dict | None:
    if task.price_per_image is None:
        return None
    return {
        "price_per_image": money_text(task.price_per_image),
        "currency": task.currency,
        "amount": money_text(task.cost),
        "estimated": money_text(task.price_per_image * task.num_images),
    }


class BatchCostOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="What its billed tasks cost so far.")
    estimated = serializers.CharField(help_text="What it costs at most: billed tasks' cost, plus the rest in full.")


def batch_costs(tasks) -> list[dict]:
    """A batch's cost per currency, over its priced tasks (a failed one was billed nothing)."""
    sums: dict[str, list] = {}
    for task in tasks:
        if task.price_per_image is None:
            continue
        amount, estimated = sums.setdefault(task.currency, [Decimal(0), Decimal(0)])
        spent = task.cost if task.cost is not None else Decimal(0)
        unbilled = task.cost is None and task.status not in (Status.FAILED, Status.CANCELLED)
        sums[task.currency] = [amount + spent,
                               estimated + (task.price_per_image * task.num_images if unbilled else spent)]
    return [{"currency": currency, "amount": money_text(amount), "estimated": money_text(estimated)}
            for currency, (amount, estimated) in sorted(sums.items())]


class ReferenceOutput(serializers.Serializer):
    """A reference image the task was given (README, "Reference images"). Its id may be named again in a
    new task's reference_images (that is how "reuse" carries it along)."""

    reference_id = serializers.CharField()
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    file_size = serializers.IntegerField()


def reference_body(ref) -> dict:
    return {"reference_id": ref.reference_id, "url": reverse("api:reference", args=[ref.reference_id]),
            "width": ref.width, "height": ref.height, "format": ref.format, "file_size": ref.file_size}


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
    group = serializers.BooleanField(help_text="Group generation: num_images is an upper bound.")
    steps = serializers.IntegerField(allow_null=True)
    scale = serializers.FloatField(allow_null=True)
    seed = serializers.IntegerField(allow_null=True)
    enhance_prompt = serializers.BooleanField(allow_null=True)
    use_sr = serializers.BooleanField()
    ignored_params = serializers.ListField(child=serializers.CharField())
    images = ImageOutput(many=True)
    reference_images = serializers.SerializerMethodField(help_text="Only on a single task's JSON, not in lists.")
    error = serializers.SerializerMethodField()
    retry_count = serializers.IntegerField()
    batch_id = serializers.SerializerMethodField(help_text="The batch it was made in, if any.")
    next_attempt_at = UtcDateTimeField(allow_null=True)
    queue_position = serializers.SerializerMethodField()
    estimated_time = serializers.SerializerMethodField()
    revised_prompt = serializers.CharField()
    upstream_request_id = serializers.CharField()
    images_billed = serializers.IntegerField(allow_null=True, help_text="Images the service billed; null until finished.")
    tokens_billed = serializers.IntegerField(allow_null=True, help_text="Tokens billed, where the service reports them.")
    cost = serializers.SerializerMethodField(help_text="Null when the model has no price in the price table.")
    created_at = UtcDateTimeField()
    started_at = UtcDateTimeField(allow_null=True)
    completed_at = UtcDateTimeField(allow_null=True)

    @extend_schema_field(ErrorOutput(allow_null=True))
    def get_error(self, task):
        if not task.error_code or task.status == Status.COMPLETED:
            return None
        return {"code": task.error_code, "message": str(user_message(task.error_code, task.status))}

    @extend_schema_field(CostOutput(allow_null=True))
    def get_cost(self, task):
        return cost_body(task)

    def get_batch_id(self, task) -> str | None:
        return task.batch_id or None

    @extend_schema_field(ReferenceOutput(many=True))
    def get_reference_images(self, task) -> list[dict]:
        # By the task's primary key: the polled body is built from a TaskSnapshot, not a model instance.
        return [reference_body(ref) for ref in selectors.task_references(task_pk=task.id)]

    def get_queue_position(self, task) -> int | None:
        if task.status != Status.PENDING or task.lease_holder:
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
            "group": task.group,
            "steps": task.steps,
            "scale": None if task.scale is None else float(task.scale),
            "seed": task.seed,
            "enhance_prompt": task.enhance_prompt,
            "use_sr": task.use_sr,
            "ignored_params": [str(name) for name in task.ignored_params],
            "images": [image_body(image, tags) for image, tags in images],
            "reference_images": self.get_reference_images(task),
            "error": self.get_error(task),
            "retry_count": task.retry_count,
            "batch_id": self.get_batch_id(task),
            "next_attempt_at": utc_text(task.next_attempt_at),
            "queue_position": position,
            "estimated_time": self.get_estimated_time(task, position),
            "revised_prompt": task.revised_prompt,
            "upstream_request_id": task.upstream_request_id,
            "images_billed": task.images_billed,
            "tokens_billed": task.tokens_billed,
            "cost": cost_body(task),
            "created_at": utc_text(task.created_at),
            "started_at": utc_text(task.started_at),
            "completed_at": utc_text(task.completed_at),
        }


class TaskSummaryOutput(TaskOutput):
    """List rows: the same fields, without the per-row queue queries."""

    queue_position = None
    estimated_time = None
    reference_images = None  # a query per row; a list shows none (the task's own JSON has them)

    def body(self, task, images: list[tuple]) -> dict:
        body = super().body(task, images)
        del body["queue_position"], body["estimated_time"], body["reference_images"]
        return body

    def get_reference_images(self, task):
        return []

    def get_queue_position(self, task):
        return None

    def get_estimated_time(self, task, ahead=None):
        return None


def task_list_bodies(rows) -> list[dict]:
    """The list bodies of a page of list_selectors.task_rows' rows: TaskSummaryOutput's, rendered from two queries
    for the whole page (tests/test_list_bodies_equal_their_serializers.py holds them equal)."""
    summary = TaskSummaryOutput()
    return [summary.body(task, images) for task, images in list_selectors.task_page(rows)]


TaskPage = paginated("TaskPage", TaskSummaryOutput)
