"""manage.py backup: a consistent copy of the database (SQLite's online backup API, or pg_dump of one
PostgreSQL snapshot; safe while the app runs) and the image files, in one timestamped .tar.gz. Restore it with
`manage.py restore`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.operator import operator_command_done
from generation import backups
from generation.maintenance import format_size


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: the online backup API, not a file copy; PostgreSQL: pg_dump of one "
        "snapshot) and the image files referenced by it into a timestamped .tar.gz (default: "
        "<data dir>/backups/, IMAGEGEN_BACKUP_DIR)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o",
                            help="A directory for the timestamped archive, or a file name ending in .tar.gz.")
        parser.add_argument("--no-media", action="store_true", help="Only the database, no image files.")

    def handle(self, *args, **opts):
        last = {}

        def progress(what, done, total):
            step = max(1, total // 10)
            if done == total or done - last.get(what, 0) >= step:
                last[what] = done
                self.stdout.write(f"  {what}: {done}/{total}")

        self.stdout.write("backing up…")
        try:
            result = backups.backup_create(output=opts["output"], include_media=not opts["no_media"],
                                           progress=progress)
        except (backups.BackupError, OSError) as err:
            raise CommandError(f"backup failed: {err}") from err
        operator_command_done("backup", object_id=result.path.name)
        for name in result.missing[:20]:
            self.stdout.write(self.style.WARNING(f"  missing from storage (not in the archive): {name}"))
        if result.missing:
            self.stdout.write(self.style.WARNING(
                f"{len(result.missing)} referenced files were missing; `cleanup` removes their rows"))
        self.stdout.write(self.style.SUCCESS(
            f"{result.path}: {result.tasks} tasks, {result.images} images, {result.files} files "
            f"({format_size(result.bytes)})"
        ))
