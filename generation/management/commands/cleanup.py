"""manage.py cleanup: delete old finished tasks with their files (by age, count or disk budget), orphan
files and image rows whose file is gone. `--dry-run` shows the plan without changing anything."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.operator import operator_command_done
from generation import maintenance


class Command(BaseCommand):
    help = (
        "Delete finished tasks and their files older than N days, beyond a count or beyond a disk budget; "
        "remove orphan files and image rows whose file is missing. Unfinished tasks and anything younger "
        "than the grace period are never touched. Limits default to IMAGEGEN_CLEANUP_*; run with --dry-run "
        "first to see what would go."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, metavar="DAYS",
                            help="Delete finished tasks created more than DAYS days ago.")
        parser.add_argument("--keep", type=int, metavar="N", help="Keep only the newest N finished tasks.")
        parser.add_argument("--max-size", metavar="SIZE",
                            help="Delete the oldest finished tasks until the images fit in SIZE (500M, 20G, …).")
        parser.add_argument("--no-files", action="store_true",
                            help="Skip the sweep for orphan files and rows with missing files.")
        parser.add_argument("--grace-hours", type=float, metavar="H",
                            help="Touch nothing younger than H hours (default IMAGEGEN_CLEANUP_GRACE_HOURS, 24).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be deleted; change nothing.")
        parser.add_argument("--list", type=int, default=20, metavar="N",
                            help="List at most N items of each kind (default 20; 0 lists all).")

    def handle(self, *args, **opts):
        policy = maintenance.CleanupPolicy.from_settings()
        if opts["older_than"] is not None:
            policy.older_than_days = opts["older_than"] or None
        if opts["keep"] is not None:
            if opts["keep"] < 0:
                raise CommandError("--keep must be 0 (no limit) or more")
            policy.keep_latest = opts["keep"] or None
        if opts["max_size"] is not None:
            try:
                policy.max_bytes = maintenance.parse_size(opts["max_size"])
            except ValueError as err:
                raise CommandError(str(err)) from err
        if opts["no_files"]:
            policy.files = False
        if opts["grace_hours"] is not None:
            if opts["grace_hours"] < 1:
                raise CommandError("--grace-hours must be at least 1: a running task's files are younger")
            policy.grace_hours = opts["grace_hours"]
        if policy.older_than_days is not None and policy.older_than_days < 0:
            raise CommandError("--older-than must be positive")

        self.stdout.write(f"policy: {policy.describe()}")
        self.stdout.write("scanning…")
        plan = maintenance.cleanup_plan(policy=policy)
        self._show_plan(plan, opts["list"])
        if plan.is_empty:
            self.stdout.write(self.style.SUCCESS("nothing to clean up"))
            return
        if opts["dry_run"]:
            self.stdout.write(self.style.WARNING("dry run: nothing was changed"))
            return

        def progress(what, done, total):
            self.stdout.write(f"  {what}: {done}/{total}")

        report = maintenance.cleanup_apply(plan=plan, progress=progress)
        operator_command_done("cleanup", object_id=report.summary())
        for line in report.skipped[: opts["list"] or None]:
            self.stdout.write(self.style.WARNING(f"  skipped {line}"))
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _show_plan(self, plan: maintenance.CleanupPlan, limit: int) -> None:
        out = self.stdout.write
        cap = limit or None
        out(f"image storage now: {maintenance.format_size(plan.stored_bytes)}")
        reasons = ", ".join(f"{n} by {reason}" for reason, n in sorted(plan.reasons().items()))
        out(f"tasks to delete: {len(plan.tasks)} ({maintenance.format_size(plan.task_bytes)})"
            + (f" — {reasons}" if reasons else ""))
        for task in plan.tasks[:cap]:
            out(f"  {task.task_id}  {task.status:<9}  {task.created_at:%Y-%m-%d %H:%M}  "
                f"{maintenance.format_size(task.bytes):>10}  ({task.reason})")
        if cap and len(plan.tasks) > cap:
            out(f"  … and {len(plan.tasks) - cap} more")
        if not plan.policy.files:
            return
        out(f"orphan files: {len(plan.orphan_files)} ({maintenance.format_size(plan.orphan_bytes)})")
        for orphan in plan.orphan_files[:cap]:
            out(f"  {orphan.path}  {maintenance.format_size(orphan.size)}")
        if cap and len(plan.orphan_files) > cap:
            out(f"  … and {len(plan.orphan_files) - cap} more")
        out(f"image rows whose file is missing: {len(plan.missing_files)}")
        for image in plan.missing_files[:cap]:
            out(f"  {image.image_id} (task {image.task_id}): {image.file_path}")
        if cap and len(plan.missing_files) > cap:
            out(f"  … and {len(plan.missing_files) - cap} more")
        out(f"thumbnails to rebuild: {len(plan.missing_thumbnails)}")
