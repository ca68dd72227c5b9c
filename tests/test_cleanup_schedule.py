"""The daily cleanup schedule: made once by a migration (never twice), no catch-up, and a run that does
nothing unless IMAGEGEN_CLEANUP_SCHEDULE is on."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.utils import timezone
from django_q.models import Schedule

from generation import maintenance
from generation.models import GenerationTask

from .admin_helpers import make_tasks

pytestmark = pytest.mark.django_db

migration = importlib.import_module("generation.migrations.0004_cleanup_schedule")


def test_the_migration_creates_one_daily_schedule():
    schedule = Schedule.objects.get(name=maintenance.SCHEDULE_NAME)
    assert schedule.func == maintenance.SCHEDULE_FUNC
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
    assert schedule.next_run > timezone.now() - timedelta(days=1)


def test_running_the_migration_again_does_not_make_a_second_one():
    Schedule.objects.filter(name=maintenance.SCHEDULE_NAME).update(func="something.else")
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedules = Schedule.objects.filter(name=maintenance.SCHEDULE_NAME)
    assert schedules.count() == 1 and schedules.get().func == maintenance.SCHEDULE_FUNC


def test_missed_runs_are_not_replayed():
    assert django_settings.Q_CLUSTER["catch_up"] is False


def test_the_run_does_nothing_unless_switched_on(settings):
    settings.IMAGEGEN_CLEANUP_SCHEDULE = False
    settings.IMAGEGEN_CLEANUP_DAYS = 1
    make_tasks(2, age=timedelta(days=5))
    assert maintenance.cleanup_scheduled().startswith("skipped")
    assert GenerationTask.objects.count() == 2


def test_switched_on_it_applies_the_configured_limits(settings, media, django_capture_on_commit_callbacks):
    settings.IMAGEGEN_CLEANUP_SCHEDULE = True
    settings.IMAGEGEN_CLEANUP_DAYS = 3
    old = make_tasks(2, age=timedelta(days=5))
    new = make_tasks(1)
    with django_capture_on_commit_callbacks(execute=True):
        summary = maintenance.cleanup_scheduled()
    assert summary.startswith("deleted 2 tasks")
    assert list(GenerationTask.objects.values_list("pk", flat=True)) == [new[0].pk]
    assert not GenerationTask.objects.filter(pk__in=[t.pk for t in old]).exists()
