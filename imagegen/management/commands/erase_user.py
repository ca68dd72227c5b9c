"""manage.py erase_user: erase one user with everything of theirs (what they do on the account page)."""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imagegen.people import personal_data


class Command(BaseCommand):
    help = (
        "Erase USERNAME and everything of theirs: tasks (unfinished ones are cancelled first), images with "
        "their files and thumbnails, tags, API tokens, sessions, two-factor devices and quota. Cannot be "
        "undone; `export_user_data` first if a copy is wanted. Asks to type the name again unless --yes. "
        "Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--yes", action="store_true", help="Do not ask (scripts).")

    def handle(self, *args, **opts):
        from django.conf import settings

        if settings.IMAGEGEN_ACCESS != "accounts":
            raise CommandError("there are no accounts: this site runs in open mode (IMAGEGEN_ACCESS=open)")
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user named {opts['username']!r}")
        if not opts["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("not on a terminal: pass --yes to erase without asking")
            answer = input(f"Erase {user.get_username()} and everything of theirs? Type the name again: ")
            if answer.strip() != user.get_username():
                raise CommandError("not erased: the name did not match")
        done = personal_data.user_erase(user=user, via="manage.py erase_user")
        self.stdout.write(f"erased {done['username']}: {done['tasks']} tasks, {done['images']} images, "
                          f"{done['tags']} tags, {done['files']} files")
