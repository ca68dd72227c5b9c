"""manage.py create_token: issue an API token for a user (for a service account or a script set up by staff)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from core.operator import operator_command_done
from imagegen.accounts import services


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it (once: only its hash is stored). Users make their own "
        "tokens on the account page (/account); this is for staff setting up scripts and service accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for (shown in lists).")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {opts['username']!r}")
        try:
            _token, raw = services.token_create(user=user, name=opts["name"])
        except ApplicationError as err:
            raise CommandError(str(err.message)) from None
        operator_command_done("create_token", object_id=f"user:{user.get_username()}")
        self.stdout.write(raw)
