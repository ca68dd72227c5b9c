from generation import services as generation_services
from generation.models import GenerationTask


def history_delete(*, item: GenerationTask) -> None:
    generation_services.task_delete(task=item)
