"""/api/v1 endpoints of the gallery: image lists, tags, bulk actions and zip downloads."""

from __future__ import annotations

import tempfile
import zipfile

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import selectors as generation_selectors
from generation.apis import ImageOutput
from generation.models import GenerationTask, Image
from imagegen.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES, image_id_parameter, paginated
from imagegen.api.fields import StrictCharField, TextFilterField, UtcDateTimeField
from imagegen.api.pagination import paginate
from imagegen.api.throttling import CreateThrottle, ReadThrottle
from imagegen.errors import NotFound, ValidationFailed

from . import selectors, services

MAX_BULK = 200


class _ImagesStillThere(serializers.ListSerializer):
    """The task comes by a second query (see image_list): an image whose task was deleted in between is
    gone too (the delete cascades), so it is left out rather than shown half."""

    def to_representation(self, data):
        present = []
        for image in data:
            try:
                image.task
            except GenerationTask.DoesNotExist:
                continue
            present.append(image)
        return super().to_representation(present)


class GalleryImageOutput(ImageOutput):
    class Meta:
        list_serializer_class = _ImagesStillThere

    task_id = serializers.CharField(source="task.task_id")
    prompt = serializers.CharField(source="task.prompt")
    model = serializers.CharField(source="task.model")
    created_at = UtcDateTimeField()

    def to_representation(self, image):
        body = super().to_representation(image)
        task = image.task
        body.update(task_id=task.task_id, prompt=task.prompt, model=task.model,
                    created_at=UtcDateTimeField.text(image.created_at))
        return body


class ImageFilterSerializer(serializers.Serializer):
    tag = TextFilterField(required=False, max_length=50)
    model = TextFilterField(required=False, max_length=100)
    q = TextFilterField(required=False, max_length=200)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)


class ImageListApi(APIView):
    throttle_classes = [ReadThrottle]

    @extend_schema(operation_id="image_list", summary="Gallery images, newest first",
                   parameters=[ImageFilterSerializer],
                   responses={200: paginated("ImagePage", GalleryImageOutput), **ERROR_RESPONSES})
    def get(self, request):
        unknown = sorted(set(request.query_params) - set(ImageFilterSerializer().fields) - {"format"})
        if unknown:
            raise ValidationFailed(_("Unknown query parameter: %(names)s") % {"names": ", ".join(unknown)},
                                   details={name: [_("Unknown query parameter.")] for name in unknown})
        filters = ImageFilterSerializer(data=request.query_params.dict())  # "?tag=" is blank, not absent
        filters.is_valid(raise_exception=True)
        return paginate(queryset=selectors.image_list(filters=filters.validated_data, user=request.user),
                        serializer_class=GalleryImageOutput, request=request, view=self)


class TagsInput(serializers.Serializer):
    tags = serializers.ListField(child=StrictCharField(max_length=200), min_length=1, max_length=30)


def _image(image_id: str, user) -> Image:
    return generation_selectors.image_get(image_id=image_id, user=user)


def _tags_of(image: Image) -> list[str]:
    return sorted(image.tags.values_list("tag_name", flat=True))


class ImageTagsApi(APIView):
    throttle_classes = [CreateThrottle]

    @extend_schema(operation_id="image_tags_add", summary="Add tags to an image", request=TagsInput,
                   parameters=[image_id_parameter()],
                   responses={200: inline_serializer("ImageTags", {"tags": serializers.ListField()}),
                              **WRITE_ERROR_RESPONSES})
    def post(self, request, image_id: str):
        image = _image(image_id, request.user)
        data = TagsInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.tags_add(images=[image], names=data.validated_data["tags"])
        return Response({"tags": _tags_of(image)})


class ImageTagDeleteApi(APIView):
    throttle_classes = [CreateThrottle]

    @extend_schema(operation_id="image_tag_remove", summary="Remove a tag from an image",
                   parameters=[image_id_parameter()],
                   responses={200: inline_serializer("ImageTagsLeft", {"tags": serializers.ListField()}),
                              **WRITE_ERROR_RESPONSES})
    def delete(self, request, image_id: str, tag: str):
        image = _image(image_id, request.user)
        services.tags_remove(images=[image], names=[tag])
        return Response({"tags": _tags_of(image)})


class TagListApi(APIView):
    throttle_classes = [ReadThrottle]

    @extend_schema(operation_id="tag_list", summary="Tags with the number of images carrying each",
                   responses={200: inline_serializer("TagCount", {"tag_name": serializers.CharField(),
                                                                  "count": serializers.IntegerField()}, many=True)})
    def get(self, request):
        return Response(selectors.tag_counts(user=request.user))


class BulkApi(APIView):
    throttle_classes = [CreateThrottle]

    @extend_schema_serializer(component_name="Bulk")
    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["tag", "untag", "delete"])
        image_ids = serializers.ListField(child=StrictCharField(max_length=36), min_length=1, max_length=MAX_BULK)
        tags = serializers.ListField(child=StrictCharField(max_length=200), required=False, max_length=30)

    @extend_schema(operation_id="images_bulk", summary="Tag, untag or delete several images at once",
                   request=InputSerializer,
                   responses={200: inline_serializer("BulkResult", {"action": serializers.CharField(),
                                                                    "images": serializers.IntegerField()}),
                              **WRITE_ERROR_RESPONSES})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = data.validated_data["action"]
        wanted = set(data.validated_data["image_ids"])
        images = selectors.images_by_ids(image_ids=wanted, user=request.user)
        missing = sorted(wanted - {i.image_id for i in images})
        if missing:
            raise NotFound(_("Image not found."), details={"image_ids": missing})
        tags = data.validated_data.get("tags") or []
        if action in ("tag", "untag") and not tags:
            raise ValidationFailed(_("Name at least one tag."), details={"tags": [_("Name at least one tag.")]})
        if action == "tag":
            services.tags_add(images=images, names=tags)
        elif action == "untag":
            services.tags_remove(images=images, names=tags)
        else:
            services.images_delete(images=images)
        return Response({"action": action, "images": len(images)})


class ZipApi(APIView):
    throttle_classes = [ReadThrottle]

    @extend_schema(operation_id="images_zip", summary="Download several originals as one zip file",
                   parameters=[OpenApiParameter("ids", str, required=True, pattern=f"^[^,]+(?:,[^,]+){{0,{MAX_BULK - 1}}}$",
                                                description="Comma-separated image ids (≤ 200).")],
                   responses={(200, "application/zip"): bytes, **ERROR_RESPONSES})
    def get(self, request):
        from .views import download_name

        raw = request.query_params.get("ids") or ""
        ids = raw.split(",", MAX_BULK)
        if not raw or len(ids) > MAX_BULK or not all(ids):
            raise ValidationFailed(_("Give between 1 and %(max)d image ids.") % {"max": MAX_BULK},
                                   details={"ids": [_("Give between 1 and %(max)d image ids.") % {"max": MAX_BULK}]})
        images = selectors.images_by_ids(image_ids=ids, user=request.user, with_task=True)
        if not images:
            raise NotFound(_("Image not found."))
        # Spooled: small archives stay in memory, large ones go to a temporary file, never all in RAM.
        spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
            for image in images:
                with default_storage.open(image.file_path, "rb") as source, \
                        archive.open(download_name(image), "w") as target:
                    for chunk in iter(lambda: source.read(1024 * 1024), b""):
                        target.write(chunk)
        spool.seek(0)
        name = f"imagegen-{timezone.now():%Y%m%d-%H%M%S}.zip"
        return FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
