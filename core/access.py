"""The access mode, asked in one place."""

from django.conf import settings


def accounts_mode() -> bool:
    """True when sign-in is required and every task, image and tag belongs to a user."""
    return settings.IMAGEGEN_ACCESS == "accounts"


def owned_by(queryset, user):
    """Rows of `user` (accounts mode); every row when user is None (open mode, where nobody owns anything).

    Only ever given None in open mode: in accounts mode every API view needs a signed-in user."""
    return queryset if user is None else queryset.filter(owner=user)
