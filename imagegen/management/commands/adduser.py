"""manage.py adduser: create a user for accounts mode, with a password and optionally their own quotas."""

from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from core.errors import ApplicationError
from core.operator import operator_command_done
from generation import quotas
from generation import services as generation


class Command(BaseCommand):
    help = (
        "Create a user who can sign in (IMAGEGEN_ACCESS=accounts). The password is asked for twice on a "
        "terminal, or read from the first line of standard input with --password-stdin (for scripts). "
        "Quotas left out use the site defaults (IMAGEGEN_DEFAULT_DAILY_IMAGES, "
        "IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS); staff change them later in the admin (Quotas)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--staff", action="store_true",
                            help="May use the staff console (/admin/): tasks, images, tags, quotas, tokens and the "
                                 "audit log (the Operators group); not users or job schedules.")
        parser.add_argument("--superuser", action="store_true",
                            help="Staff with every permission: users, groups and job schedules too.")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        parser.add_argument("--daily-images", type=int, help="Images this user may request per UTC day.")
        parser.add_argument("--max-concurrent-tasks", type=int, help="Unfinished tasks this user may have at once.")
        parser.add_argument("--adopt-unowned", action="store_true",
                            help="Give this user every task, image and tag made before accounts mode (no owner).")

    def _password(self, opts) -> str:
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
        elif sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("the two passwords differ")
        else:
            raise CommandError("no terminal to ask for the password: use --password-stdin")
        if not password:
            raise CommandError("the password must not be empty")
        return password

    def handle(self, *args, **opts):
        for name in ("daily_images", "max_concurrent_tasks"):
            if opts[name] is not None and opts[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more")
        password = self._password(opts)
        try:
            with transaction.atomic():
                user = services.user_create(
                    username=opts["username"], password=password, email=opts["email"],
                    is_staff=opts["staff"] or opts["superuser"], is_superuser=opts["superuser"],
                )
                quotas.quota_set(user=user, daily_images=opts["daily_images"],
                                 max_concurrent_tasks=opts["max_concurrent_tasks"])
        except ValidationError as err:
            raise CommandError("refused: " + " ".join(err.messages)) from None
        except ApplicationError as err:
            raise CommandError(str(err.message)) from None
        operator_command_done("adduser", object_id=f"user:{user.get_username()}")
        self.stdout.write(f"user {user.get_username()} created" + (" (superuser)" if user.is_superuser else " (staff)" if user.is_staff else ""))
        if opts["adopt_unowned"]:
            count = generation.unowned_adopt(user=user)
            self.stdout.write(f"{count} tasks without an owner now belong to {user.get_username()}")
