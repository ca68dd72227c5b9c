"""manage.py export_user_data: everything of one user's as one zip (what they download on the account page)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imagegen.people import personal_data


class Command(BaseCommand):
    help = (
        "Write USERNAME's data (tasks, images with their files, tags, settings and token list as JSON) to one "
        "zip file, created readable by its owner only (0600). Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--output", "-o", help="Where to write the zip (default: imagegen-USERNAME-TIME.zip "
                            "in the current directory). '-' writes it to standard output.")

    def handle(self, *args, **opts):
        from django.conf import settings

        if settings.IMAGEGEN_ACCESS != "accounts":
            raise CommandError("there are no accounts: this site runs in open mode (IMAGEGEN_ACCESS=open)")
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user named {opts['username']!r}")
        output = opts["output"] or f"imagegen-{user.get_username()}-{timezone.now():%Y%m%d-%H%M%S}.zip"
        via = "manage.py export_user_data"
        if output == "-":
            personal_data.user_export(user=user, out=sys.stdout.buffer, via=via)
            return
        path = Path(output)
        if path.exists():
            raise CommandError(f"{path} exists already: choose another --output")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            counts = personal_data.user_export(user=user, out=out, via=via)
        self.stderr.write(f"{path}: {counts['tasks']} tasks, {counts['images']} images, {counts['tags']} tags")
