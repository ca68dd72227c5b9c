"""The worker cluster's stall signal and the bookkeeping of its supervisor.

django-q2's cluster wedges when one of its processes dies holding a `multiprocessing.Queue` lock
(django-q2 #23, #339): an idle worker waits for the next message *inside* `Queue.get` with the queue's
read lock held, and if it is killed there every reincarnated worker blocks on that lock for good. The
sentinel and the pusher go on living, so nothing in the cluster notices. From outside it shows as:

- **waiting work**: the oldest *deliverable* broker message (ORM: a row whose lock time has passed;
  Redis: the head of the list, aged by its enqueue time) is older than `IMAGEGEN_STALL_SECONDS`;
- **no takes**: no worker of the cluster took a message for as long (the heartbeat below);
- **nobody busy**: none of its workers holds a live task lease (a cluster whose workers all run long
  tasks is busy, not stalled).

The heartbeat is written by the worker processes themselves, through django-q2's public `pre_execute`
and `post_execute_in_worker` signals, into the `worker_clusters` row of their cluster: a wedged worker
blocked on a lock cannot write it. The supervisor (generation/supervisor.py) creates the row and counts
restarts in it, so `/api/v1/health`, `queue_status` and `/metrics` read one truth from any process.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from . import queueing
from .models import UNFINISHED, GenerationTask, WorkerCluster
from .processes import holder_is_dead

log = logging.getLogger(__name__)

CLUSTER_KEY_ENV = "IMAGEGEN_CLUSTER_KEY"


# --- The heartbeat (written in worker processes) --------------------------------------------------------


def cluster_key() -> str:
    """The key of the cluster this process belongs to: given by its supervisor, else one per host."""
    return os.environ.get(CLUSTER_KEY_ENV) or f"{socket.gethostname()}:unsupervised"


def heartbeat(*, field: str) -> None:
    """A worker took (`taken_at`) or finished (`finished_at`) a message. Never fails the task."""
    now = timezone.now()
    key = cluster_key()
    try:
        if not WorkerCluster.objects.filter(cluster_key=key).update(**{field: now}):
            WorkerCluster.objects.get_or_create(
                cluster_key=key, defaults={"host": socket.gethostname(), "started_at": now, field: now}
            )
    except Exception:
        log.warning("could not write the worker heartbeat", exc_info=True)


# --- The broker's backlog -------------------------------------------------------------------------------


def broker_backlog(broker=None) -> tuple[int, float | None]:
    """(deliverable messages, age in seconds of the oldest one or None when there is none)."""
    from django_q.brokers import get_broker

    broker = broker or get_broker()
    now = timezone.now()
    if settings.IMAGEGEN_BROKER == "orm":
        from django_q.conf import Conf
        from django_q.models import OrmQ

        # A message is deliverable once its lock time has passed: at enqueue for a new one, RETRY
        # seconds after it was taken for one whose cluster never acknowledged it.
        rows = OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key, lock__lte=now)
        count = rows.count()
        oldest = rows.order_by("lock").values_list("lock", flat=True).first() if count else None
        return count, (max(0.0, (now - oldest).total_seconds()) if oldest else None)
    connection = broker.connection
    count = connection.llen(broker.list_key)
    if not count:
        return 0, None
    return count, _redis_message_age(connection.lindex(broker.list_key, 0), now)


def _redis_message_age(payload, now: datetime) -> float | None:
    from django_q.signing import SignedPackage

    try:
        started = SignedPackage.loads(payload).get("started")
    except Exception:  # not a message of ours (another key, a changed secret): no age
        return None
    return max(0.0, (now - started).total_seconds()) if started else None


# --- Who is busy ----------------------------------------------------------------------------------------


def _live_leases(now: datetime):
    """Holders of task leases that are still running: unexpired, and not known dead on this machine."""
    holders = (
        GenerationTask.objects.filter(status__in=UNFINISHED, lease_expires_at__gte=now)
        .exclude(lease_holder="")
        .values_list("lease_holder", flat=True)
    )
    return [holder for holder in holders if not holder_is_dead(holder)]


def _in_group(holder: str, pgid: int) -> bool:
    try:
        host, pid, _token = holder.rsplit(":", 2)
        return host == socket.gethostname() and os.getpgid(int(pid)) == pgid
    except (ValueError, ProcessLookupError, PermissionError):
        return False


# --- The verdicts ---------------------------------------------------------------------------------------


@dataclass
class WorkerState:
    queued: int  # deliverable broker messages
    oldest_waiting_seconds: float | None
    last_heartbeat_seconds: float | None  # since a worker last took or finished a message
    last_take_seconds: float | None
    running: int  # tasks held by a live lease
    clusters: int  # supervised clusters running now
    restarts: int  # clusters replaced, ever
    stalled: bool
    recovering: bool  # a cluster was just replaced and work waits for its successor's first take
    stall_seconds: float

    @property
    def ok(self) -> bool:
        return not (self.stalled or self.recovering)

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        def age(value):
            return "never" if value is None else f"{value:.0f}s ago"

        waiting = (
            f"{self.queued} waiting, the oldest for {self.oldest_waiting_seconds:.0f}s"
            if self.queued and self.oldest_waiting_seconds is not None
            else f"{self.queued} waiting"
        )
        head = (
            "stalled: work waits and no worker takes it" if self.stalled
            else "recovering: a stalled cluster was replaced and work waits for the new one" if self.recovering
            else "taking work"
        )
        return (
            f"{head} ({waiting}; last take {age(self.last_take_seconds)}; {self.running} running; "
            f"{self.restarts} cluster restarts)"
        )


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def worker_state(*, broker=None, now: datetime | None = None) -> WorkerState:
    """Every cluster together, as health, queue_status and /metrics report it."""
    now = now or timezone.now()
    window = settings.IMAGEGEN_STALL_SECONDS
    queued, oldest = broker_backlog(broker)
    rows = WorkerCluster.objects.aggregate(
        taken=Max("taken_at"), finished=Max("finished_at"), restarts=Sum("restarts"),
        started=Max("started_at", filter=Q(stopped_at__isnull=True)),
    )
    running = len(_live_leases(now))
    last_take = rows["taken"]
    beats = [m for m in (rows["taken"], rows["finished"]) if m]
    # A cluster that started less than a window ago has not had its chance yet.
    fresh = max([m for m in (last_take, rows["started"]) if m], default=None)
    stalled = (
        oldest is not None and oldest > window
        and (fresh is None or (now - fresh).total_seconds() > window)
        and running == 0
    )
    live = WorkerCluster.objects.filter(stopped_at__isnull=True, pid__isnull=False)
    # Only a recent replacement: a row whose supervisor died uncleanly must not say "recovering" forever
    # (if that cluster never takes work, the stall rule above reports it).
    recovering = bool(queued) and live.filter(
        last_restart_at__gte=now - timedelta(seconds=max(60.0, 3 * window))
    ).filter(Q(taken_at__isnull=True) | Q(taken_at__lt=F("last_restart_at"))).exists()
    return WorkerState(
        queued=queued,
        oldest_waiting_seconds=None if oldest is None else round(oldest, 1),
        last_heartbeat_seconds=_seconds_since(max(beats) if beats else None, now),
        last_take_seconds=_seconds_since(last_take, now),
        running=running,
        clusters=live.count(),
        restarts=rows["restarts"] or 0,
        stalled=stalled,
        recovering=recovering,
        stall_seconds=window,
    )


def cluster_stall(*, key: str, pgid: int, broker=None, now: datetime | None = None) -> str | None:
    """Why the cluster `key` (process group `pgid`, on this machine) is stalled, or None when it is not."""
    now = now or timezone.now()
    window = settings.IMAGEGEN_STALL_SECONDS
    _queued, oldest = broker_backlog(broker)
    if oldest is None or oldest <= window:
        return None
    row = WorkerCluster.objects.filter(cluster_key=key).values("taken_at", "started_at").first()
    if row is None:
        return None
    fresh = max(m for m in (row["taken_at"], row["started_at"]) if m)
    if (now - fresh).total_seconds() <= window:
        return None
    if any(_in_group(holder, pgid) for holder in _live_leases(now)):
        return None  # its workers are running tasks: busy, not stalled
    return (
        f"a message has waited {oldest:.0f}s and no worker of this cluster took one for "
        f"{(now - fresh).total_seconds():.0f}s (stall window {window:g}s)"
    )


# --- The supervisor's bookkeeping -----------------------------------------------------------------------


def cluster_started(*, key: str, pid: int, supervisor_pid: int) -> None:
    now = timezone.now()
    WorkerCluster.objects.update_or_create(
        cluster_key=key,
        defaults={"host": socket.gethostname(), "pid": pid, "supervisor_pid": supervisor_pid,
                  "started_at": now, "stopped_at": None},
    )


def cluster_restarted(*, key: str, reason: str) -> None:
    WorkerCluster.objects.filter(cluster_key=key).update(
        restarts=F("restarts") + 1, last_restart_at=timezone.now(), last_restart_reason=reason[:300]
    )


def cluster_stopped(*, key: str) -> None:
    WorkerCluster.objects.filter(cluster_key=key).update(stopped_at=timezone.now(), pid=None)


def messages_release(broker=None) -> int:
    """After a cluster was killed: make what it had taken off the broker deliverable again at once.

    ORM: every message still locked becomes deliverable now (a message another, live cluster holds may be
    delivered twice; the task lease makes the second run a no-op). Redis: a message popped off the list
    is gone, so every unfinished task without a lease and without a message in the list is enqueued
    again. Returns how many messages were released or sent again."""
    from django_q.brokers import get_broker

    broker = broker or get_broker()
    now = timezone.now()
    if settings.IMAGEGEN_BROKER == "orm":
        from django_q.conf import Conf
        from django_q.models import OrmQ

        return OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key, lock__gt=now).update(lock=now)
    from django_q.signing import SignedPackage

    listed: set[str] = set()
    for payload in broker.connection.lrange(broker.list_key, 0, -1):
        try:
            listed.update(str(arg) for arg in SignedPackage.loads(payload).get("args", ()))
        except Exception:
            continue
    sent = 0
    orphans = GenerationTask.objects.filter(status__in=UNFINISHED, lease_holder="").exclude(task_id__in=listed)
    for task in orphans.only("pk", "task_id"):
        with transaction.atomic():
            queueing.enqueue(task)
        sent += 1
    return sent

