"""Worker start-up: a worker that starts (first start, or a replacement for one that died) hands back
tasks whose worker process on this machine no longer exists, without waiting for their leases."""

import logging

from django.dispatch import receiver
from django_q.signals import post_spawn

log = logging.getLogger(__name__)


@receiver(post_spawn)
def recover_after_worker_start(sender, proc_name, **kwargs):
    from . import services

    try:
        services.tasks_recover()
    except Exception:  # never keep a worker from starting
        log.exception("recovery at worker start failed")
