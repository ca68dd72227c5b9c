"""manage.py restore: put a backup made by `manage.py backup` into this installation (the database of the
current settings, and its media directory or, with IMAGEGEN_STORAGE=s3, its bucket), which must be empty. Stop
the web server and the worker first; run it with the environment of the installation you are restoring (IMAGEGEN_DATA_DIR, …)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from core.operator import operator_command_done
from generation import backups, storage
from generation.maintenance import format_size


class Command(BaseCommand):
    help = (
        "Restore a backup archive into the configured installation (its database, SQLite or PostgreSQL, and its "
        "media directory or S3 bucket must be empty unless --force), check every file's sha256, then apply "
        "migrations. "
        "Stop the web server and worker first."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The .tar.gz written by `manage.py backup`.")
        parser.add_argument("--force", action="store_true",
                            help="Replace an existing database and write over existing media files (or objects).")
        parser.add_argument("--no-migrate", action="store_true", help="Do not run migrate afterwards.")

    def handle(self, *args, **opts):
        archive = Path(opts["archive"])
        if not archive.is_file():
            raise CommandError(f"{archive}: no such file")
        db_path = Path(settings.DATABASES["default"]["NAME"])
        # With object storage (IMAGEGEN_STORAGE=s3) the files go into the bucket, through the app's storage.
        media_root = None if storage.is_object_storage() else Path(settings.MEDIA_ROOT)
        try:
            manifest = backups.read_manifest(archive)
        except (backups.BackupError, OSError, ValueError) as err:
            raise CommandError(str(err)) from err
        self.stdout.write(f"backup of {manifest['created_at']}: {manifest['database']['tasks']} tasks, "
                          f"{manifest['database']['images']} images, {len(manifest['media']['files'])} files")
        where = connection.settings_dict["NAME"] if connection.vendor == "postgresql" else db_path
        self.stdout.write(f"restoring into {where} and {media_root or storage.describe()}…")
        connections.close_all()  # the database is about to be replaced

        def progress(what, done, total):
            if done == total or done % max(1, total // 10) == 0:
                self.stdout.write(f"  {what}: {done}/{total}")

        try:
            result = backups.backup_restore(
                archive=archive, db_path=db_path, media_root=media_root, force=opts["force"], progress=progress
            )
        except (backups.BackupError, OSError) as err:
            raise CommandError(f"restore failed: {err}") from err
        if result.mismatched:
            for name in result.mismatched[:20]:
                self.stderr.write(self.style.ERROR(f"  checksum mismatch: {name}"))
            raise CommandError(f"{len(result.mismatched)} files do not match their checksums")
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        operator_command_done("restore", object_id=archive.name)  # into the restored database
        self.stdout.write(self.style.SUCCESS(
            f"restored {result.tasks} tasks, {result.images} images, {result.files} files "
            f"({format_size(result.bytes)}); every file matches its checksum"
        ))
