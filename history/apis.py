"""/api/v1/history: finished generations (completed, failed, cancelled), searchable; delete with files."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import ERROR_RESPONSES, WRITE_ERROR_RESPONSES
from core.api.pagination import paginate
from core.api.throttling import ApiThrottle
from generation.apis import TaskFilterSerializer, read_filters
from generation.task_json import TaskPage, TaskSummaryOutput
from generation.openapi import task_id_parameter

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
            queryset=selectors.history_list(filters=filters, user=request.user),
            count=selectors.history_count(filters=filters, user=request.user),
            serializer_class=TaskSummaryOutput,
            request=request,
            view=self,
        )


class HistoryDeleteApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="history_delete",
        summary="Delete a history item (a finished task) with its images",
        parameters=[task_id_parameter("item_id")],
        responses={204: None, **WRITE_ERROR_RESPONSES},
    )
    def delete(self, request, item_id: str):
        item = selectors.history_get(item_id=item_id, user=request.user)
        services.history_delete(item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)
