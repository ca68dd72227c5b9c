"""/api/v1 endpoints of the gallery: image lists, tags, bulk actions and zip downloads."""

from __future__ import annotations

import tempfile
import zipfile

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES, paginated
from core.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField, TextFilterField, UtcDateTimeField
from core.api.pagination import paginate
from core.api.throttling import ApiThrottle
from core.errors import NotFound, ValidationFailed
from generation import selectors as generation_selectors
from generation.models import GenerationTask, Image
from generation.task_json import ImageOutput, image_body

from . import selectors, services
from .models import MAX_BOARD_NAME, ShareLink, Star
from .openapi import image_id_parameter
from .views import download_name

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
    starred = serializers.SerializerMethodField()
    created_at = UtcDateTimeField()

    def get_starred(self, image) -> bool:
        try:
            image.star
        except Star.DoesNotExist:
            return False
        return True

    def to_representation(self, image):
        body = super().to_representation(image)
        task = image.task
        body.update(task_id=task.task_id, prompt=task.prompt, model=task.model, starred=self.get_starred(image),
                    created_at=UtcDateTimeField.text(image.created_at))
        return body


def gallery_body(row: selectors.GalleryRow) -> dict:
    """GalleryImageOutput's body from a gallery_row (tests/test_list_bodies_equal_their_serializers.py holds the
    two equal)."""
    body = image_body(row.image, row.tags)
    body.update(task_id=row.task.task_id, prompt=row.task.prompt, model=row.task.model, starred=row.starred,
                created_at=UtcDateTimeField.text(row.image.created_at))
    return body


def gallery_bodies(rows) -> list[dict]:
    """The gallery list's bodies of a page of selectors.image_rows' rows (two queries for the page)."""
    return [gallery_body(row) for row in selectors.image_page(rows)]


class ImageFilterSerializer(serializers.Serializer):
    tag = TextFilterField(required=False, max_length=50)
    model = TextFilterField(required=False, max_length=100)
    q = TextFilterField(required=False, max_length=200)
    batch = TextFilterField(required=False, max_length=38, help_text="A batch id: the images of that batch's tasks.")
    board = TextFilterField(required=False, max_length=38, help_text="A board id: the images on that board.")
    starred = serializers.BooleanField(required=False, help_text="true: starred images only.")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)


class ImageListApi(APIView):
    throttle_classes = [ApiThrottle]

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
        return paginate(queryset=selectors.image_list_rows(filters=filters.validated_data, user=request.user),
                        count=selectors.image_count(filters=filters.validated_data, user=request.user),
                        render=gallery_bodies, request=request, view=self)


class TagsInput(serializers.Serializer):
    tags = serializers.ListField(child=StrictCharField(max_length=200), min_length=1, max_length=30)


def _image(image_id: str, user) -> Image:
    return generation_selectors.image_get(image_id=image_id, user=user)


def _tags_of(image: Image) -> list[str]:
    return sorted(image.tags.values_list("tag_name", flat=True))


class ImageTagsApi(APIView):
    throttle_classes = [ApiThrottle]

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
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="image_tag_remove", summary="Remove a tag from an image",
                   parameters=[image_id_parameter()],
                   responses={200: inline_serializer("ImageTagsLeft", {"tags": serializers.ListField()}),
                              **WRITE_ERROR_RESPONSES})
    def delete(self, request, image_id: str, tag: str):
        image = _image(image_id, request.user)
        services.tags_remove(images=[image], names=[tag])
        return Response({"tags": _tags_of(image)})


class TagListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="tag_list", summary="Tags with the number of images carrying each",
                   responses={200: inline_serializer("TagCount", {"tag_name": serializers.CharField(),
                                                                  "count": serializers.IntegerField()}, many=True)})
    def get(self, request):
        return Response(selectors.tag_counts(user=request.user))


class BulkApi(APIView):
    throttle_classes = [ApiThrottle]

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
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="images_zip", summary="Download several originals as one zip file",
                   parameters=[OpenApiParameter("ids", str, required=True, pattern=f"^[^,]+(?:,[^,]+){{0,{MAX_BULK - 1}}}$",
                                                description="Comma-separated image ids (≤ 200).")],
                   responses={(200, "application/zip"): bytes, **ERROR_RESPONSES})
    def get(self, request):
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


# --- Boards and stars -------------------------------------------------------------------------------------


class BoardOutput(serializers.Serializer):
    board_id = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Images on the board.")
    created_at = UtcDateTimeField()

    def to_representation(self, board):
        # Annotated in lists; images in the trash are not counted.
        count = board.count if hasattr(board, "count") else board.entries.filter(image__deleted_at__isnull=True).count()
        return {"board_id": board.board_id, "name": board.name, "count": count,
                "created_at": UtcDateTimeField.text(board.created_at)}


class BoardInput(serializers.Serializer):
    name = StrictCharField(max_length=MAX_BOARD_NAME, trim_whitespace=False)


def board_id_parameter() -> OpenApiParameter:
    return OpenApiParameter("board_id", str, OpenApiParameter.PATH, pattern=r"^board_[0-9a-f]{32}$")


class BoardListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="board_list", summary="Your boards, by name, with their image counts",
                   responses={200: BoardOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(BoardOutput(selectors.board_list(user=request.user), many=True).data)

    @extend_schema(operation_id="board_create", summary="Make a board", request=BoardInput,
                   responses={201: BoardOutput, **WRITE_ERROR_RESPONSES})
    def post(self, request):
        data = BoardInput(data=request.data)
        data.is_valid(raise_exception=True)
        board = services.board_create(name=data.validated_data["name"], owner=request.user)
        return Response(BoardOutput(board).data, status=status.HTTP_201_CREATED)


class BoardDetailApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="board_rename", summary="Rename a board", request=BoardInput,
                   parameters=[board_id_parameter()], responses={200: BoardOutput, **WRITE_ERROR_RESPONSES})
    def patch(self, request, board_id: str):
        board = selectors.board_get(board_id=board_id, user=request.user)
        data = BoardInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(BoardOutput(services.board_rename(board=board, name=data.validated_data["name"])).data)

    @extend_schema(operation_id="board_delete", summary="Delete a board (its images stay)",
                   parameters=[board_id_parameter()], responses={204: None, **WRITE_ERROR_RESPONSES})
    def delete(self, request, board_id: str):
        services.board_delete(board=selectors.board_get(board_id=board_id, user=request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardImagesApi(APIView):
    throttle_classes = [ApiThrottle]

    class InputSerializer(serializers.Serializer):
        image_ids = serializers.ListField(child=StrictCharField(max_length=36), min_length=1, max_length=MAX_BULK)

    @extend_schema(operation_id="board_add", summary="Put images on a board", request=InputSerializer,
                   parameters=[board_id_parameter()],
                   responses={200: inline_serializer("BoardAdded", {"added": serializers.IntegerField(),
                                                                    "board": BoardOutput()}),
                              **WRITE_ERROR_RESPONSES})
    def post(self, request, board_id: str):
        board = selectors.board_get(board_id=board_id, user=request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = set(data.validated_data["image_ids"])
        images = selectors.images_by_ids(image_ids=wanted, user=request.user)
        missing = sorted(wanted - {i.image_id for i in images})
        if missing:
            raise NotFound(_("Image not found."), details={"image_ids": missing})
        added = services.board_add(board=board, images=images)
        return Response({"added": added, "board": BoardOutput(board).data})


class BoardImageDeleteApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="board_remove", summary="Take an image off a board (the image stays)",
                   parameters=[board_id_parameter(), image_id_parameter()],
                   responses={200: BoardOutput, **WRITE_ERROR_RESPONSES})
    def delete(self, request, board_id: str, image_id: str):
        board = selectors.board_get(board_id=board_id, user=request.user)
        services.board_remove(board=board, images=[_image(image_id, request.user)])
        return Response(BoardOutput(board).data)


class ImageStarApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="image_star", summary="Star an image", request=None, parameters=[image_id_parameter()],
                   responses={200: inline_serializer("Starred", {"starred": serializers.BooleanField()}),
                              **WRITE_ERROR_RESPONSES})
    def put(self, request, image_id: str):
        services.star_set(image=_image(image_id, request.user), starred=True)
        return Response({"starred": True})

    @extend_schema(operation_id="image_unstar", summary="Take the star off an image", parameters=[image_id_parameter()],
                   responses={200: inline_serializer("Unstarred", {"starred": serializers.BooleanField()}),
                              **WRITE_ERROR_RESPONSES})
    def delete(self, request, image_id: str):
        services.star_set(image=_image(image_id, request.user), starred=False)
        return Response({"starred": False})


# --- Share links ------------------------------------------------------------------------------------------


class ShareOutput(serializers.Serializer):
    share_id = serializers.CharField()
    url = serializers.CharField(help_text="The public page: whoever has it sees what the link names.")
    kind = serializers.ChoiceField(choices=ShareLink.Kind.choices)
    target_id = serializers.CharField()
    show_prompt = serializers.BooleanField()
    expires_at = UtcDateTimeField(allow_null=True)
    revoked_at = UtcDateTimeField(allow_null=True)
    live = serializers.BooleanField(help_text="Neither revoked nor expired (the target may still have gone).")
    views = serializers.IntegerField()
    created_at = UtcDateTimeField()

    def to_representation(self, link):
        text = UtcDateTimeField.text
        return {"share_id": link.share_id, "url": f"/s/{link.token}", "kind": link.kind, "target_id": link.target_id,
                "show_prompt": link.show_prompt, "expires_at": text(link.expires_at),
                "revoked_at": text(link.revoked_at), "live": link.is_live(), "views": link.views,
                "created_at": text(link.created_at)}


def share_id_parameter() -> OpenApiParameter:
    return OpenApiParameter("share_id", str, OpenApiParameter.PATH, pattern=r"^share_[0-9a-f]{32}$")


class ShareListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema_serializer(component_name="ShareCreate")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ShareLink.Kind.choices)
        target_id = StrictCharField(max_length=38)
        show_prompt = StrictBooleanField(required=False, default=True)
        expires_in_days = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=3650)

    @extend_schema(operation_id="share_list", summary="Your share links, newest first",
                   responses={200: ShareOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(ShareOutput(selectors.share_list(user=request.user), many=True).data)

    @extend_schema(operation_id="share_create", summary="A read-only public link to your image, task or board",
                   request=InputSerializer, responses={201: ShareOutput, **WRITE_ERROR_RESPONSES})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = services.share_create(owner=request.user, **data.validated_data)
        return Response(ShareOutput(link).data, status=status.HTTP_201_CREATED)


class ShareDetailApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="share_revoke", summary="Revoke a share link: it stops working at once",
                   parameters=[share_id_parameter()], responses={200: ShareOutput, **WRITE_ERROR_RESPONSES})
    def delete(self, request, share_id: str):
        link = selectors.share_get(share_id=share_id, user=request.user)
        services.share_revoke(link=link)
        return Response(ShareOutput(link).data)
