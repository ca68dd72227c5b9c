from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound
from generation import selectors as generation_selectors
from generation.models import FINISHED, UNFINISHED, GenerationTask, is_task_id


def history_list(*, filters: dict, user=None):
    """`user`'s finished tasks (everyone's in open mode); a status filter narrows within the finished ones; with
    a prompt search, a PromptSearch (pages from the index, a capped count)."""
    wanted = [s for s in filters.get("status") or FINISHED if s in FINISHED]
    # The prompt search goes last, over every other filter (generation.selectors.PromptSearch).
    text, filters = filters.get("q"), {**filters, "q": None}
    if set(wanted) == set(FINISHED):
        # "Not unfinished" rather than "one of three": SQLite then walks the (created_at, id) index in
        # order instead of merging three status ranges and sorting them, which deep pages would pay for.
        qs = generation_selectors.task_list(filters={**filters, "status": None}, user=user)
        qs = qs.exclude(status__in=UNFINISHED)
    else:
        qs = generation_selectors.task_list(filters={**filters, "status": wanted or ["-none-"]}, user=user)
    return generation_selectors.PromptSearch(qs, text, user=user) if text else qs


def history_count(*, filters: dict, user=None):
    """A cheaper count for the unfiltered history, or None: every task minus the few unfinished ones and the
    few in the trash (never the same: an unfinished task is never in it), three index counts instead of a
    scan that checks each row's status."""
    if any(value for name, value in filters.items() if name not in ("page", "page_size")):
        return None
    tasks = owned_by(GenerationTask.objects.all(), user)
    return lambda: (tasks.count() - tasks.filter(status__in=UNFINISHED).count()
                    - tasks.filter(deleted_at__isnull=False).count())


def history_get(*, item_id: str, user=None) -> GenerationTask:
    """A finished task of `user`'s, out of the trash; anything else is "not found"."""
    qs = owned_by(GenerationTask.objects.filter(task_id=item_id, status__in=FINISHED, deleted_at__isnull=True), user)
    task = qs.first() if is_task_id(item_id) else None
    if task is None:
        raise NotFound(_("History item not found."))
    return task
