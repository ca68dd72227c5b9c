"""django-q2 entry points: thin callers of services. Messages carry task ids only."""

import os
import socket

from . import recovery, run, webhooks


def run_generation(task_id: str) -> None:
    if cluster_stopping():
        # A graceful stop (SIGTERM to qcluster) lets every worker work through the messages its cluster had
        # already taken off the queue, a whole task each: hand those back instead, so that a stop waits for
        # the running tasks only and ends within the task timeout.
        run.task_hand_back(task_id=task_id)
        return
    run.task_run(task_id=task_id)


def deliver_webhook(delivery_id: str) -> None:
    webhooks.deliver(delivery_id=delivery_id)


def recover_tasks() -> int:
    """The every-minute schedule (for clusters that run without the supervisor's sweep): lost tasks, and
    webhook deliveries that are due or whose worker is gone."""
    webhooks.deliveries_recover()
    return recovery.tasks_recover()


def cluster_stopping() -> bool:
    """True when the cluster this worker belongs to is shutting down, as its sentinel (this process's
    parent) reports in django-q2's cluster statistics."""
    from django_q.conf import Conf
    from django_q.status import Stat

    try:
        stats = Stat.get_all()
    except Exception:  # no statistics (no cache): behave as before, run the task
        return False
    parent, host = os.getppid(), socket.gethostname()
    return any(s.sentinel == parent and s.host == host and s.status == Conf.STOPPING for s in stats)
