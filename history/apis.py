"""/api/v1/history: finished generations (completed, failed, cancelled), searchable; delete (to the trash, or
for good with its files)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.docs import WRITE_ERROR_RESPONSES
from core.api.throttling import ApiThrottle
from generation.apis import FilteredTaskListApi
from generation.openapi import task_id_parameter
from generation.trash_apis import purge_parameter, wants_purge

from . import selectors, services


@extend_schema_view(get=extend_schema(operation_id="history_list", summary="Finished generations, newest first"))
class HistoryListApi(FilteredTaskListApi):
    def rows(self, *, filters, user):
        return selectors.history_rows(filters=filters, user=user)

    def count(self, *, filters, user):
        return selectors.history_count(filters=filters, user=user)


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
