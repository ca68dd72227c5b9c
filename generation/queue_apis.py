"""/api/v1/queue, the owner's queue move and retry: unfinished tasks in the order they will run."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.fields import StrictBooleanField
from core.api.throttling import ApiThrottle
from core.errors import Conflict, ValidationFailed

from . import scheduling, selectors, services
from .openapi import task_id_parameter
from .task_json import TaskOutput


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
        if not scheduling.task_move_ahead_of_own(task=task):
            raise Conflict(_("Only a task that is waiting for a worker can be moved."), code="task_not_waiting")
        task, images = selectors.task_snapshot(task_id=task_id, user=request.user)
        return Response(TaskOutput().body(task, images))


class TaskRetryApi(APIView):
    throttle_classes = [ApiThrottle]
    write_budget = "generation"  # a retry is a generation: it asks the image service, and is billed, again

    @extend_schema(
        operation_id="task_retry",
        summary="Run your failed or cancelled task again",
        description="The same task (same id, settings, seed and reference images) goes back into the queue as a "
        "new run: 202 with the task. It counts as a new task of today's: the generation rate, the queued-task "
        "limit, the daily quota and the spending caps apply (429 as for POST /api/v1/generate), its earlier run "
        "no longer counting. 409 `task_not_retryable` unless it failed or was cancelled (and is not in the trash).",
        request=None, parameters=[task_id_parameter()], responses={202: TaskOutput, **WRITE_ERROR_RESPONSES},
    )
    def post(self, request, task_id: str):
        task = selectors.task_get(task_id=task_id, user=request.user)
        if not services.task_retry(task=task, by_owner=True):
            raise Conflict(_("Only a task that failed or was cancelled can be run again."), code="task_not_retryable")
        task, images = selectors.task_snapshot(task_id=task_id, user=request.user)
        return Response(TaskOutput().body(task, images), status=status.HTTP_202_ACCEPTED)
