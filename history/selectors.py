from django.utils.translation import gettext as _

from core.access import owned_by
from core.errors import NotFound
from generation import list_selectors, search
from generation import selectors as generation_selectors
from generation.models import FINISHED, UNFINISHED, GenerationTask, is_task_id


def history_list(*, filters: dict, user=None):
    """`user`'s finished tasks (everyone's in open mode); a status filter narrows within the finished ones; with
    a prompt search, a PromptSearch (pages from the index, a capped count)."""
    wanted = [s for s in filters.get("status") or FINISHED if s in FINISHED]
    # The prompt search goes last, over every other filter (generation.search.PromptSearch).
    text, filters = filters.get("q"), {**filters, "q": None}
    if set(wanted) == set(FINISHED):
        # "Not unfinished" rather than "one of three": SQLite then walks the (created_at, id) index in
        # order instead of merging three status ranges and sorting them, which deep pages would pay for.
        qs = generation_selectors.task_list(filters={**filters, "status": None}, user=user)
        qs = qs.exclude(status__in=UNFINISHED)
    else:
        qs = generation_selectors.task_list(filters={**filters, "status": wanted or ["-none-"]}, user=user)
    return search.PromptSearch(qs, text, user=user) if text else qs


def history_rows(*, filters: dict, user=None):
    """history_list's rows as generation.list_selectors.task_rows gives them: by hand-written SQL when only a page is
    asked for (every finished task out of the trash, newest first)."""
    if list_selectors.unfiltered(filters):
        return list_selectors.PlainRows(user=user, finished_only=True)
    return list_selectors.task_rows(history_list(filters=filters, user=user))


def history_count(*, filters: dict, user=None):
    """A cheaper count for the unfiltered history, or None: every task minus the few unfinished ones and the
    few in the trash (never the same: an unfinished task is never in it), three index counts in one statement
    instead of a scan that checks each row's status."""
    if not list_selectors.unfiltered(filters):
        return None
    return lambda: list_selectors.count_less(GenerationTask, user, trashed=True, statuses=UNFINISHED)


def history_get(*, item_id: str, user=None) -> GenerationTask:
    """A finished task of `user`'s, out of the trash; anything else is "not found"."""
    qs = owned_by(GenerationTask.objects.filter(task_id=item_id, status__in=FINISHED, deleted_at__isnull=True), user)
    task = qs.first() if is_task_id(item_id) else None
    if task is None:
        raise NotFound(_("History item not found."))
    return task
