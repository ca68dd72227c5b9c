"""The daily cleanup: a django-q2 schedule calling generation.maintenance.cleanup_scheduled.

Created idempotently (update_or_create by name, so running the migration again, or on a restored
database, never makes a second one); missed runs are not replayed (Q_CLUSTER catch_up is off). The row
always exists; the run does nothing unless IMAGEGEN_CLEANUP_SCHEDULE is on, so switching it needs only a
restart, not a migration. First run: the next 03:30 in the server's time zone.
"""

from datetime import datetime, time, timedelta

from django.db import migrations
from django.utils import timezone

NAME = "imagegen: daily cleanup"
FUNC = "generation.maintenance.cleanup_scheduled"


def next_half_past_three():
    now = timezone.localtime()
    today = timezone.make_aware(datetime.combine(now.date(), time(3, 30)))
    return today if today > now else today + timedelta(days=1)


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    schedule, created = Schedule.objects.get_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "D", "repeats": -1, "next_run": next_half_past_three()},
    )
    if not created and (schedule.func, schedule.schedule_type, schedule.repeats) != (FUNC, "D", -1):
        # Keep a next_run an operator may have moved; restore what the app relies on.
        Schedule.objects.filter(pk=schedule.pk).update(func=FUNC, schedule_type="D", repeats=-1)


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0003_upstream_slots"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
