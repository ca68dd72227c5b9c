"""The trash filter costs the hot read paths no index: the history and the gallery still walk their indexes in
order (no sort of every row), the history's count stays three index counts, and a task's snapshot (what every
client polls) is still one lookup by the task id's unique index. Read from SQLite's query plans."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from gallery import selectors as gallery_selectors
from generation import selectors, services
from generation.models import GenerationTask, Image
from history import selectors as history_selectors

from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db


def plan_of(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(row[-1] for row in cursor.fetchall())


def plan(queryset) -> str:
    return plan_of(*queryset.query.sql_with_params())


def count_plan(queryset) -> str:
    sql, params = queryset.order_by().query.sql_with_params()
    return plan_of(f"SELECT COUNT(*) FROM ({sql})", params)


def index_columns(name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA index_info({name})")
        return [row[2] for row in cursor.fetchall()]


@pytest.fixture
def rows(db):
    owner = get_user_model().objects.create_user("someone")
    tasks = make_tasks(200, images_per_task=1) + make_tasks(50, images_per_task=1, owner=owner)
    for task in tasks[::10]:
        services.task_trash(task=task)
    Image.objects.filter(task__in=tasks[1::10]).update(deleted_at=tasks[0].created_at)
    return owner


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
@pytest.mark.parametrize("mode", ["open", "accounts"])
def test_the_history_and_the_gallery_walk_their_indexes_in_order(rows, mode):
    user = rows if mode == "accounts" else None
    tasks_index = "idx_task_owner_created" if user else "idx_task_created_status"
    images_index = "idx_image_owner_created" if user else "idx_image_created"
    for page in (slice(0, 20), slice(100, 120)):
        history = plan(history_selectors.history_list(filters={}, user=user)[page])
        gallery = plan(gallery_selectors.image_list(filters={}, user=user)[page])
        assert tasks_index in history and "TEMP B-TREE" not in history, history
        assert images_index in gallery and "TEMP B-TREE" not in gallery, gallery
    assert "COVERING INDEX" in count_plan(gallery_selectors.image_list(filters={}, user=user)), "gallery count"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_list_indexes_carry_the_trash_so_deep_pages_and_counts_read_no_table_row():
    assert index_columns("idx_task_created_status") == ["created_at", "id", "status", "deleted_at"]
    assert index_columns("idx_image_created") == ["created_at", "id", "deleted_at"]
    assert index_columns("idx_image_owner_created") == ["owner_id", "created_at", "id", "deleted_at"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_history_count_subtracts_the_trash_counted_on_its_own_small_index(rows):
    count = history_selectors.history_count(filters={})
    assert count() == 200 + 50 - 25
    assert "COVERING INDEX idx_task_trash" in count_plan(GenerationTask.objects.filter(deleted_at__isnull=False))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_a_task_snapshot_is_still_one_lookup_by_the_task_id(rows):
    sql = selectors._snapshot_sql()
    assert "deleted_at" in sql
    found = plan_of(sql, ["0f0f0f0f-0000-4000-8000-000000000001"])
    assert found.startswith("SEARCH t USING INDEX sqlite_autoindex_tasks_1 (task_id=?)"), found
    assert "SEARCH i USING INDEX images_task_id" in found and "SCAN" not in found, found
