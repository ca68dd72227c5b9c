"""Reads of the stream: a task's state as GET /api/v1/task/{id} shows it, and cheap fingerprints of many
tasks at once (what the watcher polls)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import connection

from generation import selectors
from generation.task_json import TaskOutput
from generation.error_messages import user_message
from generation.models import FINISHED, UNFINISHED, GenerationTask, Image, Status


@dataclass(frozen=True)
class TaskState:
    task_id: str
    body: dict
    version: str
    owner_id: int | None = None

    def visible_to(self, user) -> bool:
        """As task_snapshot decides: everyone's in open mode (user None), else the owner's alone."""
        return user is None or self.owner_id == user.pk

    @property
    def final(self) -> bool:
        return self.body["status"] in FINISHED


def _visible_task(task_id: str, user=None):
    """The one lookup of a task for the stream: `user`'s task (accounts mode), any task in open mode (user
    None); another user's is NotFound, like a missing one."""
    return selectors.task_snapshot(task_id=task_id, user=user)


def task_state(task_id: str, user=None) -> TaskState:
    """The task's body exactly as GET /api/v1/task/{id} returns it, and its version. Raises NotFound."""
    task, images = _visible_task(task_id, user)
    body = TaskOutput().body(task, images)
    return TaskState(task_id=task.task_id, body=body, version=body_version(body), owner_id=task.owner_id)


def body_version(body: dict) -> str:
    # The same body gives the same version in every process, so an SSE client can resume on another one;
    # estimated_time drifts with the duration statistics alone and is left out, and so is the error's message:
    # it is in whatever language the process last had active (each socket gets its own, see localized()).
    stable = {k: v for k, v in body.items() if k != "estimated_time"}
    if isinstance(stable.get("error"), dict):
        stable["error"] = {k: v for k, v in stable["error"].items() if k != "message"}
    return hashlib.sha1(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:16]


def localized(body: dict) -> dict:
    """The body with its error message in the active language (the watcher builds one body for all)."""
    error = body.get("error")
    if not error:
        return body
    return {**body, "error": {**error, "message": str(user_message(error["code"], body.get("status")))}}


_FINGERPRINT_FIELDS = ("task_id", "status", "stage", "progress", "retry_count", "next_attempt_at", "error_code",
                       "lease_holder", "revised_prompt", "completed_at")


def task_fingerprints(task_ids: list[str]) -> dict[str, tuple]:
    """For each existing task of `task_ids`: the columns its body depends on, its image count and (pending
    only) what its queue position depends on. One query, by the task_id index, however many clients watch these tasks."""
    if not task_ids:
        return {}
    q = connection.ops.quote_name
    tasks, images = q(GenerationTask._meta.db_table), q(Image._meta.db_table)

    def col(name):
        return q(GenerationTask._meta.get_field(name).column)

    unfinished = ", ".join("%s" for _ in UNFINISHED)
    found: dict[str, tuple] = {}
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start:start + 500]
        sql = (
            f"SELECT {', '.join('t.' + col(f) for f in _FINGERPRINT_FIELDS)}, "
            f"(SELECT COUNT(*) FROM {images} i WHERE i.{q(Image._meta.get_field('task').column)} = t.{col('id')}), "
            f"CASE WHEN t.{col('status')} = %s THEN (SELECT COUNT(*) FROM {tasks} u "
            f"WHERE u.{col('status')} IN ({unfinished}) AND u.{col('created_at')} < t.{col('created_at')}) END, "
            # The fair queue_position (generation.selectors.queue_position) also counts other clients' waiting
            # tasks created after this one, and the tasks staff moved to the front. Other clients' are all
            # waiting tasks less the client's own: the first count does not depend on the row, so it runs once
            # per tick, and the second is a seek on (client_id, status), where "all but this client's" read
            # every waiting task once per watched task on every tick.
            f"CASE WHEN t.{col('status')} = %s THEN (SELECT COUNT(*) FROM {tasks} v "
            f"WHERE v.{col('status')} IN ({unfinished}) AND v.{col('lease_holder')} = '') - (SELECT COUNT(*) "
            f"FROM {tasks} o WHERE o.{col('client_id')} = t.{col('client_id')} AND o.{col('status')} IN ({unfinished}) "
            f"AND o.{col('lease_holder')} = '') END, "
            f"CASE WHEN t.{col('status')} = %s THEN (SELECT COUNT(*) FROM {tasks} w "
            f"WHERE w.{col('status')} IN ({unfinished}) AND w.{col('priority')} > 0) END "
            f"FROM {tasks} t WHERE t.{col('task_id')} IN ({', '.join('%s' for _ in chunk)})"
        )
        params = [Status.PENDING, *UNFINISHED, Status.PENDING, *UNFINISHED, *UNFINISHED, Status.PENDING, *UNFINISHED]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *chunk])
            for row in cursor.fetchall():
                found[row[0]] = tuple(row[1:])
    return found


def latest_task_pk() -> int:
    """The highest task primary key so far (0 with none): where following a queue starts."""
    return GenerationTask.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def new_tasks(*, owner_id: int | None, after_pk: int, limit: int = 200) -> list[tuple[int, str]]:
    """(pk, task_id) of the tasks made after `after_pk` (finished already or not): `owner_id`'s, or everyone's
    (None, open mode). A range of the primary key: as cheap with a million tasks as with ten."""
    tasks = GenerationTask.objects.filter(pk__gt=after_pk)
    if owner_id is not None:
        tasks = tasks.filter(owner_id=owner_id)
    return list(tasks.order_by("pk").values_list("pk", "task_id")[:limit])
