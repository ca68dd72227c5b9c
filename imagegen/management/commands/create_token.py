"""manage.py create_token: issue an API token for a user (for a service account or a script set up by staff)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.signing import signing_secret
from core.errors import ApplicationError
from core.operator import operator_command_done


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it (once: only its hash is stored). Users make their own "
        "tokens on the account page (/account); this is for staff setting up scripts and service accounts. "
        "Give it the least it needs: --scopes, --expires-in-days, --signature-required."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for (shown in lists).")
        parser.add_argument("--scopes", default=",".join(services.SCOPES),
                            help="What the token may do, comma-separated: read (GET), generate (creating tasks), "
                                 "manage (every other change). Default: all three.")
        parser.add_argument("--expires-in-days", type=int, default=None,
                            help=f"The token stops working after this many days (1 to {services.MAX_EXPIRY_DAYS}); "
                                 "default: it does not expire.")
        parser.add_argument("--signing", action="store_true",
                            help="A signing token: its secret for HMAC-signed requests is printed on a second line.")
        parser.add_argument("--signature-required", action="store_true",
                            help="A signing token that refuses unsigned requests (implies --signing).")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {opts['username']!r}")
        scopes = [scope.strip() for scope in opts["scopes"].split(",") if scope.strip()]
        unknown = sorted(set(scopes) - set(services.SCOPES))
        if unknown:
            raise CommandError(f"unknown scope {', '.join(unknown)}: choose among {', '.join(services.SCOPES)}")
        try:
            token, raw = services.token_create(user=user, name=opts["name"], scopes=scopes,
                                               expires_in_days=opts["expires_in_days"], signing=opts["signing"],
                                               signature_required=opts["signature_required"])
        except ApplicationError as err:
            raise CommandError(str(err.message)) from None
        operator_command_done("create_token", object_id=f"user:{user.get_username()}")
        self.stdout.write(raw)
        if token.signing:
            self.stdout.write(signing_secret(token.digest))
