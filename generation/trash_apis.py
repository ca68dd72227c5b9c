"""/api/v1/trash: what was deleted, restorable until it is emptied or purged (IMAGEGEN_TRASH_DAYS), and the
`?purge=1` every DELETE of a task, history item or image takes to skip the trash.

A deleted task (DELETE /task/{id}, /history/{id}) or image (DELETE /images/{id}, bulk delete) goes to the
trash: gone from every list, search, tag count, board, zip and share link, as if deleted, its files kept.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES, paginated
from core.api.fields import UtcDateTimeField
from core.api.pagination import paginate
from core.api.throttling import ApiThrottle
from core.errors import ValidationFailed

from . import services, trash_selectors
from .models import IMAGE_ID_PATTERN, TASK_ID_PATTERN

_PURGE = {"1": True, "true": True, "0": False, "false": False}


def wants_purge(params) -> bool:
    """`?purge=1` (or true): delete for good at once instead of moving to the trash; 0, false or no purge:
    the trash. Any other value is a 400."""
    value = params.get("purge")
    if value is None:
        return False
    if value not in _PURGE:
        message = _("purge is 1 or true (delete for good at once), or 0 or false (move to the trash).")
        raise ValidationFailed(message, details={"purge": [message]})
    return _PURGE[value]


def purge_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        "purge", {"type": "string", "enum": list(_PURGE)}, OpenApiParameter.QUERY, required=False,
        description="1 or true: delete it and its files for good at once, instead of moving it to the trash.",
    )


def item_id_parameter() -> OpenApiParameter:
    pattern = "^(?:" + TASK_ID_PATTERN.strip("^$") + "|" + IMAGE_ID_PATTERN.strip("^$") + ")$"
    return OpenApiParameter("item_id", str, OpenApiParameter.PATH, pattern=pattern,
                            description="A task id (a task in the trash) or an image id (an image trashed alone).")


def purge_at(deleted_at):
    days = settings.IMAGEGEN_TRASH_DAYS
    return deleted_at + timedelta(days=days) if days else None


class TrashImageOutput(serializers.Serializer):
    image_id = serializers.CharField()
    thumbnail_url = serializers.CharField(help_text="Served while the image is in the trash (its owner only).")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class _Entries(serializers.ListSerializer):
    """A page of trash_list rows, made entries with three queries, whatever the page size."""

    def to_representation(self, data):
        return [self.child.to_representation(entry) for entry in trash_selectors.trash_entries(data)]


class TrashEntryOutput(serializers.Serializer):
    """One entry of the trash. Rendered by hand; the fields declare the documented shape."""

    class Meta:
        list_serializer_class = _Entries

    item_id = serializers.CharField(help_text="The task id (kind task) or the image id (kind image).")
    kind = serializers.ChoiceField(choices=["task", "image"])
    task_id = serializers.CharField(help_text="The task (of an image: the task it belongs to).")
    prompt = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField(help_text="The task's status.")
    created_at = UtcDateTimeField()
    deleted_at = UtcDateTimeField(help_text="When it was put in the trash.")
    purge_at = UtcDateTimeField(allow_null=True, help_text="When the daily cleanup deletes it for good "
                                "(IMAGEGEN_TRASH_DAYS after deleted_at); null: kept until the trash is emptied.")
    images = TrashImageOutput(many=True, help_text="A task's images that went to the trash with it; an image: itself.")

    def to_representation(self, entry):
        text = UtcDateTimeField.text
        task = entry.task
        return {
            "item_id": entry.item_id, "kind": entry.kind, "task_id": task.task_id, "prompt": task.prompt,
            "model": task.model, "status": task.status, "created_at": text(task.created_at),
            "deleted_at": text(entry.deleted_at), "purge_at": text(purge_at(entry.deleted_at)),
            "images": [{"image_id": image.image_id, "width": image.width, "height": image.height,
                        "thumbnail_url": reverse("api:trash-thumbnail", args=[image.image_id])}
                       for image in entry.images],
        }


class TrashPageQuery(serializers.Serializer):
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)


class TrashApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="trash_list",
        summary="The trash: deleted tasks and images, last deleted first, paginated",
        description="Yours in accounts mode. A task's entry holds the images that went with it; an image deleted "
        "alone is an entry of its own while its task is out of the trash.",
        parameters=[TrashPageQuery],
        responses={200: paginated("TrashPage", TrashEntryOutput), **ERROR_RESPONSES},
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - set(TrashPageQuery().fields) - {"format"})
        if unknown:
            raise ValidationFailed(_("Unknown query parameter: %(names)s") % {"names": ", ".join(unknown)},
                                   details={name: [_("Unknown query parameter.")] for name in unknown})
        TrashPageQuery(data=request.query_params.dict()).is_valid(raise_exception=True)
        return paginate(queryset=trash_selectors.trash_list(user=request.user), serializer_class=TrashEntryOutput,
                        request=request, view=self)

    @extend_schema(
        operation_id="trash_empty",
        summary="Empty the trash: delete everything in it, with its files, for good",
        description="Yours in accounts mode (staff empty everyone's from the staff console).",
        request=None,
        responses={200: inline_serializer("TrashEmptied", {"tasks": serializers.IntegerField(),
                                                           "images": serializers.IntegerField()}),
                   **WRITE_ERROR_RESPONSES},
    )
    def delete(self, request):
        return Response(services.trash_empty(user=request.user))


class TrashItemApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="trash_item_delete", summary="Delete one entry of the trash for good, with its files",
                   parameters=[item_id_parameter()], responses={204: None, **WRITE_ERROR_RESPONSES})
    def delete(self, request, item_id: str):
        services.trash_item_delete(item=trash_selectors.trash_get(item_id=item_id, user=request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrashRestoreApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="trash_restore",
        summary="Restore an entry of the trash: it is back everywhere, unchanged",
        description="A task comes back with the images that went with it (tags, boards, stars and share links "
        "as they were); an image with its own.",
        request=None,
        parameters=[item_id_parameter()],
        responses={200: inline_serializer("TrashRestored", {"item_id": serializers.CharField(),
                                                            "kind": serializers.CharField(),
                                                            "task_id": serializers.CharField()}),
                   **WRITE_ERROR_RESPONSES},
    )
    def post(self, request, item_id: str):
        entry = trash_selectors.trash_get(item_id=item_id, user=request.user)
        if entry.kind == "task":
            services.task_restore(task=entry.task)
        else:
            services.image_restore(image=entry.image)
        return Response({"item_id": entry.item_id, "kind": entry.kind, "task_id": entry.task.task_id})
