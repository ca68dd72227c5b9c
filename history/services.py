from generation import services as generation_services
from generation.models import GenerationTask


def history_delete(*, item: GenerationTask, purge: bool = False) -> None:
    """Move a history item to the trash, or (`purge`) delete it and its files for good."""
    if purge:
        generation_services.task_delete(task=item)
    else:
        generation_services.task_trash(task=item)
