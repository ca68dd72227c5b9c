from django.utils.translation import gettext as _

from generation import selectors as generation_selectors
from generation.models import FINISHED, UNFINISHED, GenerationTask, is_task_id
from imagegen.errors import NotFound


def history_list(*, filters: dict):
    """Finished tasks; a status filter narrows within the finished ones."""
    wanted = [s for s in filters.get("status") or FINISHED if s in FINISHED]
    if set(wanted) == set(FINISHED):
        # "Not unfinished" rather than "one of three": SQLite then walks the (created_at, id) index in
        # order instead of merging three status ranges and sorting them, which deep pages would pay for.
        qs = generation_selectors.task_list(filters={**filters, "status": None})
        return qs.exclude(status__in=UNFINISHED)
    return generation_selectors.task_list(filters={**filters, "status": wanted or ["-none-"]})


def history_get(*, item_id: str) -> GenerationTask:
    task = GenerationTask.objects.filter(task_id=item_id, status__in=FINISHED).first() if is_task_id(item_id) else None
    if task is None:
        raise NotFound(_("History item not found."))
    return task
