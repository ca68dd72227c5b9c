"""/api/v1/history: finished generations (completed, failed, cancelled), searchable; delete (to the trash, or
for good with its files)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.pagination import paginate
from core.api.throttling import ApiThrottle
from generation.apis import TaskFilterSerializer, read_filters
from generation.task_json import TaskPage, task_list_bodies
from generation.openapi import task_id_parameter
from generation.trash_apis import purge_parameter, wants_purge

from . import selectors, services


class HistoryListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="history_list",
        summary="Finished generations, newest first",
        parameters=[TaskFilterSerializer],
        responses={200: TaskPage, **ERROR_RESPONSES},
    )
    def get(self, request):
        filters = read_filters(request)
        return paginate(
            queryset=selectors.history_rows(filters=filters, user=request.user),
            count=selectors.history_count(filters=filters, user=request.user),
            render=task_list_bodies,
            request=request,
            view=self,
        )


class HistoryDeleteApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="history_delete",
        summary="Delete a history item (a finished task) with its images",
        description="Moved to the trash (restorable with POST /api/v1/trash/{item_id}/restore), or with `purge=1` "
        "deleted with its files for good at once.",
        parameters=[task_id_parameter("item_id"), purge_parameter()],
        responses={204: None, **WRITE_ERROR_RESPONSES},
    )
    def delete(self, request, item_id: str):
        purge = wants_purge(request.query_params)
        item = selectors.history_get(item_id=item_id, user=request.user)
        services.history_delete(item=item, purge=purge)
        return Response(status=status.HTTP_204_NO_CONTENT)
