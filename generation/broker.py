"""The one module of the web side that speaks to django-q2's queue: enqueueing a task's run, and the queue
figures that health, system info and the operator commands show.

Only three places import django-q2 (`.importlinter`): this module, the task entry points the cluster calls
(generation/tasks.py, generation/signals.py) and the cluster's supervision (generation/supervision.py,
generation/supervisor.py); migrations and the staff console's Schedule page aside."""

from __future__ import annotations

from django_q.brokers import get_broker
from django_q.models import Task as QueueRecord
from django_q.status import Stat
from django_q.tasks import async_task

RUN_FUNCTION = "generation.tasks.run_generation"
WEBHOOK_FUNCTION = "generation.tasks.deliver_webhook"


def run_enqueue(*, task_id: str) -> None:
    """One message asking a worker to run the task (it carries only the id)."""
    async_task(RUN_FUNCTION, task_id, task_name=f"generate {task_id}", group="generation")


def webhook_enqueue(*, delivery_id: str) -> None:
    """One message asking a worker to try a webhook delivery (it carries only the id)."""
    async_task(WEBHOOK_FUNCTION, delivery_id, task_name=f"webhook {delivery_id}", group="webhooks")


def run_records(*, task_id: str):
    """The queue's records of each worker run of a task (django-q2 keeps failures and the latest
    successes), oldest first."""
    return QueueRecord.objects.filter(name=f"generate {task_id}").order_by("started")


def queue_figures() -> dict:
    """Messages waiting, and the clusters and worker processes that reported to django-q2's stats cache
    recently."""
    broker = get_broker()
    clusters = Stat.get_all(broker=broker)
    return {
        "queued_messages": broker.queue_size(),
        "clusters": len(clusters),
        "workers": sum(len(c.workers) for c in clusters),
        "cluster_states": sorted({str(c.status) for c in clusters}),
    }


def broker_check() -> str:
    """One line on the broker for the health check; raises when it does not answer."""
    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("broker did not answer")
    return f"{broker.info()}, {broker.queue_size()} queued"
