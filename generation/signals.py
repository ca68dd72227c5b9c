"""Worker start-up, and after migrations. A worker that starts (first start, or a replacement for one that
died) hands back tasks and webhook deliveries whose worker process on this machine no longer exists, without
waiting for their leases. After migrating, the prompt search index is made again if a migration dropped it."""

import logging

from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

from . import recovery, search_index, supervision, webhooks

log = logging.getLogger(__name__)


@receiver(post_spawn)
def recover_after_worker_start(sender, proc_name, **kwargs):
    try:
        recovery.tasks_recover()
        webhooks.deliveries_recover()
    except Exception:  # never keep a worker from starting
        log.exception("recovery at worker start failed")


# The heartbeat of the stall signal (generation/supervision.py): written by the worker process itself
# each time it takes a message and each time it finishes one.


@receiver(pre_execute)
def heartbeat_on_take(sender, func, task, **kwargs):
    supervision.heartbeat(field="taken_at")


@receiver(post_execute_in_worker)
def heartbeat_on_finish(sender, func, task, **kwargs):
    supervision.heartbeat(field="finished_at")


@receiver(post_migrate)
def keep_the_search_index(sender, app_config=None, using="default", **kwargs):
    """A migration that made SQLite remake the tasks table dropped the search index's triggers with it."""
    if getattr(app_config, "label", None) == "generation" and using == "default":
        if search_index.search_index_ensure():
            log.info("the prompt search index was made again after migrating (its triggers were gone)")
