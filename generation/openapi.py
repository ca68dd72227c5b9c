"""OpenAPI pieces of the task endpoints: the task id path parameter."""

from drf_spectacular.utils import OpenApiParameter

from generation.models import TASK_ID_PATTERN


def task_id_parameter(name: str = "task_id") -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, pattern=TASK_ID_PATTERN,
                            description="A task id (a UUID); any other shape is a 404.")
